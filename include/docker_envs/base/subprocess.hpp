// Running another program: argv without a shell, bytes to its stdin, its stdout (and a bounded
// stderr) back, its exit status.
//
// Writing to a program that exits without reading its input must not kill this process: the
// write's SIGPIPE is blocked in the calling thread (and a pending one consumed), and the early
// close is reported in ProcessResult::input_refused instead. Thread-safe: each call is
// independent.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"

namespace de {

struct ProcessOptions {
  std::string input;                 // written to the program's stdin, which is then closed
  std::size_t max_output = 1 << 20;  // stdout bytes kept (more are read and dropped)
  std::size_t max_error = 64 << 10;  // stderr bytes kept (likewise)
};

struct ProcessResult {
  int exit_code = -1;          // the exit status; -1 when a signal ended the program
  int signal = 0;              // the signal that ended it, else 0
  std::string out, err;        // what it printed (up to the limits)
  bool input_refused = false;  // it closed stdin (or exited) before reading all the input
  bool succeeded() const { return signal == 0 && exit_code == 0; }
};

// Runs `program` (looked up in PATH when it has no '/') with `argv` (argv[0] first; the program's
// name when empty), inheriting the environment and the working directory, and waits for it.
// Fails (NotFound, Io) only when it cannot be started or its pipes fail; a non-zero exit is a
// result, not an error.
Result<ProcessResult> run_process(const std::string& program, const std::vector<std::string>& argv,
                                  const ProcessOptions& options = {});

}  // namespace de
