#include "docker_envs/oci/layer_builder.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "docker_envs/base/log.hpp"

namespace de::oci {
namespace fs = std::filesystem;

struct LayerBuilder::Node {
  TarEntry entry;  // path is the map key; filled in at build()
  fs::path host;   // File from the host: where its bytes are read from, on demand
  std::shared_ptr<const std::string> contents;  // File from memory
  // (device, inode) of a host file with several links, to turn repeats into hardlinks.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> inode;
};

namespace {

// One entry of a built layer, immutable and shared by every reader of it.
struct Item {
  TarEntry entry;
  fs::path host;
  std::shared_ptr<const std::string> contents;
};
using Items = std::vector<Item>;

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

std::string parent_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

std::string join(std::string_view dir, std::string_view name) {
  return dir.empty() ? std::string(name) : std::string(dir) + "/" + std::string(name);
}

// Reads from a shared in-memory string (which it keeps alive).
class SharedStringReader final : public Reader {
 public:
  explicit SharedStringReader(std::shared_ptr<const std::string> s) : s_(std::move(s)) {}
  Result<size_t> read(std::span<std::byte> buf) override {
    size_t n = std::min(buf.size(), s_->size() - pos_);
    std::memcpy(buf.data(), s_->data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::shared_ptr<const std::string> s_;
  size_t pos_ = 0;
};

// Generates the layer tar on demand: for each item its header bytes, then its data (host files
// are opened only when their turn comes and closed after), then padding; finally the trailer.
// Errors are sticky, as Reader requires.
class GeneratedTarReader final : public Reader {
 public:
  explicit GeneratedTarReader(std::shared_ptr<const Items> items) : items_(std::move(items)) {}

  Result<size_t> read(std::span<std::byte> buf) override {
    if (error_) return std::unexpected(*error_);
    auto r = fill(buf);
    if (!r) error_ = r.error();
    return r;
  }

 private:
  enum class Phase { Start, Header, Data, Padding, Trailer, Done };

  Result<size_t> fill(std::span<std::byte> buf) {
    size_t done = 0;
    while (done < buf.size() && phase_ != Phase::Done) {
      std::span<std::byte> rest = buf.subspan(done);
      switch (phase_) {
        case Phase::Start: {
          if (index_ == items_->size()) {
            phase_ = Phase::Trailer;
            zeros_left_ = TarWriter::kTrailerSize;
            break;
          }
          const Item& item = (*items_)[index_];
          header_ = DE_TRY(TarWriter::encode_header(item.entry));
          header_pos_ = 0;
          data_left_ = item.entry.type == EntryType::File ? item.entry.size : 0;
          phase_ = Phase::Header;
          break;
        }
        case Phase::Header: {
          size_t n = std::min(rest.size(), header_.size() - header_pos_);
          std::memcpy(rest.data(), header_.data() + header_pos_, n);
          header_pos_ += n;
          done += n;
          if (header_pos_ == header_.size()) {
            DE_TRY(start_data());
          }
          break;
        }
        case Phase::Data: {
          const Item& item = (*items_)[index_];
          // When the rest of the file fits, ask for one byte more: getting fewer bytes than asked
          // is the end of the file, so the check below that the file did not grow needs no
          // extra read (that read was one syscall more per file, 43k on a big tree).
          bool probe = rest.size() > data_left_;
          size_t want = static_cast<size_t>(std::min<std::uint64_t>(rest.size(), data_left_));
          size_t n = DE_TRY(data_->read(rest.first(want + (probe ? 1 : 0))));
          if (n == 0)
            return fail(Code::Corruption,
                        "{} changed since it was scanned: it has {} bytes, expected {}",
                        item.host.string(), item.entry.size - data_left_, item.entry.size);
          if (n > want) return grew(item);
          data_left_ -= n;
          done += n;
          if (data_left_ == 0) {
            std::byte extra[1];
            if (!(probe && n == want) && DE_TRY(data_->read(extra)) != 0) return grew(item);
            data_.reset();
            zeros_left_ = TarWriter::padding(item.entry.size);
            phase_ = Phase::Padding;
          }
          break;
        }
        case Phase::Padding:
        case Phase::Trailer: {
          size_t n = static_cast<size_t>(std::min<std::uint64_t>(rest.size(), zeros_left_));
          std::memset(rest.data(), 0, n);
          zeros_left_ -= n;
          done += n;
          if (zeros_left_ == 0) {
            if (phase_ == Phase::Trailer) {
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

  static std::unexpected<Error> grew(const Item& item) {
    return fail(Code::Corruption,
                "{} changed since it was scanned: it has more than the {} bytes seen",
                item.host.string(), item.entry.size);
  }

  Status start_data() {
    const Item& item = (*items_)[index_];
    header_.clear();
    if (data_left_ == 0) {
      ++index_;
      phase_ = Phase::Start;
      return {};
    }
    if (item.contents) {
      data_ = std::make_unique<SharedStringReader>(item.contents);
    } else {
      data_ = DE_TRY(FileReader::open(item.host));
    }
    phase_ = Phase::Data;
    return {};
  }

  std::shared_ptr<const Items> items_;
  size_t index_ = 0;
  Phase phase_ = Phase::Start;
  std::string header_;
  size_t header_pos_ = 0;
  std::unique_ptr<Reader> data_;
  std::uint64_t data_left_ = 0;
  std::uint64_t zeros_left_ = 0;
  std::optional<Error> error_;
};

class BuiltLayer final : public Layer {
 public:
  BuiltLayer(std::shared_ptr<const Items> items, std::uint64_t tar_size, std::string description)
      : items_(std::move(items)), tar_size_(tar_size), description_(std::move(description)) {}

  std::optional<Descriptor> blob() const override { return std::nullopt; }
  std::optional<Digest> diff_id() const override { return std::nullopt; }
  Result<std::unique_ptr<Reader>> open_blob() const override {
    return fail(Code::Unsupported, "{} has no stored blob until it is written", description_);
  }
  Result<std::unique_ptr<Reader>> open_tar() const override {
    return std::unique_ptr<Reader>(std::make_unique<GeneratedTarReader>(items_));
  }
  std::optional<std::uint64_t> tar_size() const override { return tar_size_; }
  std::string describe() const override { return description_; }

 private:
  std::shared_ptr<const Items> items_;
  std::uint64_t tar_size_;
  std::string description_;
};

}  // namespace

LayerBuilder::LayerBuilder(LayerBuildOptions options) : options_(std::move(options)) {}
LayerBuilder::~LayerBuilder() = default;
LayerBuilder::LayerBuilder(LayerBuilder&&) noexcept = default;
LayerBuilder& LayerBuilder::operator=(LayerBuilder&&) noexcept = default;

void LayerBuilder::put(std::string path, std::shared_ptr<Node> node) {
  if (node->entry.type != EntryType::Directory) {
    // A non-directory replaces a directory's whole subtree.
    std::string prefix = path + "/";
    auto it = nodes_.lower_bound(prefix);
    while (it != nodes_.end() && it->first.starts_with(prefix)) it = nodes_.erase(it);
  }
  // An ancestor recorded as a non-directory is replaced by an (implicit) directory. No recorded
  // entry ever has a non-directory ancestor (this loop and the erase above keep it so), so the
  // walk up stops at the first recorded directory: in a tree walk that is the parent, found with
  // one lookup instead of one per level.
  for (std::string a = parent_of(path); !a.empty(); a = parent_of(a)) {
    auto it = nodes_.find(a);
    if (it == nodes_.end()) continue;
    if (it->second->entry.type == EntryType::Directory) break;
    nodes_.erase(it);
  }
  nodes_[std::move(path)] = std::move(node);
}

Status LayerBuilder::add_host(const fs::path& host, const std::string& image_path, bool walk,
                              bool top, int parent_fd, const char* name) {
  int at = parent_fd >= 0 ? parent_fd : AT_FDCWD;
  if (parent_fd < 0) name = host.c_str();
  struct stat st;
  // The top of add_directory() may be a symlink to a directory (follow it); everything else is
  // taken as it is.
  bool follow = walk && top;
  if (::fstatat(at, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0)
    return fail_errno("reading " + host.string(), errno);

  if (walk && !top) {
    std::string base = parent_fd >= 0 ? std::string(name) : host.filename().string();
    std::string rooted = "/" + image_path;
    for (const auto& pattern : options_.excludes) {
      if (::fnmatch(pattern.c_str(), base.c_str(), 0) == 0 ||
          ::fnmatch(pattern.c_str(), image_path.c_str(), 0) == 0 ||
          ::fnmatch(pattern.c_str(), rooted.c_str(), 0) == 0) {
        log::debug("excluding {} (matches '{}')", host.string(), pattern);
        return {};
      }
    }
  }

  auto node = std::make_shared<Node>();
  TarEntry& e = node->entry;
  e.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
  e.uid = options_.uid.value_or(0);
  e.gid = options_.gid.value_or(0);
  e.mtime = st.st_mtim.tv_sec;
  if (options_.source_date_epoch) e.mtime = std::min(e.mtime, *options_.source_date_epoch);

  if (S_ISDIR(st.st_mode)) {
    e.type = EntryType::Directory;
    if (!image_path.empty()) put(image_path, node);
    if (!walk) return {};
    // The directory is listed and its entries stat'ed through one descriptor (O_NOFOLLOW below
    // the top: a directory swapped for a symlink since the stat is not followed).
    int fd = ::openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) return fail_errno("listing " + host.string(), errno);
    std::unique_ptr<DIR, DirCloser> dir(::fdopendir(fd));
    if (!dir) {
      int err = errno;
      ::close(fd);
      return fail_errno("listing " + host.string(), err);
    }
    std::vector<std::string> children;
    for (;;) {
      errno = 0;
      const dirent* d = ::readdir(dir.get());
      if (!d) {
        if (errno != 0) return fail_errno("listing " + host.string(), errno);
        break;
      }
      std::string_view child = d->d_name;
      if (child == "." || child == "..") continue;
      children.emplace_back(child);
    }
    for (const auto& child : children)
      DE_TRY(add_host(host / child, join(image_path, child), true, false, ::dirfd(dir.get()),
                      child.c_str()));
    return {};
  }
  if (image_path.empty())
    return fail(Code::InvalidArgument, "{} is not a directory and cannot be the image root",
                host.string());
  if (S_ISREG(st.st_mode)) {
    e.type = EntryType::File;
    e.size = static_cast<std::uint64_t>(st.st_size);
    node->host = host;
    if (st.st_nlink > 1)
      node->inode = std::pair<std::uint64_t, std::uint64_t>(st.st_dev, st.st_ino);
  } else if (S_ISLNK(st.st_mode)) {
    e.type = EntryType::Symlink;
    std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 255) + 1, '\0');
    while (true) {
      ssize_t n = ::readlinkat(at, name, target.data(), target.size());
      if (n < 0) return fail_errno("reading link " + host.string(), errno);
      if (static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        break;
      }
      target.resize(target.size() * 2);  // the link changed under us; try a bigger buffer
    }
    e.link_target = std::move(target);
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    e.type = S_ISCHR(st.st_mode) ? EntryType::CharDevice : EntryType::BlockDevice;
    e.dev_major = major(st.st_rdev);
    e.dev_minor = minor(st.st_rdev);
  } else if (S_ISFIFO(st.st_mode)) {
    e.type = EntryType::Fifo;
  } else {
    log::warn("skipping {}: sockets (and other special files) cannot go into a layer",
              host.string());
    return {};
  }
  put(image_path, std::move(node));
  return {};
}

Status LayerBuilder::add_directory(const fs::path& host, std::string_view image_path) {
  std::string path = DE_TRY(normalize_path(image_path));
  struct stat st;
  if (::stat(host.c_str(), &st) != 0) return fail_errno("reading " + host.string(), errno);
  if (!S_ISDIR(st.st_mode))
    return fail(Code::InvalidArgument, "{} is not a directory", host.string());
  sources_.push_back(host.string());
  return add_host(host, path, /*walk=*/true, /*top=*/true);
}

Status LayerBuilder::add_file(const fs::path& host, std::string_view image_path) {
  std::string path = DE_TRY(normalize_path(image_path));
  if (path.empty())
    return fail(Code::InvalidArgument, "adding {}: the image path '{}' names the root",
                host.string(), image_path);
  sources_.push_back(host.string());
  return add_host(host, path, /*walk=*/false, /*top=*/true);
}

namespace {
std::int64_t fixed_mtime(const LayerBuildOptions& o) { return o.source_date_epoch.value_or(0); }
}  // namespace

void LayerBuilder::add_contents(std::string_view image_path, std::string contents,
                                std::uint32_t mode) {
  auto path = normalize_path(image_path);
  if (!path || path->empty()) {
    if (!deferred_error_)
      deferred_error_ = path
                            ? Error(Code::InvalidArgument, "file contents cannot be the image root")
                            : path.error();
    return;
  }
  auto node = std::make_shared<Node>();
  node->entry.type = EntryType::File;
  node->entry.mode = mode & 07777;
  node->entry.size = contents.size();
  node->entry.uid = options_.uid.value_or(0);
  node->entry.gid = options_.gid.value_or(0);
  node->entry.mtime = fixed_mtime(options_);
  node->contents = std::make_shared<const std::string>(std::move(contents));
  put(*path, std::move(node));
}

void LayerBuilder::add_symlink(std::string_view image_path, std::string_view target) {
  auto path = normalize_path(image_path);
  if (!path || path->empty()) {
    if (!deferred_error_)
      deferred_error_ =
          path ? Error(Code::InvalidArgument, "a symlink cannot be the image root") : path.error();
    return;
  }
  auto node = std::make_shared<Node>();
  node->entry.type = EntryType::Symlink;
  node->entry.mode = 0777;
  node->entry.link_target = std::string(target);
  node->entry.uid = options_.uid.value_or(0);
  node->entry.gid = options_.gid.value_or(0);
  node->entry.mtime = fixed_mtime(options_);
  put(*path, std::move(node));
}

void LayerBuilder::add_directory_entry(std::string_view image_path, std::uint32_t mode) {
  auto path = normalize_path(image_path);
  if (!path) {
    if (!deferred_error_) deferred_error_ = path.error();
    return;
  }
  if (path->empty()) return;  // the root gets no entry
  auto node = std::make_shared<Node>();
  node->entry.type = EntryType::Directory;
  node->entry.mode = mode & 07777;
  node->entry.uid = options_.uid.value_or(0);
  node->entry.gid = options_.gid.value_or(0);
  node->entry.mtime = fixed_mtime(options_);
  put(*path, std::move(node));
}

Result<LayerPtr> LayerBuilder::build() && {
  if (deferred_error_) return std::unexpected(*deferred_error_);

  // Implicit parents. The builder is consumed, so its nodes move instead of being copied (peak
  // memory is per-entry metadata; keep one copy of it). A parent sorts before its children, so
  // parents inserted here land behind the iteration and are not visited again.
  std::map<std::string, std::shared_ptr<Node>> all = std::move(nodes_);
  for (const auto& [path, node] : all) {
    for (std::string a = parent_of(path); !a.empty(); a = parent_of(a)) {
      auto [it, inserted] = all.try_emplace(a);
      if (!inserted) break;  // present already, and so are its ancestors
      auto dir = std::make_shared<Node>();
      dir->entry.type = EntryType::Directory;
      dir->entry.mode = 0755;
      dir->entry.uid = options_.uid.value_or(0);
      dir->entry.gid = options_.gid.value_or(0);
      dir->entry.mtime = fixed_mtime(options_);
      it->second = std::move(dir);
    }
  }

  auto items = std::make_shared<Items>();
  items->reserve(all.size());
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::string> first_link;
  std::uint64_t total = TarWriter::kTrailerSize;
  for (const auto& [path, node] : all) {
    Item item{std::move(node->entry), std::move(node->host), std::move(node->contents)};
    item.entry.path = path;
    if (node->inode) {
      auto [it, inserted] = first_link.try_emplace(*node->inode, path);
      if (!inserted) {
        item.entry.type = EntryType::Hardlink;
        item.entry.link_target = it->second;
        item.entry.size = 0;
        item.host.clear();
      }
    }
    // Validate now, so that reading the layer later cannot fail on an entry.
    DE_TRY_CTX(TarWriter::encode_header(item.entry), "adding " + path);
    total += TarWriter::encoded_size(item.entry);
    items->push_back(std::move(item));
  }

  std::string description = "new layer";
  if (!sources_.empty()) {
    description += " from " + sources_[0];
    for (size_t i = 1; i < sources_.size() && i < 3; ++i) description += ", " + sources_[i];
    if (sources_.size() > 3) description += fmt::format(" and {} more", sources_.size() - 3);
  } else {
    description += fmt::format(" ({} entries)", items->size());
  }
  return LayerPtr(std::make_shared<BuiltLayer>(std::move(items), total, std::move(description)));
}

}  // namespace de::oci
