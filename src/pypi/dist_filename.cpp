#include "docker_envs/pypi/dist_filename.hpp"

#include <algorithm>
#include <array>

#include "pypi/text.hpp"

namespace de::pypi {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? s.npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

bool ends_with_nocase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

constexpr std::array<std::string_view, 6> kSdistSuffixes{".tar.gz", ".zip",  ".tar.bz2",
                                                         ".tar.xz", ".tgz", ".tar"};

}  // namespace

Result<WheelFilename> WheelFilename::parse(std::string_view filename) {
  auto bad = [&](std::string_view why) {
    return fail(Code::InvalidArgument, "invalid wheel file name '{}': {}", filename, why);
  };
  if (filename.size() > 1024) return bad("longer than 1024 characters");
  if (!ends_with_nocase(filename, ".whl")) return bad("it does not end in .whl");
  auto parts = split(filename.substr(0, filename.size() - 4), '-');
  if (parts.size() != 5 && parts.size() != 6)
    return bad("expected name-version[-build]-python-abi-platform.whl");
  for (auto p : parts)
    if (p.empty()) return bad("an empty part");
  WheelFilename w;
  if (!is_valid_name(parts[0])) return bad("the distribution name is not valid");
  w.name = std::string(parts[0]);
  auto version = Version::parse(parts[1]);
  if (!version)
    return std::unexpected(std::move(version.error())
                               .add_context(fmt::format("invalid wheel file name '{}'", filename)));
  w.version = std::move(*version);
  std::size_t tag_start = 2;
  if (parts.size() == 6) {
    std::string_view b = parts[2];
    if (!is_digit(b.front())) return bad("the build tag does not start with a digit");
    std::size_t pos = 0;
    auto n = parse_decimal(b, pos);
    if (!n) return bad("the build number is too large");
    w.build = BuildTag{*n, std::string(b.substr(pos))};
    tag_start = 3;
  }
  std::array<std::vector<std::string>*, 3> lists{&w.python_tags, &w.abi_tags, &w.platform_tags};
  for (std::size_t k = 0; k < 3; ++k) {
    for (auto t : split(parts[tag_start + k], '.')) {
      if (t.empty() || !std::all_of(t.begin(), t.end(), [](char c) { return is_alnum(c) || c == '_'; }))
        return bad("a compatibility tag is empty or holds characters other than letters, digits "
                   "and '_'");
      lists[k]->push_back(to_lower(t));
    }
  }
  return w;
}

std::vector<Tag> WheelFilename::tags() const {
  std::vector<Tag> out;
  for (const auto& py : python_tags)
    for (const auto& abi : abi_tags)
      for (const auto& plat : platform_tags) out.push_back(Tag{py, abi, plat});
  return out;
}

std::optional<std::size_t> WheelFilename::priority(const TagSet& supported) const {
  std::optional<std::size_t> best;
  for (const auto& tag : tags()) {
    auto p = supported.priority(tag);
    if (p && (!best || *p < *best)) best = p;
  }
  return best;
}

bool is_sdist_filename(std::string_view filename) {
  return std::any_of(kSdistSuffixes.begin(), kSdistSuffixes.end(),
                     [&](std::string_view s) { return ends_with_nocase(filename, s); });
}

std::optional<InstalledDistribution> parse_dist_info_dirname(std::string_view dirname) {
  constexpr std::string_view kSuffix = ".dist-info";
  if (!dirname.ends_with(kSuffix)) return std::nullopt;
  std::string_view stem = dirname.substr(0, dirname.size() - kSuffix.size());
  // Names in these directories have `-` escaped as `_`, so the version follows the first `-`.
  std::size_t dash = stem.find('-');
  if (dash == std::string_view::npos || !is_valid_name(stem.substr(0, dash))) return std::nullopt;
  auto version = Version::parse(stem.substr(dash + 1));
  if (!version) return std::nullopt;
  return InstalledDistribution{normalize_name(stem.substr(0, dash)), std::move(*version)};
}

Result<SdistFilename> SdistFilename::parse(std::string_view filename, std::string_view project) {
  auto bad = [&](std::string_view why) {
    return fail(Code::InvalidArgument, "invalid source distribution file name '{}': {}", filename,
                why);
  };
  std::string_view stem;
  for (auto suffix : kSdistSuffixes) {
    if (ends_with_nocase(filename, suffix)) {
      stem = filename.substr(0, filename.size() - suffix.size());
      break;
    }
  }
  if (stem.empty()) return bad("no source archive suffix (.tar.gz, .zip, ...)");
  std::size_t split_at = std::string_view::npos;
  if (!project.empty()) {
    std::string want = normalize_name(project);
    for (std::size_t k = stem.find('-'); k != std::string_view::npos; k = stem.find('-', k + 1)) {
      if (normalize_name(stem.substr(0, k)) == want) {
        split_at = k;
        break;
      }
    }
    if (split_at == std::string_view::npos)
      return bad(fmt::format("it does not start with the project name '{}'", project));
  } else {
    split_at = stem.rfind('-');
    if (split_at == std::string_view::npos) return bad("no '-' between name and version");
  }
  SdistFilename s;
  s.name = std::string(stem.substr(0, split_at));
  auto version = Version::parse(stem.substr(split_at + 1));
  if (!version)
    return std::unexpected(std::move(version.error())
                               .add_context(fmt::format("invalid source distribution file name '{}'",
                                                        filename)));
  s.version = std::move(*version);
  return s;
}

}  // namespace de::pypi
