#include "docker_envs/pypi/marker.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "docker_envs/pypi/specifier.hpp"
#include "docker_envs/pypi/version.hpp"
#include "pypi/text.hpp"

namespace de::pypi {

// Named (not anonymous): Marker::Node, declared in the public header, holds these types.
namespace marker_impl {

enum class Var {
  PythonVersion,
  PythonFullVersion,
  OsName,
  SysPlatform,
  PlatformRelease,
  PlatformSystem,
  PlatformVersion,
  PlatformMachine,
  PlatformPythonImplementation,
  ImplementationName,
  ImplementationVersion,
  Extra,
};

struct VarName {
  std::string_view name;
  Var var;
};
// PEP 508's names first (to_string() prints the first spelling of each), then the legacy ones.
constexpr std::array<VarName, 18> kVars{{
    {"python_version", Var::PythonVersion},
    {"python_full_version", Var::PythonFullVersion},
    {"os_name", Var::OsName},
    {"sys_platform", Var::SysPlatform},
    {"platform_release", Var::PlatformRelease},
    {"platform_system", Var::PlatformSystem},
    {"platform_version", Var::PlatformVersion},
    {"platform_machine", Var::PlatformMachine},
    {"platform_python_implementation", Var::PlatformPythonImplementation},
    {"implementation_name", Var::ImplementationName},
    {"implementation_version", Var::ImplementationVersion},
    {"extra", Var::Extra},
    {"os.name", Var::OsName},
    {"sys.platform", Var::SysPlatform},
    {"platform.version", Var::PlatformVersion},
    {"platform.machine", Var::PlatformMachine},
    {"platform.python_implementation", Var::PlatformPythonImplementation},
    {"python_implementation", Var::PlatformPythonImplementation},
}};

std::string_view var_name(Var v) {
  for (const auto& n : kVars)
    if (n.var == v) return n.name;
  return "?";
}

const std::string& var_value(const MarkerEnvironment& env, Var v) {
  switch (v) {
    case Var::PythonVersion: return env.python_version;
    case Var::PythonFullVersion: return env.python_full_version;
    case Var::OsName: return env.os_name;
    case Var::SysPlatform: return env.sys_platform;
    case Var::PlatformRelease: return env.platform_release;
    case Var::PlatformSystem: return env.platform_system;
    case Var::PlatformVersion: return env.platform_version;
    case Var::PlatformMachine: return env.platform_machine;
    case Var::PlatformPythonImplementation: return env.platform_python_implementation;
    case Var::ImplementationName: return env.implementation_name;
    case Var::ImplementationVersion: return env.implementation_version;
    case Var::Extra: break;
  }
  static const std::string empty;
  return empty;
}

enum class Op { Less, LessEqual, NotEqual, Equal, GreaterEqual, Greater, Compatible, Arbitrary, In, NotIn };

struct OpName {
  std::string_view text;
  Op op;
};
// Longest first.
constexpr std::array<OpName, 8> kSymbolOps{{{"===", Op::Arbitrary},
                                            {"<=", Op::LessEqual},
                                            {">=", Op::GreaterEqual},
                                            {"==", Op::Equal},
                                            {"!=", Op::NotEqual},
                                            {"~=", Op::Compatible},
                                            {"<", Op::Less},
                                            {">", Op::Greater}}};

std::string_view op_name(Op op) {
  if (op == Op::In) return "in";
  if (op == Op::NotIn) return "not in";
  for (const auto& o : kSymbolOps)
    if (o.op == op) return o.text;
  return "?";
}

struct Operand {
  std::optional<Var> var;  // a variable, or else the string `text`
  std::string text;
};

constexpr int kMaxDepth = 64;

bool is_ident(char c) { return is_alnum(c) || c == '_' || c == '.'; }

}  // namespace marker_impl

using namespace marker_impl;

struct Marker::Node {
  enum class Kind { Compare, And, Or };
  Kind kind = Kind::Compare;
  Operand lhs, rhs;
  Op op = Op::Equal;
  std::vector<Node> children;  // And, Or
};

namespace {

using Node = Marker::Node;

class MarkerParser {
 public:
  explicit MarkerParser(std::string_view text) : s_(text) {}

  Result<Node> parse() {
    auto node = DE_TRY(parse_or(0));
    skip_ws();
    if (i_ != s_.size()) return error("'and', 'or' or the end of the marker");
    return node;
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }

  // A keyword at the cursor (after whitespace), not followed by an identifier character.
  bool keyword(std::string_view word) {
    skip_ws();
    if (!s_.substr(i_).starts_with(word)) return false;
    std::size_t end = i_ + word.size();
    if (end < s_.size() && is_ident(s_[end])) return false;
    i_ = end;
    return true;
  }

  std::unexpected<Error> error(std::string_view expected) const {
    return fail(Code::InvalidArgument, "invalid marker '{}': expected {} at position {}", s_,
                expected, i_);
  }

  Result<Node> parse_or(int depth) {
    Node first = DE_TRY(parse_and(depth));
    if (!peek_keyword("or")) return first;
    Node node{.kind = Node::Kind::Or};
    node.children.push_back(std::move(first));
    while (keyword("or")) node.children.push_back(DE_TRY(parse_and(depth)));
    return node;
  }

  Result<Node> parse_and(int depth) {
    Node first = DE_TRY(parse_expr(depth));
    if (!peek_keyword("and")) return first;
    Node node{.kind = Node::Kind::And};
    node.children.push_back(std::move(first));
    while (keyword("and")) node.children.push_back(DE_TRY(parse_expr(depth)));
    return node;
  }

  bool peek_keyword(std::string_view word) {
    std::size_t save = i_;
    bool found = keyword(word);
    i_ = save;
    return found;
  }

  Result<Node> parse_expr(int depth) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == '(') {
      if (depth >= kMaxDepth) return error(fmt::format("at most {} nested parentheses", kMaxDepth));
      ++i_;
      Node inner = DE_TRY(parse_or(depth + 1));
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != ')') return error("')'");
      ++i_;
      return inner;
    }
    Node node;
    node.lhs = DE_TRY(operand());
    node.op = DE_TRY(parse_op());
    node.rhs = DE_TRY(operand());
    return node;
  }

  Result<Operand> operand() {
    skip_ws();
    if (i_ >= s_.size()) return error("a marker variable or a quoted string");
    char c = s_[i_];
    if (c == '"' || c == '\'') {
      std::size_t close = s_.find(c, i_ + 1);
      if (close == std::string_view::npos) return error(fmt::format("a closing {}", c));
      Operand o{.var = std::nullopt, .text = std::string(s_.substr(i_ + 1, close - i_ - 1))};
      i_ = close + 1;
      return o;
    }
    std::size_t start = i_;
    while (i_ < s_.size() && is_ident(s_[i_])) ++i_;
    std::string_view word = s_.substr(start, i_ - start);
    for (const auto& v : kVars)
      if (word == v.name) return Operand{.var = v.var, .text = {}};
    i_ = start;
    if (word.empty()) return error("a marker variable or a quoted string");
    return fail(Code::InvalidArgument,
                "invalid marker '{}': unknown variable '{}' at position {} (known: python_version, "
                "python_full_version, os_name, sys_platform, platform_release, platform_system, "
                "platform_version, platform_machine, platform_python_implementation, "
                "implementation_name, implementation_version, extra)",
                s_, word, start);
  }

  Result<Op> parse_op() {
    skip_ws();
    for (const auto& o : kSymbolOps) {
      if (s_.substr(i_).starts_with(o.text)) {
        i_ += o.text.size();
        return o.op;
      }
    }
    if (keyword("in")) return Op::In;
    std::size_t save = i_;
    if (keyword("not")) {
      if (i_ < s_.size() && is_space(s_[i_]) && keyword("in")) return Op::NotIn;
      i_ = save;
    }
    return error("a comparison operator (< <= != == >= > ~= === in, not in)");
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

bool compare_strings(Op op, std::string_view a, std::string_view b) {
  switch (op) {
    case Op::Equal: return a == b;
    case Op::NotEqual: return a != b;
    case Op::Less: return a < b;
    case Op::LessEqual: return a <= b;
    case Op::Greater: return a > b;
    case Op::GreaterEqual: return a >= b;
    case Op::In: return b.find(a) != std::string_view::npos;
    case Op::NotIn: return b.find(a) == std::string_view::npos;
    case Op::Compatible:
    case Op::Arbitrary: break;  // no string meaning: false
  }
  return false;
}

bool evaluate_compare(const Node& n, const MarkerEnvironment& env, std::string_view extra) {
  auto value = [&](const Operand& o) -> std::string {
    if (!o.var) return o.text;
    if (*o.var == Var::Extra) return std::string(extra);
    return var_value(env, *o.var);
  };
  std::string lhs = value(n.lhs);
  std::string rhs = value(n.rhs);
  bool is_extra = (n.lhs.var == Var::Extra) || (n.rhs.var == Var::Extra);
  if (is_extra && (n.op == Op::Equal || n.op == Op::NotEqual)) {
    bool eq = normalize_name(lhs) == normalize_name(rhs);
    return n.op == Op::Equal ? eq : !eq;
  }
  if (n.op != Op::In && n.op != Op::NotIn) {
    auto spec = Specifier::parse(std::string(op_name(n.op)) + rhs);
    if (spec) {
      auto v = Version::parse(lhs);
      if (v) return spec->matches(*v);
    }
  }
  return compare_strings(n.op, lhs, rhs);
}

bool evaluate_node(const Node& n, const MarkerEnvironment& env, std::string_view extra) {
  switch (n.kind) {
    case Node::Kind::Compare:
      return evaluate_compare(n, env, extra);
    case Node::Kind::And:
      return std::all_of(n.children.begin(), n.children.end(),
                         [&](const Node& c) { return evaluate_node(c, env, extra); });
    case Node::Kind::Or:
      return std::any_of(n.children.begin(), n.children.end(),
                         [&](const Node& c) { return evaluate_node(c, env, extra); });
  }
  return false;
}

bool node_mentions_extra(const Node& n) {
  if (n.kind == Node::Kind::Compare) return n.lhs.var == Var::Extra || n.rhs.var == Var::Extra;
  return std::any_of(n.children.begin(), n.children.end(), node_mentions_extra);
}

std::string operand_text(const Operand& o) {
  if (o.var) return std::string(var_name(*o.var));
  char q = o.text.find('"') == std::string::npos ? '"' : '\'';
  return q + o.text + q;
}

std::string node_text(const Node& n) {
  if (n.kind == Node::Kind::Compare)
    return operand_text(n.lhs) + " " + std::string(op_name(n.op)) + " " + operand_text(n.rhs);
  std::string out;
  for (const auto& c : n.children) {
    if (!out.empty()) out += n.kind == Node::Kind::And ? " and " : " or ";
    bool paren = n.kind == Node::Kind::And && c.kind == Node::Kind::Or;
    out += paren ? "(" + node_text(c) + ")" : node_text(c);
  }
  return out;
}

}  // namespace

Result<Marker> Marker::parse(std::string_view text) {
  if (text.size() > 64 * 1024)
    return fail(Code::InvalidArgument, "invalid marker: longer than 65536 characters");
  MarkerParser parser(text);
  Marker m;
  m.root_ = std::make_shared<const Node>(DE_TRY(parser.parse()));
  return m;
}

bool Marker::evaluate(const MarkerEnvironment& env, std::string_view extra) const {
  return !root_ || evaluate_node(*root_, env, extra);
}

bool Marker::mentions_extra() const { return root_ && node_mentions_extra(*root_); }

std::string Marker::to_string() const { return root_ ? node_text(*root_) : std::string(); }

}  // namespace de::pypi
