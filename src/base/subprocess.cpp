#include "docker_envs/base/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "docker_envs/base/os.hpp"

extern char** environ;

namespace de {

namespace {

// Blocks SIGPIPE in the calling thread for its lifetime. A write to a pipe whose reader is gone
// then fails with EPIPE; the SIGPIPE it also raised stays pending for this thread and is consumed
// on destruction (unless one was already pending before), so it is never delivered.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &set_, &old_) == 0;
  }
  ~SigpipeBlock() {
    if (!blocked_) return;
    if (!was_pending_) {
      const timespec zero{0, 0};
      while (sigtimedwait(&set_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t set_, old_;
  bool was_pending_ = false, blocked_ = false;
};

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno("creating a pipe", errno);
  return std::pair<UniqueFd, UniqueFd>(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

// The child, waited for on destruction (after its pipes are closed, so it is not left waiting).
struct Child {
  pid_t pid = -1;
  int status = 0;
  void wait() {
    if (pid <= 0) return;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
  }
  ~Child() { wait(); }
};

}  // namespace

Result<ProcessResult> run_process(const std::string& program, const std::vector<std::string>& argv,
                                  const ProcessOptions& options) {
  Child child;  // first: waited for only after every pipe below is closed
  auto [in_read, in_write] = DE_TRY(make_pipe());
  auto [out_read, out_write] = DE_TRY(make_pipe());
  auto [err_read, err_write] = DE_TRY(make_pipe());

  std::vector<std::string> args = argv.empty() ? std::vector<std::string>{program} : argv;
  std::vector<char*> raw;
  for (auto& a : args) raw.push_back(a.data());
  raw.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  // The child starts with no signal blocked: the signals this process leaves to its cleanup
  // thread (cleanup.hpp), and SIGPIPE, are the child's to act on.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  int rc = ::posix_spawnp(&child.pid, program.c_str(), &actions, &attr, raw.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  in_read.reset();
  out_write.reset();
  err_write.reset();
  if (rc != 0) {
    child.pid = -1;
    return fail_errno("running " + program, rc);
  }

  ProcessResult result;
  std::string_view input = options.input;
  if (input.empty())
    in_write.reset();
  else if (::fcntl(in_write.get(), F_SETFL, O_NONBLOCK) != 0)
    return fail_errno("writing to " + program, errno);
  SigpipeBlock no_sigpipe;
  char buf[16 << 10];
  auto drain = [&](UniqueFd& fd, std::string& into, std::size_t limit) -> Status {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return {};
    if (n < 0) return fail_errno("reading the output of " + program, errno);
    if (n == 0) {
      fd.reset();
      return {};
    }
    std::size_t keep = std::min(static_cast<std::size_t>(n), limit - std::min(limit, into.size()));
    into.append(buf, keep);
    return {};
  };
  while (in_write || out_read || err_read) {
    pollfd fds[3];
    nfds_t count = 0;
    auto watch = [&](const UniqueFd& fd, short events) -> pollfd* {
      if (!fd) return nullptr;
      fds[count] = {fd.get(), events, 0};
      return &fds[count++];
    };
    const pollfd* in_poll = watch(in_write, POLLOUT);
    const pollfd* out_poll = watch(out_read, POLLIN);
    const pollfd* err_poll = watch(err_read, POLLIN);
    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("waiting for " + program, errno);
    }
    if (in_poll && in_poll->revents) {
      ssize_t n = ::write(in_write.get(), input.data(), input.size());
      if (n >= 0) {
        input.remove_prefix(static_cast<std::size_t>(n));
        if (input.empty()) in_write.reset();
      } else if (errno == EPIPE) {
        result.input_refused = true;  // it exited, or closed stdin: its output says why
        in_write.reset();
      } else if (errno != EINTR && errno != EAGAIN) {
        return fail_errno("writing to " + program, errno);
      }
    }
    if (out_poll && out_poll->revents) DE_TRY(drain(out_read, result.out, options.max_output));
    if (err_poll && err_poll->revents) DE_TRY(drain(err_read, result.err, options.max_error));
  }
  child.wait();
  if (WIFEXITED(child.status)) {
    result.exit_code = WEXITSTATUS(child.status);
  } else if (WIFSIGNALED(child.status)) {
    result.signal = WTERMSIG(child.status);
  }
  return result;
}

}  // namespace de
