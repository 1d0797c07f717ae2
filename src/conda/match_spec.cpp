#include "docker_envs/conda/match_spec.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

#include "conda/spec_regex.hpp"
#include "conda/spec_text.hpp"

namespace de::conda {

struct StringMatcher::CompiledRegex {
  detail::SpecRegex regex;
};

namespace {

using detail::trim;

// Platform subdirectories a channel path may end in ("conda-forge/linux-64").
constexpr std::array<std::string_view, 24> kSubdirs = {
    "noarch",        "linux-32",      "linux-64",
    "linux-aarch64", "linux-armv6l",  "linux-armv7l",
    "linux-ppc64le", "linux-ppc64",   "linux-ppc",
    "linux-s390x",   "linux-riscv32", "linux-riscv64",
    "linux-loong64", "osx-64",        "osx-arm64",
    "win-32",        "win-64",        "win-arm64",
    "freebsd-64",    "zos-z",         "emscripten-wasm32",
    "wasi-wasm32",   "unknown",       "osx-32"};

bool is_subdir(std::string_view s) {
  return std::find(kSubdirs.begin(), kSubdirs.end(), s) != kSubdirs.end();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

std::string remove_spaces(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!detail::is_space(c)) out += c;
  return out;
}

// "conda-forge/linux-64" -> {"conda-forge", "linux-64"}; "*" and "" mean no channel. A channel
// never ends in a subdir (conda reads such a segment as the platform): "ch/linux-64/linux-64" is
// channel "ch", subdir the last one, so that the channel printed alone reads back as itself.
struct ChannelParts {
  std::optional<std::string> channel, subdir;
};
ChannelParts split_channel(std::string_view text) {
  ChannelParts parts;
  text = trim(text);
  while (text.ends_with('/')) text.remove_suffix(1);
  for (auto slash = text.rfind('/');
       slash != std::string_view::npos && is_subdir(text.substr(slash + 1));
       slash = text.rfind('/')) {
    if (!parts.subdir) parts.subdir = std::string(text.substr(slash + 1));
    text = text.substr(0, slash);
    while (text.ends_with('/')) text.remove_suffix(1);  // "ch//linux-64": the channel is "ch"
  }
  if (!text.empty() && text != "*") parts.channel = std::string(text);
  return parts;
}

// A channel name, URL or path: no whitespace, quotes or spec punctuation.
bool valid_channel_text(std::string_view text) {
  for (char c : text)
    if (detail::is_space(c) ||
        std::string_view("'\"[]#(),|<>!^$=").find(c) != std::string_view::npos)
      return false;
  return true;
}

bool is_hex(std::string_view s, std::size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

// Strips a trailing "/<subdir>" and "/" from a channel URL or name.
std::string_view channel_base(std::string_view s) {
  while (s.ends_with('/')) s.remove_suffix(1);
  if (auto slash = s.rfind('/'); slash != std::string_view::npos && is_subdir(s.substr(slash + 1)))
    s = s.substr(0, slash);
  return s;
}

// A record's channel matches a spec's channel when they are equal, or when one is a URL ending in
// "/<the other>" (a channel name against its URL). conda's multichannels ("defaults") are not
// expanded here: the channel module resolves names to URLs before records reach the matcher.
bool channel_matches(const StringMatcher& spec, std::string_view record) {
  if (record.empty()) return false;
  std::string_view rec = channel_base(record);
  if (!spec.is_exact()) {
    std::string_view last =
        rec.substr(rec.rfind('/') == std::string_view::npos ? 0 : rec.rfind('/') + 1);
    return spec.matches(rec) || spec.matches(last);
  }
  std::string_view want = channel_base(spec.to_string());
  if (want == rec) return true;
  auto ends_with_component = [](std::string_view longer, std::string_view shorter) {
    return longer.size() > shorter.size() && longer.ends_with(shorter) &&
           longer[longer.size() - shorter.size() - 1] == '/';
  };
  return ends_with_component(rec, want) || ends_with_component(want, rec);
}

bool features_contain(std::string_view have, std::string_view want) {
  auto tokens = [](std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && (s[i] == ',' || detail::is_space(s[i]))) ++i;
      std::size_t j = i;
      while (j < s.size() && s[j] != ',' && !detail::is_space(s[j])) ++j;
      if (j > i) out.push_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  };
  auto have_tokens = tokens(have);
  for (auto w : tokens(want))
    if (std::find(have_tokens.begin(), have_tokens.end(), w) == have_tokens.end()) return false;
  return true;
}

// Splits "version[ build]" the way conda does: the build is the text after the first space or
// '=' that is not preceded by an operator character, provided that text holds no operator,
// ',' '|' or '-' characters. Returns {version with spaces removed, build (may be empty)}.
std::pair<std::string, std::string> split_version_build(std::string_view s) {
  auto is_forbidden_in_build = [](char c) {
    return c == '-' || c == '=' || c == ',' || c == '|' || c == '<' || c == '>' || c == '~';
  };
  auto is_operator_before = [](char c) {
    return c == '=' || c == '!' || c == '|' || c == ',' || c == '<' || c == '>' || c == '~';
  };
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] != ' ' && s[i] != '=') continue;
    if (is_operator_before(s[i - 1])) continue;
    std::string_view rest = s.substr(i + 1);
    if (std::any_of(rest.begin(), rest.end(), is_forbidden_in_build)) continue;
    std::string_view build = trim(rest);
    if (build.empty()) continue;
    return {remove_spaces(s.substr(0, i)), std::string(build)};
  }
  return {remove_spaces(s), {}};
}

struct KeyValue {
  std::string key, value;
  std::size_t pos;
};

// Parses the inside of "[...]": key=value pairs separated by ',' or whitespace; values may be
// quoted with ' or ". `offset` is the position of the body in the spec, for error messages.
Result<std::vector<KeyValue>> parse_brackets(std::string_view spec, std::string_view body,
                                             std::size_t offset) {
  std::vector<KeyValue> out;
  auto bad = [&](std::size_t pos, std::string_view why) {
    return fail(Code::InvalidArgument, "invalid match spec '{}': {} at position {}", spec, why,
                offset + pos);
  };
  std::size_t i = 0;
  while (true) {
    while (i < body.size() && (body[i] == ',' || detail::is_space(body[i]))) ++i;
    if (i >= body.size()) break;
    std::size_t key_begin = i;
    while (i < body.size() &&
           (std::isalnum(static_cast<unsigned char>(body[i])) || body[i] == '_' || body[i] == '-'))
      ++i;
    if (i == key_begin)
      return bad(i, fmt::format("expected a key in brackets, found '{}'", body[i]));
    std::string key(body.substr(key_begin, i - key_begin));
    while (i < body.size() && detail::is_space(body[i])) ++i;
    if (i >= body.size() || body[i] != '=')
      return bad(i, fmt::format("expected '=' after '{}'", key));
    ++i;
    while (i < body.size() && detail::is_space(body[i])) ++i;
    std::string value;
    if (i < body.size() && (body[i] == '\'' || body[i] == '"')) {
      char quote = body[i];
      std::size_t close = body.find(quote, i + 1);
      if (close == std::string_view::npos)
        return bad(i, fmt::format("unterminated {} quote", quote));
      value = std::string(body.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      std::size_t begin = i;
      while (i < body.size() && body[i] != ',' && !detail::is_space(body[i])) {
        if (body[i] == '[' || body[i] == ']' || body[i] == '\'' || body[i] == '"')
          return bad(i,
                     fmt::format("unexpected '{}' (quote values that contain brackets or quotes)",
                                 body[i]));
        ++i;
      }
      value = std::string(body.substr(begin, i - begin));
    }
    if (trim(value).empty()) return bad(key_begin, fmt::format("empty value for '{}'", key));
    out.push_back(KeyValue{std::move(key), std::string(trim(value)), offset + key_begin});
  }
  return out;
}

// Quotes a bracket value with ' (or " when it holds a ', which parse() allows only inside "...").
std::string bracket_quoted(std::string_view value) {
  char q = value.find('\'') != std::string_view::npos ? '"' : '\'';
  return fmt::format("{}{}{}", q, value, q);
}

// Appends key=value to a bracket list, quoting values that an unquoted value could not hold: ',',
// '=', brackets, quotes and any whitespace (all of which end or refuse an unquoted value in
// parse_brackets), with " when the value holds a ', which parse() allows only inside "...".
void add_bracket(std::vector<std::string>& brackets, std::string_view key, std::string_view value) {
  bool quote = value.find_first_of(",=[]'\"") != std::string_view::npos ||
               std::ranges::any_of(value, detail::is_space);
  brackets.push_back(fmt::format("{}={}", key, quote ? bracket_quoted(value) : std::string(value)));
}

}  // namespace

// ---- StringMatcher ----------------------------------------------------------------------------

Result<StringMatcher> StringMatcher::parse(std::string_view text) {
  StringMatcher m;
  m.text_ = std::string(trim(text));
  if (m.text_.empty()) return fail(Code::InvalidArgument, "empty string pattern");
  if (m.text_.front() == '^' || m.text_.back() == '$') {
    if (m.text_.size() < 2 || m.text_.front() != '^' || m.text_.back() != '$')
      return fail(Code::InvalidArgument,
                  "invalid pattern '{}': a regular expression must start with '^' and end with '$'",
                  m.text_);
    m.regex_ = std::make_shared<const CompiledRegex>(
        CompiledRegex{DE_TRY(detail::SpecRegex::compile(m.text_))});
    m.kind_ = Kind::Regex;
  } else if (m.text_.find('*') != std::string::npos) {
    m.kind_ = Kind::Glob;
  }
  return m;
}

bool StringMatcher::matches(std::string_view value) const {
  switch (kind_) {
    case Kind::Exact:
      return value == text_;
    case Kind::Glob:
      return detail::glob_match(text_, value);
    case Kind::Regex:
      return regex_->regex.full_match(value);
  }
  return false;
}

// ---- BuildNumberSpec --------------------------------------------------------------------------

Result<BuildNumberSpec> BuildNumberSpec::parse(std::string_view input) {
  std::string_view text = trim(input);
  BuildNumberSpec spec;
  struct OpText {
    std::string_view text;
    Op op;
  };
  static constexpr OpText kOps[] = {
      {"==", Op::Equal}, {"!=", Op::NotEqual}, {"<=", Op::LessEqual}, {">=", Op::GreaterEqual},
      {"<", Op::Less},   {">", Op::Greater},   {"=", Op::Equal}};
  std::string_view number = text;
  for (const auto& o : kOps)
    if (text.starts_with(o.text)) {
      spec.op_ = o.op;
      number = trim(text.substr(o.text.size()));
      break;
    }
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), spec.value_);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size())
    return fail(Code::InvalidArgument,
                "invalid build number spec '{}': expected an integer, optionally after ==, !=, <, "
                "<=, >, >=",
                text);
  return spec;
}

bool BuildNumberSpec::matches(std::int64_t n) const {
  switch (op_) {
    case Op::Equal:
      return n == value_;
    case Op::NotEqual:
      return n != value_;
    case Op::Less:
      return n < value_;
    case Op::LessEqual:
      return n <= value_;
    case Op::Greater:
      return n > value_;
    case Op::GreaterEqual:
      return n >= value_;
  }
  return false;
}

std::string BuildNumberSpec::to_string() const {
  static constexpr std::string_view kText[] = {"", "!=", "<", "<=", ">", ">="};
  return std::string(kText[int(op_)]) + std::to_string(value_);
}

// ---- MatchSpec --------------------------------------------------------------------------------

Result<MatchSpec> MatchSpec::parse(std::string_view input) {
  std::string_view spec = trim(input);
  auto bad = [&](std::size_t pos, std::string_view why) {
    return fail(Code::InvalidArgument, "invalid match spec '{}': {} at position {}", spec, why,
                pos);
  };
  if (auto hash = spec.find('#'); hash != std::string_view::npos) spec = trim(spec.substr(0, hash));
  if (spec.empty())
    return fail(Code::InvalidArgument, "invalid match spec '{}': empty spec", input);

  MatchSpec m;
  m.name_ = *StringMatcher::parse("*");

  // Legacy feature spec: "mkl@".
  if (spec.back() == '@') {
    std::string_view feature = trim(spec.substr(0, spec.size() - 1));
    if (feature.empty()) return bad(0, "expected a feature name before '@'");
    for (std::size_t i = 0; i < feature.size(); ++i)
      if (!std::isalnum(static_cast<unsigned char>(feature[i])) && feature[i] != '_' &&
          feature[i] != '-' && feature[i] != '.')
        return bad(i, fmt::format("invalid character '{}' in a feature name", feature[i]));
    m.track_features_ = std::string(feature);
    return m;
  }

  // A package file: ".../channel/subdir/name-version-build.conda".
  if ((spec.ends_with(".conda") || spec.ends_with(".tar.bz2")) &&
      spec.find('/') != std::string_view::npos) {
    std::size_t slash = spec.rfind('/');
    std::string_view fn = spec.substr(slash + 1);
    std::string_view stem = fn.substr(0, fn.size() - (fn.ends_with(".conda") ? 6 : 8));
    std::size_t b = stem.rfind('-');
    std::size_t v =
        b == std::string_view::npos || b == 0 ? std::string_view::npos : stem.rfind('-', b - 1);
    if (v == std::string_view::npos || v == 0)
      return bad(slash + 1, "expected a package file name of the form name-version-build");
    m.name_ = DE_TRY(StringMatcher::parse(stem.substr(0, v)));
    auto version = Version::parse(stem.substr(v + 1, b - v - 1));
    if (!version) return bad(slash + 1 + v + 1, version.error().message());
    m.version_ = DE_TRY(VersionSpec::parse("==" + version->to_string()));
    m.build_ = DE_TRY(StringMatcher::parse(stem.substr(b + 1)));
    m.fn_ = DE_TRY(StringMatcher::parse(fn));
    m.url_ = std::string(spec);
    m.from_url_ = true;
    ChannelParts parts = split_channel(spec.substr(0, slash));
    if (parts.channel) m.channel_ = DE_TRY(StringMatcher::parse(*parts.channel));
    m.subdir_ = parts.subdir;
    return m;
  }

  // Brackets: name[key=value, ...] at the end.
  std::string_view rest = spec;
  std::vector<KeyValue> brackets;
  if (auto open = spec.find('['); open != std::string_view::npos) {
    if (spec.back() != ']') {
      std::size_t close = spec.find(']', open);
      if (close == std::string_view::npos) return bad(spec.size(), "expected ']' to close the '['");
      return bad(close + 1, "unexpected text after ']'");
    }
    std::string_view body = spec.substr(open + 1, spec.size() - open - 2);
    brackets = DE_TRY(parse_brackets(spec, body, open + 1));
    rest = trim(spec.substr(0, open));
  }
  std::size_t rest_offset = std::size_t(rest.data() - spec.data());

  // Channel: "channel[/subdir]::".
  ChannelParts channel;
  if (auto sep = rest.rfind("::"); sep != std::string_view::npos) {
    if (!valid_channel_text(rest.substr(0, sep)))
      return bad(rest_offset, fmt::format("invalid channel '{}'", rest.substr(0, sep)));
    channel = split_channel(rest.substr(0, sep));
    rest_offset += sep + 2;
    rest = rest.substr(sep + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    rest_offset += colon + 1;  // "namespace:name": conda ignores the namespace
    rest = rest.substr(colon + 1);
  }

  // Name, then version and build.
  std::size_t name_end = 0;
  while (name_end < rest.size() && !detail::is_space(rest[name_end]) &&
         std::string_view("=<>!~").find(rest[name_end]) == std::string_view::npos)
    ++name_end;
  if (name_end == 0) return bad(rest_offset, "expected a package name");
  std::string_view name = rest.substr(0, name_end);
  bool regex_name = name.starts_with('^');
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
              c == '*' || c == '+' ||
              (regex_name && std::string_view("^$[]()|?\\{},").find(c) != std::string_view::npos);
    if (!ok)
      return bad(rest_offset + i, fmt::format("invalid character '{}' in the package name", c));
  }
  m.name_ = DE_TRY(StringMatcher::parse(name));

  std::optional<std::string> version_text, build_text;
  std::string_view version_build = trim(rest.substr(name_end));
  if (!version_build.empty()) {
    auto [version, build] = split_version_build(version_build);
    if (version.size() > 1 && version[0] == '=' && version != "==") {
      std::string_view after = std::string_view(version).substr(1);
      if (version.starts_with("==") && build.empty()) {
        version = version.substr(2);  // "==1.2" is the bare version "1.2"
      } else if (after.find_first_of("=,|") == std::string_view::npos) {
        // "=1.2" means "1.2.*"; but with a build, "=1.2=build" pins version 1.2 exactly.
        version =
            build.empty() && !after.ends_with('*') ? std::string(after) + "*" : std::string(after);
      }
    }
    version_text = version;
    if (!build.empty()) build_text = build;
  }

  // Bracket keys override what the spec said outside the brackets.
  for (const KeyValue& kv : brackets) {
    const std::string& v = kv.value;
    auto in_key = [&](auto result) -> decltype(result) {
      if (!result)
        return std::unexpected(std::move(result).error().add_context(
            fmt::format("invalid match spec '{}': key '{}' at position {}", spec, kv.key, kv.pos)));
      return result;
    };
    if (kv.key == "version") {
      version_text = v;
    } else if (kv.key == "build") {
      build_text = v;
    } else if (kv.key == "build_number") {
      m.build_number_ = DE_TRY(in_key(BuildNumberSpec::parse(v)));
    } else if (kv.key == "channel") {
      if (!valid_channel_text(v)) return bad(kv.pos, fmt::format("invalid channel '{}'", v));
      ChannelParts parts = split_channel(v);
      if (parts.channel) channel.channel = parts.channel;
      if (parts.subdir) channel.subdir = parts.subdir;
    } else if (kv.key == "subdir") {
      if (!valid_channel_text(v) || v.find('/') != std::string::npos)
        return bad(kv.pos, fmt::format("invalid subdir '{}'", v));
      channel.subdir = v;
    } else if (kv.key == "md5") {
      if (!is_hex(v, 32)) return bad(kv.pos, fmt::format("md5 '{}' is not 32 hex digits", v));
      m.md5_ = lower(v);
    } else if (kv.key == "sha256") {
      if (!is_hex(v, 64)) return bad(kv.pos, fmt::format("sha256 '{}' is not 64 hex digits", v));
      m.sha256_ = lower(v);
    } else if (kv.key == "license") {
      m.license_ = DE_TRY(in_key(StringMatcher::parse(v)));
    } else if (kv.key == "fn") {
      m.fn_ = DE_TRY(in_key(StringMatcher::parse(v)));
    } else if (kv.key == "url") {
      m.url_ = v;
    } else if (kv.key == "track_features" || kv.key == "features") {
      m.track_features_ = v;
    } else if (kv.key == "optional" || kv.key == "license_family" || kv.key == "target") {
      // Accepted and ignored, as conda does for matching.
    } else {
      return bad(kv.pos, fmt::format("unknown key '{}'", kv.key));
    }
  }

  if (version_text) {
    auto version = VersionSpec::parse(*version_text);
    if (!version)
      return std::unexpected(std::move(version).error().add_context(
          fmt::format("invalid match spec '{}': in the version", spec)));
    m.version_ = std::move(*version);
  }
  if (build_text) {
    bool regex_build = build_text->starts_with('^');
    for (char c : *build_text)
      if (regex_build ? (detail::is_space(c) || c == '\'' || c == '"' || c == '#')
                      : !(std::isalnum(static_cast<unsigned char>(c)) ||
                          std::string_view("_.+*!").find(c) != std::string_view::npos))
        return fail(Code::InvalidArgument,
                    "invalid match spec '{}': invalid character '{}' in the build string '{}'",
                    spec, c, *build_text);
    auto build = StringMatcher::parse(*build_text);
    if (!build)
      return std::unexpected(std::move(build).error().add_context(
          fmt::format("invalid match spec '{}': in the build string", spec)));
    m.build_ = std::move(*build);
  }
  if (channel.channel) m.channel_ = DE_TRY(StringMatcher::parse(*channel.channel));
  m.subdir_ = channel.subdir;
  return m;
}

std::string MatchSpec::to_string() const {
  // A package URL prints as itself: its fields text ("channel/subdir::name==version=build") would
  // match any record of that channel, name, version and build, where the URL matches only the
  // record at that URL (and some URLs' fields do not even form a valid spec).
  if (from_url_) return *url_;
  return fields_string();
}

std::string MatchSpec::fields_string() const {
  std::string out;
  std::vector<std::string> brackets;

  bool exact_channel = channel_ && channel_->is_exact();
  if (exact_channel) {
    out += channel_->to_string();
    if (subdir_) out += "/" + *subdir_;
    out += "::";
  } else {
    if (channel_) add_bracket(brackets, "channel", channel_->to_string());
    if (subdir_) add_bracket(brackets, "subdir", *subdir_);
  }
  out += name_.to_string();

  bool version_exact = false;
  if (!version_.is_any()) {
    std::string v = version_.to_string();
    bool complex = v.find_first_of("><$^|,") != std::string::npos;
    if (complex) {
      brackets.push_back("version=" + bracket_quoted(v));
    } else if (v.starts_with("!=") || v.starts_with("~=")) {
      if (build_)
        brackets.push_back("version=" + bracket_quoted(v));
      else
        out += v;
    } else if (v.starts_with("==")) {
      std::size_t star = v.find('*');
      if (star != std::string::npos && star == v.size() - 1) {
        // "==1.2.*" is a starts-with: print it as conda does, "=1.2".
        out += v.substr(1, v.size() - 1 - (v.ends_with(".*") ? 2 : 1));
      } else {
        out += v;  // "==1.2", or a glob "==1.*.3" which reparses to the same meaning
        version_exact = star == std::string::npos;
      }
    } else if (v.starts_with('=')) {
      // "=1.2" / "=1.2.*" (starts with) or "=1.*.3" (glob); only reachable through brackets.
      std::size_t star = v.find('*');
      if (star == std::string::npos || star == v.size() - 1)
        out += v.substr(0, v.size() - (v.ends_with(".*") ? 2 : v.ends_with('*') ? 1 : 0));
      else
        out += "=" + v;  // a glob: "==1.*.3" reparses as the bare glob "1.*.3", as "=1.*.3" means
      version_exact = false;
    } else if (v.ends_with('*') && v.find('*') == v.size() - 1) {
      // "1.2.*" (VersionSpec prints a bare starts-with that way) -> "=1.2".
      out += "=" + v.substr(0, v.size() - (v.ends_with(".*") ? 2 : 1));
    } else {
      out += "==" + v;  // a bare exact version, or a glob such as "1.*.3"
      version_exact = v.find('*') == std::string::npos;
    }
  }
  if (build_) {
    const std::string& b = build_->to_string();
    if (b.find_first_of("><$^|,") != std::string::npos)
      brackets.push_back("build=" + bracket_quoted(b));
    else if (b.find('*') == std::string::npos && version_exact)
      out += "=" + b;
    else
      add_bracket(brackets, "build", b);
  }
  if (build_number_) add_bracket(brackets, "build_number", build_number_->to_string());
  if (track_features_) add_bracket(brackets, "track_features", *track_features_);
  if (url_ && !channel_) add_bracket(brackets, "url", *url_);
  if (md5_) add_bracket(brackets, "md5", *md5_);
  if (sha256_) add_bracket(brackets, "sha256", *sha256_);
  if (license_) add_bracket(brackets, "license", license_->to_string());
  if (fn_ && !url_) add_bracket(brackets, "fn", fn_->to_string());

  if (!brackets.empty()) {
    out += '[';
    for (std::size_t i = 0; i < brackets.size(); ++i) {
      if (i) out += ',';
      out += brackets[i];
    }
    out += ']';
  }
  return out;
}

bool MatchSpec::matches(const PackageRecordView& r) const {
  if (!name_.matches(r.name)) return false;
  if (!version_.is_any() && (!r.version || !version_.contains(*r.version))) return false;
  if (build_ && !build_->matches(r.build)) return false;
  if (build_number_ && !build_number_->matches(r.build_number)) return false;
  if (channel_ && !channel_matches(*channel_, r.channel)) return false;
  if (subdir_ && r.subdir != *subdir_) return false;
  if (md5_ && lower(r.md5) != *md5_) return false;
  if (sha256_ && lower(r.sha256) != *sha256_) return false;
  if (license_ && !license_->matches(r.license)) return false;
  if (fn_ && !fn_->matches(r.fn)) return false;
  if (url_ && r.url != *url_) return false;
  if (track_features_ && !features_contain(r.track_features, *track_features_)) return false;
  return true;
}

}  // namespace de::conda
