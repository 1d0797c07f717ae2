#include "support/testdata.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace de::test {

std::filesystem::path testdata_dir() {
  const char* env = std::getenv("DE_TESTDATA_DIR");
  std::filesystem::path dir = env && *env ? env : DE_TESTDATA_DIR;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir / "docker", ec)) return {};
  return dir;
}

std::filesystem::path cli_path() { return DE_CLI_PATH; }

CommandResult run_command(const std::string& command) {
  char err_template[] = "/tmp/de-test-stderr-XXXXXX";
  int fd = ::mkstemp(err_template);
  if (fd >= 0) ::close(fd);
  std::string full = command + " 2>" + err_template;
  CommandResult result{-1, {}, {}};
  FILE* pipe = ::popen(full.c_str(), "r");
  if (!pipe) return result;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) result.out.append(buf, n);
  int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_template);
  std::stringstream ss;
  ss << err.rdbuf();
  result.err = ss.str();
  std::remove(err_template);
  return result;
}

}  // namespace de::test
