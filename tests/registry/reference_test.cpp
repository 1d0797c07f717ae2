#include "docker_envs/registry/reference.hpp"

#include <gtest/gtest.h>

namespace de::registry {
namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Case {
  std::string input, domain, repository, tag, familiar;
};

TEST(Reference, NormalisesLikeDocker) {
  const Case cases[] = {
      {"ubuntu", "docker.io", "library/ubuntu", "latest", "ubuntu:latest"},
      {"ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", "ubuntu:22.04"},
      {"user/app", "docker.io", "user/app", "latest", "user/app:latest"},
      {"docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", "ubuntu:latest"},
      {"index.docker.io/library/ubuntu:1", "docker.io", "library/ubuntu", "1", "ubuntu:1"},
      {"localhost/app", "localhost", "app", "latest", "localhost/app:latest"},
      {"localhost:5000/a/b:t", "localhost:5000", "a/b", "t", "localhost:5000/a/b:t"},
      {"127.0.0.1:5000/x", "127.0.0.1:5000", "x", "latest", "127.0.0.1:5000/x:latest"},
      {"ghcr.io/org/repo:v1.2_3-rc", "ghcr.io", "org/repo", "v1.2_3-rc",
       "ghcr.io/org/repo:v1.2_3-rc"},
      {"[::1]:5000/img", "[::1]:5000", "img", "latest", "[::1]:5000/img:latest"},
      {"Registry/app", "Registry", "app", "latest", "Registry/app:latest"},  // upper case: a host
      {"foo:5000", "docker.io", "library/foo", "5000", "foo:5000"},          // no slash: a tag
      {"a__b/c-d---e.f_g", "docker.io", "a__b/c-d---e.f_g", "latest", "a__b/c-d---e.f_g:latest"},
  };
  for (auto& c : cases) {
    auto r = Reference::parse(c.input);
    ASSERT_TRUE(r) << c.input << ": " << r.error().to_string();
    EXPECT_EQ(r->domain, c.domain) << c.input;
    EXPECT_EQ(r->repository, c.repository) << c.input;
    EXPECT_EQ(r->tag, c.tag) << c.input;
    EXPECT_FALSE(r->digest) << c.input;
    EXPECT_EQ(r->familiar(), c.familiar) << c.input;
    // The full form parses back to the same value.
    auto again = Reference::parse(r->to_string());
    ASSERT_TRUE(again) << r->to_string();
    EXPECT_EQ(*again, *r);
  }
}

// Issue 13 (fuzzing): "docker.io/r.i/2" printed as "r.i/2:latest", which names the registry
// r.i. The familiar form keeps "docker.io/" when the first component looks like a host.
TEST(Reference, FamiliarFormParsesBackToTheSameReference) {
  struct FamiliarCase {
    std::string input, familiar;
  } cases[] = {
      {"docker.io/r.i/2", "docker.io/r.i/2:latest"},
      {"docker.io/localhost/app:1", "docker.io/localhost/app:1"},
      {"docker.io/library/r.i", "r.i:latest"},
      {"docker.io/user/app", "user/app:latest"},
      {"docker.io/localhostx/app", "localhostx/app:latest"},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.input);
    auto r = Reference::parse(c.input);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->familiar(), c.familiar);
    auto again = Reference::parse(r->familiar());
    ASSERT_TRUE(again) << again.error().to_string();
    EXPECT_EQ(*again, *r);
  }
}

TEST(Reference, Digests) {
  auto r = Reference::parse("ubuntu@sha256:" + kHex);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag, "");
  ASSERT_TRUE(r->digest);
  EXPECT_EQ(r->identifier(), "sha256:" + kHex);
  EXPECT_EQ(r->to_string(), "docker.io/library/ubuntu@sha256:" + kHex);

  auto both = Reference::parse("localhost:5000/app:1.0@sha256:" + kHex);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->tag, "1.0");
  EXPECT_EQ(both->identifier(), "sha256:" + kHex);  // the digest decides
  EXPECT_EQ(both->familiar(), "localhost:5000/app:1.0@sha256:" + kHex);
}

TEST(Reference, ApiHost) {
  EXPECT_EQ(Reference::parse("ubuntu")->api_host(), "registry-1.docker.io");
  EXPECT_EQ(Reference::parse("quay.io/a/b")->api_host(), "quay.io");
}

TEST(Reference, Rejects) {
  for (const std::string& bad :
       std::vector<std::string>{"", "UPPER", "docker.io/Upper/x", "a//b", "-a", "a-", "a..b",
                                "a:", "a:-tag", "a@sha256:abc", "host:port/x",
                                "a/b:" + std::string(129, 't'), kHex, "a b", "localhost:5000/"}) {
    auto r = Reference::parse(bad);
    EXPECT_FALSE(r) << "'" << bad << "' parsed as " << (r ? r->to_string() : "");
    if (!r) {
      EXPECT_EQ(r.error().code(), Code::InvalidArgument) << bad;
    }
  }
  auto upper = Reference::parse("Ubuntu");
  ASSERT_FALSE(upper);
  EXPECT_NE(upper.error().message().find("lowercase"), std::string::npos);
  auto sha512 = Reference::parse("a@sha512:" + kHex + kHex);
  ASSERT_FALSE(sha512);
  EXPECT_EQ(sha512.error().code(), Code::Unsupported);
}

TEST(Reference, Loopback) {
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("localhost:5000"));
  EXPECT_TRUE(is_loopback_host("127.0.0.1:5000"));
  EXPECT_TRUE(is_loopback_host("127.3.2.1"));
  EXPECT_TRUE(is_loopback_host("[::1]:5000"));
  EXPECT_FALSE(is_loopback_host("127.example.com"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1:5000"));
  EXPECT_FALSE(is_loopback_host("localhost.evil.com"));
}

}  // namespace
}  // namespace de::registry
