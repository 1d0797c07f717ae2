// Nothing half-made when the process is interrupted: one registry of the paths a run is writing
// (temp files before their rename, staging directories, destinations not finished yet), removed
// when SIGINT, SIGTERM or SIGHUP ends the process.
//
// Paths enter the registry only through the RAII types below, which the temp + rename helpers use
// (AtomicFileWriter, TempDir in io.hpp): code that writes through them is covered without knowing
// about signals. The signals are not handled inside a signal handler: install_signal_cleanup()
// blocks them in every thread and a dedicated thread waits for them (sigwait), so the removal runs
// as ordinary code, taking the registry's lock like everyone else. That thread keeps the lock
// from the signal on, so no path can be registered (or, for paths made by a guard's `make`,
// created) after the removal; it then exits with 128 + the signal number.
//
// Without install_signal_cleanup() (a library user that handles signals itself) the registry
// costs a lock per temp file and does nothing else.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "docker_envs/base/error.hpp"

namespace de {

enum class CleanupKind {
  File,  // unlinked
  Tree,  // removed with everything below it
};

// One registration: its paths are removed if a signal ends the process while it is held. Being
// destroyed (or release()) ends the registration and leaves the paths alone: their owner removes
// them on failure, or renames them into place on success (rename first, then release, so that a
// signal in between finds nothing to remove).
class CleanupGuard {
 public:
  CleanupGuard() = default;
  // Calls `make`, which creates a file or directory and returns its path, with the registry
  // locked, and registers that path: a signal cannot fall between creating and registering.
  // `make` must be quick (an open or a mkdir). Nothing is registered when it fails.
  static Result<CleanupGuard> create(CleanupKind kind,
                                     const std::function<Result<std::filesystem::path>()>& make);
  // Registers paths that are about to be created (or exist already and are this run's to remove).
  static CleanupGuard track(std::vector<std::filesystem::path> paths, CleanupKind kind);

  CleanupGuard(CleanupGuard&& other) noexcept : id_(other.id_) { other.id_ = 0; }
  CleanupGuard& operator=(CleanupGuard&& other) noexcept;
  CleanupGuard(const CleanupGuard&) = delete;
  CleanupGuard& operator=(const CleanupGuard&) = delete;
  ~CleanupGuard() { release(); }

  // Adds a path to this registration (which must be held).
  void add(std::filesystem::path path);
  // Ends the registration now.
  void release() noexcept;
  explicit operator bool() const { return id_ != 0; }

 private:
  explicit CleanupGuard(std::uint64_t id) : id_(id) {}
  std::uint64_t id_ = 0;
};

// Held around one call that creates a path a registration covers but that no guard's `make` made
// (a file registered with track() before it is opened, a directory made below a registered one
// and added to its guard): a signal's removal waits for the creations in flight, and a creation
// that starts after the removal began never returns (the process exits first). So nothing a
// registration covers appears after the removal. Hold it for the creating call only (an open, a
// mkdir and its add(), a symlink), never inside a guard's `make` (which runs with the registry
// locked: the signal thread, holding the gate, would wait for that lock forever) nor across a
// wait for another thread. Nested in one thread it may deadlock: take it once.
class CoveredCreation {
 public:
  CoveredCreation();
  ~CoveredCreation();
  CoveredCreation(const CoveredCreation&) = delete;
  CoveredCreation& operator=(const CoveredCreation&) = delete;
};

// The paths registered now (for tests and diagnostics).
std::vector<std::filesystem::path> registered_cleanup_paths();

// Removes every registered path, as a signal would, and ends every registration (for tests).
void run_cleanup_now();

// Makes SIGINT, SIGTERM and SIGHUP end the process through the registry: blocks them in the
// calling thread, and so in every thread started after this (call it first thing in main, before
// any thread exists), and starts the thread that waits for them. On a signal that thread removes
// every registered path, writes "interrupted by SIGNAME" to stderr and exits with 128 + the
// signal number. Child processes (subprocess.hpp) start with the signals unblocked. Calling it
// again does nothing. A signal the process was started with ignored (nohup) stays ignored.
Status install_signal_cleanup();

}  // namespace de
