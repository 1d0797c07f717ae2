// Build records (builds/<key>.json under the cache root) and the diff of two of them.
#include "docker_envs/build/build_record.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <nlohmann/json.hpp>

#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/base/io.hpp"
#include "build/json_number.hpp"

namespace de::build {

namespace fs = std::filesystem;

namespace {

constexpr int kFormat = 1;
constexpr std::string_view kDir = "builds";

nlohmann::json identity_json(const BuildIdentity& id) {
  return {{"source", id.source}, {"image", id.image}, {"platform", id.platform}};
}

// The (kind, name) a package is matched by: conda packages sort before PyPI ones.
std::pair<bool, std::string> match_key(const RecordedPackage& p) { return {p.pypi, p.name}; }

bool by_name(const RecordedPackage& a, const RecordedPackage& b) {
  return std::tie(a.name, a.pypi) < std::tie(b.name, b.pypi);
}

}  // namespace

std::string BuildIdentity::key() const {
  // Length-prefixed fields: no two identities give the same text.
  std::string text = fmt::format("docker-envs build record {}\n", kFormat);
  for (const std::string* f : {&source, &image, &platform})
    text += fmt::format("{}:{}\n", f->size(), *f);
  return Digest::of(text).hex();
}

std::string encode_build_record(const BuildRecord& r) {
  nlohmann::json packages = nlohmann::json::array(), layers = nlohmann::json::array();
  for (const auto& p : r.packages)
    packages.push_back({{"name", p.name},
                        {"version", p.version},
                        {"build", p.build},
                        {"channel", p.channel},
                        {"pypi", p.pypi}});
  for (const auto& l : r.layers)
    layers.push_back({{"label", l.label},
                      {"key", l.key.to_string()},
                      {"digest", l.digest.to_string()},
                      {"reused", l.reused}});
  nlohmann::json doc{{"format", kFormat},
                     {"identity", identity_json(r.identity)},
                     {"tag", r.tag},
                     {"manifest_digest", r.manifest_digest},
                     {"written", r.written},
                     {"packages", std::move(packages)},
                     {"layers", std::move(layers)}};
  return doc.dump(1) + "\n";
}

Result<BuildRecord> decode_build_record(std::string_view text) {
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(Code::InvalidArgument, "not a JSON object");
  try {
    if (detail::whole_number(doc.at("format")) != static_cast<std::uint64_t>(kFormat))
      return fail(Code::InvalidArgument, "format {} (this version reads {})",
                  doc.at("format").dump(), kFormat);
    BuildRecord r;
    const auto& id = doc.at("identity");
    r.identity = {.source = id.at("source").get<std::string>(),
                  .image = id.at("image").get<std::string>(),
                  .platform = id.at("platform").get<std::string>()};
    r.tag = doc.at("tag").get<std::string>();
    r.manifest_digest = doc.at("manifest_digest").get<std::string>();
    auto written = detail::whole_number(doc.at("written"));
    if (!written) return fail(Code::InvalidArgument, "'written' is not a time in seconds");
    r.written = static_cast<std::int64_t>(*written);
    if (!doc.at("packages").is_array() || !doc.at("layers").is_array())
      return fail(Code::InvalidArgument, "packages and layers must be arrays");
    for (const auto& p : doc.at("packages"))
      r.packages.push_back({.name = p.at("name").get<std::string>(),
                            .version = p.at("version").get<std::string>(),
                            .build = p.at("build").get<std::string>(),
                            .channel = p.at("channel").get<std::string>(),
                            .pypi = p.at("pypi").get<bool>()});
    // Any damage is InvalidArgument (a digest of another algorithm too).
    auto digest = [](const nlohmann::json& l, const char* field) -> Result<Digest> {
      auto d = Digest::parse(l.at(field).get<std::string>());
      if (!d) return fail(Code::InvalidArgument, "layer {}: {}", field, d.error().message());
      return *d;
    };
    for (const auto& l : doc.at("layers"))
      r.layers.push_back({.label = l.at("label").get<std::string>(),
                          .key = DE_TRY(digest(l, "key")),
                          .digest = DE_TRY(digest(l, "digest")),
                          .reused = l.at("reused").get<bool>()});
    return r;
  } catch (const nlohmann::json::exception& e) {
    return fail(Code::InvalidArgument, "{}", e.what());
  }
}

fs::path build_record_path(const fs::path& cache_root, const BuildIdentity& identity) {
  return cache_root / kDir / (identity.key() + ".json");
}

Result<std::optional<BuildRecord>> read_build_record(const fs::path& cache_root,
                                                     const BuildIdentity& identity) {
  fs::path path = build_record_path(cache_root, identity);
  auto use = EntryUse::begin(cache_root / kDir, path.filename().string());
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (ec) return fail(Code::Io, "{}: {}", path.string(), ec.message());
    return std::optional<BuildRecord>();
  }
  auto text = DE_TRY(read_file(path, 64 << 20));
  auto record = DE_TRY_CTX(decode_build_record(text), path.string());
  if (record.identity != identity)
    return fail(Code::InvalidArgument, "{}: a record of another environment ({}, image {}, {})",
                path.string(), record.identity.source, record.identity.image,
                record.identity.platform);
  return std::optional<BuildRecord>(std::move(record));
}

Status write_build_record(const fs::path& cache_root, const BuildRecord& record) {
  fs::path path = build_record_path(cache_root, record.identity);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return fail(Code::Io, "creating {}: {}", path.parent_path().string(), ec.message());
  auto use = EntryUse::begin(cache_root / kDir, path.filename().string());
  DE_TRY_CTX(write_file_atomic(path, encode_build_record(record)),
             "writing the build record " + path.string());
  return {};
}

BuildChanges diff_builds(const BuildRecord& before, const BuildRecord& after) {
  BuildChanges c{.previous_tag = before.tag,
                 .previous_manifest = before.manifest_digest,
                 .previous_written = before.written};
  std::map<std::pair<bool, std::string>, const RecordedPackage*> old, now;
  for (const auto& p : before.packages) old[match_key(p)] = &p;
  for (const auto& p : after.packages) now[match_key(p)] = &p;
  for (const auto& [key, p] : now) {
    auto it = old.find(key);
    if (it == old.end())
      c.added.push_back(*p);
    else if (!(*it->second == *p))
      c.changed.push_back({.before = *it->second, .after = *p});
  }
  for (const auto& [key, p] : old)
    if (!now.contains(key)) c.removed.push_back(*p);
  std::ranges::sort(c.added, by_name);
  std::ranges::sort(c.removed, by_name);
  std::ranges::sort(c.changed, [](const PackageChange& a, const PackageChange& b) {
    return by_name(a.after, b.after);
  });
  for (const auto& l : after.layers) (l.reused ? c.layers_reused : c.layers_rebuilt).push_back(l.label);
  return c;
}

}  // namespace de::build
