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
#include "docker_envs/base/os.hpp"
#include "docker_envs/oci/generated_layer.hpp"

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

// The data of the builder's File entries: a host file (read when the tar is), or in-memory
// contents.
class NodeData final : public EntryData {
 public:
  struct Content {
    fs::path host;
    std::shared_ptr<const std::string> contents;
  };
  std::vector<Content> files;

  Result<std::unique_ptr<Reader>> open(const TarEntry&, std::size_t source) const override {
    const Content& c = files[source];
    if (c.contents)
      return std::unique_ptr<Reader>(std::make_unique<SharedStringReader>(c.contents));
    return std::unique_ptr<Reader>(DE_TRY(FileReader::open(c.host)));
  }
  Error wrong_size(const TarEntry& entry, std::size_t source, std::uint64_t got) const override {
    const std::string host = files[source].host.string();
    if (got > entry.size)
      return Error(
          Code::Corruption,
          fmt::format("{} changed since it was scanned: it has more than the {} bytes seen", host,
                      entry.size));
    return Error(Code::Corruption,
                 fmt::format("{} changed since it was scanned: it has {} bytes, expected {}", host,
                             got, entry.size));
  }
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
  e.mtime = st.st_mtim.tv_sec;  // clamped to source_date_epoch by generated_layer()

  if (S_ISDIR(st.st_mode)) {
    e.type = EntryType::Directory;
    if (!image_path.empty()) put(image_path, node);
    if (!walk) return {};
    // The directory is listed and its entries stat'ed through one descriptor (O_NOFOLLOW below
    // the top: a directory swapped for a symlink since the stat is not followed).
    UniqueFd fd(
        ::openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)));
    if (!fd) return fail_errno("listing " + host.string(), errno);
    std::unique_ptr<DIR, DirCloser> dir(::fdopendir(fd.get()));
    if (!dir) return fail_errno("listing " + host.string(), errno);
    fd.release();  // the DIR owns it now
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

  // The builder is consumed, so its nodes move instead of being copied (peak memory is per-entry
  // metadata; keep one copy of it). Host files sharing (device, inode) become hardlinks to the
  // first of their paths in sorted order.
  auto data = std::make_shared<NodeData>();
  std::vector<GeneratedEntry> entries;
  entries.reserve(nodes_.size());
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::string> first_link;
  for (auto& [path, node] : nodes_) {
    GeneratedEntry& g = entries.emplace_back(GeneratedEntry{.tar = std::move(node->entry)});
    g.tar.path = path;
    if (node->inode) {
      auto [it, inserted] = first_link.try_emplace(*node->inode, path);
      if (!inserted) {
        g.tar.type = EntryType::Hardlink;
        g.tar.link_target = it->second;
        g.tar.size = 0;
        continue;
      }
    }
    if (g.tar.type != EntryType::File) continue;
    g.data = data->files.size();
    data->files.push_back({std::move(node->host), std::move(node->contents)});
  }
  nodes_.clear();

  GeneratedLayerOptions options{
      .implied_directory =
          [this](TarEntry& dir) {
            dir.uid = options_.uid.value_or(0);
            dir.gid = options_.gid.value_or(0);
            dir.mtime = fixed_mtime(options_);
          },
      .clamp_mtime = options_.source_date_epoch,
      .description = {},
  };
  if (!sources_.empty()) {
    options.description = "new layer from " + sources_[0];
    for (size_t i = 1; i < sources_.size() && i < 3; ++i) options.description += ", " + sources_[i];
    if (sources_.size() > 3)
      options.description += fmt::format(" and {} more", sources_.size() - 3);
  }
  return generated_layer(std::move(entries), std::move(data), options);
}

}  // namespace de::oci
