#include "docker_envs/conda/explicit.hpp"

#include <charconv>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/channel.hpp"

namespace de::conda {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "numpy-1.26.4-py311h64a7726_0" -> name, version, build (the last two '-' separate them).
Status split_dist(std::string_view stem, PackageRecord& r) {
  auto b = stem.rfind('-');
  if (b == std::string_view::npos || b == 0)
    return fail(Code::InvalidArgument, "'{}' is not name-version-build", stem);
  auto v = stem.rfind('-', b - 1);
  if (v == std::string_view::npos || v == 0)
    return fail(Code::InvalidArgument, "'{}' is not name-version-build", stem);
  r.name = stem.substr(0, v);
  r.version = stem.substr(v + 1, b - v - 1);
  r.build = stem.substr(b + 1);
  if (r.version.empty() || r.build.empty())
    return fail(Code::InvalidArgument, "'{}' is not name-version-build", stem);
  // The build number is the last '_'-separated part of the build string when numeric.
  auto us = r.build.rfind('_');
  std::string_view num = us == std::string::npos ? std::string_view(r.build)
                                                 : std::string_view(r.build).substr(us + 1);
  std::int64_t number = 0;
  if (auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), number);
      !num.empty() && ec == std::errc() && end == num.data() + num.size() && number >= 0)
    r.build_number = number;
  return {};
}

}  // namespace

Result<ExplicitEnvironment> parse_explicit(std::string_view text, std::string_view what) {
  ExplicitEnvironment env;
  bool seen_marker = false;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos <= text.size();) {
    auto nl = text.find('\n', pos);
    std::string_view line =
        trim(text.substr(pos, (nl == std::string_view::npos ? text.size() : nl) - pos));
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (line.empty()) continue;
    if (line.starts_with("#")) {
      std::string_view comment = trim(line.substr(1));
      if (comment.starts_with("platform:")) env.platform = trim(comment.substr(9));
      continue;
    }
    if (line == "@EXPLICIT") {
      seen_marker = true;
      continue;
    }
    if (!seen_marker)
      return fail(Code::InvalidArgument,
                  "{}:{}: '{}' before the @EXPLICIT line (not an explicit environment file?)", what,
                  line_no, line);
    PackageRecord r;
    std::string_view url = line;
    std::string_view hash;
    if (auto hash_pos = line.find('#'); hash_pos != std::string_view::npos) {
      url = trim(line.substr(0, hash_pos));
      hash = trim(line.substr(hash_pos + 1));
    }
    auto where = [&] { return fmt::format("{}:{}", what, line_no); };
    if (!hash.empty()) {
      if (hash.starts_with("sha256:")) hash.remove_prefix(7);
      if (hash.size() == 64) {
        r.sha256 = DE_TRY_CTX(Digest::from_hex(hash), where());
      } else if (hash.size() == 32) {
        r.md5 = DE_TRY_CTX(Md5Hash::from_hex(hash), where());
      } else {
        return fail(Code::InvalidArgument, "{}: '#{}' is neither an md5 nor a sha256", where(),
                    hash);
      }
    }
    auto from_url = DE_TRY_CTX(record_from_url(url), where());
    from_url.md5 = r.md5;
    from_url.sha256 = r.sha256;
    r = std::move(from_url);
    env.packages.push_back(std::move(r));
  }
  if (!seen_marker) return fail(Code::InvalidArgument, "{}: no @EXPLICIT line", what);
  return env;
}

Result<PackageRecord> record_from_url(std::string_view url) {
  PackageRecord r;
  auto slash = url.rfind('/');
  if (slash == std::string_view::npos)
    return fail(Code::InvalidArgument, "'{}' is not a package URL", redact_url(url));
  r.url = url;
  r.fn = url.substr(slash + 1);
  DE_TRY(package_format_of(r.fn));
  DE_TRY(split_dist(strip_package_extension(r.fn), r));
  std::string_view dir = url.substr(0, slash);
  auto sub_slash = dir.rfind('/');
  if (sub_slash != std::string_view::npos && is_known_subdir(dir.substr(sub_slash + 1))) {
    r.subdir = dir.substr(sub_slash + 1);
    dir = dir.substr(0, sub_slash);
  }
  if (auto channel = Channel::parse(dir)) {
    r.channel = channel->name();
  } else {
    r.channel = redact_url(dir);
  }
  return r;
}

Result<std::string> write_explicit(std::span<const PackageRecord> packages,
                                   std::string_view platform) {
  DE_TRY(parse_platform(platform));
  std::string out = fmt::format(
      "# An explicit environment written by docker-envs lock. Install it with\n"
      "#   docker-envs env install THIS_FILE --root DIR, or\n"
      "#   conda create -n ENV --file THIS_FILE (conda >= 24.9 reads sha256 hashes)\n"
      "# platform: {}\n"
      "@EXPLICIT\n",
      platform);
  for (const auto& r : packages) {
    if (r.url.empty())
      return fail(Code::InvalidArgument, "package {}: no url to write", r.dist_name());
    if (r.url.find_first_of("# \t\n") != std::string::npos)
      return fail(Code::InvalidArgument, "package {}: url '{}' cannot be written on one line",
                  r.dist_name(), redact_url(r.url));
    if (r.sha256)
      out += fmt::format("{}#{}\n", r.url, r.sha256->hex());
    else if (r.md5)
      out += fmt::format("{}#{}\n", r.url, r.md5->hex());
    else
      return fail(Code::InvalidArgument, "package {}: no md5 or sha256 to write", r.dist_name());
  }
  return out;
}

Result<ExplicitEnvironment> load_explicit(const std::filesystem::path& path) {
  auto text = DE_TRY(read_file(path));
  return parse_explicit(text, path.string());
}

}  // namespace de::conda
