#include "docker_envs/pypi/requirement.hpp"

#include <gtest/gtest.h>

#include <string>

namespace de::pypi {
namespace {

Requirement R(std::string_view text) {
  auto r = Requirement::parse(text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().to_string());
  return r ? *r : Requirement{};
}

MarkerEnvironment linux_311() {
  return MarkerEnvironment{.implementation_name = "cpython",
                           .implementation_version = "3.11.4",
                           .os_name = "posix",
                           .platform_machine = "x86_64",
                           .platform_python_implementation = "CPython",
                           .platform_release = "",
                           .platform_system = "Linux",
                           .platform_version = "",
                           .python_full_version = "3.11.4",
                           .python_version = "3.11",
                           .sys_platform = "linux"};
}

bool E(std::string_view marker, std::string_view extra = "") {
  auto m = Marker::parse(marker);
  EXPECT_TRUE(m) << marker << ": " << (m ? "" : m.error().to_string());
  return m && m->evaluate(linux_311(), extra);
}

TEST(PypiRequirement, FormsFromThePep) {
  Requirement a = R("A");
  EXPECT_EQ(a.name, "A");
  EXPECT_EQ(a.key(), "a");
  EXPECT_TRUE(a.specifiers.empty());
  EXPECT_FALSE(a.marker);

  Requirement b = R("A.B-C_D");
  EXPECT_EQ(b.key(), "a-b-c-d");
  EXPECT_EQ(R("aa").name, "aa");
  EXPECT_EQ(R("name").to_string(), "name");
  EXPECT_EQ(R("name<=1").specifiers.to_string(), "<=1");
  EXPECT_EQ(R("name>=3").specifiers.to_string(), ">=3");
  EXPECT_EQ(R("name>=3,<2").specifiers.to_string(), ">=3,<2");

  Requirement r = R("requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < \"2.7\"");
  EXPECT_EQ(r.name, "requests");
  EXPECT_EQ(r.extras, (std::vector<std::string>{"security", "tests"}));
  EXPECT_EQ(r.specifiers.to_string(), ">=2.8.1,==2.8.*");
  ASSERT_TRUE(r.marker);
  EXPECT_EQ(r.marker->to_string(), "python_version < \"2.7\"");
  EXPECT_FALSE(r.applies(linux_311()));
  EXPECT_EQ(r.to_string(), "requests[security,tests]>=2.8.1,==2.8.*; python_version < \"2.7\"");
  EXPECT_EQ(R(r.to_string()).to_string(), r.to_string());

  Requirement u = R("pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee");
  EXPECT_EQ(u.url, "https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee");
  EXPECT_TRUE(u.specifiers.empty());

  Requirement um = R("name[quux, strange];python_version<'2.7' and platform_version=='2'");
  EXPECT_EQ(um.extras, (std::vector<std::string>{"quux", "strange"}));
  EXPECT_EQ(um.marker->to_string(), "python_version < \"2.7\" and platform_version == \"2\"");

  Requirement uu = R("name @ http://foo.com ; python_version=='2.7'");
  EXPECT_EQ(uu.url, "http://foo.com");
  EXPECT_EQ(uu.to_string(), "name @ http://foo.com ; python_version == \"2.7\"");
  EXPECT_EQ(R(uu.to_string()).url, "http://foo.com");

  Requirement paren = R("foo (>=1.0, <2)");  // the Requires-Dist style of old metadata
  EXPECT_EQ(paren.specifiers.to_string(), ">=1.0,<2");
  Requirement extras_norm = R("foo[Bar_Baz,bar-baz, Q]");
  EXPECT_EQ(extras_norm.extras, (std::vector<std::string>{"bar-baz", "q"}));
  EXPECT_TRUE(R("foo[]").extras.empty());
}

TEST(PypiRequirement, ErrorsNameTheTextAndPosition) {
  struct Case {
    const char* text;
    const char* needle;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"", "a distribution name at position 0"},
           {">=1.0", "a distribution name at position 0"},
           {"foo[bar", "',' or ']' in the extras at position 7"},
           {"foo[bar,]", "an extra name at position 8"},
           {"foo >= 1.0 ;", "marker"},
           {"foo >= 1.0 ; python_version", "comparison operator"},
           {"foo ; bogus == '1'", "unknown variable 'bogus'"},
           {"foo @ ", "a URL after '@' at position 6"},
           {"foo @ http://x/y.whl bar", "whitespace and ';'"},
           {"foo (>=1.0", "')'"},
           {"foo == 1.0 2.0", "a space inside the version"},
           {"foo ~= 1", "two release numbers"},
           {"foo-", "version specifier"},
       }) {
    auto r = Requirement::parse(c.text);
    ASSERT_FALSE(r) << c.text;
    std::string msg = r.error().to_string();
    EXPECT_NE(msg.find(c.needle), std::string::npos) << c.text << " -> " << msg;
    EXPECT_NE(msg.find("invalid requirement '"), std::string::npos) << msg;
  }
}

TEST(PypiMarker, EvaluatesForTheTarget) {
  EXPECT_TRUE(E("python_version >= '3.8'"));
  EXPECT_TRUE(E("python_version > '3.9'"));  // 3.11 > 3.9 as versions, not as strings
  EXPECT_FALSE(E("python_version < '3.9'"));
  EXPECT_TRUE(E("python_version == '3.11'"));
  EXPECT_TRUE(E("python_version == '3.11.*'"));
  EXPECT_TRUE(E("python_full_version >= '3.11.2'"));
  EXPECT_TRUE(E("python_version ~= '3.8'"));
  EXPECT_TRUE(E("sys_platform == 'linux'"));
  EXPECT_FALSE(E("sys_platform == 'win32'"));
  EXPECT_TRUE(E("sys_platform != 'win32' and os_name == 'posix'"));
  EXPECT_TRUE(E("platform_system == 'Linux' and platform_machine == 'x86_64'"));
  EXPECT_TRUE(E("implementation_name == 'cpython'"));
  EXPECT_TRUE(E("platform_python_implementation == 'CPython'"));
  EXPECT_FALSE(E("platform_python_implementation == 'PyPy'"));
  EXPECT_TRUE(E("'linux' in sys_platform"));
  EXPECT_TRUE(E("'lin' in sys_platform"));
  EXPECT_TRUE(E("'win' not in sys_platform"));
  EXPECT_TRUE(E("platform_machine in 'x86_64 amd64'"));
  EXPECT_TRUE(E("os.name == 'posix' and sys.platform == 'linux'"));  // legacy spellings
  EXPECT_TRUE(E("python_implementation == 'CPython'"));
  // String comparison when either side is no version (Python's behaviour).
  EXPECT_TRUE(E("platform_machine >= 'a'"));
  EXPECT_FALSE(E("sys_platform ~= 'linux'"));
  // Precedence: `and` binds tighter than `or`; parentheses group.
  EXPECT_TRUE(E("os_name == 'nt' and python_version < '3' or sys_platform == 'linux'"));
  EXPECT_FALSE(E("os_name == 'nt' and (python_version < '3' or sys_platform == 'linux')"));
  EXPECT_TRUE(E("((sys_platform == 'linux'))"));
  // Values on either side.
  EXPECT_TRUE(E("'3.11' == python_version"));
  EXPECT_TRUE(E("'3.12' > python_version"));
}

TEST(PypiMarker, Extras) {
  EXPECT_FALSE(E("extra == 'test'"));
  EXPECT_TRUE(E("extra == 'test'", "test"));
  EXPECT_TRUE(E("extra == 'Foo_Bar'", "foo-bar"));  // PEP 685 normalisation
  EXPECT_TRUE(E("extra == 'foo.bar'", "Foo-Bar"));
  EXPECT_TRUE(E("extra != 'test'"));
  EXPECT_TRUE(E("python_version >= '3' and extra == 'socks'", "socks"));
  auto m = Marker::parse("python_version >= '3' and extra == 'socks'");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->mentions_extra());
  EXPECT_FALSE(Marker::parse("python_version >= '3'")->mentions_extra());
}

TEST(PypiMarker, ToStringRoundTrips) {
  for (const char* text :
       {"python_version < \"3\"", "os_name == \"nt\" and python_version < \"3\"",
        "(os_name == \"nt\" or sys_platform == \"win32\") and python_version < \"3\"",
        "\"lin\" in sys_platform", "platform_machine not in \"x86_64 aarch64\"",
        "sys_platform == 'say \"hi\"'"}) {
    auto m = Marker::parse(text);
    ASSERT_TRUE(m) << text;
    EXPECT_EQ(m->to_string(), text);
  }
  EXPECT_EQ(Marker::parse("os.name=='posix'")->to_string(), "os_name == \"posix\"");
}

TEST(PypiMarker, Invalid) {
  for (const char* bad :
       {"", "python_version", "python_version <", "python_version < '3", "python_version = '3'",
        "python_version < '3' and", "python_version < '3' or or", "(python_version < '3'",
        "python_version < '3')", "foo == 'x'", "python_version notin 'x'", "'a' 'b'",
        "python_version < '3' xor os_name == 'x'"}) {
    auto m = Marker::parse(bad);
    EXPECT_FALSE(m) << bad << " -> " << (m ? m->to_string() : "");
  }
  // Nesting is bounded.
  std::string deep(200, '(');
  deep += "os_name == 'posix'" + std::string(200, ')');
  auto d = Marker::parse(deep);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("nested"), std::string::npos);
  std::string ok(60, '(');
  ok += "os_name == 'posix'" + std::string(60, ')');
  EXPECT_TRUE(Marker::parse(ok));
}

}  // namespace
}  // namespace de::pypi
