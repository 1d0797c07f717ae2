#include "docker_envs/conda/match_spec.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace de::conda {
namespace {

MatchSpec M(std::string_view text) {
  auto m = MatchSpec::parse(text);
  EXPECT_TRUE(m) << text << ": " << m.error().to_string();
  return m ? *m : *MatchSpec::parse("*");
}

// A record that owns its strings.
struct Record {
  std::string name = "numpy";
  Version version = *Version::parse("1.26.4");
  std::string build = "py311h64a7726_0";
  std::int64_t build_number = 0;
  std::string channel = "https://conda.anaconda.org/conda-forge";
  std::string subdir = "linux-64";
  std::string md5 = "0123456789abcdef0123456789abcdef";
  std::string sha256 = "aa" + std::string(62, '0');
  std::string license = "BSD-3-Clause";
  std::string fn = "numpy-1.26.4-py311h64a7726_0.conda";
  std::string url =
      "https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py311h64a7726_0.conda";

  PackageRecordView view() const {
    return PackageRecordView{.name = name,
                             .version = &version,
                             .build = build,
                             .build_number = build_number,
                             .channel = channel,
                             .subdir = subdir,
                             .md5 = md5,
                             .sha256 = sha256,
                             .license = license,
                             .fn = fn,
                             .url = url};
  }
};

bool matches(std::string_view spec, const Record& r = {}) { return M(spec).matches(r.view()); }

TEST(MatchSpec, Forms) {
  EXPECT_TRUE(matches("numpy"));
  EXPECT_FALSE(matches("scipy"));
  EXPECT_TRUE(matches("numpy 1.26.*"));
  EXPECT_FALSE(matches("numpy 1.25.*"));
  EXPECT_TRUE(matches("numpy >=1.20,<2"));
  EXPECT_TRUE(matches("numpy>=1.20, <2"));
  EXPECT_FALSE(matches("numpy >=2"));
  EXPECT_TRUE(matches("numpy=1.26"));
  EXPECT_TRUE(matches("numpy=1.26.4=py311*"));
  EXPECT_FALSE(matches("numpy=1.26=py311*"));  // with a build, =1.26 pins version 1.26 exactly
  EXPECT_TRUE(matches("numpy==1.26.4"));
  EXPECT_FALSE(matches("numpy==1.26"));
  EXPECT_FALSE(matches("numpy 1.26"));
  EXPECT_TRUE(matches("numpy 1.26.4 py311h64a7726_0"));
  EXPECT_FALSE(matches("numpy 1.26.4 py312h64a7726_0"));
  EXPECT_TRUE(matches("numpy ~=1.26.0"));
  EXPECT_FALSE(matches("numpy ~=1.25.0"));
  EXPECT_TRUE(matches("numpy !=1.26.3"));
  EXPECT_TRUE(matches("conda-forge::numpy"));
  EXPECT_FALSE(matches("defaults::numpy"));
  EXPECT_TRUE(matches("conda-forge/linux-64::numpy"));
  EXPECT_FALSE(matches("conda-forge/osx-arm64::numpy"));
  EXPECT_TRUE(matches("https://conda.anaconda.org/conda-forge::numpy"));
  EXPECT_TRUE(matches("numpy[version='>=1.20', build=py*]"));
  EXPECT_FALSE(matches("numpy[version='>=1.20', build=py310*]"));
  EXPECT_TRUE(matches("numpy[build=*_0]"));
  EXPECT_TRUE(matches("numpy[build='^py3[0-9]+h.*_0$']"));
  EXPECT_FALSE(matches("numpy[build='^py2.*$']"));
  EXPECT_TRUE(matches("num*"));
  EXPECT_FALSE(matches("py*"));
  EXPECT_TRUE(matches("^num.*$"));
  EXPECT_TRUE(matches("* >=1"));
  EXPECT_TRUE(matches("numpy  # a comment"));
}

TEST(MatchSpec, BracketKeys) {
  Record r;
  r.build_number = 3;
  EXPECT_TRUE(matches("numpy[build_number=3]", r));
  EXPECT_FALSE(matches("numpy[build_number=2]", r));
  EXPECT_TRUE(matches("numpy[build_number='>=3']", r));
  EXPECT_TRUE(matches("numpy[build_number=\">2\"]", r));
  EXPECT_FALSE(matches("numpy[build_number='<3']", r));
  EXPECT_TRUE(matches("numpy[build_number='!=4']", r));
  EXPECT_TRUE(matches("numpy[channel=conda-forge, subdir=linux-64]", r));
  EXPECT_FALSE(matches("numpy[subdir=noarch]", r));
  EXPECT_TRUE(matches("numpy[channel='conda-*']", r));
  EXPECT_TRUE(matches("numpy[md5=0123456789ABCDEF0123456789abcdef]", r));
  EXPECT_FALSE(matches("numpy[md5=ffffffffffffffffffffffffffffffff]", r));
  EXPECT_TRUE(matches("numpy[sha256=" + r.sha256 + "]", r));
  EXPECT_FALSE(matches("numpy[sha256=" + std::string(64, 'b') + "]", r));
  EXPECT_TRUE(matches("numpy[license=BSD-3-Clause]", r));
  EXPECT_TRUE(matches("numpy[license='BSD*']", r));
  EXPECT_FALSE(matches("numpy[license=MIT]", r));
  EXPECT_TRUE(matches("numpy[fn=numpy-1.26.4-py311h64a7726_0.conda]", r));
  EXPECT_TRUE(matches("numpy[url='" + r.url + "']", r));
  EXPECT_TRUE(matches("numpy 1.25[version=1.26.*]", r));  // the bracket value wins
  Record unknown_version = r;
  PackageRecordView view = unknown_version.view();
  view.version = nullptr;
  EXPECT_FALSE(M("numpy >=1").matches(view));
  EXPECT_TRUE(M("numpy").matches(view));
}

TEST(MatchSpec, PackageUrl) {
  Record r;
  MatchSpec m = M(r.url);
  EXPECT_EQ(m.name().to_string(), "numpy");
  EXPECT_EQ(m.version().to_string(), "==1.26.4");
  EXPECT_EQ(m.build()->to_string(), "py311h64a7726_0");
  EXPECT_EQ(m.channel()->to_string(), "https://conda.anaconda.org/conda-forge");
  EXPECT_EQ(m.subdir(), "linux-64");
  EXPECT_TRUE(m.matches(r.view()));
  EXPECT_EQ(m.to_string(),
            "https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py311h64a7726_0.conda");
}

// Issue 13 (fuzzing): parse(to_string(x)) failed or changed for package URLs whose fields do not
// form a valid "channel::name==version=build" text. Those print as the URL they came from.
TEST(MatchSpec, PackageUrlsRoundTrip) {
  struct Case {
    std::string in, out;
  };
  for (auto& [in, out] : std::vector<Case>{
           {">/c-1-d.conda", ">/c-1-d.conda"},
           {"https://host/my channel/linux-64/c-1-d.conda",
            "https://host/my channel/linux-64/c-1-d.conda"},
           {"https://host/ch/linux-64/xz-5.2.6-h,,_0.conda",
            "https://host/ch/linux-64/xz-5.2.6-h,,_0.conda"},
           {"/d-f-/e-2-.tar.bz2.tar.bz2", "/d-f-/e-2-.tar.bz2.tar.bz2"},
           {"https://host/ch/linux-64/xz-5.2.6-h1_0.conda", "https://host/ch/linux-64/xz-5.2.6-h1_0.conda"},
       }) {
    SCOPED_TRACE(in);
    auto m = MatchSpec::parse(in);
    ASSERT_TRUE(m) << m.error().to_string();
    EXPECT_EQ(m->to_string(), out);
    auto again = MatchSpec::parse(m->to_string());
    ASSERT_TRUE(again) << again.error().to_string();
    EXPECT_EQ(again->to_string(), m->to_string());
    EXPECT_EQ(MatchSpec::parse(again->to_string())->to_string(), m->to_string());
  }
}

// Found by fuzz/match_spec_fuzz.cpp: "ch//linux-64::x" kept the channel "ch/", which printed as
// channel=ch/ and re-parsed as "ch".
TEST(MatchSpec, ChannelWithDoubledSlashBeforeSubdirRoundTrips) {
  for (std::string in :
       {"co*nda-forge//linux-64::numpy>=1.20,<2[md5=01ef0145623789abcd23456789abcdef]",
        "conda-forge//linux-64::numpy"}) {
    SCOPED_TRACE(in);
    MatchSpec m = M(in);
    EXPECT_EQ(M(m.to_string()).to_string(), m.to_string());
  }
  EXPECT_EQ(M("conda-forge//linux-64::numpy").to_string(), "conda-forge/linux-64::numpy");
}

// Found by fuzz/match_spec_fuzz.cpp: a starts-with written with several trailing stars after
// "==" ("*\n====ve*****\n*" printed "*==ve****", which printed "*=ve" the next time).
TEST(MatchSpec, StartsWithWithManyStarsPrintsOneSpelling) {
  for (std::string in : {std::string("*\n====veGGGGG*****************\n*"), std::string("x ==1.2***"),
                         std::string("x !=1.2.**"), std::string("x 1.2**")}) {
    SCOPED_TRACE(in);
    MatchSpec m = M(in);
    std::string once = m.to_string();
    EXPECT_EQ(M(once).to_string(), once);
  }
  EXPECT_EQ(M("x ==1.2***").to_string(), "x=1.2");
}

// Found by fuzz/match_spec_fuzz.cpp (60 s run): a quoted bracket value holding a carriage return,
// tab or other whitespace but no space (`n[fn='a\r2']`) was printed unquoted, and an unquoted
// value ends at any whitespace, so the printed spec did not parse.
TEST(MatchSpec, BracketValueWithAnyWhitespaceIsPrintedQuoted) {
  for (std::string ws : {"\r", "\t", "\n", "\f", "\v"}) {
    std::string in = "n[fn='a" + ws + "2', license='x" + ws + "y']";
    SCOPED_TRACE(in);
    std::string once = M(in).to_string();
    auto again = MatchSpec::parse(once);
    ASSERT_TRUE(again.has_value()) << once;
    EXPECT_EQ(again->to_string(), once);
  }
}

TEST(MatchSpec, UrlWithControlBytesMatchesAsItsPrintedForm) {
  // Found by the fuzzer: a package URL printed as "channel/subdir::name==version=build", which
  // matches records the URL does not (any URL of that channel); it prints as the URL now.
  const std::string in("https://\0\0\0\0g/conda-forge/linux-64/numpy-1.26.4-py311h_0.conda", 62);
  auto spec = MatchSpec::parse(in);
  ASSERT_TRUE(spec.has_value()) << spec.error().to_string();
  std::string once = spec->to_string();
  auto again = MatchSpec::parse(once);
  ASSERT_TRUE(again.has_value()) << once;
  EXPECT_EQ(again->to_string(), once);
  static const Version version = *Version::parse("1.26.4");
  PackageRecordView record;
  record.name = "numpy";
  record.version = &version;
  record.build = "py311h_0";
  record.channel = "conda-forge";
  record.subdir = "linux-64";
  record.fn = "numpy-1.26.4-py311h_0.conda";
  EXPECT_EQ(spec->matches(record), again->matches(record)) << once;
}

TEST(MatchSpec, ChannelEndingInASubdirReadsBackAsPrinted) {
  // Found by the fuzzer (`scripts/fuzz.sh 60`): in "ch*/linux-64/linux-64::x" only the last segment
  // was taken as the subdir; the glob channel "ch*/linux-64" printed as channel=ch*/linux-64 read
  // back as channel "ch*". A channel never ends in a subdir: every such segment is stripped.
  for (std::string_view in : {"c*h/linux-64/linux-64::*>cum", "ch/linux-64/noarch::x",
                              "*[channel=ch*/linux-64/linux-64]", "ch//linux-64//linux-64/::x"}) {
    auto spec = MatchSpec::parse(in);
    ASSERT_TRUE(spec.has_value()) << in << ": " << spec.error().to_string();
    std::string once = spec->to_string();
    auto again = MatchSpec::parse(once);
    ASSERT_TRUE(again.has_value()) << once;
    EXPECT_EQ(again->to_string(), once) << in;
  }
  EXPECT_EQ(MatchSpec::parse("ch/linux-64/noarch::x")->to_string(), "ch/noarch::x");
  EXPECT_EQ(MatchSpec::parse("c*h/linux-64/linux-64::x")->to_string(),
            "x[channel=c*h,subdir=linux-64]");
}

TEST(MatchSpec, CanonicalStrings) {
  struct Case {
    std::string_view in, out;
  };
  for (auto [in, out] : std::vector<Case>{
           {"numpy", "numpy"},
           {"numpy 1.26.*", "numpy=1.26"},
           {"numpy=1.26", "numpy=1.26"},
           {"numpy >=1.20,<2", "numpy[version='>=1.20,<2']"},
           {"numpy=1.26=py311*", "numpy==1.26[build=py311*]"},
           {"numpy==1.26.4", "numpy==1.26.4"},
           {"numpy 1.26.4 py311h_0", "numpy==1.26.4=py311h_0"},
           {"conda-forge::numpy", "conda-forge::numpy"},
           {"conda-forge/linux-64::numpy", "conda-forge/linux-64::numpy"},
           {"numpy[version='>=1.20', build=py*]", "numpy[version='>=1.20',build=py*]"},
           {"numpy[build_number='>=2', md5=0123456789ABCDEF0123456789abcdef]",
            "numpy[build_number='>=2',md5=0123456789abcdef0123456789abcdef]"},
           {"numpy[channel='conda-*']", "numpy[channel=conda-*]"},
           {"numpy[license='BSD 3']", "numpy[license='BSD 3']"},
           {"pkg ~=1.2", "pkg~=1.2"},
           {"mkl@", "*[track_features=mkl]"},
       }) {
    MatchSpec m = M(in);
    EXPECT_EQ(m.to_string(), out) << in;
    EXPECT_EQ(M(m.to_string()), m) << in;
  }
}

TEST(MatchSpec, ErrorsPointAtTheProblem) {
  struct Case {
    std::string_view in, message;
  };
  for (auto [in, message] : std::vector<Case>{
           {"", "empty spec"},
           {"# only a comment", "empty spec"},
           {">=1.2", "expected a package name at position 0"},
           {"conda-forge::", "expected a package name at position 13"},
           {"numpy[version=1.2", "expected ']' to close the '[' at position 17"},
           {"numpy[version=1.2]x", "unexpected text after ']' at position 18"},
           {"numpy[foo=1]", "unknown key 'foo' at position 6"},
           {"numpy[version]", "expected '=' after 'version' at position 13"},
           {"numpy[version='1.2]", "unterminated ' quote at position 14"},
           {"numpy[version='']", "empty value for 'version' at position 6"},
           {"numpy[build_number=x]",
            "key 'build_number' at position 6: invalid build number spec 'x'"},
           {"numpy >=1.2,<",
            "in the version: invalid version spec '>=1.2,<': expected a version after '<' at "
            "position 7"},
           {"num(py", "invalid character '(' in the package name at position 3"},
           {"numpy[build='^py.*']", "a regular expression must start with '^' and end with '$'"},
           {"numpy[md5=abc]", "md5 'abc' is not 32 hex digits at position 6"},
           {"numpy[sha256=abc]", "sha256 'abc' is not 64 hex digits at position 6"},
           {"a b::numpy", "invalid channel 'a b' at position 0"},
           {"numpy 1.2 py 3", "invalid character ' ' in the build string 'py 3'"},
           {"numpy[a=1][b=2]",
            "unexpected ']' (quote values that contain brackets or quotes) at position 9"},
       }) {
    auto m = MatchSpec::parse(in);
    ASSERT_FALSE(m) << in << " parsed as " << m->to_string();
    EXPECT_EQ(m.error().code(), Code::InvalidArgument);
    EXPECT_NE(m.error().to_string().find(message), std::string::npos)
        << in << " -> " << m.error().to_string();
  }
}

}  // namespace
}  // namespace de::conda
