#include "docker_envs/base/redact.hpp"

#include <gtest/gtest.h>

namespace de {
namespace {

TEST(RedactUrl, PasswordsAndTokens) {
  EXPECT_EQ(redact_url("https://user:pw@host.example/t/abc/x"),
            "https://user:***@host.example/t/***/x");
  EXPECT_EQ(redact_url("docker://user:s3cret@host/repo:tag"), "docker://user:***@host/repo:tag");
  EXPECT_EQ(redact_url("https://host.example/plain/path"), "https://host.example/plain/path");
  EXPECT_EQ(redact_url("/local/t/dir"), "/local/t/***");
}

TEST(RedactUrl, QueryCredentials) {
  EXPECT_EQ(redact_url("https://h/x?token=abc"), "https://h/x?token=***");
  EXPECT_EQ(redact_url("https://h/x?a=1&Access_Token=abc&b=2"),
            "https://h/x?a=1&Access_Token=***&b=2");
  EXPECT_EQ(redact_url("https://s3.example/blob?X-Amz-Algorithm=AWS4&X-Amz-Credential=AK%2F1"
                       "&X-Amz-Signature=deadbeef&X-Amz-Security-Token=tok"),
            "https://s3.example/blob?X-Amz-Algorithm=AWS4&X-Amz-Credential=***"
            "&X-Amz-Signature=***&X-Amz-Security-Token=***");
  EXPECT_EQ(redact_url("https://blob.example/c/b?sv=2020&sig=abc%3D;password=p#frag"),
            "https://blob.example/c/b?sv=2020&sig=***;password=***#frag");
  EXPECT_EQ(redact_url("https://h/x?SIGNATURE=s&tokens=keep&token="),
            "https://h/x?SIGNATURE=***&tokens=keep&token=");
  // A '@' or "/t/" in the query is no userinfo or conda token.
  EXPECT_EQ(redact_url("https://h/x?next=/t/y&mail=a:b@c"), "https://h/x?next=/t/y&mail=a:b@c");
}

TEST(RedactUrl, SecretKeys) {
  for (auto key : {"token", "TOKEN", "access_token", "sig", "Signature", "password",
                   "x-amz-signature", "X-Goog-Signature", "api_key", "client_secret"})
    EXPECT_TRUE(is_secret_query_key(key)) << key;
  for (auto key : {"", "tokens", "sv", "X-Amz-Algorithm", "X-Amz-Expires", "page"})
    EXPECT_FALSE(is_secret_query_key(key)) << key;
}

TEST(StripCredentials, RemovesTokenAndUserinfo) {
  EXPECT_EQ(strip_credentials("https://u:pw@host/t/abc/chan/x.conda"), "https://host/chan/x.conda");
}

}  // namespace
}  // namespace de
