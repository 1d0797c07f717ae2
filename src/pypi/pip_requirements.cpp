// pip requirement lines: options, -r files, ${VAR}, wheel paths (see pip_requirements.hpp).
#include "docker_envs/pypi/pip_requirements.hpp"
#include "docker_envs/base/text.hpp"

#include <algorithm>
#include <set>

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/pypi/dist_filename.hpp"
#include "docker_envs/pypi/requirement.hpp"
#include "docker_envs/pypi/resolve_image.hpp"
#include "pypi/text.hpp"

namespace de::pypi {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxDepth = 16;  // -r nesting

std::string file_url(const fs::path& path) { return "file://" + percent_encode(path.string(), "/"); }

// Every URL in `text` (a token holding "://") redacted.
std::string redact_urls_in(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto start = text.find_first_not_of(" \t;", pos);
    if (start == std::string_view::npos) {
      out += text.substr(pos);
      break;
    }
    auto end = text.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = text.size();
    out += text.substr(pos, start - pos);
    std::string_view token = text.substr(start, end - start);
    out += token.find("://") != std::string_view::npos ? redact_url(token) : std::string(token);
    pos = end;
  }
  return out;
}

void add_once(std::vector<std::string>& list, std::string value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

class Reader {
 public:
  explicit Reader(const PipReadOptions& options) : options_(options) {}

  // One logical line of a source whose relative paths start at `dir`.
  Status line(std::string_view raw, const std::string& where, const fs::path& dir, int depth) {
    std::string text = DE_TRY(expand(strip_comment(raw), where));
    std::string_view t = trim(text);
    if (t.empty()) return {};
    if (t.starts_with('-')) return option(t, where, dir, depth);
    return requirement(t, where, dir);
  }

  PipRequirements take() { return std::move(out_); }

 private:
  // pip's rule: `#` at the start or after whitespace starts a comment.
  static std::string strip_comment(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i)
      if (s[i] == '#' && (i == 0 || is_space(s[i - 1]))) return std::string(s.substr(0, i));
    return std::string(s);
  }

  Result<std::string> expand(const std::string& s, const std::string& where) const {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
        auto end = s.find('}', i + 2);
        std::string name = end == std::string::npos ? "" : s.substr(i + 2, end - i - 2);
        bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
        });
        if (valid) {
          std::optional<std::string> value;
          if (options_.getenv) value = options_.getenv(name);
          if (!value)
            return fail(Code::InvalidArgument, "{}: environment variable {} is not set", where,
                        name);
          out += *value;
          i = end;
          continue;
        }
      }
      out += s[i];
    }
    return out;
  }

  // "--opt=value", "--opt value", "-o value", "-ovalue" -> (name, value).
  static std::pair<std::string, std::string> split_option(std::string_view t) {
    std::size_t end = 0;
    while (end < t.size() && !is_space(t[end]) && t[end] != '=') ++end;
    std::string name(t.substr(0, end));
    std::string_view rest = t.substr(end);
    if (!rest.empty() && rest.front() == '=') rest.remove_prefix(1);
    if (name.size() > 2 && name[1] != '-') {  // -ivalue
      rest = t.substr(2);
      name = name.substr(0, 2);
    }
    return {name, std::string(trim(rest))};
  }

  Status option(std::string_view t, const std::string& where, const fs::path& dir, int depth) {
    auto split = split_option(t);
    const std::string& name = split.first;
    const std::string& value = split.second;
    auto need_value = [&]() -> Status {
      if (value.empty())
        return fail(Code::InvalidArgument, "{}: pip option {} needs a value", where, name);
      return {};
    };
    if (name == "-r" || name == "--requirement") {
      DE_TRY(need_value());
      return include(value, where, dir, depth);
    }
    if (name == "-i" || name == "--index-url") {
      DE_TRY(need_value());
      out_.index_url = location(value, dir);
      return {};
    }
    if (name == "--extra-index-url") {
      DE_TRY(need_value());
      add_once(out_.extra_index_urls, location(value, dir));
      return {};
    }
    if (name == "-f" || name == "--find-links") {
      DE_TRY(need_value());
      add_once(out_.find_links, has_url_scheme(value) ? value : (dir / value).lexically_normal().string());
      return {};
    }
    if (name == "--no-index" || name == "--pre") {
      if (!value.empty())
        return fail(Code::InvalidArgument, "{}: pip option {} takes no value", where, name);
      (name == "--pre" ? out_.pre : out_.no_index) = true;
      return {};
    }
    if (name == "--trusted-host") {
      out_.warnings.push_back(fmt::format(
          "{}: --trusted-host is ignored (TLS is always verified; name a CA bundle instead)",
          where));
      return {};
    }
    if (name == "--only-binary" || name == "--prefer-binary") return {};  // wheels only anyway
    if (name == "-e" || name == "--editable")
      return fail(Code::Unsupported,
                  "{}: editable installs (-e) build a source tree with its build backend, which "
                  "docker-envs does not run; build a wheel and name it instead",
                  where);
    if (name == "-c" || name == "--constraint")
      return fail(Code::Unsupported,
                  "{}: constraint files (-c) are not supported; write the versions into the "
                  "requirements",
                  where);
    if (name == "--no-binary")
      return fail(Code::Unsupported,
                  "{}: --no-binary asks for source distributions; docker-envs installs wheels "
                  "only",
                  where);
    return fail(Code::InvalidArgument,
                "{}: unknown pip option '{}' (known: -r, -i/--index-url, --extra-index-url, "
                "-f/--find-links, --no-index, --pre)",
                where, name);
  }

  // An index URL; a local path becomes a file:// URL.
  static std::string location(const std::string& value, const fs::path& dir) {
    if (has_url_scheme(value)) {
      std::string v = value;
      while (v.size() > 1 && v.back() == '/') v.pop_back();
      return v;
    }
    return file_url(fs::absolute(dir / value).lexically_normal());
  }

  Status include(const std::string& value, const std::string& where, const fs::path& dir,
                 int depth) {
    if (has_url_scheme(value))
      return fail(Code::Unsupported, "{}: -r takes a file, not a URL ('{}')", where,
                  redact_url(value));
    fs::path file = (dir / value).lexically_normal();
    std::error_code ec;
    fs::path key = fs::weakly_canonical(file, ec);
    if (ec) key = file;
    if (depth >= kMaxDepth || open_.contains(key.string()))
      return fail(Code::InvalidArgument, "{}: -r {} includes itself (a cycle of -r files)", where,
                  value);
    std::string text = DE_TRY_CTX(read_file(file), fmt::format("{}: -r {}", where, value));
    open_.insert(key.string());
    // Join continuation lines; each logical line keeps the number of its first physical line.
    int number = 0, first = 0;
    std::string logical;
    std::size_t pos = 0;
    while (pos <= text.size()) {
      auto nl = text.find('\n', pos);
      std::string_view physical = std::string_view(text).substr(
          pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
      ++number;
      if (!physical.empty() && physical.back() == '\r') physical.remove_suffix(1);
      if (logical.empty()) first = number;
      if (!physical.empty() && physical.back() == '\\') {
        physical.remove_suffix(1);
        logical += physical;
        continue;
      }
      logical += physical;
      DE_TRY(line(logical, fmt::format("{}:{}", file.string(), first), file.parent_path(),
                  depth + 1));
      logical.clear();
    }
    if (!logical.empty())
      DE_TRY(line(logical, fmt::format("{}:{}", file.string(), first), file.parent_path(),
                  depth + 1));
    open_.erase(key.string());
    return {};
  }

  Status requirement(std::string_view t, const std::string& where, const fs::path& dir) {
    if (t.find(" --") != std::string_view::npos || t.find("\t--") != std::string_view::npos)
      return fail(Code::Unsupported,
                  "{}: options after a requirement (such as --hash) are not supported: '{}'",
                  where, t);
    std::string text(t);
    // A wheel named by path or URL alone: its file name says what it is.
    if (t.find(" @ ") == std::string_view::npos &&
        (t.ends_with(".whl") || (has_url_scheme(t) && t.find(".whl") != std::string_view::npos))) {
      std::string url = has_url_scheme(t) ? text : file_url(fs::absolute(dir / text).lexically_normal());
      std::string_view path = std::string_view(url).substr(0, url.find_first_of("?#"));
      auto wheel = DE_TRY_CTX(WheelFilename::parse(path.substr(path.rfind('/') + 1)), where);
      text = wheel.name + " @ " + url;
    } else if (is_sdist_filename(t) && (has_url_scheme(t) || t.find('/') != std::string_view::npos)) {
      return fail(Code::Unsupported,
                  "{}: '{}' is a source distribution: building it would run its build backend, "
                  "which docker-envs does not run; name a wheel instead",
                  where, redact_url(t));
    }
    if (auto parsed = Requirement::parse(text); !parsed) {
      // The parser's message quotes the text: show it with any URL's credentials removed.
      std::string shown = redact_urls_in(text);
      Error error = std::move(parsed).error();
      if (shown != text) {
        auto again = Requirement::parse(shown);
        error = again ? Error(Code::InvalidArgument, "not a PEP 508 requirement")
                      : std::move(again).error();
      }
      return std::unexpected(
          std::move(error).add_context(fmt::format("{}: pip requirement '{}'", where, shown)));
    }
    out_.requirements.push_back({std::move(text), where});
    return {};
  }

  const PipReadOptions& options_;
  PipRequirements out_;
  std::set<std::string> open_;  // -r files being read (cycle check)
};

}  // namespace

IndexSources PipRequirements::sources() const {
  IndexSources s;
  if (!no_index) {
    s.index_urls.push_back(index_url.value_or(std::string(kPypiIndex)));
    for (const auto& u : extra_index_urls) add_once(s.index_urls, u);
  }
  s.find_links = find_links;
  return s;
}

Result<PipRequirements> read_pip_lines(std::span<const PipLine> lines,
                                       const PipReadOptions& options) {
  Reader reader(options);
  for (const auto& l : lines) DE_TRY(reader.line(l.text, l.where, options.base_dir, 0));
  return reader.take();
}

}  // namespace de::pypi
