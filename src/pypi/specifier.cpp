#include "docker_envs/pypi/specifier.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <utility>

#include "pypi/text.hpp"

namespace de::pypi {

namespace {

struct OpText {
  std::string_view text;
  Specifier::Op op;
};
// Longest first, so that "===" is not read as "==" and "<=" not as "<".
constexpr std::array<OpText, 8> kOps{{{"===", Specifier::Op::Arbitrary},
                                      {"~=", Specifier::Op::Compatible},
                                      {"==", Specifier::Op::Equal},
                                      {"!=", Specifier::Op::NotEqual},
                                      {"<=", Specifier::Op::LessEqual},
                                      {">=", Specifier::Op::GreaterEqual},
                                      {"<", Specifier::Op::Less},
                                      {">", Specifier::Op::Greater}}};

std::string_view op_text(Specifier::Op op) {
  for (const auto& o : kOps)
    if (o.op == op) return o.text;
  return "?";
}

// The candidate's release, zero padded, begins with `prefix` (same epoch).
bool release_starts_with(const Version& v, std::uint64_t epoch,
                         std::span<const std::uint64_t> prefix) {
  if (v.epoch() != epoch) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    std::uint64_t x = i < v.release().size() ? v.release()[i] : 0;
    if (x != prefix[i]) return false;
  }
  return true;
}

bool releases_equal(const Version& a, const Version& b) {
  std::size_t n = std::max(a.release().size(), b.release().size());
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t x = i < a.release().size() ? a.release()[i] : 0;
    std::uint64_t y = i < b.release().size() ? b.release()[i] : 0;
    if (x != y) return false;
  }
  return true;
}

// `==prefix.*`: see the header. Local labels of the candidate never take part.
bool prefix_matches(const Version& v, const Version& prefix) {
  if (!prefix.pre() && !prefix.post())
    return release_starts_with(v, prefix.epoch(), prefix.release());
  if (v.epoch() != prefix.epoch() || !releases_equal(v, prefix)) return false;
  if (prefix.pre() != v.pre()) return false;
  if (prefix.post() && prefix.post() != v.post()) return false;
  return true;
}

}  // namespace

Result<Specifier> Specifier::parse(std::string_view text) {
  std::string_view t = trim(text);
  Specifier s;
  const OpText* found = nullptr;
  for (const auto& o : kOps) {
    if (t.starts_with(o.text)) {
      found = &o;
      break;
    }
  }
  if (!found)
    return fail(Code::InvalidArgument,
                "invalid version specifier '{}': expected one of ~= == != <= >= < > === first",
                t);
  s.op_ = found->op;
  std::string_view v = trim(t.substr(found->text.size()));
  if (v.empty())
    return fail(Code::InvalidArgument, "invalid version specifier '{}': no version after '{}'", t,
                found->text);
  if (s.op_ == Op::Arbitrary) {
    if (std::any_of(v.begin(), v.end(), [](char c) { return is_space(c) || c == ','; }))
      return fail(Code::InvalidArgument, "invalid version specifier '{}': '===' takes one word",
                  t);
    s.arbitrary_ = std::string(v);
    return s;
  }
  if (std::any_of(v.begin(), v.end(), [](char c) { return is_space(c) || c == ','; }))
    return fail(Code::InvalidArgument,
                "invalid version specifier '{}': a space inside the version (a missing comma?)", t);
  if (v.ends_with(".*")) {
    if (s.op_ != Op::Equal && s.op_ != Op::NotEqual)
      return fail(Code::InvalidArgument,
                  "invalid version specifier '{}': a '.*' prefix match needs '==' or '!='", t);
    s.wildcard_ = true;
    v.remove_suffix(2);
  }
  auto parsed = Version::parse(v);
  if (!parsed)
    return std::unexpected(
        std::move(parsed.error()).add_context(fmt::format("in version specifier '{}'", t)));
  s.version_ = std::move(*parsed);
  if (s.wildcard_ && (s.version_.is_devrelease() || s.version_.has_local()))
    return fail(Code::InvalidArgument,
                "invalid version specifier '{}': a prefix match cannot hold a dev release or a "
                "local label",
                t);
  if (s.version_.has_local() && s.op_ != Op::Equal && s.op_ != Op::NotEqual)
    return fail(Code::InvalidArgument,
                "invalid version specifier '{}': only '==' and '!=' take a local version label", t);
  if (s.op_ == Op::Compatible && s.version_.release().size() < 2)
    return fail(Code::InvalidArgument,
                "invalid version specifier '{}': '~=' needs at least two release numbers "
                "(~=1.0, not ~=1)",
                t);
  return s;
}

bool Specifier::matches(const Version& v) const {
  switch (op_) {
    case Op::Arbitrary:
      return iequals(v.original(), arbitrary_) || iequals(v.to_string(), arbitrary_);
    case Op::Equal:
    case Op::NotEqual: {
      bool equal;
      if (wildcard_)
        equal = prefix_matches(v, version_);
      else if (version_.has_local())
        equal = v == version_;
      else
        equal = v.public_version() == version_;
      return op_ == Op::Equal ? equal : !equal;
    }
    case Op::Compatible: {
      const auto& r = version_.release();
      return v.public_version() >= version_ &&
             release_starts_with(v, version_.epoch(),
                                 std::span<const std::uint64_t>(r.data(), r.size() - 1));
    }
    case Op::LessEqual:
      return v.public_version() <= version_;
    case Op::GreaterEqual:
      return v.public_version() >= version_;
    case Op::Less: {
      Version p = v.public_version();
      if (!(p < version_)) return false;
      // "<V must not allow a pre-release of the specified version unless V is a pre-release".
      return version_.is_prerelease() || !p.is_prerelease() ||
             p.base_version() != version_.base_version();
    }
    case Op::Greater: {
      Version p = v.public_version();
      if (!(p > version_)) return false;
      // ">V must not allow a post-release of the specified version unless V is one".
      return version_.is_postrelease() || !p.is_postrelease() ||
             p.base_version() != version_.base_version();
    }
  }
  return false;
}

bool Specifier::names_prerelease() const {
  if (op_ == Op::NotEqual) return false;
  if (op_ == Op::Arbitrary) {
    auto v = Version::parse(arbitrary_);
    return v && v->is_prerelease();
  }
  return version_.is_prerelease();
}

std::string Specifier::to_string() const {
  std::string out(op_text(op_));
  if (op_ == Op::Arbitrary) return out + arbitrary_;
  out += version_.to_string();
  if (wildcard_) out += ".*";
  return out;
}

Result<SpecifierSet> SpecifierSet::parse(std::string_view text) {
  SpecifierSet set;
  std::string_view t = trim(text);
  if (t.empty()) return set;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = t.find(',', start);
    std::string_view part = trim(t.substr(start, comma == std::string_view::npos ? t.npos : comma - start));
    if (part.empty())
      return fail(Code::InvalidArgument, "invalid version specifiers '{}': an empty item at position {}",
                  t, start);
    set.specs_.push_back(DE_TRY(Specifier::parse(part)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return set;
}

bool SpecifierSet::matches(const Version& v) const {
  return std::all_of(specs_.begin(), specs_.end(), [&](const Specifier& s) { return s.matches(v); });
}

bool SpecifierSet::names_prerelease() const {
  return std::any_of(specs_.begin(), specs_.end(),
                     [](const Specifier& s) { return s.names_prerelease(); });
}

bool SpecifierSet::contains(const Version& v, bool allow_prereleases) const {
  if (v.is_prerelease() && !allow_prereleases && !names_prerelease()) return false;
  return matches(v);
}

std::vector<Version> SpecifierSet::filter(std::span<const Version> candidates,
                                          bool allow_prereleases) const {
  std::vector<Version> out;
  for (const auto& v : candidates)
    if (contains(v, allow_prereleases)) out.push_back(v);
  if (out.empty() && !allow_prereleases)
    for (const auto& v : candidates)
      if (matches(v)) out.push_back(v);
  return out;
}

SpecifierSet SpecifierSet::intersect(const SpecifierSet& other) const {
  SpecifierSet out = *this;
  out.specs_.insert(out.specs_.end(), other.specs_.begin(), other.specs_.end());
  return out;
}

std::string SpecifierSet::to_string() const {
  std::string out;
  for (const auto& s : specs_) {
    if (!out.empty()) out += ',';
    out += s.to_string();
  }
  return out;
}

}  // namespace de::pypi
