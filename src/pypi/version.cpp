#include "docker_envs/pypi/version.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "pypi/text.hpp"

namespace de::pypi {

namespace {

bool is_sep(char c) { return c == '.' || c == '-' || c == '_'; }

// A cursor over the lower-cased, trimmed text; every failure names the text and the position.
class VersionParser {
 public:
  VersionParser(std::string_view original, std::string lower)
      : original_(original), s_(std::move(lower)) {}

  bool at_end() const { return i_ >= s_.size(); }
  char peek(std::size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }

  // Digits at the cursor into a number; nullopt (cursor unchanged) when there is no digit.
  Result<std::optional<std::uint64_t>> number() {
    if (!is_digit(peek())) return std::optional<std::uint64_t>();
    std::size_t start = i_;
    auto n = parse_decimal(s_, i_);
    if (!n) return error(start, "a number too large");
    return std::optional<std::uint64_t>(*n);
  }

  // One of `words` at the cursor (after an optional separator); the index of the word, the cursor
  // after it. Cursor unchanged when none matches.
  template <std::size_t N>
  std::optional<std::size_t> word(const std::array<std::string_view, N>& words) {
    std::size_t at = i_;
    if (is_sep(peek())) ++at;
    for (std::size_t k = 0; k < N; ++k) {
      if (std::string_view(s_).substr(at).starts_with(words[k])) {
        i_ = at + words[k].size();
        return k;
      }
    }
    return std::nullopt;
  }

  // The optional number after a pre/post/dev word: `[sep]N`; 0 when absent.
  Result<std::uint64_t> word_number() {
    std::size_t save = i_;
    if (is_sep(peek()) && is_digit(peek(1))) ++i_;
    auto n = DE_TRY(number());
    if (!n) {
      i_ = save;
      return std::uint64_t{0};
    }
    return *n;
  }

  std::unexpected<Error> error(std::size_t pos, std::string_view expected) const {
    return fail(Code::InvalidArgument, "invalid version '{}': expected {} at position {}",
                original_, expected, pos);
  }

  std::size_t pos() const { return i_; }
  void advance(std::size_t n = 1) { i_ += n; }
  std::string_view rest() const { return std::string_view(s_).substr(i_); }

 private:
  std::string_view original_;
  std::string s_;
  std::size_t i_ = 0;
};

int compare_local(const std::vector<Version::LocalPart>& a,
                  const std::vector<Version::LocalPart>& b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const auto& x = a[i];
    const auto& y = b[i];
    if (x.is_number != y.is_number) return x.is_number ? 1 : -1;  // numbers above strings
    if (x.is_number) {
      if (x.number != y.number) return x.number < y.number ? -1 : 1;
    } else if (int c = x.text.compare(y.text); c != 0) {
      return c < 0 ? -1 : 1;
    }
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

std::strong_ordering to_ordering(int c) {
  return c < 0 ? std::strong_ordering::less
               : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
}

}  // namespace

constexpr std::size_t kMaxVersionLength = 1024;

Result<Version> Version::parse(std::string_view text) {
  std::string_view trimmed = trim(text);
  if (trimmed.empty()) return fail(Code::InvalidArgument, "invalid version '': empty");
  if (trimmed.size() > kMaxVersionLength)
    return fail(Code::InvalidArgument, "invalid version: longer than {} characters",
                kMaxVersionLength);
  VersionParser p(trimmed, to_lower(trimmed));
  Version v;
  v.original_ = std::string(trimmed);
  if (p.peek() == 'v') p.advance();

  auto first = DE_TRY(p.number());
  if (!first) return p.error(p.pos(), "a digit");
  v.release_.assign(1, *first);
  if (p.peek() == '!') {
    v.epoch_ = *first;
    p.advance();
    auto n = DE_TRY(p.number());
    if (!n) return p.error(p.pos(), "a release number after the epoch");
    v.release_.assign(1, *n);
  }
  while (p.peek() == '.' && is_digit(p.peek(1))) {
    p.advance();
    v.release_.push_back(*DE_TRY(p.number()));
  }

  static constexpr std::array<std::string_view, 8> pre_words{
      "alpha", "beta", "preview", "pre", "rc", "c", "a", "b"};
  static constexpr std::array<PreKind, 8> pre_kinds{PreKind::Alpha, PreKind::Beta, PreKind::Rc,
                                                    PreKind::Rc,    PreKind::Rc,   PreKind::Rc,
                                                    PreKind::Alpha, PreKind::Beta};
  if (auto k = p.word(pre_words)) v.pre_ = Pre{pre_kinds[*k], DE_TRY(p.word_number())};

  static constexpr std::array<std::string_view, 3> post_words{"post", "rev", "r"};
  if (p.word(post_words)) {
    v.post_ = DE_TRY(p.word_number());
  } else if (p.peek() == '-' && is_digit(p.peek(1))) {  // the implicit post-release "1.0-1"
    p.advance();
    v.post_ = *DE_TRY(p.number());
  }

  static constexpr std::array<std::string_view, 1> dev_words{"dev"};
  if (p.word(dev_words)) v.dev_ = DE_TRY(p.word_number());

  if (p.peek() == '+') {
    p.advance();
    for (;;) {
      std::size_t start = p.pos();
      std::string_view rest = p.rest();
      std::size_t len = 0;
      while (len < rest.size() && is_alnum(rest[len])) ++len;
      if (len == 0) return p.error(start, "a letter or digit in the local version label");
      std::string_view part = rest.substr(0, len);
      LocalPart lp;
      if (std::all_of(part.begin(), part.end(), is_digit)) {
        std::size_t at = 0;
        auto n = parse_decimal(part, at);
        if (!n) return p.error(start, "a number too large");
        lp.is_number = true;
        lp.number = *n;
      } else {
        lp.text = std::string(part);
      }
      v.local_.push_back(std::move(lp));
      p.advance(len);
      if (!is_sep(p.peek())) break;
      p.advance();
    }
  }
  if (!p.at_end()) return p.error(p.pos(), "the end of the version");
  // The normalized form is what gets printed and read back (a lock, a report): it must be within
  // the limit too, and it can be longer than the text ("1r" is "1.post0").
  if (v.to_string().size() > kMaxVersionLength)
    return fail(Code::InvalidArgument, "invalid version: longer than {} characters once normalized",
                kMaxVersionLength);
  return v;
}

std::string Version::to_string() const {
  std::string out;
  if (epoch_ != 0) out += std::to_string(epoch_) + "!";
  for (std::size_t i = 0; i < release_.size(); ++i) {
    if (i) out += '.';
    out += std::to_string(release_[i]);
  }
  if (pre_) {
    static constexpr std::array<std::string_view, 3> names{"a", "b", "rc"};
    out += names[static_cast<std::size_t>(pre_->kind)];
    out += std::to_string(pre_->number);
  }
  if (post_) out += ".post" + std::to_string(*post_);
  if (dev_) out += ".dev" + std::to_string(*dev_);
  for (std::size_t i = 0; i < local_.size(); ++i) {
    out += i ? '.' : '+';
    out += local_[i].is_number ? std::to_string(local_[i].number) : local_[i].text;
  }
  return out;
}

Version Version::public_version() const {
  Version v = *this;
  v.local_.clear();
  v.original_ = v.to_string();
  return v;
}

Version Version::base_version() const {
  Version v;
  v.epoch_ = epoch_;
  v.release_ = release_;
  v.original_ = v.to_string();
  return v;
}

std::size_t Version::hash() const {
  std::size_t h = std::hash<std::uint64_t>()(epoch_);
  auto mix = [&h](std::uint64_t x) { h ^= std::hash<std::uint64_t>()(x) + 0x9e3779b9 + (h << 6) + (h >> 2); };
  std::size_t n = release_.size();
  while (n > 0 && release_[n - 1] == 0) --n;
  for (std::size_t i = 0; i < n; ++i) mix(release_[i]);
  mix(pre_ ? static_cast<std::uint64_t>(pre_->kind) * 1000003u + pre_->number + 1 : 0);
  mix(post_ ? *post_ + 1 : 0);
  mix(dev_ ? *dev_ + 1 : 0);
  for (const auto& l : local_) mix(l.is_number ? l.number : std::hash<std::string>()(l.text));
  return h;
}

std::strong_ordering operator<=>(const Version& a, const Version& b) {
  if (a.epoch_ != b.epoch_) return a.epoch_ <=> b.epoch_;
  std::size_t n = std::max(a.release_.size(), b.release_.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t x = i < a.release_.size() ? a.release_[i] : 0;
    std::uint64_t y = i < b.release_.size() ? b.release_[i] : 0;
    if (x != y) return x <=> y;
  }
  // The pre-release slot: a bare dev release of the release sorts below its pre-releases, and a
  // release without a pre-release (final or post) above them.
  auto pre_rank = [](const Version& v) {
    if (!v.pre_ && !v.post_ && v.dev_) return 0;
    return v.pre_ ? 1 : 2;
  };
  if (int ra = pre_rank(a), rb = pre_rank(b); ra != rb) return ra <=> rb;
  if (a.pre_ && b.pre_ && *a.pre_ != *b.pre_) return *a.pre_ <=> *b.pre_;
  // No post-release sorts first; a missing dev part sorts last.
  if (a.post_ != b.post_) return a.post_ <=> b.post_;  // nullopt is less than any value
  if (a.dev_ != b.dev_) {
    if (!a.dev_) return std::strong_ordering::greater;
    if (!b.dev_) return std::strong_ordering::less;
    return *a.dev_ <=> *b.dev_;
  }
  return to_ordering(compare_local(a.local_, b.local_));
}

std::string normalize_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool in_run = false;
  for (char c : name) {
    if (is_sep(c)) {
      if (!in_run) out += '-';
      in_run = true;
      continue;
    }
    in_run = false;
    out += ascii_lower(c);
  }
  return out;
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || !is_alnum(name.front()) || !is_alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || is_sep(c); });
}

}  // namespace de::pypi
