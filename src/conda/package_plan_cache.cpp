#include "conda/package_plan_cache.hpp"

#include <fmt/format.h>

#include <cstring>
#include <system_error>

#include "conda/binary_io.hpp"
#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/os.hpp"

namespace de::conda::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "docker-envs package plan v1\n";
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

}  // namespace

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
  o.buffer().append(kMagic);
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
  // A damaged file must not decode into another plan: the body's sha256 ends the file.
  Digest sum = Digest::of(o.buffer());
  o.bytes(sum.bytes().data(), sum.bytes().size());
  return std::move(o.buffer());
}

std::optional<PackagePlan> decode_package_plan(std::string_view bytes, const fs::path& dir,
                                               std::string_view package,
                                               std::string_view prefix_rel) {
  constexpr std::size_t kSum = 32;
  if (bytes.size() < kMagic.size() + kSum || !bytes.starts_with(kMagic)) return std::nullopt;
  Digest sum = Digest::of(bytes.substr(0, bytes.size() - kSum));
  if (std::memcmp(sum.bytes().data(), bytes.data() + bytes.size() - kSum, kSum) != 0)
    return std::nullopt;
  bytes.remove_suffix(kSum);
  In in(bytes, kMagic.size());
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

std::optional<PackagePlan> PackagePlanCache::find(const Digest& key, const fs::path& dir,
                                                  std::string_view package,
                                                  std::string_view prefix_rel) const {
  fs::path file = root_ / (key.hex() + ".plan");
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  auto use = EntryUse::begin(root_, file.filename().string());
  // Decoded straight from the page cache: a large plan is not copied into memory first.
  auto mapped = Mapping::open(file);
  if (!mapped || mapped->size() > kMaxPlanFile) return std::nullopt;
  return decode_package_plan(mapped->view(), dir, package, prefix_rel);
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
