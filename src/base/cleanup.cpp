#include "docker_envs/base/cleanup.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <system_error>
#include <thread>

#include "docker_envs/base/log.hpp"

namespace de {
namespace fs = std::filesystem;

namespace {

struct Entry {
  CleanupKind kind;
  std::vector<fs::path> paths;
};

struct Registry {
  // Shared by CoveredCreation; the signal thread takes it exclusively (before `mutex`) and keeps
  // it until the process ends.
  std::shared_mutex creations;
  // Set by the signal thread before it waits for `creations`: a creation that starts later waits
  // for the end of the process without taking a share, so a stream of them cannot hold the
  // removal off.
  std::atomic<bool> interrupted = false;
  std::mutex mutex;
  std::map<std::uint64_t, Entry> entries;
  std::uint64_t next = 1;
};

// Never destroyed: the signal thread may need it while static objects are being torn down.
Registry& registry() {
  static auto* r = new Registry;
  return *r;
}

void remove_path(const fs::path& path, CleanupKind kind) {
  if (kind == CleanupKind::File) {
    ::unlink(path.c_str());
    return;
  }
  // Other threads may still be writing below the tree: a file created while the tree was being
  // walked makes the last rmdir fail (ENOTEMPTY), so walk again a few times.
  for (int round = 0; round < 4; ++round) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (!ec) return;
  }
}

// With the registry's lock held.
void remove_all_registered(Registry& r) {
  for (const auto& [id, entry] : r.entries)
    for (const auto& path : entry.paths) remove_path(path, entry.kind);
}

// SIGINT, SIGTERM and SIGHUP, except those the process was started with ignored (nohup, or a
// shell's background job): those stay ignored.
sigset_t cleanup_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction current {};
    if (sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    sigaddset(&set, sig);
  }
  return set;
}

std::string_view signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

[[noreturn]] void wait_for_signals(sigset_t set) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    Registry& r = registry();
    // Both held until the process ends: the creations in flight finish first, and nothing is
    // registered or created (by a guard's `make` or under a CoveredCreation) after the removal.
    r.interrupted = true;
    r.creations.lock();
    r.mutex.lock();
    remove_all_registered(r);
    // Twice: threads still running may have created files below a registered directory while
    // the first pass walked it.
    remove_all_registered(r);
    log::write(log::Level::Error, fmt::format("interrupted by {}", signal_name(sig)));
    ::_exit(128 + sig);
  }
}

}  // namespace

Result<CleanupGuard> CleanupGuard::create(CleanupKind kind,
                                          const std::function<Result<fs::path>()>& make) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto path = DE_TRY(make());
  std::uint64_t id = r.next++;
  r.entries.emplace(id, Entry{kind, {std::move(path)}});
  return CleanupGuard(id);
}

CoveredCreation::CoveredCreation() {
  Registry& r = registry();
  // The process is ending: wait for it.
  while (r.interrupted) std::this_thread::sleep_for(std::chrono::seconds(1));
  r.creations.lock_shared();
}

CoveredCreation::~CoveredCreation() { registry().creations.unlock_shared(); }

CleanupGuard CleanupGuard::track(std::vector<fs::path> paths, CleanupKind kind) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::uint64_t id = r.next++;
  r.entries.emplace(id, Entry{kind, std::move(paths)});
  return CleanupGuard(id);
}

CleanupGuard& CleanupGuard::operator=(CleanupGuard&& other) noexcept {
  if (this != &other) {
    release();
    id_ = other.id_;
    other.id_ = 0;
  }
  return *this;
}

void CleanupGuard::add(fs::path path) {
  if (id_ == 0) return;
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (auto it = r.entries.find(id_); it != r.entries.end())
    it->second.paths.push_back(std::move(path));
}

void CleanupGuard::release() noexcept {
  if (id_ == 0) return;
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.entries.erase(id_);
  id_ = 0;
}

std::vector<fs::path> registered_cleanup_paths() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<fs::path> out;
  for (const auto& [id, entry] : r.entries)
    out.insert(out.end(), entry.paths.begin(), entry.paths.end());
  return out;
}

void run_cleanup_now() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  remove_all_registered(r);
  r.entries.clear();
}

Status install_signal_cleanup() {
  static std::once_flag once;
  Status status;
  std::call_once(once, [&] {
    const sigset_t set = cleanup_signals();
    if (int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
      status = fail_errno("blocking SIGINT, SIGTERM and SIGHUP", rc);
      return;
    }
    // Lives as long as the process; it ends the process itself.
    std::thread(wait_for_signals, set).detach();
  });
  return status;
}

}  // namespace de
