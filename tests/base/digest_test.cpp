#include "docker_envs/base/digest.hpp"

#include <gtest/gtest.h>

namespace de {
namespace {

TEST(Digest, KnownVectors) {
  EXPECT_EQ(Digest::of("").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Digest::of("abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, ParseRoundTrip) {
  auto text = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  auto d = Digest::parse(text);
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->to_string(), text);
  EXPECT_EQ(*d, Digest::of("abc"));
}

TEST(Digest, ParseRejectsMalformed) {
  EXPECT_EQ(Digest::parse("ba7816bf").error().code(), Code::InvalidArgument);
  EXPECT_EQ(Digest::parse("sha512:00").error().code(), Code::Unsupported);
  EXPECT_FALSE(Digest::parse("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  EXPECT_FALSE(Digest::parse("sha256:zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

TEST(Sha256, StreamingEqualsOneShot) {
  Sha256 h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.finish(), Digest::of("abc"));
  // finish() resets
  EXPECT_EQ(h.finish(), Digest::of(""));
}

TEST(Md5, KnownVector) {
  Md5 h;
  std::string s = "abc";
  h.update(std::as_bytes(std::span(s.data(), s.size())));
  EXPECT_EQ(h.finish_hex(), "900150983cd24fb0d6963f7d28e17f72");
}

}  // namespace
}  // namespace de
