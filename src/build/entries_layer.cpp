#include "docker_envs/build/entries_layer.hpp"

#include <charconv>
#include <cstring>
#include <map>

#include "docker_envs/oci/tar.hpp"

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

struct Item {
  oci::TarEntry tar;
  const InstallEntry* content = nullptr;  // File: where the bytes come from
};

struct Items {
  std::vector<InstallEntry> entries;  // owned; Items point into it
  std::vector<Item> items;
  std::string prefix;
};

std::string parent_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

// Generates the tar on demand, one entry at a time: header, data (opened when its turn comes),
// padding; then the trailer. Errors are sticky.
class EntriesTarReader final : public Reader {
 public:
  explicit EntriesTarReader(std::shared_ptr<const Items> items) : items_(std::move(items)) {}

  Result<size_t> read(std::span<std::byte> buf) override {
    if (error_) return std::unexpected(*error_);
    auto r = fill(buf);
    if (!r) error_ = r.error();
    return r;
  }

 private:
  enum class Phase { Start, Header, Data, Zeros, Done };

  Result<size_t> fill(std::span<std::byte> buf) {
    size_t done = 0;
    while (done < buf.size() && phase_ != Phase::Done) {
      auto rest = buf.subspan(done);
      switch (phase_) {
        case Phase::Start: {
          if (index_ == items_->items.size()) {
            zeros_ = oci::TarWriter::kTrailerSize;
            trailer_ = true;
            phase_ = Phase::Zeros;
            break;
          }
          const Item& item = items_->items[index_];
          header_ = DE_TRY(oci::TarWriter::encode_header(item.tar));
          header_pos_ = 0;
          phase_ = Phase::Header;
          break;
        }
        case Phase::Header: {
          size_t n = std::min(rest.size(), header_.size() - header_pos_);
          std::memcpy(rest.data(), header_.data() + header_pos_, n);
          header_pos_ += n;
          done += n;
          if (header_pos_ < header_.size()) break;
          const Item& item = items_->items[index_];
          left_ = item.tar.type == oci::EntryType::File ? item.tar.size : 0;
          if (left_ == 0) {
            ++index_;
            phase_ = Phase::Start;
          } else {
            data_ = DE_TRY_CTX(conda::open_content(*item.content, items_->prefix),
                               "reading " + item.content->path);
            phase_ = Phase::Data;
          }
          break;
        }
        case Phase::Data: {
          const Item& item = items_->items[index_];
          size_t want = static_cast<size_t>(std::min<std::uint64_t>(rest.size(), left_));
          size_t n = DE_TRY_CTX(data_->read(rest.first(want)), "reading " + item.tar.path);
          if (n == 0)
            return fail(Code::Corruption, "{} ({}): {} bytes short of the {} planned",
                        item.tar.path, item.content->package, left_, item.tar.size);
          left_ -= n;
          done += n;
          if (left_ == 0) {
            data_.reset();
            zeros_ = oci::TarWriter::padding(item.tar.size);
            trailer_ = false;
            phase_ = Phase::Zeros;
          }
          break;
        }
        case Phase::Zeros: {
          size_t n = static_cast<size_t>(std::min<std::uint64_t>(rest.size(), zeros_));
          std::memset(rest.data(), 0, n);
          zeros_ -= n;
          done += n;
          if (zeros_ == 0) {
            if (trailer_) {
              phase_ = Phase::Done;
            } else {
              ++index_;
              phase_ = Phase::Start;
            }
          }
          break;
        }
        case Phase::Done:
          break;
      }
    }
    return done;
  }

  std::shared_ptr<const Items> items_;
  size_t index_ = 0;
  Phase phase_ = Phase::Start;
  std::string header_;
  size_t header_pos_ = 0;
  std::unique_ptr<Reader> data_;
  std::uint64_t left_ = 0, zeros_ = 0;
  bool trailer_ = false;
  std::optional<Error> error_;
};

class EntriesLayer final : public oci::Layer {
 public:
  EntriesLayer(std::shared_ptr<const Items> items, std::uint64_t size, std::string description)
      : items_(std::move(items)), size_(size), description_(std::move(description)) {}
  std::optional<oci::Descriptor> blob() const override { return std::nullopt; }
  std::optional<Digest> diff_id() const override { return std::nullopt; }
  Result<std::unique_ptr<Reader>> open_blob() const override {
    return fail(Code::Unsupported, "{} has no stored blob until it is written", description_);
  }
  Result<std::unique_ptr<Reader>> open_tar() const override {
    return std::unique_ptr<Reader>(std::make_unique<EntriesTarReader>(items_));
  }
  std::optional<std::uint64_t> tar_size() const override { return size_; }
  std::string describe() const override { return description_; }

 private:
  std::shared_ptr<const Items> items_;
  std::uint64_t size_;
  std::string description_;
};

}  // namespace

Result<oci::LayerPtr> entries_layer(std::vector<InstallEntry> entries,
                                    const EntriesLayerOptions& options) {
  auto items = std::make_shared<Items>();
  items->prefix = options.prefix;
  items->entries = std::move(entries);
  const std::string prefix_rel = DE_TRY(oci::normalize_path(options.prefix));

  std::map<std::string, const InstallEntry*> by_path;
  for (const auto& e : items->entries) {
    auto path = DE_TRY_CTX(oci::normalize_path(e.path), e.package);
    if (path.empty()) return fail(Code::InvalidArgument, "{}: an entry names the root", e.package);
    by_path[path] = &e;
  }

  auto owned = [&](const std::string& path) {
    return !prefix_rel.empty() && (path == prefix_rel || path.starts_with(prefix_rel + "/"));
  };
  auto base_entry = [&](const std::string& path) {
    oci::TarEntry t;
    t.path = path;
    t.mtime = options.mtime;
    if (owned(path)) {
      t.uid = options.owner.uid;
      t.gid = options.owner.gid;
    }
    return t;
  };

  // Every parent directory, listed or not (a std::map keeps them sorted before their children).
  std::map<std::string, Item> sorted;
  for (const auto& [path, e] : by_path) {
    for (std::string a = parent_of(path); !a.empty(); a = parent_of(a)) {
      if (by_path.contains(a) || sorted.contains(a)) break;
      Item dir{base_entry(a), nullptr};
      dir.tar.type = oci::EntryType::Directory;
      dir.tar.mode = 0755;
      sorted.emplace(a, std::move(dir));
    }
    Item item{base_entry(path), nullptr};
    item.tar.mode = e->mode & 07777;
    switch (e->type) {
      case InstallEntry::Type::Directory:
        item.tar.type = oci::EntryType::Directory;
        break;
      case InstallEntry::Type::Symlink:
        item.tar.type = oci::EntryType::Symlink;
        item.tar.link_target = e->link_target;
        break;
      case InstallEntry::Type::File:
        item.tar.type = oci::EntryType::File;
        item.tar.size = e->size;
        item.content = e;
        break;
      case InstallEntry::Type::Hardlink: {
        auto target_path = DE_TRY_CTX(oci::normalize_path(e->link_target), e->package);
        auto it = by_path.find(target_path);
        if (it == by_path.end() || it->second->type != InstallEntry::Type::File)
          return fail(Code::InvalidArgument,
                      "{}: hardlink {} points to {}, which is not a file of the same layer",
                      e->package, path, e->link_target);
        if (target_path < path) {
          item.tar.type = oci::EntryType::Hardlink;
          item.tar.link_target = target_path;
        } else {  // the target comes later in the tar: write the content here instead
          item.tar.type = oci::EntryType::File;
          item.tar.size = it->second->size;
          item.content = it->second;
        }
        break;
      }
    }
    sorted.insert_or_assign(path, std::move(item));
  }

  std::uint64_t total = oci::TarWriter::kTrailerSize;
  items->items.reserve(sorted.size());
  for (auto& [path, item] : sorted) {
    DE_TRY_CTX(oci::TarWriter::encode_header(item.tar), "adding " + path);
    total += oci::TarWriter::encoded_size(item.tar);
    items->items.push_back(std::move(item));
  }
  return oci::LayerPtr(
      std::make_shared<EntriesLayer>(std::move(items), total, options.description));
}

}  // namespace de::build
