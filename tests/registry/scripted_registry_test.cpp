// The registry client against a scripted HTTP server: behaviours a real registry will not show on
// demand (schema 1, 429 + Retry-After, a server that ignores Range, dropped bodies, bearer token
// renewal, corrupt bytes).
#include <gtest/gtest.h>

#include <chrono>

#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "docker_envs/registry/client.hpp"
#include "support/fake_http_server.hpp"

namespace de::registry {
namespace {

using test::FakeHttpServer;
using test::HttpRequest;
using test::HttpResponse;

struct Fixture {
  std::string layer = std::string(300000, 'x') + "end";
  std::string config =
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:)" +
      Digest::of("tar").hex() + R"("]}})";
  std::string manifest;
  Fixture() {
    manifest = fmt::format(
        R"({{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{}","size":{}}},"layers":[{{"mediaType":"{}","digest":"{}","size":{}}}]}})",
        oci::media_type::kOciManifest, oci::media_type::kOciConfig, Digest::of(config).to_string(),
        config.size(), oci::media_type::kOciLayer, Digest::of(layer).to_string(), layer.size());
  }
  // Answers /v2/, the manifest, config and layer like a registry would.
  HttpResponse serve(const HttpRequest& r) const {
    if (r.target == "/v2/") return {200, {}, "{}"};
    if (r.target.ends_with("/manifests/latest"))
      return {200, {{"Content-Type", std::string(oci::media_type::kOciManifest)}}, manifest};
    if (r.target.ends_with(Digest::of(config).to_string())) return {200, {}, config};
    if (r.target.ends_with(Digest::of(layer).to_string())) return {200, {}, layer};
    return {404, {}, R"({"errors":[{"code":"NOT_FOUND","message":"nope"}]})"};
  }
};

RegistryOptions options_for(const TempDir& dir) {
  RegistryOptions o;
  o.cache_dir = dir.path() / "cache";
  o.initial_backoff = std::chrono::milliseconds(5);
  o.max_backoff = std::chrono::milliseconds(20);
  o.parallel = 1;
  return o;
}

TEST(ScriptedRegistry, Schema1IsRefusedClearly) {
  FakeHttpServer server([](const HttpRequest& r) -> HttpResponse {
    if (r.target == "/v2/") return {200, {}, "{}"};
    return {200,
            {{"Content-Type", std::string(oci::media_type::kDockerManifestV1Signed)}},
            R"({"schemaVersion":1,"name":"x","tag":"latest","fsLayers":[],"history":[]})"};
  });
  auto dir = *TempDir::create();
  auto r = pull_image(*Reference::parse(server.host() + "/x:latest"), options_for(dir));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Unsupported);
  EXPECT_NE(r.error().to_string().find("schema 1"), std::string::npos) << r.error().to_string();
}

// A registry's error body is untrusted: {"code": 5} threw out of the error formatter (nlohmann's
// value() on a non-string) and aborted the process. Found by the issue 13 review of what input
// can throw.
TEST(ScriptedRegistry, WronglyTypedErrorBodyIsReported) {
  FakeHttpServer server([](const HttpRequest& r) -> HttpResponse {
    if (r.target == "/v2/") return {200, {}, "{}"};
    return {404, {}, R"({"errors":[{"code":5,"message":["x"]},{"code":"NAME_UNKNOWN"}]})"};
  });
  auto dir = *TempDir::create();
  auto r = pull_image(*Reference::parse(server.host() + "/x:latest"), options_for(dir));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("UNKNOWN; NAME_UNKNOWN"), std::string::npos)
      << r.error().to_string();
}

// A loopback registry is tried over HTTPS, then plain HTTP. Once one answered over plain HTTP, the
// next client of it in the process (a build's push after reading a cache there) asks there first
// and spends no TLS handshake (its CA store costs tens of milliseconds).
TEST(ScriptedRegistry, APlainHttpRegistryIsAskedOverHttpFirstOnceItAnswered) {
  Fixture f;
  FakeHttpServer server([&](const HttpRequest& r) { return f.serve(r); });
  auto dir = *TempDir::create();
  auto first = pull_image(*Reference::parse(server.host() + "/x:latest"), options_for(dir));
  ASSERT_TRUE(first) << first.error().to_string();
  const int hellos = server.tls_hellos();  // 1, or 0 when an earlier test had this port
  EXPECT_LE(hellos, 1);
  for (int i = 0; i < 2; ++i) {
    auto again = pull_image(*Reference::parse(server.host() + "/y:latest"), options_for(dir));
    ASSERT_TRUE(again) << again.error().to_string();
  }
  EXPECT_EQ(server.tls_hellos(), hellos);
}

TEST(ScriptedRegistry, HonoursRetryAfter) {
  Fixture f;
  std::atomic<int> manifest_calls{0};
  FakeHttpServer server([&](const HttpRequest& r) -> HttpResponse {
    if (r.target.ends_with("/manifests/latest") && manifest_calls++ == 0)
      return {429, {{"Retry-After", "1"}}, R"({"errors":[{"code":"TOOMANYREQUESTS"}]})"};
    return f.serve(r);
  });
  auto dir = *TempDir::create();
  auto start = std::chrono::steady_clock::now();
  auto r = pull_image(*Reference::parse(server.host() + "/x:latest"), options_for(dir));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(950));
  EXPECT_EQ(manifest_calls.load(), 2);
}

TEST(ScriptedRegistry, GivesUpAfterMaxAttemptsOn5xx) {
  FakeHttpServer server([](const HttpRequest& r) -> HttpResponse {
    if (r.target == "/v2/") return {200, {}, "{}"};
    return {503, {}, R"({"errors":[{"code":"UNAVAILABLE","message":"down"}]})"};
  });
  auto dir = *TempDir::create();
  auto o = options_for(dir);
  o.max_attempts = 3;
  auto r = pull_image(*Reference::parse(server.host() + "/x:latest"), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Network);
  EXPECT_NE(r.error().to_string().find("HTTP 503"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 4u);  // ping + 3 attempts
}

TEST(ScriptedRegistry, ResumesWithRangeAndRestartsWhenRangeIsIgnored) {
  for (bool honour_range : {true, false}) {
    Fixture f;
    std::atomic<int> layer_calls{0};
    FakeHttpServer server([&](const HttpRequest& r) -> HttpResponse {
      if (r.target.ends_with(Digest::of(f.layer).to_string())) {
        int n = layer_calls++;
        if (n == 0) return {200, {}, f.layer, 100000};  // drop after 100000 bytes
        std::string range = r.header("range");
        if (honour_range && range == "bytes=100000-")
          return {206,
                  {{"Content-Range",
                    fmt::format("bytes 100000-{}/{}", f.layer.size() - 1, f.layer.size())}},
                  f.layer.substr(100000)};
        return {200, {}, f.layer};
      }
      return f.serve(r);
    });
    auto dir = *TempDir::create();
    auto r = pull_image(*Reference::parse(server.host() + "/x:latest"), options_for(dir));
    ASSERT_TRUE(r) << r.error().to_string();
    auto cached =
        read_file(dir.path() / "cache" / "blobs" / "sha256" / Digest::of(f.layer).hex(), 1 << 20);
    ASSERT_TRUE(cached);
    EXPECT_EQ(*cached, f.layer);
    EXPECT_EQ(layer_calls.load(), honour_range ? 2 : 3) << "honour_range=" << honour_range;
    bool sent_range = false;
    for (auto& req : server.requests())
      sent_range = sent_range || req.header("range") == "bytes=100000-";
    EXPECT_TRUE(sent_range);
  }
}

TEST(ScriptedRegistry, CorruptBlobIsNotCached) {
  Fixture f;
  FakeHttpServer server([&](const HttpRequest& r) -> HttpResponse {
    if (r.target.ends_with(Digest::of(f.layer).to_string())) {
      std::string bad = f.layer;
      bad[5] = 'y';
      return {200, {}, bad};
    }
    return f.serve(r);
  });
  auto dir = *TempDir::create();
  auto r = pull_image(*Reference::parse(server.host() + "/x:latest"), options_for(dir));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Corruption);
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir.path() / "cache" / "blobs" / "sha256", ec))
    EXPECT_NE(e.path().filename().string(), Digest::of(f.layer).hex());
  size_t files = 0;
  for (auto& e :
       std::filesystem::directory_iterator(dir.path() / "cache" / "blobs" / "sha256", ec)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);  // only the config; no temp file left behind
}

TEST(ScriptedRegistry, BearerTokensAreCachedAndRenewedOn401) {
  Fixture f;
  std::atomic<int> tokens_issued{0};
  std::string realm;
  FakeHttpServer server([&](const HttpRequest& r) -> HttpResponse {
    if (r.target.starts_with("/token")) {
      EXPECT_NE(r.target.find("scope=repository%3Ax%3Apull"), std::string::npos) << r.target;
      EXPECT_EQ(r.header("authorization"), "Basic " + base64_encode("u:p"));
      int n = ++tokens_issued;
      return {200, {}, fmt::format(R"({{"token":"tok{}","expires_in":300}})", n)};
    }
    std::string challenge = fmt::format(R"(Bearer realm="{}",service="fake")", realm);
    std::string auth = r.header("authorization");
    if (!auth.starts_with("Bearer tok")) return {401, {{"WWW-Authenticate", challenge}}, ""};
    // The first token stops working after the manifest: the client must fetch a new one.
    if (auth == "Bearer tok1" && !r.target.ends_with("/manifests/latest") && r.target != "/v2/")
      return {401, {{"WWW-Authenticate", challenge}}, ""};
    return f.serve(r);
  });
  realm = "http://" + server.host() + "/token";
  auto dir = *TempDir::create();
  auto o = options_for(dir);
  o.credentials = Credentials{"u", "p", ""};
  auto r = pull_image(*Reference::parse(server.host() + "/x:latest"), o);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(tokens_issued.load(), 2);
  for (auto& req : server.requests()) {  // credentials only ever go to the token endpoint
    if (!req.target.starts_with("/token")) {
      EXPECT_FALSE(req.header("authorization").starts_with("Basic"));
    }
  }
}

TEST(ScriptedRegistry, AHugeTokenLifetimeIsCappedNotOverflowed) {
  // 2^63 - 1 seconds would overflow the clock's arithmetic (undefined behaviour; a token that
  // looks expired at once). Capped, the one token serves the whole pull.
  for (const char* expires : {"9223372036854775807", "18446744073709551615", "1e300", "-5"}) {
    SCOPED_TRACE(expires);
    Fixture f;
    std::atomic<int> tokens_issued{0};
    std::string realm;
    FakeHttpServer server([&](const HttpRequest& r) -> HttpResponse {
      if (r.target.starts_with("/token")) {
        ++tokens_issued;
        return {200, {}, fmt::format(R"({{"token":"tok","expires_in":{}}})", expires)};
      }
      if (r.header("authorization") != "Bearer tok")
        return {401,
                {{"WWW-Authenticate", fmt::format(R"(Bearer realm="{}",service="fake")", realm)}},
                ""};
      return f.serve(r);
    });
    realm = "http://" + server.host() + "/token";
    auto dir = *TempDir::create();
    auto r = pull_image(*Reference::parse(server.host() + "/x:latest"), options_for(dir));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(tokens_issued.load(), 1);
  }
}

TEST(ScriptedRegistry, PicksPlatformFromIndex) {
  Fixture f;
  std::string index = fmt::format(
      R"({{"schemaVersion":2,"mediaType":"{}","manifests":[)"
      R"({{"mediaType":"{}","digest":"sha256:{}","size":1,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},)"
      R"({{"mediaType":"{}","digest":"{}","size":{},"platform":{{"os":"linux","architecture":"amd64"}}}},)"
      R"({{"mediaType":"{}","digest":"sha256:{}","size":1,"platform":{{"os":"unknown","architecture":"unknown"}}}}]}})",
      oci::media_type::kOciIndex, oci::media_type::kOciManifest, std::string(64, 'a'),
      oci::media_type::kOciManifest, Digest::of(f.manifest).to_string(), f.manifest.size(),
      oci::media_type::kOciManifest, std::string(64, 'b'));
  FakeHttpServer server([&](const HttpRequest& r) -> HttpResponse {
    if (r.target.ends_with("/manifests/latest"))
      return {200, {{"Content-Type", std::string(oci::media_type::kOciIndex)}}, index};
    if (r.target.ends_with("/manifests/" + Digest::of(f.manifest).to_string()))
      return {200, {{"Content-Type", std::string(oci::media_type::kOciManifest)}}, f.manifest};
    return f.serve(r);
  });
  auto dir = *TempDir::create();
  auto r = pull_image(*Reference::parse(server.host() + "/x:latest"), options_for(dir),
                      PullOptions{.platform = *oci::Platform::parse("linux/amd64")});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->manifest_digest, Digest::of(f.manifest));
  EXPECT_EQ(r->index_digest, Digest::of(index));
  auto missing = pull_image(*Reference::parse(server.host() + "/x:latest"), options_for(dir),
                            PullOptions{.platform = *oci::Platform::parse("linux/ppc64le")});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);
  EXPECT_NE(missing.error().to_string().find("available: linux/arm64/v8, linux/amd64"),
            std::string::npos)
      << missing.error().to_string();
}

}  // namespace
}  // namespace de::registry
