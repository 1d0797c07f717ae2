// Laying a plan out in a directory: directories first, then files and symlinks on several
// threads, hardlinks last.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_set>
#include <vector>

#include "docker_envs/base/cleanup.hpp"
#include "docker_envs/base/os.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/conda/installer.hpp"
#include "docker_envs/conda/package.hpp"

namespace de::conda {

namespace fs = std::filesystem;

namespace {

// Creates directories below a root, refusing symlinks (or anything but a directory) on the way.
// Remembers what it has checked or made, so each directory costs one lstat/mkdir per install.
class DirMaker {
 public:
  // Directories it creates are appended to `made` (in creation order) and added to `guard`.
  DirMaker(fs::path root, std::vector<fs::path>* made, CleanupGuard* guard)
      : root_(std::move(root)), made_(made), guard_(guard) {}

  // The parent directories of `rel`.
  Status parents(std::string_view rel) {
    auto slash = rel.rfind('/');
    if (slash == std::string_view::npos) return {};
    return make(rel.substr(0, slash), rel);
  }

  // `dir` and its parents; `why` names the entry they are made for.
  Status make(std::string_view dir, std::string_view why) {
    if (known_.contains(std::string(dir))) return {};
    if (auto slash = dir.rfind('/'); slash != std::string_view::npos)
      DE_TRY(make(dir.substr(0, slash), why));
    fs::path p = root_ / dir;
    struct stat st;
    if (::lstat(p.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        return fail(Code::InvalidArgument,
                    "refused: '{}' is not a directory (a symlink?) on the way to '{}'", p.string(),
                    why);
    } else if (CoveredCreation covered; ::mkdir(p.c_str(), 0755) == 0) {
      made_->push_back(p);
      guard_->add(p);
    } else if (errno != EEXIST) {
      return fail_errno("creating " + p.string(), errno);
    }
    known_.emplace(dir);
    return {};
  }

 private:
  fs::path root_;
  std::vector<fs::path>* made_;
  CleanupGuard* guard_;
  std::unordered_set<std::string> known_;
};

// What one write_to_directory() call created: removed again when it fails, so that a failed
// install leaves ROOT as it found it, and registered for removal by a signal that ends the process
// (cleanup.hpp). (Files it replaced in an existing environment are gone: they were removed to make
// room.)
struct CreatedPaths {
  std::vector<fs::path> dirs;   // in creation order
  std::vector<fs::path> files;  // one per entry ("" for directories and entries not reached)
  CleanupGuard dir_guard = CleanupGuard::track({}, CleanupKind::Tree);
  CleanupGuard file_guard;

  void remove() const {
    for (const auto& f : files)
      if (!f.empty()) ::unlink(f.c_str());
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ::rmdir(it->c_str());
  }
};

// Writes one File or Symlink entry at `dest` (which does not exist). Each call that creates `dest`
// runs under a CoveredCreation: `dest` is registered already (write_plan).
Status write_entry(const InstallEntry& e, const fs::path& dest, std::string_view prefix,
                   LinkMode link) {
  if (e.type == InstallEntry::Type::Symlink) {
    CoveredCreation covered;
    if (::symlink(e.link_target.c_str(), dest.c_str()) != 0)
      return fail_errno("creating symlink " + dest.string(), errno);
    return {};
  }
  if (link == LinkMode::Hardlink && e.source == InstallEntry::Source::HostFile) {
    CoveredCreation covered;
    if (::link(e.host_path.c_str(), dest.c_str()) == 0) return {};
    if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != EACCES)
      return fail_errno("linking " + dest.string() + " to " + e.host_path, errno);
  }
  auto opened = [&] {
    CoveredCreation covered;
    return open_file(dest, OpenMode::CreateNew, 0600);
  }();
  if (!opened) return std::unexpected(std::move(opened).error());
  auto out = std::move(*opened);
  switch (e.source) {
    case InstallEntry::Source::Bytes:
      DE_TRY(write_all(out.get(), e.data, dest.native()));
      break;
    case InstallEntry::Source::HostFile: {
      // Inside the kernel where it can, else through a buffer. The package file itself is never
      // a link (the planner resolved it without following any).
      auto in = DE_TRY(open_file(e.host_path, OpenMode::ReadNoFollow));
      DE_TRY(copy_range(in.get(), out.get(), e.host_path, dest.native()));
      break;
    }
    case InstallEntry::Source::Rewrite: {
      auto in = DE_TRY_CTX(open_content(e, prefix), e.path);
      std::vector<std::byte> buf(1 << 18);
      for (;;) {
        std::size_t n = DE_TRY(in->read(buf));
        if (n == 0) break;
        DE_TRY(write_all(out.get(), std::span<const std::byte>(buf.data(), n), dest.native()));
      }
      break;
    }
  }
  if (::fchmod(out.get(), e.mode & 0777) != 0) return fail_errno("chmod " + dest.string(), errno);
  return {};
}

Status write_plan(const InstallPlan& plan, const fs::path& root, std::string_view prefix,
                  const WriteOptions& options, CreatedPaths& created) {
  // First, one thread: every directory, and room for every other entry (an existing file at its
  // path is removed). Paths are unique in a plan, so the writes that follow are independent.
  DirMaker dirs(root, &created.dirs, &created.dir_guard);
  std::vector<fs::path>& dests = created.files;
  dests.resize(plan.entries.size());
  std::vector<std::size_t> files, hardlinks;
  for (std::size_t i = 0; i < plan.entries.size(); ++i) {
    const auto& e = plan.entries[i];
    auto rel = DE_TRY(normalize_package_path(e.path));
    fs::path dest = root / rel;
    if (e.type == InstallEntry::Type::Directory) {
      DE_TRY(dirs.make(rel, rel));
      continue;
    }
    DE_TRY(dirs.parents(rel));
    struct stat st;
    if (::lstat(dest.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode))
        return fail(Code::InvalidArgument, "'{}' is a directory", dest.string());
      if (::unlink(dest.c_str()) != 0) return fail_errno("replacing " + dest.string(), errno);
    }
    dests[i] = std::move(dest);
    (e.type == InstallEntry::Type::Hardlink ? hardlinks : files).push_back(i);
  }
  std::vector<fs::path> registered;
  for (const auto& d : dests)
    if (!d.empty()) registered.push_back(d);
  created.file_guard = CleanupGuard::track(std::move(registered), CleanupKind::File);
  // Files and symlinks, on several threads: creating files costs mostly system time, which
  // spreads over the cores. After an error no further file is started; the first error in plan
  // order is reported.
  DE_TRY(parallel_for(
      files.size(), files.size() < 64 ? 1 : options.threads, [&](std::size_t k) -> Status {
        return write_entry(plan.entries[files[k]], dests[files[k]], prefix, options.link);
      }));
  // Hardlinks last: their targets (earlier entries of the same package) exist now.
  for (std::size_t i : hardlinks) {
    auto target = DE_TRY(normalize_package_path(plan.entries[i].link_target));
    CoveredCreation covered;
    if (::link((root / target).c_str(), dests[i].c_str()) != 0)
      return fail_errno("linking " + dests[i].string(), errno);
  }
  return {};
}

}  // namespace

Status write_to_directory(const InstallPlan& plan, const fs::path& root, std::string_view prefix,
                          const WriteOptions& options) {
  CreatedPaths created;
  for (fs::path p = root; !p.empty() && p != p.parent_path(); p = p.parent_path()) {
    struct stat st;
    if (::lstat(p.c_str(), &st) == 0) break;
    created.dirs.insert(created.dirs.begin(), p);  // root's missing ancestors, outermost first
  }
  if (!created.dirs.empty()) created.dir_guard.add(created.dirs.front());
  std::error_code ec;
  {
    CoveredCreation covered;  // the outermost directory made here is registered already
    fs::create_directories(root, ec);
  }
  if (ec) {
    created.remove();
    return fail(Code::Io, "creating {}: {}", root.string(), ec.message());
  }
  auto status = write_plan(plan, root, prefix, options, created);
  if (!status) created.remove();
  return status;
}

}  // namespace de::conda
