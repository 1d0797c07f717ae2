#include "conda/solver_cache.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "conda/binary_io.hpp"
#include "conda/solver_internal.hpp"
#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/os.hpp"

namespace de::conda::detail {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "docker-envs parsed repodata v1\n";

void encode_record(Out& o, const PackageRecord& r) {
  o.str(r.name);
  o.str(r.version);
  o.str(r.build);
  o.u64(static_cast<std::uint64_t>(r.build_number));
  o.strs(r.depends);
  o.strs(r.constrains);
  o.str(r.subdir);
  o.u8(static_cast<std::uint8_t>(r.noarch));
  o.str(r.fn);
  o.str(r.url);
  o.str(r.channel);
  o.u8(r.md5 ? 1 : 0);
  if (r.md5) o.bytes(r.md5->bytes().data(), 16);
  o.u8(r.sha256 ? 1 : 0);
  if (r.sha256) o.bytes(r.sha256->bytes().data(), 32);
  o.u8(r.size ? 1 : 0);
  if (r.size) o.u64(*r.size);
  o.u8(r.timestamp ? 1 : 0);
  if (r.timestamp) o.u64(static_cast<std::uint64_t>(*r.timestamp));
  o.str(r.license);
  o.str(r.track_features);
  o.str(r.python_site_packages_path);
}

}  // namespace

Result<std::string> repodata_cache_key(const fs::path& source) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) return fail_errno("stat " + source.string(), errno);
  return fmt::format("{}|{}|{}.{}|{}", source.string(), static_cast<long long>(st.st_size),
                     static_cast<long long>(st.st_mtim.tv_sec),
                     static_cast<long long>(st.st_mtim.tv_nsec), kMagic.size());
}

fs::path parsed_cache_path(const fs::path& cache_dir, const fs::path& source) {
  return cache_dir / "parsed" / (Digest::of(source.string()).hex().substr(0, 32) + ".bin");
}

std::string CachedRepodata::encode(const Repodata& repodata, std::string_view key) {
  // Records grouped by name (stable: file order within a name).
  std::map<std::string_view, std::vector<const PackageRecord*>> by_name;
  for (const auto& r : repodata.records) by_name[r.name].push_back(&r);
  Out o;
  o.buffer().append(kMagic);
  o.str(key);
  o.str(repodata.subdir);
  o.str(repodata.base_url);
  o.u32(static_cast<std::uint32_t>(repodata.repodata_version));
  o.u64(repodata.skipped);
  o.u32(static_cast<std::uint32_t>(by_name.size()));
  std::uint32_t first = 0;
  for (const auto& [name, records] : by_name) {
    o.str(name);
    o.u32(first);
    o.u32(static_cast<std::uint32_t>(records.size()));
    first += static_cast<std::uint32_t>(records.size());
    std::set<std::string_view> deps;
    for (const auto* r : records)
      for (const auto& d : r->depends) {
        std::string_view n = spec_package_name(d);
        if (!n.empty()) deps.insert(n);
        // A URL spec or an unusual one: its name is found by a full parse at solve time; keep
        // the text so that reachability can fall back to "everything".
        else
          deps.insert("*");
      }
    o.u32(static_cast<std::uint32_t>(deps.size()));
    for (auto d : deps) o.str(d);
  }
  // Record offsets table, then the records.
  o.u32(first);
  std::size_t table = o.size();
  for (std::uint32_t i = 0; i < first; ++i) o.u64(0);
  std::vector<std::uint64_t> offsets;
  offsets.reserve(first);
  for (const auto& [name, records] : by_name)
    for (const auto* r : records) {
      offsets.push_back(o.size());
      encode_record(o, *r);
    }
  if (!offsets.empty())  // an empty subdir: memcpy from a null pointer is undefined
    std::memcpy(o.buffer().data() + table, offsets.data(), offsets.size() * sizeof(std::uint64_t));
  // Trailer: the total size, so that a truncated file is recognised.
  o.u64(o.size() + sizeof(std::uint64_t));
  return std::move(o.buffer());
}

std::optional<CachedRepodata> CachedRepodata::decode(std::string bytes, std::string_view key) {
  auto owned = std::make_shared<const std::string>(std::move(bytes));
  std::string_view view = *owned;
  return decode_view(std::move(owned), view, key);
}

std::optional<CachedRepodata> CachedRepodata::open(const fs::path& file, std::string_view key) {
  auto mapping = Mapping::open(file);
  if (!mapping || mapping->size() == 0) return std::nullopt;
  auto owner = std::make_shared<const Mapping>(std::move(*mapping));
  std::string_view bytes = owner->view();
  return decode_view(std::move(owner), bytes, key);
}

std::optional<CachedRepodata> CachedRepodata::decode_view(std::shared_ptr<const void> owner,
                                                          std::string_view bytes,
                                                          std::string_view key) {
  if (!bytes.starts_with(kMagic) || bytes.size() < kMagic.size() + sizeof(std::uint64_t))
    return std::nullopt;
  std::uint64_t total = 0;
  std::memcpy(&total, bytes.data() + bytes.size() - sizeof total, sizeof total);
  if (total != bytes.size()) return std::nullopt;
  CachedRepodata c;
  c.owner_ = std::move(owner);
  c.bytes_ = bytes;
  In in(c.bytes_, kMagic.size());
  if (in.str() != key || in.bad) return std::nullopt;
  c.subdir_ = in.str();
  c.base_url_ = in.str();
  c.repodata_version_ = static_cast<int>(in.u32());
  c.skipped_ = in.u64();
  std::uint32_t n_names = in.u32();
  if (in.bad || n_names > c.bytes_.size()) return std::nullopt;
  c.names_.reserve(n_names);
  for (std::uint32_t i = 0; i < n_names && !in.bad; ++i) {
    NameEntry e;
    e.name = in.str();
    e.first = in.u32();
    e.count = in.u32();
    std::uint32_t n_deps = in.u32();
    if (n_deps > c.bytes_.size()) return std::nullopt;
    auto& deps = c.deps_[e.name];
    deps.reserve(n_deps);
    for (std::uint32_t j = 0; j < n_deps && !in.bad; ++j) deps.push_back(in.str());
    c.name_index_.emplace(e.name, c.names_.size());
    c.names_.push_back(e);
  }
  std::uint32_t n_records = in.u32();
  const std::uint8_t* table = in.bytes(std::size_t{n_records} * sizeof(std::uint64_t));
  if (in.bad || !table) return std::nullopt;
  c.offsets_.resize(n_records);
  if (n_records > 0)
    std::memcpy(c.offsets_.data(), table, c.offsets_.size() * sizeof(std::uint64_t));
  for (const auto& e : c.names_)
    if (std::uint64_t{e.first} + e.count > n_records) return std::nullopt;
  for (auto off : c.offsets_)
    if (off >= c.bytes_.size()) return std::nullopt;
  return c;
}

Repodata CachedRepodata::header() const {
  Repodata r;
  r.repodata_version = repodata_version_;
  r.subdir = subdir_;
  r.base_url = base_url_;
  r.skipped = skipped_;
  return r;
}

PackageRecord CachedRepodata::decode_record(std::uint32_t index) const {
  In in(bytes_, offsets_[index]);
  PackageRecord r;
  r.name = in.str();
  r.version = in.str();
  r.build = in.str();
  r.build_number = static_cast<std::int64_t>(in.u64());
  r.depends = in.strs();
  r.constrains = in.strs();
  r.subdir = in.str();
  r.noarch = static_cast<NoarchKind>(in.u8());
  r.fn = in.str();
  r.url = in.str();
  r.channel = in.str();
  if (in.u8()) {
    Md5Hash::Bytes b{};
    if (auto p = in.bytes(16)) std::memcpy(b.data(), p, 16);
    r.md5 = Md5Hash(b);
  }
  if (in.u8()) {
    Digest::Bytes b{};
    if (auto p = in.bytes(32)) std::memcpy(b.data(), p, 32);
    r.sha256 = Digest(b);
  }
  if (in.u8()) r.size = in.u64();
  if (in.u8()) r.timestamp = static_cast<std::int64_t>(in.u64());
  r.license = in.str();
  r.track_features = in.str();
  r.python_site_packages_path = in.str();
  return r;
}

Repodata CachedRepodata::materialize(const std::unordered_set<std::string_view>& names) const {
  Repodata r = header();
  for (std::string_view n : names) {
    auto it = name_index_.find(n);
    if (it == name_index_.end()) continue;
    const NameEntry& e = names_[it->second];
    for (std::uint32_t i = 0; i < e.count; ++i) r.records.push_back(decode_record(e.first + i));
  }
  return r;
}

Repodata CachedRepodata::materialize_all() const {
  Repodata r = header();
  r.records.reserve(offsets_.size());
  for (std::uint32_t i = 0; i < offsets_.size(); ++i) r.records.push_back(decode_record(i));
  return r;
}

}  // namespace de::conda::detail
