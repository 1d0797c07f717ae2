#include "docker_envs/conda/version_spec.hpp"

#include <optional>
#include <vector>

#include "conda/spec_regex.hpp"
#include "conda/spec_text.hpp"

namespace de::conda {

struct VersionSpec::Node {
  enum class Kind {
    Any,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    StartsWith,
    NotStartsWith,
    Compatible,
    Glob,
    NotGlob,
    Regex,
    And,
    Or,
  };
  Kind kind = Kind::Any;
  Version version;                                    // the operand of comparison kinds
  std::string pattern;                                // Glob/NotGlob, lower-case
  std::optional<detail::SpecRegex> regex;             // Regex
  std::string text;                                   // canonical text of a primary
  std::vector<std::shared_ptr<const Node>> children;  // And/Or
};

namespace {

using Node = VersionSpec::Node;
using Kind = Node::Kind;
using NodePtr = std::shared_ptr<const Node>;

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

bool is_op_char(char c) { return c == '=' || c == '<' || c == '>' || c == '!' || c == '~'; }

// Recursive-descent parser over the trimmed spec text; positions in errors are 0-based offsets
// into that text.
class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<NodePtr> parse() {
    NodePtr root = DE_TRY(parse_or(0));
    skip_space();
    if (pos_ < s_.size()) {
      if (s_[pos_] == ')') return error(pos_, "unmatched ')'");
      return error(pos_, fmt::format("unexpected '{}'", s_[pos_]));
    }
    return root;
  }

 private:
  std::unexpected<Error> error(std::size_t pos, std::string_view why) const {
    return fail(Code::InvalidArgument, "invalid version spec '{}': {} at position {}", s_, why,
                pos);
  }

  void skip_space() {
    while (pos_ < s_.size() && detail::is_space(s_[pos_])) ++pos_;
  }

  static NodePtr group(Kind kind, std::vector<NodePtr> items) {
    if (items.size() == 1) return items.front();
    auto node = std::make_shared<Node>();
    node->kind = kind;
    for (auto& item : items) {
      if (item->kind == kind)  // flatten (a,b),c into a,b,c
        node->children.insert(node->children.end(), item->children.begin(), item->children.end());
      else
        node->children.push_back(std::move(item));
    }
    return node;
  }

  Result<NodePtr> parse_or(int depth) {
    if (depth > 64) return error(pos_, "parentheses nested too deeply");
    std::vector<NodePtr> items;
    items.push_back(DE_TRY(parse_and(depth)));
    for (skip_space(); pos_ < s_.size() && s_[pos_] == '|'; skip_space()) {
      ++pos_;
      items.push_back(DE_TRY(parse_and(depth)));
    }
    return group(Kind::Or, std::move(items));
  }

  Result<NodePtr> parse_and(int depth) {
    std::vector<NodePtr> items;
    items.push_back(DE_TRY(parse_primary(depth)));
    for (skip_space(); pos_ < s_.size() && s_[pos_] == ','; skip_space()) {
      ++pos_;
      items.push_back(DE_TRY(parse_primary(depth)));
    }
    return group(Kind::And, std::move(items));
  }

  Result<NodePtr> parse_primary(int depth) {
    skip_space();
    if (pos_ >= s_.size()) {
      if (pos_ > 0) return error(pos_, fmt::format("expected a version after '{}'", s_[pos_ - 1]));
      return error(pos_, "expected a version");
    }
    char c = s_[pos_];
    if (c == '(') {
      std::size_t open = pos_++;
      NodePtr inner = DE_TRY(parse_or(depth + 1));
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != ')')
        return error(pos_, fmt::format("expected ')' to close the '(' from position {}", open));
      ++pos_;
      return inner;
    }
    if (c == ')' || c == '|' || c == ',') {
      if (pos_ == 0) return error(pos_, fmt::format("expected a version before '{}'", c));
      return error(pos_, fmt::format("expected a version between '{}' and '{}'", s_[pos_ - 1], c));
    }
    if (c == '^') return parse_regex();
    std::size_t begin = pos_;
    while (pos_ < s_.size() && s_[pos_] != '(' && s_[pos_] != ')' && s_[pos_] != '|' &&
           s_[pos_] != ',')
      ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '(')
      return error(pos_, "unexpected '(' (missing ',' or '|' before it?)");
    return parse_atom(begin, pos_);
  }

  Result<NodePtr> parse_regex() {
    std::size_t begin = pos_;
    std::size_t dollar = s_.find('$', pos_);
    if (dollar == std::string_view::npos)
      return error(begin, "a regular expression starting with '^' must end with '$'");
    for (std::size_t i = begin; i < dollar; ++i)
      if (s_[i] == '\'' || s_[i] == '"' || detail::is_space(s_[i]))
        return error(
            i, "quotes and whitespace cannot match a version, so a regex may not contain them");
    pos_ = dollar + 1;
    auto node = std::make_shared<Node>();
    node->kind = Kind::Regex;
    node->text = std::string(s_.substr(begin, pos_ - begin));
    auto regex = detail::SpecRegex::compile(node->text);
    if (!regex) return error(begin, regex.error().message());
    node->regex = std::move(*regex);
    return NodePtr(node);
  }

  Result<Version> parse_version(std::string_view body, std::size_t at) {
    auto v = Version::parse(body);
    if (!v)
      return std::unexpected(std::move(v).error().add_context(
          fmt::format("invalid version spec '{}' (version at position {})", s_, at)));
    return std::move(*v);
  }

  // One constraint: [op] version, in s_[begin, end) (may carry surrounding whitespace).
  Result<NodePtr> parse_atom(std::size_t begin, std::size_t end) {
    while (begin < end && detail::is_space(s_[begin])) ++begin;
    while (end > begin && detail::is_space(s_[end - 1])) --end;
    std::string_view atom = s_.substr(begin, end - begin);

    static constexpr std::string_view kOps[] = {"==", "!=", "<=", ">=", "~=", "=", "<", ">"};
    std::string_view op;
    if (is_op_char(atom.front())) {
      for (std::string_view candidate : kOps)
        if (atom.starts_with(candidate)) {
          op = candidate;
          break;
        }
      if (op.empty() || (atom.size() > op.size() && is_op_char(atom[op.size()]))) {
        std::size_t n = 0;
        while (n < atom.size() && is_op_char(atom[n])) ++n;
        return error(begin, fmt::format("invalid operator '{}'", atom.substr(0, n)));
      }
    }
    std::size_t body_pos = begin + op.size();
    while (body_pos < end && detail::is_space(s_[body_pos])) ++body_pos;
    if (body_pos >= end) return error(body_pos, fmt::format("expected a version after '{}'", op));
    if (is_op_char(s_[body_pos]))
      return error(body_pos,
                   fmt::format("expected a version after '{}', found '{}'", op, s_[body_pos]));
    std::string_view body = s_.substr(body_pos, end - body_pos);
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '$' || body[i] == '^')
        return error(body_pos + i, "a regular expression must start with '^' and end with '$'");
      if (detail::is_space(body[i]))
        return error(body_pos + i, "unexpected whitespace inside a version");
    }

    auto node = std::make_shared<Node>();
    std::string_view stripped = body;
    while (!stripped.empty() && stripped.back() == '*') stripped.remove_suffix(1);

    if (stripped.empty()) {  // *, =*, >=* ...
      if (!(op.empty() || op == "=" || op == "==" || op == ">=" || op == "<="))
        return error(body_pos, fmt::format("'{}' cannot be followed by '*'", op));
      node->kind = Kind::Any;
      node->text = "*";
      return NodePtr(node);
    }

    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      std::string_view vtext = body.ends_with(".*") ? body.substr(0, body.size() - 2) : body;
      node->version = DE_TRY(parse_version(vtext, body_pos));
      node->kind = op == "<"    ? Kind::Less
                   : op == "<=" ? Kind::LessEqual
                   : op == ">"  ? Kind::Greater
                                : Kind::GreaterEqual;
      node->text = std::string(op) + std::string(body);
      return NodePtr(node);
    }
    if (op == "~=") {
      if (auto star = body.find('*'); star != std::string_view::npos)
        return error(body_pos + star, "'~=' cannot be combined with '*'");
      node->version = DE_TRY(parse_version(body, body_pos));
      node->kind = Kind::Compatible;
      node->text = "~=" + std::string(body);
      return NodePtr(node);
    }

    // op is one of "", "=", "==", "!=".
    bool negate = op == "!=";
    if (stripped.find('*') != std::string_view::npos) {
      // A glob over the version text; check that it is otherwise made of version characters.
      for (std::size_t i = 0; i < body.size(); ++i) {
        char c = body[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '.' || c == '_' || c == '-' || c == '+' || c == '!' || c == '*';
        if (!ok) return error(body_pos + i, fmt::format("invalid character '{}' in a version", c));
      }
      node->kind = negate ? Kind::NotGlob : Kind::Glob;
      node->pattern = to_lower(body);
      node->text = std::string(op) + std::string(body);
      return NodePtr(node);
    }
    if (stripped.size() < body.size()) {  // trailing '*': starts with
      std::string_view prefix = stripped;
      if (prefix.ends_with('.')) prefix.remove_suffix(1);
      if (prefix.empty()) return error(body_pos, "expected a version before '.*'");
      node->version = DE_TRY(parse_version(prefix, body_pos));
      node->kind = negate ? Kind::NotStartsWith : Kind::StartsWith;
      // One spelling for every way of writing it ("1.2*", "1.2.*", "1.2.***"), so that printing
      // and parsing again gives the same text.
      node->text = std::string(op) + std::string(prefix) + ".*";
      return NodePtr(node);
    }
    node->version = DE_TRY(parse_version(body, body_pos));
    node->kind = negate ? Kind::NotEqual : op == "=" ? Kind::StartsWith : Kind::Equal;
    node->text = std::string(op) + std::string(body);
    return NodePtr(node);
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

bool contains(const Node& n, const Version& v) {
  switch (n.kind) {
    case Kind::Any:
      return true;
    case Kind::Equal:
      return v == n.version;
    case Kind::NotEqual:
      return v != n.version;
    case Kind::Less:
      return v < n.version;
    case Kind::LessEqual:
      return v <= n.version;
    case Kind::Greater:
      return v > n.version;
    case Kind::GreaterEqual:
      return v >= n.version;
    case Kind::StartsWith:
      return v.starts_with(n.version);
    case Kind::NotStartsWith:
      return !v.starts_with(n.version);
    case Kind::Compatible: {
      std::size_t segments = n.version.segment_count();
      return v.compatible_with(n.version, segments > 0 ? segments - 1 : 0);
    }
    case Kind::Glob:
      return detail::glob_match(n.pattern, to_lower(v.to_string()));
    case Kind::NotGlob:
      return !detail::glob_match(n.pattern, to_lower(v.to_string()));
    case Kind::Regex:
      return n.regex->full_match(v.to_string());
    case Kind::And:
      for (const auto& c : n.children)
        if (!contains(*c, v)) return false;
      return true;
    case Kind::Or:
      for (const auto& c : n.children)
        if (contains(*c, v)) return true;
      return false;
  }
  return false;
}

void render(const Node& n, std::string& out) {
  if (n.kind == Kind::And || n.kind == Kind::Or) {
    bool first = true;
    for (const auto& c : n.children) {
      if (!first) out += n.kind == Kind::And ? ',' : '|';
      first = false;
      bool paren = n.kind == Kind::And && c->kind == Kind::Or;
      if (paren) out += '(';
      render(*c, out);
      if (paren) out += ')';
    }
    return;
  }
  out += n.text;
}

NodePtr any_node() {
  static const NodePtr node = [] {
    auto n = std::make_shared<Node>();
    n->kind = Kind::Any;
    n->text = "*";
    return n;
  }();
  return node;
}

}  // namespace

VersionSpec::VersionSpec() : root_(any_node()) {}

Result<VersionSpec> VersionSpec::parse(std::string_view text) {
  std::string_view trimmed = detail::trim(text);
  if (trimmed.empty()) return VersionSpec();
  Parser parser(trimmed);
  return VersionSpec(DE_TRY(parser.parse()));
}

bool VersionSpec::contains(const Version& version) const {
  return conda::contains(*root_, version);
}

std::string VersionSpec::to_string() const {
  std::string out;
  render(*root_, out);
  return out;
}

bool VersionSpec::is_any() const { return root_->kind == Kind::Any; }

bool VersionSpec::is_exact() const { return root_->kind == Kind::Equal; }

}  // namespace de::conda
