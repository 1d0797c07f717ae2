// The shared build cache's index (the artifact's config): its JSON round trip, what decode refuses
// (it comes from a registry: another format, a blob that is not a layer, an image naming a layer
// the index lacks, damaged JSON), merging with the limits, the entries of a build, and the cache
// references (docker://REF:TAG, oci:DIR[:TAG]).
#include "docker_envs/build/shared_cache.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/layer_blob.hpp"
#include "docker_envs/oci/media_types.hpp"

namespace de::build {
namespace {

Digest d(std::string_view seed) { return Digest::of(seed); }

SharedLayerEntry layer_entry(std::string_view seed, std::int64_t written = 1) {
  return {.blob = {.media_type = std::string(oci::media_type::kOciLayerGzip),
                   .digest = d(std::string("blob ") + std::string(seed)),
                   .size = 100},
          .diff_id = d(std::string("tar ") + std::string(seed)),
          .tar_size = 1024,
          .written = written};
}

SharedImageEntry image_entry(std::vector<Digest> keys, std::int64_t written = 1) {
  SharedImageEntry e{.platform = "linux-64",
                     .created = "2026-01-01T00:00:00Z",
                     .layers = {},
                     .activation = {{"JAVA_HOME", "/opt/conda/lib/jvm"}},
                     .warnings = {"a warning"},
                     .written = written};
  for (size_t i = 0; i < keys.size(); ++i)
    e.layers.push_back({.label = "layer " + std::to_string(i),
                        .packages = {"pkg-" + std::to_string(i) + "-1.0-0"},
                        .key = keys[i]});
  return e;
}

SharedCacheIndex sample() {
  SharedCacheIndex index;
  index.layers.emplace(d("k1"), layer_entry("1"));
  index.layers.emplace(d("k2"), layer_entry("2"));
  index.images.emplace(d("image"), image_entry({d("k1"), d("k2")}));
  index.groups.emplace(d("group 1"), d("k1"));
  return index;
}

TEST(SharedCacheIndex, RoundTrips) {
  auto index = sample();
  auto decoded = SharedCacheIndex::decode(index.encode());
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->encode(), index.encode());
  const auto& image = decoded->images.at(d("image"));
  EXPECT_EQ(image.layers.size(), 2u);
  EXPECT_EQ(image.layers[1].key, d("k2"));
  EXPECT_EQ(image.activation, index.images.at(d("image")).activation);
  EXPECT_EQ(decoded->layers.at(d("k1")).blob.digest, d("blob 1"));
  EXPECT_EQ(decoded->layers.at(d("k1")).tar_size, 1024u);
  EXPECT_EQ(decoded->groups, index.groups);
  // Group memos are optional: an index written before them reads as none.
  auto doc = nlohmann::json::parse(index.encode());
  doc.erase("groups");
  auto older = SharedCacheIndex::decode(doc.dump());
  ASSERT_TRUE(older) << older.error().to_string();
  EXPECT_TRUE(older->groups.empty());
}

// Edits the sample's JSON with `edit` and expects decode to refuse it, saying `says`.
void expect_refused(const std::function<void(nlohmann::json&)>& edit, std::string_view says) {
  auto doc = nlohmann::json::parse(sample().encode());
  edit(doc);
  auto decoded = SharedCacheIndex::decode(doc.dump());
  ASSERT_FALSE(decoded) << doc.dump();
  EXPECT_EQ(decoded.error().code(), Code::Corruption);
  EXPECT_NE(decoded.error().message().find(says), std::string::npos) << decoded.error().message();
}

TEST(SharedCacheIndex, RefusesWhatIsNotThisFormat) {
  expect_refused([](auto& j) { j["format"] = "docker-envs build cache 99"; }, "format");
  // Format 1 (read as well as 2) had no plan bundles.
  auto v1 = nlohmann::json::parse(sample().encode());
  EXPECT_EQ(v1["format"], "docker-envs build cache 2");
  v1["format"] = "docker-envs build cache 1";
  v1["plans"][d("p").to_string()] = {{"digest", d("blob").to_string()}, {"size", 10}};
  EXPECT_TRUE(SharedCacheIndex::decode(v1.dump()));
  v1["plans"][d("p").to_string()]["offset"] = 0;
  v1["plans"][d("p").to_string()]["length"] = 10;
  auto refused = SharedCacheIndex::decode(v1.dump());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().to_string().find("no plan bundles"), std::string::npos);
  expect_refused(
      [](auto& j) {
        j["layers"][d("k1").to_string()]["media_type"] = "application/vnd.oci.image.config.v1+json";
      },
      "not a layer media type");
  expect_refused([](auto& j) { j["layers"][d("k1").to_string()]["size"] = -1; },
                 "'size' is not a whole number");
  expect_refused([](auto& j) { j["layers"][d("k1").to_string()]["digest"] = "sha256:zz"; },
                 "not a digest");
  expect_refused([](auto& j) { j["layers"].erase(d("k2").to_string()); }, "is not in the cache");
  expect_refused(
      [](auto& j) { j["images"][d("image").to_string()]["layers"] = nlohmann::json::array(); },
      "no layers");
  expect_refused([](auto& j) { j["images"]["not-a-digest"] = j["images"][d("image").to_string()]; },
                 "not a digest");
  expect_refused([](auto& j) { j["images"][d("image").to_string()]["activation"] = {"x"}; },
                 "activation");
  expect_refused([](auto& j) { j.erase("layers"); }, "damaged");
  expect_refused([](auto& j) { j["groups"][d("group 2").to_string()] = d("k9").to_string(); },
                 "is not in the cache");
  expect_refused([](auto& j) { j["groups"]["sha256:zz"] = d("k1").to_string(); }, "not a digest");
  expect_refused([](auto& j) { j["groups"][d("group 2").to_string()] = 7; }, "damaged");
  EXPECT_FALSE(SharedCacheIndex::decode("not json"));
  EXPECT_FALSE(SharedCacheIndex::decode("[1, 2]"));
}

// Found by fuzzing (build_cache): a count written as 1e127 was cast to an integer type (undefined
// behaviour out of range). Every count must be a whole number within its type.
TEST(SharedCacheIndex, CountsAreWholeNumbersWithinRange) {
  expect_refused([](auto& j) { j["layers"][d("k1").to_string()]["tar_size"] = 1.00111e127; },
                 "'tar_size' is not a whole number");
  expect_refused([](auto& j) { j["layers"][d("k1").to_string()]["size"] = 2.5; },
                 "'size' is not a whole number");
  expect_refused([](auto& j) { j["layers"][d("k1").to_string()]["size"] = 9223372036854775808ULL; },
                 "'size' is not a whole number from 0 to 9223372036854775807");
  expect_refused([](auto& j) { j["layers"][d("k1").to_string()]["written"] = -3; },
                 "'written' is not a whole number");
  expect_refused([](auto& j) { j["images"][d("image").to_string()]["written"] = 1e300; },
                 "'written' is not a whole number");
  expect_refused([](auto& j) { j["layers"][d("k1").to_string()].erase("tar_size"); },
                 "no 'tar_size'");
  auto doc = nlohmann::json::parse(sample().encode());
  doc["plans"][d("p").to_string()] = {
      {"digest", d("blob").to_string()}, {"size", 10}, {"offset", 0}, {"length", 1e20}};
  auto refused = SharedCacheIndex::decode(doc.dump());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().to_string().find("'length' is not a whole number"), std::string::npos)
      << refused.error().to_string();
}

// Found by fuzzing (build_cache): an image layer whose key is not a digest is refused, and the
// label and packages read before the key are freed (the sanitizer build's leak check sees them).
TEST(SharedCacheIndex, AnImageLayerWithABadKeyIsRefusedWithoutALeak) {
  expect_refused(
      [](auto& j) { j["images"][d("image").to_string()]["layers"][0]["key"] = "sha512:0"; },
      "not a digest");
}

TEST(SharedCacheIndex, MergeReplacesSameKeysAndKeepsTheRest) {
  auto index = sample();
  SharedCacheIndex newer;
  newer.layers.emplace(d("k2"), layer_entry("2b", 5));
  newer.layers.emplace(d("k3"), layer_entry("3", 5));
  newer.images.emplace(d("image2"), image_entry({d("k3")}, 5));
  index.merge(newer);
  EXPECT_EQ(index.layers.size(), 3u);
  EXPECT_EQ(index.layers.at(d("k2")).blob.digest, d("blob 2b"));
  EXPECT_EQ(index.images.size(), 2u);
  // Blobs once each, by digest.
  auto blobs = index.blobs();
  ASSERT_EQ(blobs.size(), 3u);
  EXPECT_TRUE(std::is_sorted(blobs.begin(), blobs.end(),
                             [](auto& a, auto& b) { return a.digest < b.digest; }));
}

TEST(SharedCacheIndex, MergeKeepsTheNewestImagesAndTheirLayers) {
  SharedCacheIndex index;
  // One more image than the limit, each with its own layer; the oldest (written 0) goes, with
  // its layer only if the layer limit needs the room (it does not here).
  for (std::size_t i = 0; i <= kSharedCacheMaxImages; ++i) {
    auto key = d("layer " + std::to_string(i));
    index.layers.emplace(key, layer_entry(std::to_string(i), static_cast<std::int64_t>(i)));
    index.images.emplace(d("image " + std::to_string(i)),
                         image_entry({key}, static_cast<std::int64_t>(i)));
  }
  index.merge({});
  EXPECT_EQ(index.images.size(), kSharedCacheMaxImages);
  EXPECT_FALSE(index.images.contains(d("image 0")));
  EXPECT_TRUE(index.images.contains(d("image " + std::to_string(kSharedCacheMaxImages))));
  EXPECT_EQ(index.layers.size(), kSharedCacheMaxImages + 1);
}

TEST(SharedCacheIndex, MergeDropsTheOldestUnreferencedLayersFirst) {
  SharedCacheIndex index;
  for (std::size_t i = 0; i < kSharedCacheMaxLayers + 2; ++i)
    index.layers.emplace(d("layer " + std::to_string(i)),
                         layer_entry(std::to_string(i), static_cast<std::int64_t>(i) + 10));
  // The oldest layer of all is kept: an image names it.
  index.layers.emplace(d("old but used"), layer_entry("used", 0));
  index.images.emplace(d("image"), image_entry({d("old but used")}, 0));
  index.merge({});
  EXPECT_EQ(index.layers.size(), kSharedCacheMaxLayers);
  EXPECT_TRUE(index.layers.contains(d("old but used")));
  EXPECT_FALSE(index.layers.contains(d("layer 0")));
  EXPECT_FALSE(index.layers.contains(d("layer 1")));
  EXPECT_FALSE(index.layers.contains(d("layer 2")));
  EXPECT_TRUE(index.layers.contains(d("layer 3")));
}

TEST(SharedCacheIndex, MergeAddsGroupMemosAndDropsThoseOfDroppedLayers) {
  SharedCacheIndex index;
  for (std::size_t i = 0; i < kSharedCacheMaxLayers + 1; ++i) {
    index.layers.emplace(d("layer " + std::to_string(i)),
                         layer_entry(std::to_string(i), static_cast<std::int64_t>(i) + 10));
    index.groups.emplace(d("group " + std::to_string(i)), d("layer " + std::to_string(i)));
  }
  SharedCacheIndex newer;
  newer.layers.emplace(d("new"), layer_entry("new", 100000));
  newer.groups.emplace(d("group new"), d("new"));
  newer.groups.emplace(d("group 5"), d("new"));  // replaced
  index.merge(newer);
  EXPECT_EQ(index.layers.size(), kSharedCacheMaxLayers);
  EXPECT_FALSE(index.groups.contains(d("group 0")));  // its layer was the oldest
  EXPECT_FALSE(index.groups.contains(d("group 1")));
  EXPECT_EQ(index.groups.at(d("group new")), d("new"));
  EXPECT_EQ(index.groups.at(d("group 5")), d("new"));
  EXPECT_EQ(index.groups.size(), kSharedCacheMaxLayers);
  for (const auto& [alias, key] : index.groups) EXPECT_TRUE(index.layers.contains(key));
}

TEST(SharedCacheIndex, EntriesOfABuild) {
  BuildResult result;
  result.created = "2026-01-01T00:00:00Z";
  result.activation = {{"A", "1"}};
  result.image_memo.key = d("memo");
  result.layers.push_back({.label = "pkg-1.0-0",
                           .packages = {"pkg-1.0-0"},
                           .blob = layer_entry("x").blob,
                           .diff_id = d("tar x"),
                           .key = d("key x"),
                           .tar_size = 2048});
  auto entries = shared_cache_entries(result, "linux-64", 42);
  ASSERT_EQ(entries.layers.size(), 1u);
  EXPECT_EQ(entries.layers.at(d("key x")).tar_size, 2048u);
  EXPECT_EQ(entries.layers.at(d("key x")).written, 42);
  ASSERT_EQ(entries.images.size(), 1u);
  const auto& image = entries.images.at(d("memo"));
  EXPECT_EQ(image.platform, "linux-64");
  EXPECT_EQ(image.activation, result.activation);
  EXPECT_EQ(image.layers.at(0).key, d("key x"));
  // A group memo goes with its layer; one naming a layer the build does not have does not.
  result.group_memos = {{d("group x"), d("key x")}, {d("group y"), d("key y")}};
  entries = shared_cache_entries(result, "linux-64", 42);
  EXPECT_EQ(entries.groups, (std::map<Digest, Digest>{{d("group x"), d("key x")}}));
  // Without a whole-image key (a package without sha256): layers only.
  result.image_memo.key.reset();
  EXPECT_TRUE(shared_cache_entries(result, "linux-64", 42).images.empty());
}

TEST(SharedPlan, RoundTripsAndRefusesWhatIsNotOne) {
  conda::PortablePlan plan{.index_json = R"({"name": "x", "version": "1", "build": "0"})",
                           .plan = std::string("binary\0plan\n", 12)};
  auto blob = encode_shared_plan(plan);
  ASSERT_TRUE(blob) << blob.error().to_string();
  EXPECT_EQ(blob->substr(0, 4), std::string("\x28\xb5\x2f\xfd"));  // a zstd frame
  auto back = decode_shared_plan(*blob);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->index_json, plan.index_json);
  EXPECT_EQ(back->plan, plan.plan);
  EXPECT_FALSE(decode_shared_plan("not zstd"));
  auto other = encode_shared_plan({.index_json = "", .plan = ""});
  ASSERT_TRUE(other);
  std::string truncated = blob->substr(0, blob->size() - 3);
  EXPECT_FALSE(decode_shared_plan(truncated));
}

TEST(SharedPlan, KeyCoversWhatThePlanDependsOn) {
  conda::PackageRecord r;
  r.name = "x";
  r.version = "1";
  r.build = "0";
  r.url = "https://conda.example/linux-64/x-1-0.conda";
  EXPECT_FALSE(shared_plan_key(r, "/opt/conda", "-")) << "no sha256, no key";
  r.sha256 = d("package bytes");
  auto key = shared_plan_key(r, "/opt/conda", "-");
  ASSERT_TRUE(key);
  EXPECT_EQ(shared_plan_key(r, "/opt/conda", "-"), key);
  EXPECT_NE(shared_plan_key(r, "/opt/env", "-"), key);
  EXPECT_NE(shared_plan_key(r, "/opt/conda", "python sha|"), key);
  auto other = r;
  other.url = "https://mirror.example/linux-64/x-1-0.conda";  // written into conda-meta
  EXPECT_NE(shared_plan_key(other, "/opt/conda", "-"), key);
  other = r;
  other.sha256 = d("other bytes");
  EXPECT_NE(shared_plan_key(other, "/opt/conda", "-"), key);
  other = r;
  other.depends = {"y"};  // index.json's, which the sha256 names: not a separate input
  EXPECT_EQ(shared_plan_key(other, "/opt/conda", "-"), key);
}

TEST(SharedCacheIndex, PlansRoundTripAndCountAsBlobs) {
  auto index = sample();
  index.plans.emplace(d("plan key"),
                      SharedPlanEntry{.blob = {.media_type = std::string(kSharedPlanType),
                                               .digest = d("plan blob"),
                                               .size = 10},
                                      .written = 3});
  auto decoded = SharedCacheIndex::decode(index.encode());
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  ASSERT_EQ(decoded->plans.size(), 1u);
  EXPECT_EQ(decoded->plans.at(d("plan key")).blob.digest, d("plan blob"));
  EXPECT_EQ(decoded->blobs().size(), 3u);
  auto doc = nlohmann::json::parse(index.encode());
  doc["plans"][d("plan key").to_string()]["size"] = -5;
  EXPECT_FALSE(SharedCacheIndex::decode(doc.dump()));
}

TEST(SharedCacheIndex, BundledPlansRoundTripAndMustLieInsideTheirBlob) {
  auto index = sample();
  const oci::Descriptor bundle{
      .media_type = std::string(kSharedPlanBundleType), .digest = d("bundle"), .size = 30};
  index.plans.emplace(d("p1"), SharedPlanEntry{bundle, 0, 10, 3});
  index.plans.emplace(d("p2"), SharedPlanEntry{bundle, 10, 20, 3});
  auto decoded = SharedCacheIndex::decode(index.encode());
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  const auto& p2 = decoded->plans.at(d("p2"));
  EXPECT_EQ(p2.blob.digest, d("bundle"));
  EXPECT_EQ(p2.blob.media_type, kSharedPlanBundleType);
  EXPECT_EQ(p2.offset, 10u);
  EXPECT_EQ(p2.length, 20u);
  EXPECT_EQ(decoded->blobs().size(), 3u);  // two layers, the bundle once
  auto with = [&](auto edit) {
    auto doc = nlohmann::json::parse(index.encode());
    edit(doc["plans"][d("p2").to_string()]);
    return SharedCacheIndex::decode(doc.dump());
  };
  EXPECT_FALSE(with([](auto& e) { e["length"] = 21; }));  // past the end of the blob
  EXPECT_FALSE(with([](auto& e) { e["offset"] = 31; }));
  EXPECT_FALSE(with([](auto& e) { e["offset"] = -1; }));
  EXPECT_FALSE(with([](auto& e) { e["length"] = 0; }));
  EXPECT_FALSE(with([](auto& e) { e.erase("length"); }));  // an offset alone
  EXPECT_TRUE(with([](auto& e) { e["length"] = 20; }));
}

// --cache-to through an oci: cache: the plans a push adds go up as one bundle; a later push keeps
// the plans the cache has where they are and bundles only the new ones; each plan reads back.
TEST(SharedCachePush, NewPlansGoUpAsOneBundleAndEachReadsBack) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::map<Digest, std::string> blobs;  // plan blob digest -> bytes
  std::map<std::string, conda::PortablePlan> plans;
  auto entries_with = [&](std::vector<std::string> names) {
    SharedCacheIndex entries;
    for (const auto& name : names) {
      conda::PortablePlan plan{.index_json = R"({"name":")" + name + R"("})",
                               .plan = "the entries of " + name};
      auto blob = encode_shared_plan(plan).value();
      const Digest digest = Digest::of(blob);
      blobs[digest] = blob;
      plans[name] = plan;
      entries.plans.emplace(
          d(name), SharedPlanEntry{.blob = {.media_type = std::string(kSharedPlanType),
                                            .digest = digest,
                                            .size = static_cast<std::int64_t>(blob.size())},
                                   .written = 5});
    }
    return entries;
  };
  auto blob_layer = [&](const oci::Descriptor& blob) -> oci::LayerPtr {
    auto it = blobs.find(blob.digest);
    if (it == blobs.end()) return nullptr;
    std::string bytes = it->second;
    return oci::stored_blob_layer(
        blob, std::nullopt,
        [bytes]() -> Result<std::unique_ptr<Reader>> {
          return std::unique_ptr<Reader>(std::make_unique<StringReader>(bytes));
        },
        "test");
  };
  auto ref = SharedCacheRef::parse("oci:" + (dir->path() / "cache").string() + ":env").value();
  auto pushed = push_shared_cache(ref, entries_with({"a", "b", "c"}), nullptr, blob_layer, {}, {});
  ASSERT_TRUE(pushed) << pushed.error().to_string();
  auto read_back = [&] {
    std::vector<SharedCacheRef> refs{ref};
    return SharedCache::load(refs, {});
  };
  {
    auto cache = read_back();
    const auto* index = cache.index_of(ref);
    ASSERT_TRUE(index);
    ASSERT_EQ(index->plans.size(), 3u);
    EXPECT_EQ(index->blobs().size(), 1u) << "three plans, one blob";
    const auto& a = index->plans.at(d("a"));
    EXPECT_EQ(a.blob.media_type, kSharedPlanBundleType);
    for (const auto& name : {"a", "b", "c"}) {
      auto plan = cache.plan(d(name));
      ASSERT_TRUE(plan) << name << ": " << plan.error().to_string();
      EXPECT_EQ(plan->index_json, plans[name].index_json);
      EXPECT_EQ(plan->plan, plans[name].plan);
    }
  }
  Digest first_bundle = read_back().index_of(ref)->plans.at(d("a")).blob.digest;
  auto again = push_shared_cache(ref, entries_with({"a", "d"}), nullptr, blob_layer, {}, {});
  ASSERT_TRUE(again) << again.error().to_string();
  auto cache = read_back();
  const auto* index = cache.index_of(ref);
  ASSERT_TRUE(index);
  ASSERT_EQ(index->plans.size(), 4u);
  EXPECT_EQ(index->plans.at(d("a")).blob.digest, first_bundle) << "kept where it was";
  const auto& fresh = index->plans.at(d("d"));
  EXPECT_NE(fresh.blob.digest, first_bundle);
  EXPECT_EQ(fresh.offset, 0u);
  EXPECT_EQ(static_cast<std::int64_t>(fresh.length), fresh.blob.size) << "only the new plan";
  EXPECT_EQ(index->blobs().size(), 2u);
  for (const auto& name : {"a", "b", "c", "d"}) {
    auto plan = cache.plan(d(name));
    ASSERT_TRUE(plan) << name << ": " << plan.error().to_string();
    EXPECT_EQ(plan->plan, plans[name].plan);
  }
}

TEST(SharedCacheRef, Parses) {
  auto r = SharedCacheRef::parse("docker://registry.example:5000/team/cache:env");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->registry);
  EXPECT_EQ(r->reference->domain, "registry.example:5000");
  EXPECT_EQ(r->reference->repository, "team/cache");
  EXPECT_EQ(r->reference->tag, "env");
  auto o = SharedCacheRef::parse("oci:/srv/cache:env");
  ASSERT_TRUE(o) << o.error().to_string();
  EXPECT_FALSE(o->registry);
  EXPECT_EQ(o->dir, "/srv/cache");
  EXPECT_EQ(o->tag, "env");
  auto latest = SharedCacheRef::parse("oci:/srv/cache");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->tag, "latest");
  for (std::string_view bad : {"cache/env:main", "docker-archive:x.tar", "oci:", ""}) {
    auto refused = SharedCacheRef::parse(bad);
    EXPECT_FALSE(refused) << bad;
    if (!refused) {
      EXPECT_EQ(refused.error().code(), Code::InvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace de::build
