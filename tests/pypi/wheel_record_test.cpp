// The text formats inside a wheel: RECORD (CSV, urlsafe base64 hashes), entry_points.txt, WHEEL
// and METADATA headers, wheel file names.
#include <gtest/gtest.h>

#include "pypi/entry_points.hpp"
#include "pypi/record.hpp"
#include "pypi/wheel_archive_internal.hpp"

namespace de::pypi::detail {
namespace {

TEST(WheelRecord, HashOfKnownContentIsWhatWheelToolsWrite) {
  // The empty file, as every real RECORD that lists one has it.
  EXPECT_EQ(record_hash(Digest::of("")), "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  auto d = parse_record_hash("sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(*d, Digest::of(""));
  // Every byte value survives the round trip (both alphabets' extra characters, '-' and '_').
  for (int i = 0; i < 200; ++i) {
    Digest x = Digest::of(std::string(static_cast<std::size_t>(i), 'x'));
    auto back = parse_record_hash(record_hash(x));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, x);
  }
}

TEST(WheelRecord, MalformedAndOtherHashesAreRefused) {
  EXPECT_EQ(parse_record_hash("md5=1B2M2Y8AsgTpgAmY7PhCfg").error().code(), Code::Unsupported);
  EXPECT_EQ(parse_record_hash("sha512=abc").error().code(), Code::Unsupported);
  EXPECT_EQ(parse_record_hash("sha256").error().code(), Code::Corruption);
  EXPECT_EQ(parse_record_hash("sha256=47DEQpj8HBSa+/TImW-5JCeuQeRkm5NMpJWZG3hSuFU").error().code(),
            Code::Corruption);  // the standard alphabet is not the urlsafe one
  EXPECT_EQ(parse_record_hash("sha256=47DEQpj8HBSa").error().code(), Code::Corruption);
  // 43 characters whose last carries non-zero padding bits: not a canonical encoding.
  EXPECT_EQ(parse_record_hash("sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFV").error().code(),
            Code::Corruption);
  // A padded form is the same digest.
  EXPECT_TRUE(parse_record_hash("sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="));
}

TEST(WheelRecord, ParsesCsvAsPythonWritesIt) {
  auto rows = parse_record(
      "a/b.py,sha256=x,12\r\n"
      "\"we,ird\"\"name.py\",sha256=y,3\n"
      "\n"
      "\"multi\nline\",,\n"
      "demo-1.0.dist-info/RECORD,,\n",
      "RECORD");
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0], (RecordRow{"a/b.py", "sha256=x", 12, 1}));
  EXPECT_EQ((*rows)[1].path, "we,ird\"name.py");
  EXPECT_EQ((*rows)[1].line, 2);
  EXPECT_EQ((*rows)[2].path, "multi\nline");
  EXPECT_EQ((*rows)[2].line, 4);
  EXPECT_FALSE((*rows)[2].size);
  EXPECT_EQ((*rows)[3].line, 6);
}

TEST(WheelRecord, BadRowsNameTheLine) {
  auto r = parse_record("a,sha256=x,1\nb,sha256=y,12x\n", "demo.dist-info/RECORD");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("demo.dist-info/RECORD:2"), std::string::npos);
  EXPECT_FALSE(parse_record("a,b,c,d\n", "RECORD"));
  EXPECT_FALSE(parse_record("\"open,sha256=x,1\n", "RECORD"));
  EXPECT_FALSE(parse_record(",sha256=x,1\n", "RECORD"));
}

TEST(WheelRecord, FormatSortsAndQuotesAndParsesBack) {
  std::vector<RecordRow> rows = {{"z.py", "sha256=a", 1, 0},
                                 {"../../../bin/tool", "sha256=b", 22, 0},
                                 {"we,ird.py", "sha256=c", 3, 0},
                                 {"demo-1.0.dist-info/RECORD", "", std::nullopt, 0}};
  std::string text = format_record(rows);
  EXPECT_EQ(text,
            "../../../bin/tool,sha256=b,22\n"
            "demo-1.0.dist-info/RECORD,,\n"
            "\"we,ird.py\",sha256=c,3\n"
            "z.py,sha256=a,1\n");
  auto back = parse_record(text, "RECORD");
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)[2].path, "we,ird.py");
}

TEST(WheelEntryPoints, ReadsScriptGroupsOnly) {
  auto eps = parse_entry_points(
      "[console_scripts]\n"
      "pip = pip._internal.cli.main:main\n"
      "  tool-x = pkg.mod : Klass.method [extra1, extra2]\n"
      "# comment\n"
      "; another\n"
      "\n"
      "[distutils.commands]\n"
      "anything goes here = not checked at all (\n"
      "[gui_scripts]\n"
      "gui=pkg\n",
      "entry_points.txt", {"console_scripts", "gui_scripts"});
  ASSERT_TRUE(eps) << eps.error().to_string();
  ASSERT_EQ(eps->size(), 3u);
  EXPECT_EQ((*eps)[0].name, "pip");
  EXPECT_EQ((*eps)[0].module, "pip._internal.cli.main");
  EXPECT_EQ((*eps)[0].attr, "main");
  EXPECT_EQ((*eps)[1].name, "tool-x");
  EXPECT_EQ((*eps)[1].module, "pkg.mod");
  EXPECT_EQ((*eps)[1].attr, "Klass.method");
  EXPECT_EQ((*eps)[1].line, 3);
  EXPECT_EQ((*eps)[2].group, "gui_scripts");
  EXPECT_EQ((*eps)[2].attr, "");
}

TEST(WheelEntryPoints, CodeInjectionAndBadNamesAreRefused) {
  const std::vector<std::string> groups = {"console_scripts"};
  for (const char* line : {"x = os:system('id')", "x = os; import os:main", "x = 1mod:main",
                           "x = mod:", "../x = mod:main", "a/b = mod:main", ". = mod:main",
                           "x mod:main", " = mod:main", "x = mod:main [unclosed"}) {
    auto r = parse_entry_points(std::string("[console_scripts]\n") + line + "\n", "ep.txt", groups);
    EXPECT_FALSE(r) << line;
    if (!r) {
      EXPECT_NE(r.error().message().find("ep.txt:2"), std::string::npos) << line;
    }
  }
}

TEST(WheelMetadataFiles, HeadersAndWheelVersion) {
  auto h = parse_headers("Name: demo\nVersion:  1.0 \nSummary: a\n  continued\n\nName: body\n");
  EXPECT_EQ(header(h, "name"), "demo");
  EXPECT_EQ(header(h, "VERSION"), "1.0");
  EXPECT_EQ(header(h, "Summary"), "a\n  continued");
  EXPECT_EQ(h.size(), 3u);

  auto ok = parse_wheel_info("Wheel-Version: 1.0\nRoot-Is-Purelib: false\n", "WHEEL");
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->root_is_purelib);
  auto newer = parse_wheel_info("Wheel-Version: 1.9\nRoot-Is-Purelib: True\n", "WHEEL");
  ASSERT_TRUE(newer);
  EXPECT_EQ(newer->minor, 9);
  EXPECT_EQ(parse_wheel_info("Wheel-Version: 2.0\nRoot-Is-Purelib: true\n", "WHEEL").error().code(),
            Code::Unsupported);
  EXPECT_FALSE(parse_wheel_info("Root-Is-Purelib: true\n", "WHEEL"));
  EXPECT_FALSE(parse_wheel_info("Wheel-Version: one\nRoot-Is-Purelib: true\n", "WHEEL"));
  EXPECT_FALSE(parse_wheel_info("Wheel-Version: 1.0\n", "WHEEL"));
  EXPECT_FALSE(parse_wheel_info("Wheel-Version: 1.0\nRoot-Is-Purelib: yes\n", "WHEEL"));
}

TEST(WheelFileNames, DistributionAndVersion) {
  auto n = parse_wheel_file_name("typing_extensions-4.8.0-py3-none-any.whl");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->distribution, "typing_extensions");
  EXPECT_EQ(n->version, "4.8.0");
  auto build = parse_wheel_file_name("numpy-1.26.4-1-cp311-cp311-manylinux_2_17_x86_64.whl");
  ASSERT_TRUE(build);
  EXPECT_EQ(build->version, "1.26.4");
  for (const char* bad : {"numpy-1.26.4.tar.gz", "numpy-1.26.4-py3-none.whl", "a--b-c-d-e.whl",
                          "a-b-c-d-e-f-g.whl"})
    EXPECT_FALSE(parse_wheel_file_name(bad)) << bad;
  EXPECT_EQ(canonical_name("Typing__Extensions.x"), "typing-extensions-x");
}

TEST(WheelFileNames, DistInfoMustBeTheWheels) {
  EXPECT_EQ(find_dist_info({"demo", "Demo_Pkg-1.0.dist-info"}, "demo.pkg", "w").value(),
            "Demo_Pkg-1.0.dist-info");
  EXPECT_FALSE(find_dist_info({"demo"}, "demo", "w"));
  EXPECT_FALSE(find_dist_info({"a-1.dist-info", "b-1.dist-info"}, "a", "w"));
  EXPECT_FALSE(find_dist_info({"other-1.0.dist-info"}, "demo", "w"));
  EXPECT_FALSE(find_dist_info({"demo.dist-info"}, "demo", "w"));
}

}  // namespace
}  // namespace de::pypi::detail
