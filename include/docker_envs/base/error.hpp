// Error handling for the whole project: one style.
//
// Every fallible function returns Result<T> (a [[nodiscard]] std::expected<T, Error>). Expected
// domain outcomes (an unsolvable environment, a missing optional file) are values, not errors.
// Errors collect context as they travel up ("reading layer 3: opening blob sha256:...: No such
// file").
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace de {

enum class Code {
  InvalidArgument,  // the caller (or the user) gave something malformed
  NotFound,         // a file, blob, image or package does not exist
  Corruption,       // data does not match its digest, or a format is broken
  Io,               // the operating system refused a read or write
  Network,
  Auth,
  Unsupported,      // well-formed input we deliberately do not handle
  Unsatisfiable,
  Internal,         // a bug in this program
};

std::string_view to_string(Code code);

class Error {
 public:
  Error(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code() const { return code_; }
  // The innermost message, without context.
  const std::string& message() const { return message_; }
  // Context frames, innermost first.
  const std::vector<std::string>& context() const { return context_; }

  // Adds an outer frame of context; returns *this for chaining.
  Error& add_context(std::string frame) & {
    context_.push_back(std::move(frame));
    return *this;
  }
  Error&& add_context(std::string frame) && {
    context_.push_back(std::move(frame));
    return std::move(*this);
  }

  // "outer: inner: message".
  std::string to_string() const;

 private:
  Code code_;
  std::string message_;
  std::vector<std::string> context_;
};

// std::expected<T, Error> that must not be ignored: every function returning a Result is
// [[nodiscard]] through the type, so a dropped error (a write_image(...) whose failure nobody
// reads) does not compile under -Werror. It is a std::expected in every other respect (it converts
// from and to one, and from std::unexpected<Error>).
template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using Base = std::expected<T, Error>;
  using Base::Base;
  Result() = default;
  Result(const Base& other) : Base(other) {}
  Result(Base&& other) : Base(std::move(other)) {}
};
using Status = Result<void>;

inline std::unexpected<Error> fail(Code code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}

template <class... Args>
std::unexpected<Error> fail(Code code, fmt::format_string<Args...> format, Args&&... args) {
  return std::unexpected<Error>(Error(code, fmt::format(format, std::forward<Args>(args)...)));
}

// An error from errno, naming what was being done: "opening /x: No such file or directory".
std::unexpected<Error> fail_errno(std::string_view what, int errnum);

}  // namespace de

// Evaluates a Result expression; on error returns the error from the enclosing function, otherwise
// yields the value. (A GCC/Clang statement expression.)
#define DE_TRY(...)                                                          \
  ({                                                                         \
    auto&& de_try_result_ = (__VA_ARGS__);                                   \
    if (!de_try_result_) return std::unexpected(std::move(de_try_result_).error()); \
    std::move(de_try_result_).value();                                       \
  })

// As DE_TRY, adding a context frame (a std::string expression, only evaluated on error).
#define DE_TRY_CTX(expr, ctx)                                                        \
  ({                                                                                 \
    auto&& de_try_result_ = (expr);                                                  \
    if (!de_try_result_)                                                             \
      return std::unexpected(std::move(de_try_result_).error().add_context(ctx));    \
    std::move(de_try_result_).value();                                               \
  })
