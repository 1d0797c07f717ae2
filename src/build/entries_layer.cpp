#include "docker_envs/build/entries_layer.hpp"

#include <charconv>

#include "docker_envs/oci/generated_layer.hpp"

namespace de::build {

Result<Owner> Owner::parse(std::string_view text) {
  auto number = [&](std::string_view part) -> Result<std::int64_t> {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || end != part.data() + part.size() || v < 0 ||
        v > 0x7fffffff)
      return fail(Code::InvalidArgument,
                  "user '{}' is not UID:GID with numeric ids (for example 1000:1000)", text);
    return v;
  };
  auto colon = text.find(':');
  Owner o;
  o.uid = DE_TRY(number(text.substr(0, colon)));
  o.gid = colon == std::string_view::npos ? o.uid : DE_TRY(number(text.substr(colon + 1)));
  return o;
}

std::string Owner::to_string() const { return fmt::format("{}:{}", uid, gid); }

namespace {

using conda::InstallEntry;

// The data of an environment layer's files: the installer's entries (owned here), read from the
// package cache (a copy, bytes, or a file with its prefix placeholder replaced).
class InstallData final : public oci::EntryData {
 public:
  std::vector<InstallEntry> entries;
  std::string prefix;

  Result<std::unique_ptr<Reader>> open(const oci::TarEntry&, std::size_t source) const override {
    const InstallEntry& e = entries[source];
    return DE_TRY_CTX(conda::open_content(e, prefix), "reading " + e.path);
  }
  Error wrong_size(const oci::TarEntry& entry, std::size_t source,
                   std::uint64_t got) const override {
    const std::string& package = entries[source].package;
    if (got > entry.size)
      return Error(Code::Corruption, fmt::format("{} ({}): more than the {} bytes planned",
                                                 entry.path, package, entry.size));
    return Error(Code::Corruption, fmt::format("{} ({}): {} bytes short of the {} planned",
                                               entry.path, package, entry.size - got, entry.size));
  }
};

}  // namespace

Result<oci::LayerPtr> entries_layer(std::vector<InstallEntry> entries,
                                    const EntriesLayerOptions& options) {
  auto data = std::make_shared<InstallData>();
  data->prefix = options.prefix;
  data->entries = std::move(entries);
  const std::string prefix_rel = DE_TRY(oci::normalize_path(options.prefix));

  // Paths at or below the prefix (or an `owned` path) are owned by `owner`; the parents above
  // them by root.
  auto at_or_below = [](const std::string& path, const std::string& root) {
    return !root.empty() && (path == root || path.starts_with(root + "/"));
  };
  auto stamp = [&](oci::TarEntry& t) {
    t.mtime = options.mtime;
    bool owned = at_or_below(t.path, prefix_rel);
    for (const auto& o : options.owned) owned = owned || at_or_below(t.path, o);
    if (owned) {
      t.uid = options.owner.uid;
      t.gid = options.owner.gid;
    }
  };
  std::vector<oci::GeneratedEntry> out;
  out.reserve(data->entries.size());
  for (std::size_t i = 0; i < data->entries.size(); ++i) {
    const InstallEntry& e = data->entries[i];
    oci::GeneratedEntry& g = out.emplace_back();
    g.tar.path = DE_TRY_CTX(oci::normalize_path(e.path), e.package);
    if (g.tar.path.empty())
      return fail(Code::InvalidArgument, "{}: an entry names the root", e.package);
    g.tar.mode = e.mode & 07777;
    stamp(g.tar);
    switch (e.type) {
      case InstallEntry::Type::Directory:
        g.tar.type = oci::EntryType::Directory;
        break;
      case InstallEntry::Type::Symlink:
        g.tar.type = oci::EntryType::Symlink;
        g.tar.link_target = e.link_target;
        break;
      case InstallEntry::Type::File:
        g.tar.type = oci::EntryType::File;
        g.tar.size = e.size;
        g.data = i;
        break;
      case InstallEntry::Type::Hardlink:
        g.tar.type = oci::EntryType::Hardlink;
        g.tar.link_target = DE_TRY_CTX(oci::normalize_path(e.link_target), e.package);
        break;
    }
  }
  return DE_TRY_CTX(oci::generated_layer(std::move(out), std::move(data),
                                         {.implied_directory = stamp,
                                          .clamp_mtime = std::nullopt,
                                          .description = options.description}),
                    options.description);
}

}  // namespace de::build
