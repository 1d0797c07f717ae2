#include "docker_envs/registry/auth.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "docker_envs/base/io.hpp"

#include <cstdlib>
#include <fstream>

#include "docker_envs/base/io.hpp"

namespace de::registry {
namespace {

TEST(Challenge, DockerHubBearer) {
  auto c = parse_challenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull")");
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].scheme, "bearer");
  EXPECT_EQ((*c)[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*c)[0].param("service"), "registry.docker.io");
  EXPECT_EQ((*c)[0].param("scope"), "repository:library/ubuntu:pull");
}

TEST(Challenge, SeveralChallengesEscapesAndCase) {
  auto c = parse_challenges(
      R"(Basic realm="a \"quoted\" realm", charset=UTF-8, BEARER Realm="https://x/t" , error="insufficient_scope")");
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[0].scheme, "basic");
  EXPECT_EQ((*c)[0].param("realm"), R"(a "quoted" realm)");
  EXPECT_EQ((*c)[0].param("charset"), "UTF-8");
  EXPECT_EQ((*c)[1].scheme, "bearer");
  EXPECT_EQ((*c)[1].param("realm"), "https://x/t");
  EXPECT_EQ((*c)[1].param("error"), "insufficient_scope");
}

TEST(Challenge, Malformed) {
  EXPECT_FALSE(parse_challenges(""));
  EXPECT_FALSE(parse_challenges(R"(Bearer realm="unterminated)"));
  EXPECT_FALSE(parse_challenges(R"(Bearer ="x")"));
}

TEST(Credentials, UserPass) {
  auto c = Credentials::parse_user_pass("alice:pa:ss");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "pa:ss");
  EXPECT_FALSE(Credentials::parse_user_pass("nocolon"));
  EXPECT_FALSE(Credentials::parse_user_pass(":x"));
}

TEST(Base64, RoundTrip) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", "user:pass",
                                                       std::string("\0\xff\x10", 3)}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_FALSE(base64_decode("a*b="));
}

constexpr std::string_view kConfig = R"({
  "auths": {
    "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
    "localhost:5000": {"auth": "bG9jYWw6cHc="},
    "https://tok.example.com/v2/": {"identitytoken": "refresh-me"},
    "empty.example.com": {}
  },
  "credHelpers": {"helped.example.com": "fake"},
  "HttpHeaders": {"User-Agent": "x"}
})";

TEST(DockerConfig, ParsesAuthsAndHelpers) {
  auto c = DockerConfig::parse(kConfig);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->auths.size(), 4u);
  EXPECT_EQ(c->auths["localhost:5000"].username, "local");
  EXPECT_EQ(c->auths["localhost:5000"].password, "pw");
  EXPECT_EQ(c->cred_helpers["helped.example.com"], "fake");
  EXPECT_TRUE(c->creds_store.empty());
}

TEST(DockerConfig, BadAuthNamesRegistryNotValue) {
  auto c = DockerConfig::parse(R"({"auths":{"r.example.com":{"auth":"bm9jb2xvbg=="}}})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("r.example.com"), std::string::npos);
  EXPECT_EQ(c.error().message().find("bm9jb2xvbg"), std::string::npos);
  EXPECT_FALSE(DockerConfig::parse("[1,2]"));
}

TEST(DockerConfig, Lookup) {
  auto c = *DockerConfig::parse(kConfig);
  std::vector<std::pair<std::string, std::string>> calls;
  CredentialHelper fake = [&](const std::string& helper,
                              const std::string& server) -> Result<std::optional<Credentials>> {
    calls.emplace_back(helper, server);
    if (server == "helped.example.com") return Credentials{"h", "hp", ""};
    return std::nullopt;
  };
  auto hub = lookup_credentials(c, "docker.io", fake);
  ASSERT_TRUE(hub && *hub);
  EXPECT_EQ((*hub)->username, "hub");
  EXPECT_EQ((*hub)->password, "secret");
  auto local = lookup_credentials(c, "localhost:5000", fake);
  ASSERT_TRUE(local && *local);
  EXPECT_EQ((*local)->username, "local");
  auto tok = lookup_credentials(c, "tok.example.com", fake);
  ASSERT_TRUE(tok && *tok);
  EXPECT_EQ((*tok)->identity_token, "refresh-me");
  auto helped = lookup_credentials(c, "helped.example.com", fake);
  ASSERT_TRUE(helped && *helped);
  EXPECT_EQ((*helped)->username, "h");
  auto none = lookup_credentials(c, "other.example.com", fake);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto empty = lookup_credentials(c, "empty.example.com", fake);
  ASSERT_TRUE(empty);
  EXPECT_FALSE(*empty);
  ASSERT_EQ(calls.size(), 1u);  // only the registry with a helper asked it
  EXPECT_EQ(calls[0].first, "fake");

  // credsStore applies to every registry; Docker Hub is asked for under its v1 URL.
  c.creds_store = "store";
  calls.clear();
  auto via_store = lookup_credentials(c, "docker.io", fake);
  ASSERT_TRUE(via_store) << via_store.error().to_string();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].first, "store");
  EXPECT_EQ(calls[0].second, "https://index.docker.io/v1/");
}

TEST(CredentialHelper, MissingHelperIsAnAuthError) {
  auto r = run_credential_helper("does-not-exist-xyz", "example.com");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Auth);
}

// Helpers on PATH for one test: docker-credential-NAME scripts in a temp directory put first.
class HelperPath {
 public:
  HelperPath() : dir_(*de::TempDir::create()) {
    const char* old = std::getenv("PATH");
    old_ = old ? old : "";
    ::setenv("PATH", (dir_.path().string() + ":" + old_).c_str(), 1);
  }
  ~HelperPath() { ::setenv("PATH", old_.c_str(), 1); }
  void add(const std::string& name, const std::string& script) {
    auto path = dir_.path() / ("docker-credential-" + name);
    ASSERT_TRUE(de::write_file_atomic(path, "#!/bin/sh\n" + script));
    ::chmod(path.c_str(), 0755);
  }

 private:
  de::TempDir dir_;
  std::string old_;
};

// Regression (issue 13 item 7): a helper that exits without reading the server name on its stdin
// made our write raise SIGPIPE, killing the process (rc 141). Now its output and exit status
// decide. The long server names make the write outlast the helper on every call.
TEST(CredentialHelper, AHelperThatExitsWithoutReadingStdinDoesNotKillUs) {
  HelperPath path;
  path.add("early-ok", "echo '{\"Username\":\"u\",\"Secret\":\"s\"}'\n");
  path.add("early-fail", "echo 'no keychain here' >&2; exit 1\n");
  const std::string long_server = "https://" + std::string(1 << 20, 'r') + ".example";
  for (int i = 0; i < 200; ++i) {
    const std::string server = i % 4 == 0 ? long_server : "registry.example.com";
    auto ok = run_credential_helper("early-ok", server);
    ASSERT_TRUE(ok) << ok.error().to_string();
    ASSERT_TRUE(ok->has_value());
    EXPECT_EQ((*ok)->username, "u");
    EXPECT_EQ((*ok)->password, "s");
    auto failed = run_credential_helper("early-fail", server);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code(), Code::Auth);
    EXPECT_NE(failed.error().message().find("no keychain here"), std::string::npos);
  }
}

// A helper's answer is untrusted: a field of the wrong JSON type threw out of the parser
// (nlohmann's value()) and aborted the process. Found by the issue 13 review of what input can
// throw.
TEST(CredentialHelper, WronglyTypedFieldsAreNotACrash) {
  HelperPath path;
  path.add("de-typed", "cat >/dev/null\necho '{\"Username\": 5, \"Secret\": [\"x\"]}'\n");
  auto r = run_credential_helper("de-typed", "example.com");
  // Nothing usable in the answer: no credentials (or an error), never an exception.
  if (r) {
    EXPECT_FALSE(r->has_value() && !(*r)->username.empty());
  }
}

}  // namespace
}  // namespace de::registry
