#include "docker_envs/base/error.hpp"

#include <cstring>

namespace de {

std::string_view to_string(Code code) {
  switch (code) {
    case Code::InvalidArgument: return "invalid argument";
    case Code::NotFound: return "not found";
    case Code::Corruption: return "corruption";
    case Code::Io: return "i/o error";
    case Code::Network: return "network error";
    case Code::Auth: return "authentication error";
    case Code::Unsupported: return "unsupported";
    case Code::Unsatisfiable: return "unsatisfiable";
    case Code::Internal: return "internal error";
  }
  return "unknown error";
}

std::string Error::to_string() const {
  std::string out;
  for (auto it = context_.rbegin(); it != context_.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += message_;
  return out;
}

std::unexpected<Error> fail_errno(std::string_view what, int errnum) {
  Code code = (errnum == ENOENT || errnum == ENOTDIR) ? Code::NotFound : Code::Io;
  return fail(code, fmt::format("{}: {}", what, std::strerror(errnum)));
}

}  // namespace de
