#include "conda/package_plan_cache.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <system_error>
#include <unordered_set>

#include "conda/binary_io.hpp"
#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/os.hpp"

namespace de::conda::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "docker-envs package plan v2\n";
constexpr std::size_t kSum = 32;
constexpr std::size_t kMaxPlanFile = std::size_t{64} << 20;  // larger plans are not kept

// A relative path of plain segments: no "", "." or ".." segment, no leading '/'.
bool plain_relative(std::string_view p) {
  if (p.empty()) return false;
  for (std::size_t start = 0;;) {
    std::size_t end = p.find('/', start);
    std::string_view seg = p.substr(start, end == std::string_view::npos ? p.npos : end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

bool below(std::string_view path, std::string_view prefix_rel) {
  return path.size() > prefix_rel.size() + 1 && path.starts_with(prefix_rel) &&
         path[prefix_rel.size()] == '/' && plain_relative(path);
}

PlanSummary summarize(const PackagePlan& plan, const Digest& body) {
  PlanSummary s;
  s.entries = plan.entries.size();
  s.body = body;
  s.warnings = plan.warnings;
  std::unordered_set<std::string_view> own, dirs;
  own.reserve(plan.entries.size());
  for (const auto& e : plan.entries) own.insert(e.path);
  s.paths.reserve(plan.entries.size());
  for (const auto& e : plan.entries) {
    s.size += e.size;
    s.paths.push_back(path_hash(e.path));
    if (e.type == InstallEntry::Type::Symlink) s.links.push_back(path_hash(e.path));
    if (e.type == InstallEntry::Type::Hardlink && !own.contains(e.link_target))
      s.hardlinks_inside = false;
    if (e.path.find("/etc/conda/activate.d/") != std::string::npos) s.activation = true;
    std::string_view p = e.path;
    for (auto slash = p.rfind('/'); slash != std::string_view::npos && slash > 0;
         slash = p.rfind('/', slash - 1))
      if (!dirs.insert(p.substr(0, slash)).second) break;  // its parents are in already
  }
  for (auto d : dirs) s.dirs.push_back(path_hash(d));
  std::sort(s.paths.begin(), s.paths.end());
  std::sort(s.dirs.begin(), s.dirs.end());
  s.dirs.erase(std::unique(s.dirs.begin(), s.dirs.end()), s.dirs.end());
  std::sort(s.links.begin(), s.links.end());
  return s;
}

void put_hashes(Out& o, const std::vector<std::uint64_t>& v) {
  o.u32(static_cast<std::uint32_t>(v.size()));
  for (auto h : v) o.u64(h);
}

bool get_hashes(In& in, std::vector<std::uint64_t>& v, std::size_t end) {
  std::uint32_t n = in.u32();
  if (in.bad || n > (end - in.pos()) / 8) return false;
  v.resize(n);
  for (auto& h : v) h = in.u64();
  return !in.bad;
}

}  // namespace

std::uint64_t path_hash(std::string_view path) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : path) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::optional<PlanSummary> decode_plan_summary(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) return std::nullopt;
  In in(bytes, kMagic.size());
  std::uint32_t length = in.u32();
  const std::size_t start = in.pos();
  if (in.bad || length > bytes.size() - start || bytes.size() - start - length < kSum)
    return std::nullopt;
  std::string_view summary = bytes.substr(start, length);
  Digest sum = Digest::of(summary);
  if (std::memcmp(sum.bytes().data(), bytes.data() + start + length, kSum) != 0)
    return std::nullopt;
  In s(bytes.substr(0, start + length), start);
  PlanSummary out;
  out.entries = s.u64();
  out.size = s.u64();
  std::uint8_t flags = s.u8();
  out.hardlinks_inside = (flags & 1) != 0;
  out.activation = (flags & 2) != 0;
  const std::uint8_t* body = s.bytes(kSum);
  if (s.bad || flags > 3) return std::nullopt;
  Digest::Bytes digest;
  std::memcpy(digest.data(), body, kSum);
  out.body = Digest(digest);
  out.warnings = s.strs();
  const std::size_t end = start + length;
  if (s.bad || !get_hashes(s, out.paths, end) || !get_hashes(s, out.dirs, end) ||
      !get_hashes(s, out.links, end) || s.pos() != end || out.paths.size() != out.entries)
    return std::nullopt;
  return out;
}

Digest package_plan_key(const PackagePlanInputs& in) {
  Sha256 h;
  h.update_field(kPackagePlanFormat);
  h.update_field(in.content_id);
  h.update_field(in.index_json);
  const PackageRecord& k = *in.known;
  h.update_field(k.url);
  h.update_field(k.channel);
  h.update_field(k.fn);
  h.update_field(k.md5 ? k.md5->hex() : "");
  h.update_field(k.sha256 ? k.sha256->hex() : "");
  h.update_field(k.size ? std::to_string(*k.size) : "");
  h.update_field(k.python_site_packages_path);
  h.update_field(in.requested_spec);
  h.update_field(in.prefix);
  h.update_field(in.site_packages);
  h.update_field(std::to_string(in.max_rewrite_in_memory));
  h.update_field(in.verify_files ? "verified" : "unverified");
  return h.finish();
}

std::string encode_package_plan(const PackagePlan& plan, const fs::path& dir) {
  Out o;
  o.strs(plan.warnings);
  o.u32(static_cast<std::uint32_t>(plan.entries.size()));
  for (const auto& e : plan.entries) {
    o.str(e.path);
    o.u8(static_cast<std::uint8_t>(e.type));
    o.u32(e.mode);
    o.u8(static_cast<std::uint8_t>(e.source));
    // A host file outside the package keeps its absolute path, which decode refuses.
    o.str(path_in_package(e, dir).value_or(std::string_view(e.host_path)));
    o.str(e.data);
    o.str(e.placeholder);
    o.u8(static_cast<std::uint8_t>(e.placeholder_mode));
    o.u64(e.size);
    o.str(e.link_target);
  }
  const std::string& body = o.buffer();
  PlanSummary summary = summarize(plan, Digest::of(body));
  Out head;
  head.u64(summary.entries);
  head.u64(summary.size);
  head.u8(
      static_cast<std::uint8_t>((summary.hardlinks_inside ? 1 : 0) | (summary.activation ? 2 : 0)));
  head.bytes(summary.body.bytes().data(), kSum);
  head.strs(summary.warnings);
  put_hashes(head, summary.paths);
  put_hashes(head, summary.dirs);
  put_hashes(head, summary.links);
  Out file;
  file.buffer().reserve(kMagic.size() + 4 + head.size() + kSum + body.size() + kSum);
  file.buffer().append(kMagic);
  file.u32(static_cast<std::uint32_t>(head.size()));
  file.buffer().append(head.buffer());
  Digest head_sum = Digest::of(head.buffer());
  file.bytes(head_sum.bytes().data(), kSum);
  file.buffer().append(body);
  // A damaged file must not decode into another plan: the sha256 of all before it ends the file.
  Digest sum = Digest::of(file.buffer());
  file.bytes(sum.bytes().data(), kSum);
  return std::move(file.buffer());
}

std::optional<PackagePlan> decode_package_plan(std::string_view bytes, const fs::path& dir,
                                               std::string_view package,
                                               std::string_view prefix_rel) {
  if (bytes.size() < kMagic.size() + kSum || !bytes.starts_with(kMagic)) return std::nullopt;
  Digest sum = Digest::of(bytes.substr(0, bytes.size() - kSum));
  if (std::memcmp(sum.bytes().data(), bytes.data() + bytes.size() - kSum, kSum) != 0)
    return std::nullopt;
  bytes.remove_suffix(kSum);
  In in(bytes, kMagic.size());
  std::uint32_t summary_length = in.u32();  // the summary is skipped: the entries say it all
  if (in.bad || summary_length > bytes.size() - in.pos() ||
      bytes.size() - in.pos() - summary_length < kSum)
    return std::nullopt;
  in = In(bytes, in.pos() + summary_length + kSum);
  PackagePlan plan;
  plan.warnings = in.strs();
  std::uint32_t n = in.u32();
  // Each entry takes at least kMinEntry bytes: a count the file cannot hold allocates nothing.
  constexpr std::size_t kMinEntry = 5 * 4 + 3 * 1 + 4 + 8;  // 5 lengths, 3 enums, mode, size
  if (in.bad || n > (bytes.size() - in.pos()) / kMinEntry) return std::nullopt;
  plan.entries.resize(n);
  const std::string base = dir.native() + "/";
  for (auto& e : plan.entries) {
    e.path = in.str();
    auto type = in.u8();
    e.mode = in.u32();
    auto source = in.u8();
    std::string_view host = in.str();
    e.data = in.str();
    e.placeholder = in.str();
    auto placeholder_mode = in.u8();
    e.size = in.u64();
    e.link_target = in.str();
    if (in.bad || type > static_cast<std::uint8_t>(InstallEntry::Type::Directory) ||
        source > static_cast<std::uint8_t>(InstallEntry::Source::Rewrite) ||
        placeholder_mode > static_cast<std::uint8_t>(PlaceholderMode::Binary) ||
        !below(e.path, prefix_rel))
      return std::nullopt;
    e.type = static_cast<InstallEntry::Type>(type);
    e.source = static_cast<InstallEntry::Source>(source);
    e.placeholder_mode = static_cast<PlaceholderMode>(placeholder_mode);
    if (!host.empty()) {
      if (!plain_relative(host)) return std::nullopt;
      e.host_path.reserve(base.size() + host.size());
      e.host_path.append(base).append(host);
    }
    bool needs_host =
        e.type == InstallEntry::Type::Hardlink ||
        (e.type == InstallEntry::Type::File && e.source != InstallEntry::Source::Bytes);
    if (needs_host && host.empty()) return std::nullopt;
    if (e.type == InstallEntry::Type::Hardlink && !below(e.link_target, prefix_rel))
      return std::nullopt;
    e.package = package;
  }
  if (in.pos() != bytes.size()) return std::nullopt;
  return plan;
}

std::optional<Mapping> PackagePlanCache::map(const Digest& key) const {
  fs::path file = root_ / (key.hex() + ".plan");
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  auto use = EntryUse::begin(root_, file.filename().string());
  // Read straight from the page cache, only the pages the caller looks at; a mapping stays valid
  // should a prune remove the file meanwhile.
  auto mapped = Mapping::open(file);
  if (!mapped || mapped->size() > kMaxPlanFile) return std::nullopt;
  return std::move(*mapped);
}

std::optional<PackagePlan> PackagePlanCache::find(const Digest& key, const fs::path& dir,
                                                  std::string_view package,
                                                  std::string_view prefix_rel) const {
  auto mapped = map(key);
  if (!mapped) return std::nullopt;
  return decode_package_plan(mapped->view(), dir, package, prefix_rel);
}

std::optional<PlanSummary> PackagePlanCache::summary(const Digest& key) const {
  auto mapped = map(key);  // the entries after the summary are not read
  if (!mapped) return std::nullopt;
  return decode_plan_summary(mapped->view());
}

Status PackagePlanCache::put(const Digest& key, const PackagePlan& plan,
                             const fs::path& dir) const {
  std::string bytes = encode_package_plan(plan, dir);
  if (bytes.size() > kMaxPlanFile) return {};
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return fail(Code::Io, "creating {}: {}", root_.string(), ec.message());
  DE_TRY(write_file_atomic(root_ / (key.hex() + ".plan"), bytes));
  auto use = EntryUse::begin(root_, key.hex() + ".plan");
  return {};
}

}  // namespace de::conda::detail
