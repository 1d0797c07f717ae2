#include "docker_envs/conda/version.hpp"

#include <algorithm>
#include <limits>

#include "conda/spec_text.hpp"

namespace de::conda {
namespace {

using Atom = Version::Atom;

// Three-way comparison of two atoms: strings < numbers < post; strings bytewise.
int compare_atoms(const Atom& a, const Atom& b) {
  if (a.is_string() || b.is_string()) {
    if (!b.is_string()) return -1;
    if (!a.is_string()) return 1;
    int c = a.text.compare(b.text);
    return (c > 0) - (c < 0);
  }
  bool a_post = a.kind == Atom::Kind::Post, b_post = b.kind == Atom::Kind::Post;
  if (a_post || b_post) return int(a_post) - int(b_post);
  return (a.number > b.number) - (a.number < b.number);
}

const Atom kZero{};

// Compares two segments, padding the shorter with 0 atoms.
int compare_segments(Version::Segment a, Version::Segment b) {
  std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    int c = compare_atoms(i < a.size() ? a[i] : kZero, i < b.size() ? b[i] : kZero);
    if (c != 0) return c;
  }
  return 0;
}

// A list of segments, given as an accessor; padding with empty segments.
template <class GetA, class GetB>
int compare_lists(std::size_t na, GetA get_a, std::size_t nb, GetB get_b) {
  std::size_t n = std::max(na, nb);
  for (std::size_t i = 0; i < n; ++i) {
    int c = compare_segments(i < na ? get_a(i) : Version::Segment{},
                             i < nb ? get_b(i) : Version::Segment{});
    if (c != 0) return c;
  }
  return 0;
}

}  // namespace

Result<Version> Version::parse(std::string_view input) {
  std::string_view text = detail::trim(input);
  if (text.empty())
    return fail(Code::InvalidArgument, "invalid version '{}': empty version", input);
  auto bad = [&](std::size_t pos, std::string_view why) {
    return fail(Code::InvalidArgument, "invalid version '{}': {} at position {}", text, why, pos);
  };

  // Normalise a copy: lower-case, '-' -> '_' (only when '_' is not used too). Positions match.
  std::string s(text);
  std::size_t first_dash = std::string::npos, first_underscore = std::string::npos;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') {
      s[i] = char(c - 'A' + 'a');
    } else if (c == '-') {
      if (first_dash == std::string::npos) first_dash = i;
    } else if (c == '_') {
      if (first_underscore == std::string::npos) first_underscore = i;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '+' ||
                 c == '!' || c == '*')) {
      return bad(i, fmt::format("invalid character '{}'", c));
    }
  }
  if (first_dash != std::string::npos) {
    if (first_underscore != std::string::npos)
      return bad(std::max(first_dash, first_underscore),
                 "cannot use both '-' and '_' as separators");
    std::replace(s.begin(), s.end(), '-', '_');
  }

  Version v;
  v.text_ = std::string(text);
  v.atoms_.clear();
  v.seg_ends_.clear();

  // Epoch.
  std::size_t main_begin = 0;
  std::size_t bang = s.find('!');
  if (bang != std::string::npos) {
    std::size_t second = s.find('!', bang + 1);
    if (second != std::string::npos) return bad(second, "duplicated epoch separator '!'");
    if (bang == 0) return bad(0, "expected an epoch number before '!'");
    std::uint64_t epoch = 0;
    for (std::size_t i = 0; i < bang; ++i) {
      if (s[i] < '0' || s[i] > '9') return bad(i, "the epoch must be an integer");
      if (epoch > (std::numeric_limits<std::uint64_t>::max() - 9) / 10)
        return bad(0, "the epoch is too large");
      epoch = epoch * 10 + std::uint64_t(s[i] - '0');
    }
    v.atoms_.push_back(Atom{Atom::Kind::Number, epoch, {}});
    main_begin = bang + 1;
  } else {
    v.atoms_.push_back(Atom{});
  }
  v.seg_ends_.push_back(1);

  // Local version.
  std::size_t main_end = s.size();
  std::size_t plus = s.find('+', main_begin);
  if (plus != std::string::npos) {
    std::size_t second = s.find('+', plus + 1);
    if (second != std::string::npos) return bad(second, "duplicated local version separator '+'");
    main_end = plus;
  }
  if (main_begin == main_end)
    return bad(main_begin,
               plus == main_begin ? "expected a version before '+'" : "expected a version");
  if (plus != std::string::npos && plus + 1 == s.size())
    return bad(plus + 1, "expected a local version after '+'");

  // Splits [begin, end) into segments and atoms. `keep_trailing_underscore`: a final '_' is a
  // string atom of the last segment rather than a separator.
  auto split = [&](std::size_t begin, std::size_t end, bool keep_trailing_underscore) -> Status {
    std::size_t seg_begin = begin;
    for (std::size_t i = begin; i <= end; ++i) {
      bool at_end = i == end;
      bool separator = !at_end && (s[i] == '.' || s[i] == '_') &&
                       !(keep_trailing_underscore && s[i] == '_' && i + 1 == end);
      if (!at_end && !separator) continue;
      if (i == seg_begin)
        return bad(i, at_end ? "expected a version segment at the end"
                             : fmt::format("empty version segment before '{}'", text[i]));
      // Split the segment into runs.
      bool first = true;
      for (std::size_t j = seg_begin; j < i;) {
        char c = s[j];
        std::size_t k = j + 1;
        auto same_class = [&](char d) {
          if (c >= '0' && c <= '9') return d >= '0' && d <= '9';
          if (c == '*') return d == '*';
          return !(d >= '0' && d <= '9') && d != '*';
        };
        while (k < i && same_class(s[k])) ++k;
        std::string_view run(s.data() + j, k - j);
        if (c >= '0' && c <= '9') {
          std::uint64_t n = 0;
          for (char d : run) {
            if (n > (std::numeric_limits<std::uint64_t>::max() - 9) / 10)
              return bad(j, "number too large");
            n = n * 10 + std::uint64_t(d - '0');
          }
          v.atoms_.push_back(Atom{Atom::Kind::Number, n, {}});
        } else {
          if (first) v.atoms_.push_back(Atom{});  // keep numbers and strings in phase
          if (run == "post")
            v.atoms_.push_back(Atom{Atom::Kind::Post, 0, {}});
          else
            v.atoms_.push_back(
                Atom{Atom::Kind::String, 0, std::string(run == "dev" ? "DEV" : run)});
        }
        first = false;
        j = k;
      }
      v.seg_ends_.push_back(std::uint32_t(v.atoms_.size()));
      seg_begin = i + 1;
    }
    return {};
  };

  DE_TRY(split(main_begin, main_end, /*keep_trailing_underscore=*/true));
  v.version_count_ = std::uint32_t(v.seg_ends_.size());
  if (plus != std::string::npos) DE_TRY(split(plus + 1, s.size(), false));
  v.local_count_ = std::uint32_t(v.seg_ends_.size()) - v.version_count_;
  return v;
}

std::uint64_t Version::epoch() const { return atoms_[0].number; }

std::string Version::conda_repr() const {
  std::string out = "[";
  for (std::uint32_t i = 0; i < version_count_; ++i) {
    if (i) out += ", ";
    out += '[';
    bool first = true;
    for (const Atom& a : seg(i)) {
      if (!first) out += ", ";
      first = false;
      switch (a.kind) {
        case Atom::Kind::Number:
          out += std::to_string(a.number);
          break;
        case Atom::Kind::Post:
          out += "inf";
          break;
        case Atom::Kind::String:
          out += "'" + a.text + "'";
          break;
      }
    }
    out += ']';
  }
  out += ']';
  return out;
}

std::size_t Version::hash() const {
  // FNV-1a over the normalised atoms, with markers between segments and before the local part.
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::uint64_t x) {
    for (int i = 0; i < 8; ++i) {
      h ^= (x >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  auto is_zero = [](const Atom& a) { return a.kind == Atom::Kind::Number && a.number == 0; };
  auto mix_list = [&](std::uint32_t first, std::uint32_t count) {
    // Skip trailing segments that are all zeros (they equal the empty padding segment).
    std::uint32_t n = count;
    while (n > 0 && std::all_of(seg(first + n - 1).begin(), seg(first + n - 1).end(), is_zero)) --n;
    for (std::uint32_t i = 0; i < n; ++i) {
      Segment s = seg(first + i);
      std::size_t len = s.size();
      while (len > 0 && is_zero(s[len - 1])) --len;
      for (std::size_t j = 0; j < len; ++j) {
        mix(std::uint64_t(s[j].kind));
        if (s[j].kind == Atom::Kind::Number) mix(s[j].number);
        for (char c : s[j].text) mix(std::uint8_t(c));
        if (s[j].is_string()) mix(0xfffffffffffffffdull);  // end of string ("a","*" vs "a*")
      }
      mix(0xfffffffffffffffeull);  // end of segment
    }
  };
  mix_list(0, version_count_);
  mix(0xffffffffffffffffull);  // local part follows
  mix_list(version_count_, local_count_);
  return std::size_t(h);
}

std::weak_ordering operator<=>(const Version& a, const Version& b) {
  int c = compare_lists(
      a.version_count_, [&](std::size_t i) { return a.seg(i); }, b.version_count_,
      [&](std::size_t i) { return b.seg(i); });
  if (c == 0)
    c = compare_lists(
        a.local_count_, [&](std::size_t i) { return a.local_segment(i); }, b.local_count_,
        [&](std::size_t i) { return b.local_segment(i); });
  return c < 0   ? std::weak_ordering::less
         : c > 0 ? std::weak_ordering::greater
                 : std::weak_ordering::equivalent;
}

bool Version::starts_with(const Version& prefix) const {
  // Choose the lists to compare: the local parts when the prefix has one (then the main versions
  // must be equal), else the main versions including the epoch.
  std::size_t na, nb;
  auto get_local_a = [&](std::size_t i) { return local_segment(i); };
  auto get_local_b = [&](std::size_t i) { return prefix.local_segment(i); };
  auto get_main_a = [&](std::size_t i) { return seg(i); };
  auto get_main_b = [&](std::size_t i) { return prefix.seg(i); };
  auto check = [&](auto get_a, auto get_b) {
    // All but the last prefix segment must be equal.
    std::size_t last = nb - 1;
    if (compare_lists(std::min(na, last), get_a, last, get_b) != 0) return false;
    Segment a = last < na ? get_a(last) : Segment{};
    Segment b = get_b(last);
    // All but the last atom of that segment must be equal.
    std::size_t last_atom = b.size() - 1;
    if (compare_segments(a.subspan(0, std::min(a.size(), last_atom)), b.subspan(0, last_atom)) != 0)
      return false;
    const Atom& pb = b[last_atom];
    if (pb.is_string()) {
      if (last_atom >= a.size() || !a[last_atom].is_string()) return false;
      return std::string_view(a[last_atom].text).starts_with(pb.text);
    }
    return compare_atoms(last_atom < a.size() ? a[last_atom] : kZero, pb) == 0;
  };
  if (prefix.has_local()) {
    if (compare_lists(version_count_, get_main_a, prefix.version_count_, get_main_b) != 0)
      return false;
    na = local_count_;
    nb = prefix.local_count_;
    return check(get_local_a, get_local_b);
  }
  na = version_count_;
  nb = prefix.version_count_;
  return check(get_main_a, get_main_b);
}

bool Version::compatible_with(const Version& older, std::size_t level) const {
  if (epoch() != older.epoch()) return false;
  if (*this < older) return false;
  for (std::size_t i = 0; i < level; ++i) {
    Segment a = i < segment_count() ? segment(i) : Segment{};
    Segment b = i < older.segment_count() ? older.segment(i) : Segment{};
    if (compare_segments(a, b) != 0) return false;
  }
  return true;
}

}  // namespace de::conda
