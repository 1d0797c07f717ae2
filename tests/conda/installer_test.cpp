#include "docker_envs/conda/installer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "conda/installer_internal.hpp"
#include "docker_envs/conda/package.hpp"
#include "support/testdata.hpp"
#include "test_packages.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;
using test::Entry;

using test::kBinPlaceholder;

TempDir temp() {
  auto d = TempDir::create();
  EXPECT_TRUE(d);
  return std::move(*d);
}

const InstallEntry* find(const InstallPlan& plan, std::string_view path) {
  for (const auto& e : plan.entries)
    if (e.path == path) return &e;
  return nullptr;
}

std::string content(const InstallEntry& e, std::string_view prefix = "/opt/conda") {
  auto r = open_content(e, prefix);
  EXPECT_TRUE(r);
  auto s = read_all(**r);
  EXPECT_TRUE(s);
  return *s;
}

bool has_warning(const InstallPlan& plan, std::string_view text) {
  for (const auto& w : plan.warnings)
    if (w.find(text) != std::string::npos) return true;
  return false;
}

using test::make_extracted;

TEST(ReplacePrefix, TextAndBinary) {
  EXPECT_EQ(*replace_prefix("a /ph/x /ph", "/ph", "/opt/conda", PlaceholderMode::Text, "f"),
            "a /opt/conda/x /opt/conda");
  std::string bin = std::string(
                        "\x7f"
                        "ELF\0",
                        5) +
                    "/placeholder_long/lib:/placeholder_long/x" + std::string("\0tail", 5);
  auto out =
      replace_prefix(bin, "/placeholder_long", "/opt/c", PlaceholderMode::Binary, "lib/x.so");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->size(), bin.size());
  std::string expect = std::string(
                           "\x7f"
                           "ELF\0",
                           5) +
                       "/opt/c/lib:/opt/c/x" + std::string(22, '\0') + std::string("\0tail", 5);
  EXPECT_EQ(*out, expect);
  auto too_long = replace_prefix(bin, "/placeholder_long", "/a/much/longer/prefix/than/that",
                                 PlaceholderMode::Binary, "lib/x.so");
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().to_string().find("lib/x.so"), std::string::npos);
}

// Reads everything from `r`, asking for `chunk` bytes at a time.
Result<std::string> read_in_chunks(Reader& r, std::size_t chunk) {
  std::string out;
  std::vector<std::byte> buf(chunk);
  for (;;) {
    std::size_t n = DE_TRY(r.read(buf));
    if (n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
}

// The streaming rewriter produces exactly replace_prefix's bytes, whatever the read sizes:
// placeholders at the start and the end, back to back, split across reads, C strings holding
// several, overlapping candidates ("/ph/ph"), and no NUL after the last one.
TEST(ReplacePrefix, StreamingEqualsWholeBuffer) {
  std::mt19937 rng(7);
  const std::string placeholder = "/ph/ph_placeholder";
  const std::vector<std::string> pieces = {
      placeholder, "/ph/ph", std::string(1, '\0'), "abc", "/lib:", std::string("x\0y", 3), "/ph"};
  for (int round = 0; round < 400; ++round) {
    std::string data;
    const int n = static_cast<int>(rng() % 24);
    for (int i = 0; i < n; ++i) data += pieces[rng() % pieces.size()];
    for (auto mode : {PlaceholderMode::Text, PlaceholderMode::Binary}) {
      for (std::string prefix : {"/opt/conda", "/o"}) {
        auto whole = replace_prefix(data, placeholder, prefix, mode, "f");
        ASSERT_TRUE(whole) << whole.error().to_string();
        for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{64},
                                  std::size_t{1} << 16}) {
          auto r =
              detail::prefix_replacing_reader(std::nullopt, data, placeholder, prefix, mode, "f");
          auto streamed = read_in_chunks(*r, chunk);
          ASSERT_TRUE(streamed) << streamed.error().to_string();
          ASSERT_EQ(*streamed, *whole) << "round " << round << " chunk " << chunk;
        }
      }
    }
  }
  // No placeholder: the bytes as they are.
  auto plain = detail::prefix_replacing_reader(std::nullopt, "abc", "", "/opt/conda",
                                               PlaceholderMode::Text, "f");
  EXPECT_EQ(*read_in_chunks(*plain, 2), "abc");
}

TEST(ReplacePrefix, StreamingRefusesAPrefixLongerThanABinaryPlaceholder) {
  std::string data = std::string("head\0", 5) + "/short/lib" + std::string("\0", 1);
  auto r = detail::prefix_replacing_reader(std::nullopt, data, "/short", "/a/longer/prefix",
                                           PlaceholderMode::Binary, "lib/x.so");
  auto out = read_in_chunks(*r, 4096);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().to_string().find("lib/x.so"), std::string::npos);
}

TEST(Installer, FilesPlaceholdersLinksAndCondaMeta) {
  for (auto format : {PackageFormat::Conda, PackageFormat::TarBz2}) {
    auto dir = temp();
    test::PackageSpec spec = test::placeholder_package();
    const Entry& bin = spec.payload[1];
    auto extracted = make_extracted(dir.path(), spec, format);
    PackageToInstall p{extracted, {}, "zz >=1"};
    p.record.channel = "conda-forge";
    p.record.url = "https://conda.anaconda.org/conda-forge/linux-64/zz-1.0-0.conda";
    p.record.sha256 = Digest::of("pkg");
    auto plan =
        plan_environment(std::span(&p, 1), {.verify_files = true, .history_time = 1700000000});
    ASSERT_TRUE(plan) << plan.error().to_string();

    const auto* pc = find(*plan, "opt/conda/lib/pkgconfig/zz.pc");
    ASSERT_TRUE(pc);
    EXPECT_EQ(content(*pc), "prefix=/opt/conda\nlibdir=${prefix}/lib\n");
    const auto* so = find(*plan, "opt/conda/lib/libzz.so.1");
    ASSERT_TRUE(so);
    EXPECT_EQ(so->mode, 0755u);
    std::string so_bytes = content(*so);
    EXPECT_EQ(so_bytes.size(), bin.content.size());
    EXPECT_EQ(so_bytes.substr(5, 15), "/opt/conda/lib" + std::string(1, '\0'));
    const auto* link = find(*plan, "opt/conda/lib/libzz.so");
    ASSERT_TRUE(link);
    EXPECT_EQ(link->type, InstallEntry::Type::Symlink);
    EXPECT_EQ(link->link_target, "libzz.so.1");
    const auto* a = find(*plan, "opt/conda/share/zz/a");
    const auto* b = find(*plan, "opt/conda/share/zz/b");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->type, InstallEntry::Type::File);
    EXPECT_EQ(b->type, InstallEntry::Type::Hardlink);
    EXPECT_EQ(b->link_target, "opt/conda/share/zz/a");
    EXPECT_TRUE(has_warning(*plan, "bin/.zz-post-link.sh"));

    const auto* meta = find(*plan, "opt/conda/conda-meta/zz-1.0-0.json");
    ASSERT_TRUE(meta);
    auto doc = nlohmann::json::parse(content(*meta));
    EXPECT_EQ(doc["name"], "zz");
    EXPECT_EQ(doc["channel"], "conda-forge");
    EXPECT_EQ(doc["requested_spec"], "zz >=1");
    EXPECT_EQ(doc["sha256"], Digest::of("pkg").hex());
    EXPECT_EQ(doc["files"].size(), 6u);
    EXPECT_EQ(doc["paths_data"]["paths"].size(), 7u);
    const auto* empty_dir = find(*plan, "opt/conda/var/empty");
    ASSERT_TRUE(empty_dir);
    EXPECT_EQ(empty_dir->type, InstallEntry::Type::Directory);
    const auto* history = find(*plan, "opt/conda/conda-meta/history");
    ASSERT_TRUE(history);
    EXPECT_EQ(content(*history),
              "==> 2023-11-14 22:13:20 <==\n# cmd: docker-envs env "
              "install\n+conda-forge/linux-64::zz-1.0-0\n");

    // Large files are rewritten lazily, when opened, with the same result.
    auto lazy = plan_environment(std::span(&p, 1), {.max_rewrite_in_memory = 4});
    ASSERT_TRUE(lazy) << lazy.error().to_string();
    const auto* lazy_so = find(*lazy, "opt/conda/lib/libzz.so.1");
    ASSERT_TRUE(lazy_so);
    EXPECT_EQ(lazy_so->source, InstallEntry::Source::Rewrite);
    EXPECT_EQ(lazy_so->size, so_bytes.size());
    EXPECT_EQ(content(*lazy_so), so_bytes);
    const auto* lazy_pc = find(*lazy, "opt/conda/lib/pkgconfig/zz.pc");
    EXPECT_EQ(lazy_pc->size, content(*pc).size());
    EXPECT_EQ(content(*lazy_pc), content(*pc));

    auto root = dir.path() / "root";
    auto st = write_to_directory(*plan, root, "/opt/conda");
    ASSERT_TRUE(st) << st.error().to_string();
    EXPECT_EQ(*read_file(root / "opt/conda/lib/pkgconfig/zz.pc"),
              "prefix=/opt/conda\nlibdir=${prefix}/lib\n");
    EXPECT_EQ(fs::read_symlink(root / "opt/conda/lib/libzz.so"), "libzz.so.1");
    EXPECT_EQ(fs::hard_link_count(root / "opt/conda/share/zz/a"), 2u);
    EXPECT_TRUE(fs::is_directory(root / "opt/conda/var/empty"));
    struct stat s;
    ASSERT_EQ(::stat((root / "opt/conda/lib/libzz.so.1").c_str(), &s), 0);
    EXPECT_EQ(s.st_mode & 0777, 0755u);
    // A copy shares no inode with the package; the lazily rewritten file is written too.
    const auto* share_a = find(*plan, "opt/conda/share/zz/a");
    ASSERT_TRUE(share_a);
    ASSERT_EQ(share_a->source, InstallEntry::Source::HostFile);
    EXPECT_FALSE(fs::equivalent(root / "opt/conda/share/zz/a", share_a->host_path));
    auto copy = dir.path() / "copy";
    st = write_to_directory(*lazy, copy, "/opt/conda", {.link = LinkMode::Copy, .threads = 3});
    ASSERT_TRUE(st) << st.error().to_string();
    EXPECT_EQ(*read_file(copy / "opt/conda/lib/libzz.so.1"), so_bytes);
    EXPECT_EQ(*read_file(copy / "opt/conda/share/zz/a"), "same");

    // Hardlink mode links unchanged files to the package and writes rewritten ones; installing
    // again over the result replaces every entry.
    auto linked = dir.path() / "linked";
    for (int round = 0; round < 2; ++round) {
      st = write_to_directory(*plan, linked, "/opt/conda",
                              {.link = LinkMode::Hardlink, .threads = 2});
      ASSERT_TRUE(st) << st.error().to_string();
      EXPECT_TRUE(fs::equivalent(linked / "opt/conda/share/zz/a", share_a->host_path));
      EXPECT_TRUE(fs::equivalent(linked / "opt/conda/share/zz/b", share_a->host_path));
      EXPECT_EQ(*read_file(linked / "opt/conda/lib/pkgconfig/zz.pc"),
                "prefix=/opt/conda\nlibdir=${prefix}/lib\n");
      EXPECT_EQ(*read_file(linked / "opt/conda/lib/libzz.so.1"), so_bytes);
      EXPECT_EQ(fs::read_symlink(linked / "opt/conda/lib/libzz.so"), "libzz.so.1");
      EXPECT_TRUE(fs::is_directory(linked / "opt/conda/var/empty"));
    }
  }
}

TEST(Installer, NoCredentialsInCondaMeta) {
  // A package from a private channel: neither its token nor a URL password may reach the
  // environment's records (they end up in image layers).
  auto dir = temp();
  test::PackageSpec spec;
  spec.name = "zz";
  spec.payload = {test::file("share/zz/a", "x")};
  auto extracted = make_extracted(dir.path(), spec, PackageFormat::Conda);
  PackageToInstall p{extracted, {}, "zz"};
  p.record.channel = "https://user:***@host.example/t/***/private";
  p.record.url =
      "https://user:hunter2@host.example/t/tk-123-secret/private/linux-64/zz-1.0-0.conda";
  auto plan = plan_environment(std::span(&p, 1), {.history_time = 1700000000});
  ASSERT_TRUE(plan) << plan.error().to_string();
  const auto* meta = find(*plan, "opt/conda/conda-meta/zz-1.0-0.json");
  ASSERT_TRUE(meta);
  auto doc = nlohmann::json::parse(content(*meta));
  EXPECT_EQ(doc["url"], "https://host.example/private/linux-64/zz-1.0-0.conda");
  EXPECT_EQ(doc["channel"], "https://host.example/private");
  const auto* history = find(*plan, "opt/conda/conda-meta/history");
  ASSERT_TRUE(history);
  for (const auto* e : {meta, history}) {
    std::string text = content(*e);
    for (std::string_view secret : {"tk-123-secret", "hunter2", "***", "user"})
      EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << e->path << ":\n"
                                                      << text;
  }
  EXPECT_NE(content(*history).find("+https://host.example/private/linux-64::zz-1.0-0"),
            std::string::npos);
}

TEST(Installer, BinaryPlaceholderShorterThanPrefixIsRefused) {
  auto dir = temp();
  test::PackageSpec spec;
  Entry bin = test::file("lib/libq.so", "x" + kBinPlaceholder + std::string(1, '\0'));
  bin.placeholder = kBinPlaceholder;
  bin.file_mode = "binary";
  spec.payload = {bin};
  auto extracted = make_extracted(dir.path(), spec);
  PackageToInstall p{extracted, {}, ""};
  std::string prefix = "/" + std::string(80, 'p');
  auto plan = plan_environment(std::span(&p, 1), {.prefix = prefix});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().to_string().find("lib/libq.so"), std::string::npos)
      << plan.error().to_string();
}

TEST(Installer, NoarchPythonRelocationAndEntryPoints) {
  auto dir = temp();
  test::PackageSpec python = test::python_package();
  test::PackageSpec pure = test::noarch_python_package();
  std::vector<PackageToInstall> pkgs = {{make_extracted(dir.path(), python), {}, ""},
                                        {make_extracted(dir.path(), pure), {}, ""}};
  auto plan = plan_environment(pkgs, {});
  ASSERT_TRUE(plan) << plan.error().to_string();
  EXPECT_TRUE(find(*plan, "opt/conda/lib/python3.11/site-packages/pure/__init__.py"));
  EXPECT_FALSE(find(*plan, "opt/conda/site-packages/pure/__init__.py"));
  EXPECT_TRUE(find(*plan, "opt/conda/bin/pure-tool"));
  EXPECT_TRUE(has_warning(*plan, "bin/.pure-post-link.sh"));
  const auto* ep = find(*plan, "opt/conda/bin/pure-run");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->mode, 0755u);
  std::string script = content(*ep);
  EXPECT_TRUE(script.starts_with("#!/opt/conda/bin/python\n")) << script;
  EXPECT_NE(script.find("from pure.cli import app\n"), std::string::npos) << script;
  EXPECT_NE(script.find("sys.exit(app.main())"), std::string::npos) << script;
  auto meta = nlohmann::json::parse(content(*find(*plan, "opt/conda/conda-meta/pure-1.0-0.json")));
  EXPECT_EQ(meta["noarch"], "python");
  EXPECT_NE(std::find(meta["files"].begin(), meta["files"].end(), "bin/pure-run"),
            meta["files"].end());

  // Without python in the environment: a clear error; with an explicit python: fine.
  auto alone = plan_environment(std::span(&pkgs[1], 1), {});
  ASSERT_FALSE(alone);
  EXPECT_NE(alone.error().to_string().find("no python"), std::string::npos);
  auto explicit_py = plan_environment(
      std::span(&pkgs[1], 1), {.python = PythonInfo{"3.13", "lib/python3.13t/site-packages"}});
  ASSERT_TRUE(explicit_py);
  EXPECT_TRUE(find(*explicit_py, "opt/conda/lib/python3.13t/site-packages/pure/__init__.py"));
}

TEST(Installer, PathsThatAreNotUtf8AreInstalledAndRecorded) {
  auto dir = temp();
  test::PackageSpec spec;
  spec.name = "latin1";
  spec.payload = {test::file("share/caf\xe9.txt", "bytes")};
  spec.write_paths_json = false;  // info/files, as JSON cannot hold the name
  auto extracted = make_extracted(dir.path(), spec, PackageFormat::TarBz2);
  PackageToInstall p{extracted, {}, ""};
  auto plan = plan_environment(std::span(&p, 1), {});
  ASSERT_TRUE(plan) << plan.error().to_string();
  const auto* file = find(*plan, "opt/conda/share/caf\xe9.txt");
  ASSERT_TRUE(file);
  EXPECT_EQ(content(*file), "bytes");
  auto meta = nlohmann::json::parse(content(*find(*plan, "opt/conda/conda-meta/latin1-1.0-0.json")));
  EXPECT_EQ(meta["files"][0], "share/caf\xef\xbf\xbd.txt");  // U+FFFD in place of the byte
}

TEST(Installer, LaterPackageWinsWithWarning) {
  auto dir = temp();
  test::PackageSpec a, b;
  a.name = "a";
  b.name = "b";
  a.payload = {test::file("etc/shared.conf", "from a"), test::file("share/one", "a's data"),
               Entry{"share/two", "share/one", Entry::Hardlink}};
  b.payload = {test::file("etc/shared.conf", "from b"), test::file("share/one", "b's data")};
  std::vector<PackageToInstall> pkgs = {{make_extracted(dir.path(), a), {}, ""},
                                        {make_extracted(dir.path(), b), {}, ""}};
  auto plan = plan_environment(pkgs, {});
  ASSERT_TRUE(plan);
  int count = 0;
  for (const auto& e : plan->entries) count += e.path == "opt/conda/etc/shared.conf";
  EXPECT_EQ(count, 1);
  EXPECT_EQ(content(*find(*plan, "opt/conda/etc/shared.conf")), "from b");
  EXPECT_TRUE(
      has_warning(*plan, "'opt/conda/etc/shared.conf' from b-1.0-0 replaces the one from a-1.0-0"));
  // a's hardlink to a path b replaced keeps a's content.
  const auto* two = find(*plan, "opt/conda/share/two");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->type, InstallEntry::Type::File);
  EXPECT_EQ(content(*two), "a's data");
  EXPECT_EQ(content(*find(*plan, "opt/conda/share/one")), "b's data");
}

TEST(Installer, RefusesWritesThroughSymlinksAndBadPrefixes) {
  auto dir = temp();
  test::PackageSpec a, b;
  a.name = "a";
  b.name = "b";
  a.payload = {test::symlink("lib/evil", "/tmp")};
  b.payload = {test::file("lib/evil/de-installer-escape", "x")};
  std::vector<PackageToInstall> pkgs = {{make_extracted(dir.path(), a), {}, ""},
                                        {make_extracted(dir.path(), b), {}, ""}};
  auto plan = plan_environment(pkgs, {});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().to_string().find("through the symlink 'opt/conda/lib/evil'"),
            std::string::npos)
      << plan.error().to_string();
  EXPECT_FALSE(plan_environment(std::span(&pkgs[0], 1), {.prefix = "relative/prefix"}));
  EXPECT_FALSE(plan_environment(std::span(&pkgs[0], 1), {.prefix = "/opt/../etc"}));

  // write_to_directory itself never follows a symlink on disk.
  auto root = dir.path() / "root";
  fs::create_directories(root / "opt");
  fs::create_symlink("/tmp", root / "opt/conda");
  auto ok = plan_environment(std::span(&pkgs[1], 1), {});
  ASSERT_TRUE(ok);
  auto st = write_to_directory(*ok, root, "/opt/conda");
  ASSERT_FALSE(st);
  EXPECT_FALSE(fs::exists("/tmp/lib/evil/de-installer-escape"));
}

// info/paths.json is untrusted: a path_type or file_mode that is not a string threw out of the
// reader (nlohmann's value()) and aborted the process. Found by the issue 13 review of what input
// can throw.
TEST(Installer, WronglyTypedPathsJsonFieldsAreNotACrash) {
  auto dir = temp();
  test::PackageSpec spec;
  spec.payload = {test::file("share/a", "a")};
  auto extracted = make_extracted(dir.path(), spec);
  for (std::string entry : {R"({"_path":"share/a","path_type":5})",
                            R"({"_path":"share/a","file_mode":[1],"prefix_placeholder":"/x"})"}) {
    SCOPED_TRACE(entry);
    std::ofstream(extracted / "info/paths.json", std::ios::trunc)
        << R"({"paths_version":1,"paths":[)" << entry << "]}";
    PackageToInstall p{extracted, {}, ""};
    auto plan = plan_environment(std::span(&p, 1), {});
    ASSERT_TRUE(plan) << plan.error().to_string();  // read as the defaults: a text file
    EXPECT_TRUE(find(*plan, "opt/conda/share/a"));
  }
}

TEST(Installer, RealPackages) {
  DE_REQUIRE_TESTDATA();
  auto pkgs = de::test::testdata_dir() / "conda-packages";
  auto dir = temp();
  int installed = 0;
  for (const auto& e : fs::recursive_directory_iterator(pkgs)) {
    auto name = e.path().filename().string();
    if (!e.is_regular_file() || !package_format_of(name) ||
        e.path().parent_path().filename() == "corrupt")
      continue;
    auto out = dir.path() / fmt::format("p{}", installed);
    ASSERT_TRUE(extract_package(e.path(), out)) << name;
    PackageToInstall p{out, {}, ""};
    auto plan = plan_environment(
        std::span(&p, 1),
        {.python = PythonInfo{"3.11", "lib/python3.11/site-packages"}, .verify_files = true});
    ASSERT_TRUE(plan) << name << ": " << plan.error().to_string();
    auto root = dir.path() / fmt::format("root{}", installed);
    auto st = write_to_directory(*plan, root, "/opt/conda");
    ASSERT_TRUE(st) << name << ": " << st.error().to_string();
    ++installed;

    if (name == "zlib-1.2.11-h7b6447c_3.conda" || name == "zlib-1.2.11-h7b6447c_3.tar.bz2") {
      auto pc = read_file(root / "opt/conda/lib/pkgconfig/zlib.pc");
      ASSERT_TRUE(pc);
      EXPECT_NE(pc->find("prefix=/opt/conda"), std::string::npos) << *pc;
      EXPECT_EQ(pc->find("anaconda1anaconda2"), std::string::npos);
    }
    if (name.starts_with("zlib-1.2.11-h1de35cc_3")) {  // osx-64: binary placeholder in the dylib
      auto lib = read_file(root / "opt/conda/lib/libz.1.2.11.dylib");
      ASSERT_TRUE(lib);
      EXPECT_EQ(lib->size(), 100996u);
      EXPECT_EQ(lib->find("_h_env_placehold"), std::string::npos);
      EXPECT_NE(lib->find(std::string("/opt/conda/lib") + '\0'), std::string::npos);
    }
    if (name == "conda-index-pkg-a-1.0-pyhed9eced_1.tar.bz2") {
      auto script = read_file(root / "opt/conda/bin/conda-index-pkg-a");
      ASSERT_TRUE(script);
      EXPECT_TRUE(script->starts_with("#!/opt/conda/bin/python\n"));
      EXPECT_NE(script->find("from conda_index_pkg_a import main"), std::string::npos);
      EXPECT_TRUE(fs::exists(
          root / "opt/conda/lib/python3.11/site-packages/conda_index_pkg_a/__init__.py"));
      EXPECT_TRUE(has_warning(*plan, "post-link"));
      EXPECT_TRUE(
          fs::exists(root / "opt/conda/conda-meta/conda-index-pkg-a-1.0-pyhed9eced_1.json"));
    }
    if (name == "symlink-test-1.0.0-0.conda") {
      bool saw_link = false;
      for (const auto& entry : plan->entries) saw_link |= entry.type != InstallEntry::Type::File;
      EXPECT_TRUE(saw_link);
    }
  }
  EXPECT_GT(installed, 30);
}

}  // namespace
}  // namespace de::conda

namespace de::conda {
namespace {

// Plans exported by one planning (InstallOptions::export_plans) let another plan the same
// packages without their directories (InstallOptions::preplanned): the same entries, records and
// warnings, host files below the directories given; a plan that does not decode is an error.
TEST(Installer, PortablePlansStandInForThePackages) {
  auto dir = temp();
  std::vector<PackageToInstall> pkgs = {
      {make_extracted(dir.path(), test::python_package()), {}, ""},
      {make_extracted(dir.path(), test::noarch_python_package()), {}, ""}};
  auto exported = plan_environment(pkgs, {.history_time = 1700000000, .export_plans = true});
  ASSERT_TRUE(exported) << exported.error().to_string();
  ASSERT_EQ(exported->portable.size(), 2u);
  EXPECT_FALSE(exported->portable[1].index_json.empty());

  // The noarch package planned from its portable plan, its directory somewhere that does not exist.
  std::vector<PackageToInstall> elsewhere = pkgs;
  elsewhere[1].extracted_dir = dir.path() / "not-fetched" / "pure";
  auto planned = plan_environment(
      elsewhere, {.history_time = 1700000000,
                  .preplanned = [&](std::size_t i) -> std::optional<PortablePlan> {
                    if (i == 1) return exported->portable[1];
                    return std::nullopt;
                  }});
  ASSERT_TRUE(planned) << planned.error().to_string();
  ASSERT_EQ(planned->entries.size(), exported->entries.size());
  for (std::size_t i = 0; i < planned->entries.size(); ++i) {
    const auto& a = exported->entries[i];
    const auto& b = planned->entries[i];
    EXPECT_EQ(a.path, b.path);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.mode, b.mode);
    EXPECT_EQ(a.size, b.size);
    EXPECT_EQ(a.data, b.data);
    EXPECT_EQ(a.package, b.package);
    if (!a.host_path.empty() && a.package.starts_with("pure")) {
      EXPECT_EQ(b.host_path,
                (elsewhere[1].extracted_dir / fs::path(a.host_path).lexically_relative(pkgs[1].extracted_dir)).native());
    }
  }
  ASSERT_EQ(planned->records.size(), 2u);
  EXPECT_EQ(planned->records[1].dist_name(), exported->records[1].dist_name());
  EXPECT_EQ(planned->warnings, exported->warnings);

  // A damaged plan is an error naming the package, not another plan.
  auto damaged = exported->portable[1];
  damaged.plan[damaged.plan.size() / 2] ^= 0x5a;
  auto refused = plan_environment(
      elsewhere, {.preplanned = [&](std::size_t i) -> std::optional<PortablePlan> {
        if (i == 1) return damaged;
        return std::nullopt;
      }});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().to_string().find("does not decode"), std::string::npos)
      << refused.error().to_string();
}

}  // namespace
}  // namespace de::conda
