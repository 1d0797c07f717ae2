// push_image / push_index against an in-process registry that keeps blobs, uploads and manifests in
// memory and follows the distribution API closely enough to catch what a real one would refuse:
// blobs are checked against their digest when an upload completes, chunks must arrive in order,
// mounts need the blob in the source repository. Every test goes through the public API only.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "docker_envs/oci/layer_builder.hpp"
#include "docker_envs/oci/manifest.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "docker_envs/oci/mutate.hpp"
#include "docker_envs/registry/client.hpp"
#include "support/fake_http_server.hpp"

namespace de::registry {
namespace {

using test::FakeHttpServer;
using test::HttpRequest;
using test::HttpResponse;
namespace mt = oci::media_type;

// The value of query parameter `name` in `target` (not URL-decoded beyond %3A, which is all a
// digest needs).
std::string query_param(const std::string& target, const std::string& name) {
  auto q = target.find('?');
  if (q == std::string::npos) return "";
  std::string query = target.substr(q + 1);
  for (size_t pos = 0; pos <= query.size();) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string kv = query.substr(pos, amp - pos);
    if (kv.starts_with(name + "=")) {
      std::string v = kv.substr(name.size() + 1);
      for (size_t p; (p = v.find("%3A")) != std::string::npos;) v.replace(p, 3, ":");
      for (size_t p; (p = v.find("%2F")) != std::string::npos;) v.replace(p, 3, "/");
      return v;
    }
    pos = amp + 1;
  }
  return "";
}

std::string path_of(const std::string& target) { return target.substr(0, target.find('?')); }

HttpResponse api_error(int status, const std::string& code, const std::string& message) {
  return {
      status, {}, fmt::format(R"({{"errors":[{{"code":"{}","message":"{}"}}]}})", code, message)};
}

// An in-memory registry. `hook` may answer a request first (to inject faults).
class MemoryRegistry {
 public:
  std::function<std::optional<HttpResponse>(const HttpRequest&)> hook;

  HttpResponse handle(const HttpRequest& r) {
    if (hook)
      if (auto answer = hook(r)) return *answer;
    std::lock_guard lock(mutex_);
    std::string path = path_of(r.target);
    if (path == "/v2/") return {200, {}, "{}"};
    if (!path.starts_with("/v2/")) return api_error(404, "NOT_FOUND", "no route");
    auto split = [&](std::string_view marker) -> std::pair<std::string, std::string> {
      auto at = path.find(marker);
      if (at == std::string::npos) return {};
      return {path.substr(4, at - 4), path.substr(at + marker.size())};
    };
    if (auto [repo, rest] = split("/blobs/uploads/"); !repo.empty()) return upload(r, repo, rest);
    if (auto [repo, digest] = split("/blobs/"); !repo.empty()) {
      if (r.method != "HEAD" && r.method != "GET") return api_error(405, "UNSUPPORTED", "method");
      if (!repos_[repo].contains(digest)) return api_error(404, "BLOB_UNKNOWN", "blob unknown");
      return {200,
              {{"Content-Length", std::to_string(blobs_[digest].size())},
               {"Docker-Content-Digest", digest}},
              r.method == "GET" ? blobs_[digest] : ""};
    }
    if (auto [repo, reference] = split("/manifests/"); !repo.empty() && r.method == "PUT") {
      std::string digest = Digest::of(r.body).to_string();
      manifests_[repo + ":" + reference] = {r.header("content-type"), r.body};
      return {201,
              {{"Location", fmt::format("/v2/{}/manifests/{}", repo, digest)},
               {"Docker-Content-Digest", digest}},
              ""};
    }
    return api_error(404, "NOT_FOUND", "no route");
  }

  size_t open_uploads() {
    std::lock_guard lock(mutex_);
    return uploads_.size();
  }
  // Blob bytes when `repo` holds the blob.
  std::optional<std::string> blob(const std::string& repo, const Digest& d) {
    std::lock_guard lock(mutex_);
    if (!repos_[repo].contains(d.to_string())) return std::nullopt;
    return blobs_[d.to_string()];
  }
  struct Manifest {
    std::string content_type, bytes;
  };
  std::optional<Manifest> manifest(const std::string& repo, const std::string& reference) {
    std::lock_guard lock(mutex_);
    auto it = manifests_.find(repo + ":" + reference);
    if (it == manifests_.end()) return std::nullopt;
    return it->second;
  }

 private:
  HttpResponse upload(const HttpRequest& r, const std::string& repo, const std::string& id) {
    if (r.method == "POST" && id.empty()) {
      std::string mount = query_param(r.target, "mount"), from = query_param(r.target, "from");
      if (!mount.empty() && repos_[from].contains(mount)) {
        repos_[repo].insert(mount);
        return {201, {{"Location", fmt::format("/v2/{}/blobs/{}", repo, mount)}}, ""};
      }
      std::string uuid = "u" + std::to_string(++next_upload_);
      uploads_[uuid] = "";
      return {202,
              {{"Location", fmt::format("/v2/{}/blobs/uploads/{}", repo, uuid)},
               {"Range", "0-0"},
               {"Docker-Upload-UUID", uuid}},
              ""};
    }
    auto it = uploads_.find(id);
    if (it == uploads_.end()) return api_error(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
    std::string& data = it->second;
    std::string location = fmt::format("/v2/{}/blobs/uploads/{}", repo, id);
    auto range = [&] { return data.empty() ? "0-0" : fmt::format("0-{}", data.size() - 1); };
    if (r.method == "GET") return {204, {{"Location", location}, {"Range", range()}}, ""};
    if (r.method == "DELETE") {
      uploads_.erase(it);
      return {204, {}, ""};
    }
    if (r.method == "PATCH") {
      std::string content_range = r.header("content-range");
      if (!content_range.empty() &&
          content_range != fmt::format("{}-{}", data.size(), data.size() + r.body.size() - 1))
        return {416, {{"Location", location}, {"Range", range()}}, ""};
      data += r.body;
      return {202, {{"Location", location}, {"Range", range()}}, ""};
    }
    if (r.method == "PUT") {
      data += r.body;
      std::string digest = query_param(r.target, "digest");
      if (digest != Digest::of(data).to_string())
        return api_error(400, "DIGEST_INVALID", "provided digest did not match uploaded content");
      blobs_[digest] = data;
      repos_[repo].insert(digest);
      uploads_.erase(it);
      return {201,
              {{"Location", fmt::format("/v2/{}/blobs/{}", repo, digest)},
               {"Docker-Content-Digest", digest}},
              ""};
    }
    return api_error(405, "UNSUPPORTED", "method");
  }

  std::mutex mutex_;
  std::map<std::string, std::string> blobs_;            // digest -> bytes
  std::map<std::string, std::set<std::string>> repos_;  // repository -> digests it holds
  std::map<std::string, std::string> uploads_;          // uuid -> bytes so far
  std::map<std::string, Manifest> manifests_;           // "repo:reference"
  int next_upload_ = 0;
};

// A registry on 127.0.0.1 backed by a MemoryRegistry.
struct Served {
  MemoryRegistry registry;
  FakeHttpServer server{[this](const HttpRequest& r) { return registry.handle(r); }};
  Reference ref(const std::string& name) { return *Reference::parse(server.host() + "/" + name); }
  // The requests with this method whose target contains `part`.
  std::vector<HttpRequest> requests(const std::string& method, const std::string& part = "") {
    std::vector<HttpRequest> out;
    for (auto& r : server.requests())
      if (r.method == method && r.target.find(part) != std::string::npos) out.push_back(r);
    return out;
  }
};

RegistryOptions options_in(const TempDir& dir, std::string cache = "cache") {
  RegistryOptions o;
  o.cache_dir = dir.path() / cache;
  o.initial_backoff = std::chrono::milliseconds(5);
  o.max_backoff = std::chrono::milliseconds(20);
  o.max_attempts = 2;
  o.parallel = 2;
  return o;
}

// Bytes gzip cannot shrink much, so that a layer spans several upload chunks.
std::string noise(size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  for (auto& c : s) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return s;
}

// scratch plus one generated layer per content.
oci::Image image_with(const std::vector<std::string>& contents, std::string arch = "amd64") {
  oci::Image img = oci::scratch_image();
  img.config.set_platform(oci::Platform{.os = "linux", .architecture = std::move(arch)});
  int i = 0;
  for (auto& c : contents) {
    oci::LayerBuilder b({});
    b.add_contents(fmt::format("data/{}", i++), c);
    img = oci::append_layer(std::move(img), *std::move(b).build(),
                            oci::HistoryEntry{.created_by = "push_test"});
  }
  return img;
}

// The manifest pushed under `reference`, parsed, after checking its content type and digest.
oci::Manifest pushed_manifest(Served& s, const std::string& repo, const std::string& reference,
                              const PushResult& result) {
  auto m = s.registry.manifest(repo, reference);
  EXPECT_TRUE(m) << repo << ":" << reference;
  if (!m) return {};
  EXPECT_EQ(m->content_type, result.media_type);
  EXPECT_EQ(Digest::of(m->bytes), result.manifest_digest);
  EXPECT_EQ(static_cast<std::int64_t>(m->bytes.size()), result.size);
  auto parsed = oci::Manifest::parse(m->bytes);
  EXPECT_TRUE(parsed) << m->bytes;
  return parsed ? *parsed : oci::Manifest{};
}

TEST(Push, UploadsMissingBlobsThenPutsTheManifest) {
  Served s;
  auto dir = *TempDir::create();
  auto img = image_with({"first layer\n", "second layer\n"});
  auto r = push_image(img, s.ref("team/app:1"), options_in(dir));
  ASSERT_TRUE(r) << r.error().to_string();

  EXPECT_EQ(r->media_type, mt::kOciManifest);  // a new image is pushed as OCI
  oci::Manifest m = pushed_manifest(s, "team/app", "1", *r);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.config.media_type, mt::kOciConfig);
  // Every blob the manifest names is in the repository, intact, and was checked before upload.
  std::vector<oci::Descriptor> blobs = m.layers;
  blobs.push_back(m.config);
  for (auto& d : blobs) {
    auto bytes = s.registry.blob("team/app", d.digest);
    ASSERT_TRUE(bytes) << d.digest.to_string();
    EXPECT_EQ(Digest::of(*bytes), d.digest);
    EXPECT_EQ(static_cast<std::int64_t>(bytes->size()), d.size);
    EXPECT_EQ(s.requests("HEAD", d.digest.to_string()).size(), 1u) << d.digest.to_string();
  }
  for (auto& l : m.layers) EXPECT_EQ(l.media_type, mt::kOciLayerGzip);
  EXPECT_EQ(r->blobs_uploaded, 3);
  EXPECT_EQ(r->blobs_skipped, 0);
  EXPECT_EQ(r->blobs_mounted, 0);
  std::uint64_t total = 0;
  for (auto& d : blobs) total += static_cast<std::uint64_t>(d.size);
  EXPECT_EQ(r->bytes_uploaded, total);
  ASSERT_EQ(r->manifests.size(), 1u);
  EXPECT_EQ(r->manifests[0], r->manifest_digest);
  // Monolithic: one POST and one PUT carrying the whole blob per blob, no PATCH; the manifest
  // goes last, after every blob.
  EXPECT_EQ(s.requests("POST", "/blobs/uploads/").size(), 3u);
  EXPECT_EQ(s.requests("PATCH").size(), 0u);
  auto all = s.server.requests();
  auto manifest_put = std::find_if(all.begin(), all.end(), [](auto& q) {
    return q.method == "PUT" && q.target.find("/manifests/") != std::string::npos;
  });
  ASSERT_NE(manifest_put, all.end());
  EXPECT_EQ(manifest_put->target, "/v2/team/app/manifests/1");
  for (auto it = manifest_put + 1; it != all.end(); ++it)
    EXPECT_EQ(it->target.find("/blobs/"), std::string::npos) << it->method << " " << it->target;
}

TEST(Push, SkipsBlobsTheRegistryAlreadyHas) {
  Served s;
  auto dir = *TempDir::create();
  auto img = image_with({"shared layer\n"});
  ASSERT_TRUE(push_image(img, s.ref("team/app:1"), options_in(dir)));
  auto posts_before = s.requests("POST").size();
  // Another client (no shared cache) pushes the same image under a new tag.
  auto r = push_image(img, s.ref("team/app:2"), options_in(dir, "other-cache"));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->blobs_skipped, 2);  // layer + config
  EXPECT_EQ(r->blobs_uploaded, 0);
  EXPECT_EQ(r->bytes_uploaded, 0u);
  EXPECT_GT(r->bytes_skipped, 0u);
  EXPECT_EQ(s.requests("POST").size(), posts_before);  // no upload started
  oci::Manifest m = pushed_manifest(s, "team/app", "2", *r);
  EXPECT_EQ(m.layers.size(), 1u);
}

TEST(Push, UploadsLargeBlobsInOrderedChunks) {
  Served s;
  auto dir = *TempDir::create();
  auto img = image_with({noise(50000, 7)});
  auto o = options_in(dir);
  auto r = push_image(img, s.ref("big/img:1"), o, PushOptions{.chunk_size = 16384});
  ASSERT_TRUE(r) << r.error().to_string();
  oci::Manifest m = pushed_manifest(s, "big/img", "1", *r);
  ASSERT_EQ(m.layers.size(), 1u);
  const oci::Descriptor& layer = m.layers[0];
  ASSERT_GT(layer.size, 3 * 16384);  // the noise stays large compressed
  auto patches = s.requests("PATCH");
  std::uint64_t expected_chunks = (static_cast<std::uint64_t>(layer.size) + 16383) / 16384;
  ASSERT_EQ(patches.size(), expected_chunks);
  std::uint64_t offset = 0;
  for (auto& p : patches) {
    EXPECT_EQ(p.header("content-range"), fmt::format("{}-{}", offset, offset + p.body.size() - 1));
    EXPECT_LE(p.body.size(), 16384u);
    offset += p.body.size();
  }
  EXPECT_EQ(offset, static_cast<std::uint64_t>(layer.size));
  // The upload is completed by a PUT naming the digest (the config is small: monolithic).
  bool completed = false;
  for (auto& put : s.requests("PUT", "/blobs/uploads/"))
    completed = completed ||
                (query_param(put.target, "digest") == layer.digest.to_string() && put.body.empty());
  EXPECT_TRUE(completed);
  auto stored = s.registry.blob("big/img", layer.digest);
  ASSERT_TRUE(stored);
  EXPECT_EQ(Digest::of(*stored), layer.digest);
}

TEST(Push, MountsBlobsFromAnotherRepository) {
  Served s;
  auto dir = *TempDir::create();
  auto img = image_with({"base layer\n"});
  auto first = push_image(img, s.ref("team/base:1"), options_in(dir, "cache-a"));
  ASSERT_TRUE(first) << first.error().to_string();
  // A different client, told where the blobs may be: they are mounted, not uploaded.
  auto r = push_image(img, s.ref("team/app:1"), options_in(dir, "cache-b"),
                      PushOptions{.mount_from = {"team/base"}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->blobs_mounted, 2);
  EXPECT_EQ(r->blobs_uploaded, 0);
  EXPECT_EQ(r->bytes_uploaded, 0u);
  auto mounts = s.requests("POST", "/v2/team/app/blobs/uploads/?mount=");
  ASSERT_EQ(mounts.size(), 2u);
  for (auto& q : mounts) EXPECT_EQ(query_param(q.target, "from"), "team/base");
  oci::Manifest m = pushed_manifest(s, "team/app", "1", *r);
  for (auto& d : {m.config, m.layers.at(0)}) EXPECT_TRUE(s.registry.blob("team/app", d.digest));

  // The same client's cache remembers where it pushed: a third repository mounts without being
  // told, and a mount the registry turns into an upload (202) still completes.
  auto again = push_image(img, s.ref("team/other:1"), options_in(dir, "cache-a"));
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->blobs_mounted, 2);
  auto fresh = image_with({"not anywhere yet\n"});
  auto upload = push_image(fresh, s.ref("team/fresh:1"), options_in(dir, "cache-b"),
                           PushOptions{.mount_from = {"team/base"}});
  ASSERT_TRUE(upload) << upload.error().to_string();
  EXPECT_EQ(upload->blobs_mounted, 0);
  EXPECT_EQ(upload->blobs_uploaded, 2);
  // Each upload went to the Location of the refused mount: no second POST.
  auto posts = s.requests("POST", "/v2/team/fresh/");
  EXPECT_EQ(posts.size(), 2u);
  for (auto& q : posts) EXPECT_EQ(query_param(q.target, "from"), "team/base");
}

TEST(Push, MountsBlobsKnownToBeThereWithoutAskingFirst) {
  Served s;
  auto dir = *TempDir::create();
  auto img = image_with({"cached layer\n"});
  auto first = push_image(img, s.ref("team/cache:1"), options_in(dir, "cache-a"));
  ASSERT_TRUE(first) << first.error().to_string();
  oci::Manifest m = pushed_manifest(s, "team/cache", "1", *first);
  const Digest layer = m.layers.at(0).digest;
  // The layer is known to be in team/cache: one POST mounts it, no HEAD. The config is not
  // known there: checked first, then mounted all the same.
  auto r = push_image(img, s.ref("team/app:1"), options_in(dir, "cache-b"),
                      PushOptions{.mount_from = {"team/cache"}, .mountable = {layer}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->blobs_mounted, 2);
  EXPECT_EQ(r->blobs_uploaded, 0);
  EXPECT_TRUE(s.requests("HEAD", "/v2/team/app/blobs/" + layer.to_string()).empty());
  EXPECT_EQ(s.requests("HEAD", "/v2/team/app/blobs/" + m.config.digest.to_string()).size(), 1u);
  EXPECT_EQ(s.requests("POST", "/v2/team/app/blobs/uploads/?mount=").size(), 2u);
  EXPECT_TRUE(s.registry.blob("team/app", layer));

  // Said to be mountable but not in the source after all, while the destination has it: the
  // refused mount's upload session is cancelled and nothing is uploaded.
  auto again = push_image(img, s.ref("team/app:2"), options_in(dir, "cache-c"),
                          PushOptions{.mount_from = {"team/elsewhere"}, .mountable = {layer}});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->blobs_skipped, 2);
  EXPECT_EQ(again->blobs_uploaded, 0);
  EXPECT_EQ(s.requests("DELETE", "/v2/team/app/blobs/uploads/").size(), 1u);
  EXPECT_EQ(s.registry.open_uploads(), 0u);

  // In neither: uploaded through the refused mount's session (no second POST).
  auto up = push_image(img, s.ref("team/new:1"), options_in(dir, "cache-d"),
                       PushOptions{.mount_from = {"team/elsewhere"}, .mountable = {layer}});
  ASSERT_TRUE(up) << up.error().to_string();
  EXPECT_EQ(up->blobs_uploaded, 2);
  EXPECT_TRUE(s.registry.blob("team/new", layer));
  EXPECT_EQ(s.requests("POST", "/v2/team/new/").size(), 2u);
  EXPECT_TRUE(s.requests("DELETE", "/v2/team/new/").empty());
  EXPECT_EQ(s.registry.open_uploads(), 0u);
}

TEST(Push, DockerFormatUsesDockerMediaTypes) {
  Served s;
  auto dir = *TempDir::create();
  auto r = push_image(image_with({"x\n"}), s.ref("d/img:1"), options_in(dir),
                      PushOptions{.format = ManifestFormat::Docker});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->media_type, mt::kDockerManifest);
  oci::Manifest m = pushed_manifest(s, "d/img", "1", *r);
  EXPECT_EQ(m.config.media_type, mt::kDockerConfig);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(m.layers[0].media_type, mt::kDockerLayerGzip);
}

TEST(Push, IndexPutsEachManifestByDigestThenTheIndex) {
  Served s;
  auto dir = *TempDir::create();
  std::vector<oci::Image> images{image_with({"amd64 bits\n"}, "amd64"),
                                 image_with({"arm64 bits\n"}, "arm64")};
  auto r = push_index(images, s.ref("multi/img:1"), options_in(dir));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->media_type, mt::kOciIndex);
  auto index_bytes = s.registry.manifest("multi/img", "1");
  ASSERT_TRUE(index_bytes);
  EXPECT_EQ(index_bytes->content_type, mt::kOciIndex);
  EXPECT_EQ(Digest::of(index_bytes->bytes), r->manifest_digest);
  auto index = oci::Index::parse(index_bytes->bytes);
  ASSERT_TRUE(index) << index_bytes->bytes;
  ASSERT_EQ(index->manifests.size(), 2u);
  ASSERT_EQ(r->manifests.size(), 2u);
  std::vector<std::string> archs;
  for (size_t i = 0; i < 2; ++i) {
    const auto& d = index->manifests[i];
    EXPECT_EQ(d.digest, r->manifests[i]);
    auto m = s.registry.manifest("multi/img", d.digest.to_string());
    ASSERT_TRUE(m) << d.digest.to_string();
    EXPECT_EQ(Digest::of(m->bytes), d.digest);
    EXPECT_EQ(m->content_type, d.media_type);
    ASSERT_TRUE(d.platform);
    archs.push_back(d.platform->architecture);
  }
  EXPECT_EQ(archs, (std::vector<std::string>{"amd64", "arm64"}));
  EXPECT_FALSE(push_index({}, s.ref("multi/img:2"), options_in(dir)));
}

TEST(Push, ManifestRefusedWithServerErrorNamesTheManifest) {
  Served s;
  s.registry.hook = [](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.method == "PUT" && r.target.find("/manifests/") != std::string::npos)
      return api_error(500, "UNKNOWN", "storage is on fire");
    return std::nullopt;
  };
  auto dir = *TempDir::create();
  auto r = push_image(image_with({"x\n"}), s.ref("team/app:1"), options_in(dir));
  ASSERT_FALSE(r);
  std::string msg = r.error().to_string();
  EXPECT_NE(msg.find("manifest"), std::string::npos) << msg;
  EXPECT_NE(msg.find("team/app"), std::string::npos) << msg;
  EXPECT_NE(msg.find("500"), std::string::npos) << msg;
  EXPECT_NE(msg.find("storage is on fire"), std::string::npos) << msg;
  EXPECT_FALSE(s.registry.manifest("team/app", "1"));
}

TEST(Push, ManifestStoredUnderAnotherDigestIsCorruption) {
  Served s;
  std::string wrong = Digest::of("something else").to_string();
  s.registry.hook = [&](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.method == "PUT" && r.target.find("/manifests/") != std::string::npos)
      return HttpResponse{201, {{"Docker-Content-Digest", wrong}}, ""};
    return std::nullopt;
  };
  auto dir = *TempDir::create();
  auto r = push_image(image_with({"x\n"}), s.ref("team/app:1"), options_in(dir));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Corruption);
  EXPECT_NE(r.error().to_string().find(wrong), std::string::npos) << r.error().to_string();
}

TEST(Push, BlobRefusedByTheRegistryNamesTheBlobAndTheReason) {
  Served s;
  s.registry.hook = [](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (r.method == "PUT" && r.target.find("/blobs/uploads/") != std::string::npos)
      return api_error(400, "DIGEST_INVALID", "provided digest did not match uploaded content");
    return std::nullopt;
  };
  auto dir = *TempDir::create();
  auto img = image_with({"x\n"});
  auto r = push_image(img, s.ref("team/app:1"), options_in(dir));
  ASSERT_FALSE(r);
  std::string msg = r.error().to_string();
  EXPECT_NE(msg.find("pushing blob sha256:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("provided digest did not match"), std::string::npos) << msg;
  EXPECT_NE(msg.find("team/app"), std::string::npos) << msg;
  EXPECT_TRUE(s.requests("PUT", "/manifests/").empty());  // nothing half-pushed under the tag
}

TEST(Push, ReferenceDigestMustMatchTheManifest) {
  Served s;
  auto dir = *TempDir::create();
  auto ref = *Reference::parse(s.server.host() + "/team/app@" + Digest::of("nope").to_string());
  auto r = push_image(image_with({"x\n"}), ref, options_in(dir));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  EXPECT_TRUE(s.requests("PUT", "/manifests/").empty());
}

// `image` written to an OCI layout under `dir` (gzip unless `compression` says otherwise) and read
// back: its layers are stored blobs, as a source image's are.
oci::Image stored(const oci::Image& image, const TempDir& dir, const std::string& name,
                  Compression compression = Compression::Gzip) {
  oci::ImageRef ref{oci::Transport::OciLayout, (dir.path() / name).string(), ""};
  auto written = oci::write_image(image, ref, {.compression = compression});
  EXPECT_TRUE(written) << written.error().to_string();
  auto read = oci::read_image(ref);
  EXPECT_TRUE(read) << read.error().to_string();
  return read ? *read : oci::Image{};
}

// An index another tool wrote over the manifests `pushed` (indented, the arm64 entry with its
// variant) plus an attestation entry whose blobs it holds: unedited images push it as it is, so
// its digest is kept and the attestation goes up too; an edit derives an index that keeps the
// platforms (issue 13 item 13).
TEST(Push, IndexKeepsTheSourceIndexOfUneditedImages) {
  Served s;
  auto dir = *TempDir::create();
  std::vector<oci::Image> images{stored(image_with({"amd64 bits\n"}, "amd64"), dir, "amd"),
                                 stored(image_with({"arm64 bits\n"}, "arm64"), dir, "arm")};
  images[1].index_platform = oci::Platform{.os = "linux", .architecture = "arm64", .variant = "v8"};
  auto first = push_index(images, s.ref("multi/img:1"), options_in(dir));
  ASSERT_TRUE(first) << first.error().to_string();
  auto first_index = oci::Index::parse(s.registry.manifest("multi/img", "1")->bytes);
  ASSERT_TRUE(first_index);
  EXPECT_EQ(first_index->manifests.at(1).platform->variant, "v8");  // index_platform listed

  std::string statement = R"({"_type":"https://in-toto.io/Statement/v0.1"})";
  std::string att_config = "{}";
  oci::Descriptor att_layer{.media_type = "application/vnd.in-toto+json",
                            .digest = Digest::of(statement),
                            .size = static_cast<std::int64_t>(statement.size())};
  oci::Manifest att_manifest{.media_type = std::string(mt::kOciManifest),
                             .config = {.media_type = std::string(mt::kOciConfig),
                                        .digest = Digest::of(att_config),
                                        .size = 2},
                             .layers = {att_layer}};
  std::string att_bytes = att_manifest.to_json();
  nlohmann::json entries = nlohmann::json::array();
  for (auto& d : first_index->manifests) entries.push_back(d.to_json());
  oci::Descriptor att{.media_type = std::string(mt::kOciManifest),
                      .digest = Digest::of(att_bytes),
                      .size = static_cast<std::int64_t>(att_bytes.size()),
                      .platform = oci::Platform{.os = "unknown", .architecture = "unknown"}};
  entries.push_back(att.to_json());
  nlohmann::json index = {
      {"schemaVersion", 2}, {"mediaType", mt::kOciIndex}, {"manifests", entries}};
  auto source = std::make_shared<oci::SourceIndex>(
      oci::SourceIndex{.media_type = std::string(mt::kOciIndex), .bytes = index.dump(3)});
  source->other_blobs = {
      {att.digest, att_bytes}, {att_layer.digest, statement}, {Digest::of(att_config), att_config}};

  auto r = push_index(images, s.ref("mirror/img:1"), options_in(dir),
                      PushOptions{.source_index = source});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->manifest_digest, Digest::of(source->bytes));
  auto pushed = s.registry.manifest("mirror/img", "1");
  ASSERT_TRUE(pushed);
  EXPECT_EQ(pushed->bytes, source->bytes);
  EXPECT_EQ(pushed->content_type, mt::kOciIndex);
  // Every entry is there by digest: the images and the attestation, with its blobs.
  for (auto& d : first_index->manifests)
    EXPECT_TRUE(s.registry.manifest("mirror/img", d.digest.to_string()));
  auto att_pushed = s.registry.manifest("mirror/img", att.digest.to_string());
  ASSERT_TRUE(att_pushed);
  EXPECT_EQ(att_pushed->bytes, att_bytes);
  EXPECT_TRUE(s.registry.blob("mirror/img", att_layer.digest));
  EXPECT_TRUE(s.registry.blob("mirror/img", Digest::of(att_config)));

  // One image edited: a derived index, the other manifest unchanged, the platforms kept.
  images[1].config.set_env_var("EDITED", "1");
  auto edited = push_index(images, s.ref("mirror/img:2"), options_in(dir),
                           PushOptions{.source_index = source});
  ASSERT_TRUE(edited) << edited.error().to_string();
  EXPECT_NE(edited->manifest_digest, Digest::of(source->bytes));
  auto derived = oci::Index::parse(s.registry.manifest("mirror/img", "2")->bytes);
  ASSERT_TRUE(derived);
  ASSERT_EQ(derived->manifests.size(), 2u);
  EXPECT_EQ(derived->manifests[0].digest, first_index->manifests[0].digest);
  EXPECT_NE(derived->manifests[1].digest, first_index->manifests[1].digest);
  EXPECT_EQ(derived->manifests[1].platform->to_string(), "linux/arm64/v8");
  auto m = s.registry.manifest("mirror/img", derived->manifests[1].digest.to_string());
  ASSERT_TRUE(m);
  EXPECT_EQ(static_cast<std::int64_t>(m->bytes.size()), derived->manifests[1].size);
}

// keep_compressed off: stored gzip layers are recompressed (same diffID, a zstd blob); on, they
// go up as they are.
TEST(Push, RecompressesStoredLayersWhenAsked) {
  Served s;
  auto dir = *TempDir::create();
  auto img = stored(image_with({noise(4000, 3)}), dir, "src");
  Digest gzip_digest = img.layers.at(0)->blob()->digest;
  auto r = push_image(img, s.ref("z/img:1"), options_in(dir),
                      PushOptions{.compression = Compression::Zstd, .keep_compressed = false});
  ASSERT_TRUE(r) << r.error().to_string();
  oci::Manifest m = pushed_manifest(s, "z/img", "1", *r);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(m.layers[0].media_type, mt::kOciLayerZstd);
  EXPECT_NE(m.layers[0].digest, gzip_digest);
  auto blob = s.registry.blob("z/img", m.layers[0].digest);
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->substr(0, 4), std::string("\x28\xb5\x2f\xfd"));  // zstd's magic
  auto kept = push_image(img, s.ref("z/img:2"), options_in(dir),
                         PushOptions{.compression = Compression::Zstd});
  ASSERT_TRUE(kept) << kept.error().to_string();
  EXPECT_EQ(pushed_manifest(s, "z/img", "2", *kept).layers.at(0).digest, gzip_digest);
}

// Docker schema 2 has no zstd layer type: --format docker with zstd, asked for or kept from the
// source, is refused before anything is sent; recompressing to gzip is fine.
TEST(Push, DockerFormatRefusesZstd) {
  Served s;
  auto dir = *TempDir::create();
  auto r =
      push_image(image_with({"x\n"}), s.ref("d/img:1"), options_in(dir),
                 PushOptions{.compression = Compression::Zstd, .format = ManifestFormat::Docker});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  EXPECT_NE(r.error().to_string().find("zstd"), std::string::npos) << r.error().to_string();
  auto zstd = stored(image_with({"y\n"}), dir, "zst", Compression::Zstd);
  auto kept = push_index(std::vector<oci::Image>{zstd}, s.ref("d/img:2"), options_in(dir),
                         PushOptions{.format = ManifestFormat::Docker});
  ASSERT_FALSE(kept);
  EXPECT_NE(kept.error().to_string().find("layer 0"), std::string::npos)
      << kept.error().to_string();
  EXPECT_TRUE(s.requests("POST").empty());  // nothing sent
  EXPECT_TRUE(s.requests("PUT").empty());
  auto gzip = push_image(zstd, s.ref("d/img:3"), options_in(dir),
                         PushOptions{.compression = Compression::Gzip,
                                     .keep_compressed = false,
                                     .format = ManifestFormat::Docker});
  ASSERT_TRUE(gzip) << gzip.error().to_string();
  EXPECT_EQ(pushed_manifest(s, "d/img", "3", *gzip).layers.at(0).media_type, mt::kDockerLayerGzip);
}

}  // namespace
}  // namespace de::registry
