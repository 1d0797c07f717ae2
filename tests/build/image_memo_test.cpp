// The whole-image memo: which inputs its key covers, its file format, and a build that finds it
// (nothing fetched, extracted or planned; the same image) or must not trust it.
#include "build/image_memo.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "build_fixtures.hpp"
#include "docker_envs/oci/filesystem.hpp"
#include "docker_envs/oci/image_ref.hpp"

namespace de::build {
namespace {

namespace fs = std::filesystem;
using detail::compute_image_memo_key;
using detail::ImageMemo;

Result<std::string> fake_content(const conda::InstallEntry& e) { return "content of " + e.path; }

conda::PackageRecord record(std::string name, char hash) {
  conda::PackageRecord r;
  r.name = std::move(name);
  r.version = "1.0";
  r.build = "0";
  r.subdir = "noarch";
  r.url = "https://example.invalid/noarch/" + r.name + "-1.0-0.conda";
  r.sha256 = Digest::parse("sha256:" + std::string(64, hash)).value();
  return r;
}

// A base image layer known by its diffID only (the key reads nothing else of a base layer).
class BaseLayer final : public oci::Layer {
 public:
  explicit BaseLayer(std::string_view content) : diff_id_(Digest::of(content)) {}
  std::optional<oci::Descriptor> blob() const override { return std::nullopt; }
  std::optional<Digest> diff_id() const override { return diff_id_; }
  Result<std::unique_ptr<Reader>> open_blob() const override {
    return fail(Code::Unsupported, "no blob");
  }
  Result<std::unique_ptr<Reader>> open_tar() const override {
    return fail(Code::Unsupported, "no tar");
  }
  std::string describe() const override { return "base layer"; }

 private:
  Digest diff_id_;
};

oci::LayerPtr base_layer(std::string_view content) { return std::make_shared<BaseLayer>(content); }

BuildRequest base_request() {
  return BuildRequest{.packages = {record("a", 'a'), record("b", 'b')},
                      .base = oci::scratch_image(),
                      .environment_name = "demo",
                      .created_by = "image_memo_test",
                      .package_cache = "/cache/pkgs",
                      .layer_cache = "/cache/layers"};
}

Digest key_of(const BuildRequest& r, std::span<const conda::InstallEntry> files = {}) {
  auto key = compute_image_memo_key(r, files, fake_content);
  EXPECT_TRUE(key) << key.error().to_string();
  EXPECT_TRUE(key->key) << key->why_not;
  return key->key.value_or(Digest());
}

TEST(ImageMemoKey, ChangesWithEverythingTheLayersDependOn) {
  const Digest base = key_of(base_request());
  EXPECT_EQ(key_of(base_request()), base);
  const std::vector<std::pair<std::string, std::function<void(BuildRequest&)>>> changes = {
      {"a package's sha256", [](auto& r) { r.packages[0].sha256 = record("a", 'c').sha256; }},
      {"a package's url", [](auto& r) { r.packages[0].url += "?x"; }},
      {"a package's depends", [](auto& r) { r.packages[1].depends = {"a"}; }},
      {"a package's timestamp", [](auto& r) { r.packages[1].timestamp = 5; }},
      {"the install order", [](auto& r) { std::swap(r.packages[0], r.packages[1]); }},
      {"one package more", [](auto& r) { r.packages.push_back(record("c", 'c')); }},
      {"a wheel", [](auto& r) {
         r.wheels.push_back({.name = "w", .version = "1", .url = "file:///w-1-py3-none-any.whl",
                             .sha256 = Digest::of("w")});
       }},
      {"the prefix", [](auto& r) { r.prefix = "/opt/env"; }},
      {"the platform", [](auto& r) { r.platform = "linux-aarch64"; }},
      {"the owner", [](auto& r) { r.owner = Owner{1000, 1000}; }},
      {"SOURCE_DATE_EPOCH", [](auto& r) { r.source_date_epoch = 1; }},
      {"created_by (conda-meta/history)", [](auto& r) { r.created_by = "other"; }},
      {"the layering strategy", [](auto& r) { r.strategy = LayerStrategy::Single; }},
      {"the layer budget", [](auto& r) { r.max_layers = 10; }},
      {"the base's layers", [](auto& r) { r.base.layers.push_back(base_layer("a")); }},
      {"the compression", [](auto& r) { r.compression = Compression::Zstd; }},
  };
  for (const auto& [what, change] : changes) {
    BuildRequest r = base_request();
    change(r);
    EXPECT_NE(key_of(r), base) << what;
  }
  // Another base with as many layers, of other content, is another image.
  BuildRequest one = base_request(), another = base_request();
  one.base.layers.push_back(base_layer("a"));
  another.base.layers.push_back(base_layer("b"));
  EXPECT_NE(key_of(one), key_of(another));
  BuildRequest same = base_request();
  same.base.layers.push_back(base_layer("a"));
  EXPECT_EQ(key_of(one), key_of(same));
  // Added files by path, mode and content.
  conda::InstallEntry file;
  file.path = "srv/app.py";
  file.size = 3;
  std::vector<conda::InstallEntry> files = {file};
  const Digest with_file = key_of(base_request(), files);
  EXPECT_NE(with_file, base);
  files[0].mode = 0755;
  EXPECT_NE(key_of(base_request(), files), with_file);
  auto other_content = [](const conda::InstallEntry&) -> Result<std::string> { return "x"; };
  auto other = compute_image_memo_key(base_request(), std::span(&file, 1), other_content);
  ASSERT_TRUE(other && other->key);
  EXPECT_NE(*other->key, with_file);
}

TEST(ImageMemoKey, IgnoresWhatOnlyTheConfigOrTheHostHolds) {
  const Digest base = key_of(base_request());
  const std::vector<std::pair<std::string, std::function<void(BuildRequest&)>>> same = {
      {"the name", [](auto& r) { r.environment_name = "other"; }},
      {"labels", [](auto& r) { r.labels = {{"k", "v"}}; }},
      {"env", [](auto& r) { r.env = {{"K", "v"}}; }},
      {"variables", [](auto& r) { r.variables = {{"K", "v"}}; }},
      {"entrypoint, cmd, workdir", [](auto& r) {
         r.entrypoint = std::vector<std::string>{"/bin/sh"};
         r.cmd = std::vector<std::string>{"x"};
         r.workdir = "/srv";
       }},
      {"the config's User string", [](auto& r) { r.user = "0:0"; }},
      {"the spec hash label", [](auto& r) { r.spec_hash = "sha256:other"; }},
      {"cache directories", [](auto& r) {
         r.package_cache = "/elsewhere/pkgs";
         r.layer_cache = "/elsewhere/layers";
       }},
      {"parallelism", [](auto& r) { r.parallelism = 7; }},
  };
  for (const auto& [what, change] : same) {
    BuildRequest r = base_request();
    change(r);
    EXPECT_EQ(key_of(r), base) << what;
  }
}

TEST(ImageMemoKey, NoKeyForAPackageWithoutSha256) {
  BuildRequest r = base_request();
  r.packages[1].sha256.reset();
  r.packages[1].md5 = conda::Md5Hash::from_hex(std::string(32, '0')).value();
  auto key = compute_image_memo_key(r, {}, fake_content);
  ASSERT_TRUE(key);
  EXPECT_FALSE(key->key);
  EXPECT_EQ(key->why_not, "package b-1.0-0 has no sha256");
}

TEST(ImageMemoFile, RoundTripsAndRefusesAnythingElse) {
  ImageMemo memo{.created = "2023-11-14T22:13:20Z",
                 .activation = {{"A", "1"}, {"B", "two words"}},
                 .warnings = {"w1"}};
  detail::MemoLayer layer{.label = "a-1.0-0", .packages = {"a-1.0-0"}, .key = Digest::of("k")};
  layer.cached.blob = {.media_type = "application/vnd.oci.image.layer.v1.tar+gzip",
                       .digest = Digest::of("blob"),
                       .size = 4};
  layer.cached.diff_id = Digest::of("tar");
  layer.cached.tar_size = 10;
  memo.layers = {layer};
  const Digest key = Digest::of("key");
  const std::string text = detail::encode_image_memo(key, memo);
  auto back = detail::decode_image_memo(text, key);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->created, memo.created);
  EXPECT_EQ(back->activation, memo.activation);
  EXPECT_EQ(back->warnings, memo.warnings);
  ASSERT_EQ(back->layers.size(), 1u);
  EXPECT_EQ(back->layers[0].label, "a-1.0-0");
  EXPECT_EQ(back->layers[0].key, layer.key);
  EXPECT_EQ(back->layers[0].cached.blob, layer.cached.blob);
  EXPECT_EQ(back->layers[0].cached.diff_id, layer.cached.diff_id);
  EXPECT_EQ(back->layers[0].cached.tar_size, 10u);

  EXPECT_FALSE(detail::decode_image_memo(text, Digest::of("another key")));
  EXPECT_FALSE(detail::decode_image_memo(text.substr(0, text.size() / 2), key));
  EXPECT_FALSE(detail::decode_image_memo("{}", key));
  std::string bad_digest = text;
  bad_digest.replace(bad_digest.find("sha256:", bad_digest.find("\"digest\"")), 7, "sha257:");
  EXPECT_FALSE(detail::decode_image_memo(bad_digest, key));
  // Sizes that are not whole numbers in range: refused, never cast (undefined behaviour).
  for (auto [from, to] : {std::pair{"\"size\": 4", "\"size\": 4e300"},
                          std::pair{"\"size\": 4", "\"size\": -4"},
                          std::pair{"\"tar_size\": 10", "\"tar_size\": 1.5"}}) {
    std::string bad = text;
    auto pos = bad.find(from);
    ASSERT_NE(pos, std::string::npos) << from << " in " << text;
    bad.replace(pos, std::string_view(from).size(), to);
    EXPECT_FALSE(detail::decode_image_memo(bad, key)) << to;
  }
}

// Builds of real (test-made) packages through build_image.
class ImageMemoBuild : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create();
    ASSERT_TRUE(d);
    dir_.emplace(std::move(*d));
    fs::create_directories(dir_->path() / "channel");
    dep_ = test::record_for(dir_->path() / "channel", test::dep_spec());
    hello_ = test::record_for(dir_->path() / "channel", test::hello_spec());
  }
  BuildRequest request(std::vector<conda::PackageRecord> packages) {
    return BuildRequest{.packages = std::move(packages),
                        .base = oci::scratch_image(),
                        .environment_name = "demo",
                        .created_by = "image_memo_test",
                        .strategy = LayerStrategy::PerPackage,
                        .spec_hash = "sha256:test",
                        .package_cache = dir_->path() / "cache/pkgs",
                        .layer_cache = dir_->path() / "cache/layers",
                        .fetcher = &fetcher_,
                        .reporter = &reporter_};
  }
  // The same request built with empty caches of its own.
  Result<BuildResult> cold_build(std::vector<conda::PackageRecord> packages) {
    auto cold = request(std::move(packages));
    cold.package_cache = dir_->path() / "cold/pkgs";
    cold.layer_cache = dir_->path() / "cold/layers";
    return build_image(cold);
  }
  Digest manifest_of(const BuildResult& built, const std::string& name) {
    auto written = oci::write_image(
        built.image, {oci::Transport::OciLayout, (dir_->path() / name).string(), "v1"});
    EXPECT_TRUE(written) << written.error().to_string();
    return written ? written->manifest_digest : Digest();
  }
  std::optional<TempDir> dir_;
  conda::FileFetcher fetcher_;
  test::RecordingReporter reporter_;
  conda::PackageRecord dep_, hello_;
};

TEST_F(ImageMemoBuild, SecondBuildHitsWithoutPackagesAndWritesTheSameImage) {
  auto first = build_image(request({dep_, hello_}));
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_TRUE(first->image_memo.key);
  EXPECT_FALSE(first->image_memo.hit);
  EXPECT_TRUE(fs::exists(dir_->path() / "cache/layers/images" /
                         (first->image_memo.key->hex() + ".json")));
  const Digest cold = manifest_of(*first, "cold");

  // Neither the package files nor their extracted copies are needed: nothing is fetched,
  // extracted or planned (the plans go too, and the stages never start).
  fs::remove_all(dir_->path() / "channel");
  fs::remove_all(dir_->path() / "cache/pkgs");
  fs::remove_all(dir_->path() / "cache/layers/plans");
  reporter_.events.clear();
  auto second = build_image(request({dep_, hello_}));
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_TRUE(second->image_memo.hit);
  EXPECT_EQ(second->image_memo.key, first->image_memo.key);
  EXPECT_EQ(manifest_of(*second, "warm"), cold);
  EXPECT_EQ(second->warnings, first->warnings);
  EXPECT_EQ(second->bytes_new, 0u);
  EXPECT_EQ(second->bytes_reused, first->bytes_new);
  EXPECT_TRUE(reporter_.of(progress::Kind::StageStart, "fetch").empty());
  EXPECT_TRUE(reporter_.of(progress::Kind::StageStart, "plan").empty());
  EXPECT_FALSE(fs::exists(dir_->path() / "cache/pkgs"));
  EXPECT_FALSE(fs::exists(dir_->path() / "cache/layers/plans"));
  // The activation exports came from the memo.
  EXPECT_EQ(second->image.config.env_var("DEP_MODE"), "static");

  // What only the config holds changes the config, and still hits.
  auto labelled = request({dep_, hello_});
  labelled.labels = {{"team", "x"}};
  auto third = build_image(labelled);
  ASSERT_TRUE(third) << third.error().to_string();
  EXPECT_TRUE(third->image_memo.hit);
  EXPECT_EQ(third->image.config.labels().at("team"), "x");
}

TEST_F(ImageMemoBuild, AMissingOrDamagedBlobOrMemoFallsBackToTheNormalBuild) {
  auto first = build_image(request({dep_, hello_}));
  ASSERT_TRUE(first) << first.error().to_string();
  const Digest cold = manifest_of(*first, "cold");
  const fs::path memo = dir_->path() / "cache/layers/images" / (first->image_memo.key->hex() + ".json");
  const fs::path blob =
      dir_->path() / "cache/layers/blobs/sha256" / first->layers[0].blob.digest.hex();

  fs::remove(blob);
  auto rebuilt = build_image(request({dep_, hello_}));
  ASSERT_TRUE(rebuilt) << rebuilt.error().to_string();
  EXPECT_FALSE(rebuilt->image_memo.hit);
  EXPECT_FALSE(rebuilt->layers[0].reused);
  EXPECT_TRUE(fs::exists(blob));
  EXPECT_EQ(manifest_of(*rebuilt, "after-blob"), cold);

  // A blob of the wrong size (truncated) is not trusted either.
  fs::permissions(blob, fs::perms::owner_write, fs::perm_options::add);
  fs::resize_file(blob, 1);
  auto truncated = build_image(request({dep_, hello_}));
  ASSERT_TRUE(truncated) << truncated.error().to_string();
  EXPECT_FALSE(truncated->image_memo.hit);

  ASSERT_TRUE(write_file_atomic(memo, "{\"format\": \"damaged"));
  auto damaged = build_image(request({dep_, hello_}));
  ASSERT_TRUE(damaged) << damaged.error().to_string();
  EXPECT_FALSE(damaged->image_memo.hit);
  EXPECT_EQ(manifest_of(*damaged, "after-damage"), cold);
  // ... and rewritten: the next build hits again.
  auto again = build_image(request({dep_, hello_}));
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_TRUE(again->image_memo.hit);
  EXPECT_EQ(manifest_of(*again, "again"), cold);
}

// --cache-to: a local hit plans after all while a target lacks a package's plan (so that the plans
// reach the cache), and is taken once none is missing.
TEST_F(ImageMemoBuild, AHitPlansToExportThePlansATargetLacks) {
  auto first = build_image(request({dep_, hello_}));
  ASSERT_TRUE(first) << first.error().to_string();
  const Digest cold = manifest_of(*first, "cold");
  std::set<Digest> held;
  auto exporting = request({dep_, hello_});
  exporting.export_plans = true;
  exporting.plan_missing = [&](const Digest& key) { return !held.contains(key); };
  auto planned = build_image(exporting);
  ASSERT_TRUE(planned) << planned.error().to_string();
  EXPECT_FALSE(planned->image_memo.hit);
  EXPECT_NE(planned->image_memo.why_not.find("2 package plan(s) to export"), std::string::npos)
      << planned->image_memo.why_not;
  ASSERT_EQ(planned->plans.size(), 2u);
  EXPECT_EQ(manifest_of(*planned, "planned"), cold);
  held.insert(planned->plans[0].key);
  auto one_missing = build_image(exporting);
  ASSERT_TRUE(one_missing) << one_missing.error().to_string();
  EXPECT_FALSE(one_missing->image_memo.hit);
  EXPECT_NE(one_missing->image_memo.why_not.find("1 package plan(s)"), std::string::npos);
  held.insert(planned->plans[1].key);
  auto hit = build_image(exporting);
  ASSERT_TRUE(hit) << hit.error().to_string();
  EXPECT_TRUE(hit->image_memo.hit);
  EXPECT_TRUE(hit->plans.empty());
  EXPECT_EQ(manifest_of(*hit, "hit"), cold);
  // Without the question a hit exports nothing, as before.
  exporting.plan_missing = nullptr;
  held.clear();
  auto unasked = build_image(exporting);
  ASSERT_TRUE(unasked) << unasked.error().to_string();
  EXPECT_TRUE(unasked->image_memo.hit);
}

TEST_F(ImageMemoBuild, OnePackageChangedMissesAndRebuildsOnlyItsLayers) {
  auto first = build_image(request({dep_, hello_}));
  ASSERT_TRUE(first) << first.error().to_string();
  auto bumped = test::record_for(dir_->path() / "channel", test::hello_spec("2.0"));
  auto second = build_image(request({dep_, bumped}));
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_FALSE(second->image_memo.hit);
  EXPECT_NE(second->image_memo.key, first->image_memo.key);
  ASSERT_EQ(second->layers.size(), 3u);
  EXPECT_TRUE(second->layers[0].reused);   // dep
  EXPECT_FALSE(second->layers[1].reused);  // hello 2.0
  EXPECT_FALSE(second->layers[2].reused);  // conda-meta/history
}

// Group memos: with one package changed, a layer whose packages' plans are unchanged is found by
// their plans' summaries; their entries are not read (a damaged plan body stays as it is, and a
// package whose files are gone is not noticed), and the image is what a cold build writes.
TEST_F(ImageMemoBuild, OnePackageChangedReadsNoEntriesOfTheLayersItKeeps) {
  auto filler = test::record_for(dir_->path() / "channel", test::filler_spec(1));
  auto first = build_image(request({filler, dep_, hello_}));
  ASSERT_TRUE(first) << first.error().to_string();
  fs::path filler_plan, filler_dir;
  for (const auto& f : fs::directory_iterator(dir_->path() / "cache/layers/plans"))
    if (f.path().extension() == ".plan" &&
        read_file(f.path())->find("share/filler1/data.txt") != std::string::npos)
      filler_plan = f.path();
  for (const auto& f : fs::directory_iterator(dir_->path() / "cache/pkgs"))
    if (f.is_directory() && f.path().filename().string().starts_with("filler1-"))
      filler_dir = f.path();
  ASSERT_FALSE(filler_plan.empty());
  ASSERT_FALSE(filler_dir.empty());
  std::string damaged = *read_file(filler_plan);
  damaged.back() ^= 1;  // the file's checksum: its entries no longer decode
  ASSERT_TRUE(write_file_atomic(filler_plan, damaged));
  fs::remove_all(filler_dir / "share");  // planned again, it would warn of its missing file

  auto bumped = test::record_for(dir_->path() / "channel", test::hello_spec("2.0"));
  auto second = build_image(request({filler, dep_, bumped}));
  ASSERT_TRUE(second) << second.error().to_string();
  ASSERT_EQ(second->layers.size(), 4u);
  EXPECT_TRUE(second->layers[0].reused);   // filler
  EXPECT_TRUE(second->layers[1].reused);   // dep (planned: it has an activation script)
  EXPECT_FALSE(second->layers[2].reused);  // hello 2.0
  EXPECT_EQ(*read_file(filler_plan), damaged);
  EXPECT_EQ(second->image.config.env_var("DEP_MODE"), "static");

  auto cold = cold_build({filler, dep_, bumped});
  ASSERT_TRUE(cold) << cold.error().to_string();
  EXPECT_EQ(manifest_of(*second, "warm-image"), manifest_of(*cold, "cold-image"));
  EXPECT_EQ(second->warnings, cold->warnings);
  EXPECT_EQ(second->packages_planned, 2u);  // dep (activation) and hello 2.0
}

// Two packages writing one path are planned together (the later one's file wins) on every build;
// the other unchanged layers still come from their group memos, and the image and warnings are a
// cold build's.
TEST_F(ImageMemoBuild, PackagesThatWriteOnePathArePlannedTogetherAndTheRestIsNot) {
  auto filler = test::record_for(dir_->path() / "channel", test::filler_spec(1));
  conda::test::PackageSpec a, b;
  a.name = "clob-a";
  a.payload = {conda::test::file("share/clob/x", "from a"), conda::test::file("share/clob/a", "a")};
  b.name = "clob-b";
  b.payload = {conda::test::file("share/clob/x", "from b")};
  auto clob_a = test::record_for(dir_->path() / "channel", a);
  auto clob_b = test::record_for(dir_->path() / "channel", b);
  auto first = build_image(request({filler, clob_a, clob_b, dep_, hello_}));
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->packages_planned, 5u);
  auto bumped = test::record_for(dir_->path() / "channel", test::hello_spec("2.0"));
  auto second = build_image(request({filler, clob_a, clob_b, dep_, bumped}));
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->packages_planned, 4u);  // all but filler
  ASSERT_EQ(second->layers.size(), 6u);
  for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(second->layers[i].reused) << i;

  auto cold = cold_build({filler, clob_a, clob_b, dep_, bumped});
  ASSERT_TRUE(cold) << cold.error().to_string();
  EXPECT_EQ(manifest_of(*second, "warm-image"), manifest_of(*cold, "cold-image"));
  EXPECT_EQ(second->warnings, cold->warnings);
  bool replaced = false;
  for (const auto& w : second->warnings) replaced |= w.find("replaces the one from") != w.npos;
  EXPECT_TRUE(replaced);
  // The layer of clob-a holds only its own file; clob-b's holds the path both write.
  auto listed = oci::list_layer(*second->image.layers.at(1));
  ASSERT_TRUE(listed) << listed.error().to_string();
  std::set<std::string> paths;
  for (const auto& e : *listed) paths.insert(e.path);
  EXPECT_TRUE(paths.contains("opt/conda/share/clob/a"));
  EXPECT_FALSE(paths.contains("opt/conda/share/clob/x"));

  // clob-b no longer writes the path: clob-a's layer holds it again. No memo was kept for a layer
  // whose entries the merge had changed.
  b.version = "2.0";
  b.payload = {conda::test::file("share/clob/z", "from b 2")};
  auto clob_b2 = test::record_for(dir_->path() / "channel", b);
  auto third = build_image(request({filler, clob_a, clob_b2, dep_, bumped}));
  ASSERT_TRUE(third) << third.error().to_string();
  EXPECT_FALSE(third->layers[1].reused);
  auto listed_again = oci::list_layer(*third->image.layers.at(1));
  ASSERT_TRUE(listed_again) << listed_again.error().to_string();
  paths.clear();
  for (const auto& e : *listed_again) paths.insert(e.path);
  EXPECT_TRUE(paths.contains("opt/conda/share/clob/x"));
}

}  // namespace
}  // namespace de::build
