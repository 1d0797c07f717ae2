// A small regular-expression engine for conda's `^...$` patterns (see spec_regex.hpp).
//
// Patterns are parsed into a tree, compiled into a program for a Thompson-style NFA and matched by
// simulating every thread at once (a Pike VM without captures): time is O(text × program) and
// memory O(program), whatever the pattern. std::regex backtracks (`^.*.*.*x$` takes exponential
// time) and its compiler has undefined behaviour on huge back-reference numbers, which is why it
// is not used for patterns that come from users, lock files and repodata.
//
// Syntax: the ECMAScript subset that version and build patterns use: literals, `.`, classes
// (`[a-z]`, `[^.]`, `\d \w \s` and their negations), groups `( )` and `(?: )`, alternation `|`,
// quantifiers `* + ? {n} {n,} {n,m}` (a trailing `?` for laziness is accepted: it does not change
// whether a text matches), anchors `^ $`, word boundaries `\b \B`, and escapes `\t \n \r \f \v \0
// \xHH \cX` and `\` before punctuation. Refused with a reason: back-references, look-arounds,
// quantifiers on nothing or on another quantifier (`a**`), patterns over kMaxPattern bytes, nesting
// over kMaxDepth, and patterns whose counted repeats expand beyond kMaxProgram instructions.
#include "conda/spec_regex.hpp"

#include <algorithm>
#include <bitset>
#include <cctype>
#include <string>
#include <vector>

namespace de::conda::detail {
namespace {

constexpr std::size_t kMaxPattern = 1024;  // conda's patterns are a few dozen bytes
constexpr std::size_t kMaxProgram = 10000;
constexpr int kMaxDepth = 50;
constexpr int kMaxCount = 1000;  // largest n or m in {n,m}

using CharSet = std::bitset<256>;

struct Node {
  enum class Kind { Empty, Set, Concat, Alt, Repeat, LineStart, LineEnd, WordEdge, NotWordEdge };
  Kind kind = Kind::Empty;
  CharSet set;                 // Set
  std::vector<Node> children;  // Concat, Alt; Repeat has one
  int min = 0, max = -1;       // Repeat; max -1 = unbounded

  static Node of(Kind k, int lo = 0, int hi = -1) {
    Node n;
    n.kind = k;
    n.min = lo;
    n.max = hi;
    return n;
  }
};

bool is_word(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

CharSet class_of(char letter) {  // d w s, lower case
  CharSet s;
  for (int c = 0; c < 256; ++c) {
    bool in = letter == 'd'   ? (c >= '0' && c <= '9')
              : letter == 'w' ? is_word(static_cast<unsigned char>(c))
                              : (c == ' ' || (c >= '\t' && c <= '\r'));
    s[static_cast<std::size_t>(c)] = in;
  }
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Parser {
 public:
  explicit Parser(std::string_view pattern) : p_(pattern) {}

  Result<Node> parse() {
    Node root = DE_TRY(parse_alternation(0));
    if (i_ < p_.size()) return error("unmatched ')'");
    return root;
  }

 private:
  std::unexpected<Error> error(std::string_view why) const {
    return fail(Code::InvalidArgument, "{} at position {}", why, i_);
  }
  bool at_end() const { return i_ >= p_.size(); }
  char peek() const { return p_[i_]; }

  Result<Node> parse_alternation(int depth) {
    if (depth > kMaxDepth) return error("groups nested too deeply");
    Node alt = Node::of(Node::Kind::Alt);
    alt.children.push_back(DE_TRY(parse_sequence(depth)));
    while (!at_end() && peek() == '|') {
      ++i_;
      alt.children.push_back(DE_TRY(parse_sequence(depth)));
    }
    if (alt.children.size() == 1) return std::move(alt.children[0]);
    return alt;
  }

  Result<Node> parse_sequence(int depth) {
    Node seq = Node::of(Node::Kind::Concat);
    while (!at_end() && peek() != '|' && peek() != ')') {
      Node atom = DE_TRY(parse_atom(depth));
      bool assertion = atom.kind == Node::Kind::LineStart || atom.kind == Node::Kind::LineEnd ||
                       atom.kind == Node::Kind::WordEdge || atom.kind == Node::Kind::NotWordEdge;
      if (DE_TRY(parse_quantifier(atom))) {
        if (assertion) return error("an anchor cannot be repeated");
        if (!at_end() && (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{'))
          return error("a quantifier cannot follow another quantifier");
      }
      seq.children.push_back(std::move(atom));
    }
    return seq;
  }

  // Reads "{n}", "{n,}" or "{n,m}" at i_ into min/max; false (i_ unchanged) when not one.
  Result<bool> parse_braces(int& min, int& max) {
    std::size_t j = i_ + 1;
    auto number = [&](int& out) {
      std::size_t begin = j;
      long value = 0;
      while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9' && value <= kMaxCount)
        value = value * 10 + (p_[j++] - '0');
      out = static_cast<int>(std::min<long>(value, kMaxCount + 1));
      return j > begin;
    };
    if (!number(min)) return false;
    max = min;
    if (j < p_.size() && p_[j] == ',') {
      ++j;
      if (!number(max)) max = -1;
    }
    if (j >= p_.size() || p_[j] != '}') return false;
    if (min > kMaxCount || max > kMaxCount) return error("a repeat count over 1000");
    if (max != -1 && max < min) return error("a repeat range {n,m} with m < n");
    i_ = j + 1;
    return true;
  }

  // Applies a quantifier at i_ to `atom`; false when there is none.
  Result<bool> parse_quantifier(Node& atom) {
    if (at_end()) return false;
    int min = 0, max = -1;
    char c = peek();
    if (c == '*' || c == '+' || c == '?') {
      min = c == '+' ? 1 : 0;
      max = c == '?' ? 1 : -1;
      ++i_;
    } else if (c != '{' || !DE_TRY(parse_braces(min, max))) {
      return false;
    }
    if (!at_end() && peek() == '?') ++i_;  // lazy: the same set of matching texts
    Node repeat = Node::of(Node::Kind::Repeat, min, max);
    repeat.children.push_back(std::move(atom));
    atom = std::move(repeat);
    return true;
  }

  Result<Node> parse_atom(int depth) {
    char c = p_[i_++];
    Node set = Node::of(Node::Kind::Set);
    switch (c) {
      case '(': {
        if (!at_end() && peek() == '?') {
          if (i_ + 1 < p_.size() && p_[i_ + 1] == ':') {
            i_ += 2;
          } else {
            return error("look-arounds are not supported");
          }
        }
        Node inner = DE_TRY(parse_alternation(depth + 1));
        if (at_end() || peek() != ')') return error("missing ')'");
        ++i_;
        return inner;
      }
      case '[':
        return parse_class();
      case '.':
        set.set.set();
        set.set['\n'] = set.set['\r'] = false;
        return set;
      case '^':
        return Node::of(Node::Kind::LineStart);
      case '$':
        return Node::of(Node::Kind::LineEnd);
      case '*':
      case '+':
      case '?':
        --i_;
        return error("nothing to repeat");
      case '{': {
        --i_;
        int min = 0, max = 0;
        if (DE_TRY(parse_braces(min, max))) return error("nothing to repeat");
        return error("'{' must be escaped");
      }
      case '\\': {
        if (at_end()) return error("a pattern cannot end with '\\'");
        char e = p_[i_];
        if (e == 'b' || e == 'B') {
          ++i_;
          return Node::of(e == 'b' ? Node::Kind::WordEdge : Node::Kind::NotWordEdge);
        }
        set.set = DE_TRY(parse_escape());
        return set;
      }
      default:
        set.set[static_cast<unsigned char>(c)] = true;
        return set;
    }
  }

  // The escape after a '\' at i_ (consumed) as a set of characters.
  Result<CharSet> parse_escape() {
    char e = p_[i_++];
    CharSet s;
    auto one = [&](int c) {
      s[static_cast<std::size_t>(c)] = true;
      return s;
    };
    switch (e) {
      case 'd':
      case 'w':
      case 's':
        return class_of(e);
      case 'D':
      case 'W':
      case 'S':
        return ~class_of(static_cast<char>(e - 'A' + 'a'));
      case 't':
        return one('\t');
      case 'n':
        return one('\n');
      case 'r':
        return one('\r');
      case 'f':
        return one('\f');
      case 'v':
        return one('\v');
      case 'b':  // only reached inside a class: backspace
        return one('\b');
      case '0':
        if (!at_end() && peek() >= '0' && peek() <= '9')
          return error("back-references are not supported");
        return one(0);
      case 'x': {
        if (i_ + 2 > p_.size() || hex_value(p_[i_]) < 0 || hex_value(p_[i_ + 1]) < 0)
          return error("'\\x' needs two hexadecimal digits");
        int value = hex_value(p_[i_]) * 16 + hex_value(p_[i_ + 1]);
        i_ += 2;
        return one(value);
      }
      case 'c':
        if (at_end() || !std::isalpha(static_cast<unsigned char>(peek())))
          return error("'\\c' needs a letter");
        return one(p_[i_++] % 32);
      default:
        break;
    }
    if (e >= '1' && e <= '9') return error("back-references are not supported");
    if (std::isalnum(static_cast<unsigned char>(e)))
      return error(fmt::format("unknown escape '\\{}'", e));
    return one(static_cast<unsigned char>(e));
  }

  Result<Node> parse_class() {
    Node set = Node::of(Node::Kind::Set);
    bool negate = !at_end() && peek() == '^';
    if (negate) ++i_;
    while (true) {
      if (at_end()) return error("missing ']'");
      if (peek() == ']') {
        ++i_;
        break;
      }
      // One item: a character (which may start a range) or a class escape.
      auto item = [&]() -> Result<std::pair<CharSet, int>> {  // int: the character, -1 a class
        char c = p_[i_++];
        if (c != '\\') return std::pair{CharSet{}, static_cast<int>(static_cast<unsigned char>(c))};
        if (at_end()) return error("missing ']'");
        CharSet s = DE_TRY(parse_escape());
        return std::pair{s, s.count() == 1 ? first_of(s) : -1};
      };
      auto [low_set, low] = DE_TRY(item());
      if (i_ + 1 < p_.size() && peek() == '-' && p_[i_ + 1] != ']') {
        ++i_;
        auto [high_set, high] = DE_TRY(item());
        if (low < 0 || high < 0) return error("a class cannot be a range bound");
        if (high < low) return error("a range out of order in '[...]'");
        for (int c = low; c <= high; ++c) set.set[static_cast<std::size_t>(c)] = true;
      } else if (low >= 0 && low_set.none()) {
        set.set[static_cast<std::size_t>(low)] = true;
      } else {
        set.set |= low_set;
      }
    }
    if (negate) set.set.flip();
    return set;
  }

  static int first_of(const CharSet& s) {
    for (std::size_t c = 0; c < s.size(); ++c)
      if (s[c]) return static_cast<int>(c);
    return -1;
  }

  std::string_view p_;
  std::size_t i_ = 0;
};

struct Inst {
  enum class Op { Char, Split, Jump, Assert, Match };
  Op op = Op::Match;
  std::size_t x = 0, y = 0;  // Split: both targets; Jump: x; Char: x = index into sets
  Node::Kind assertion = Node::Kind::Empty;
};

class Compiler {
 public:
  Result<std::vector<Inst>> compile(const Node& root, std::vector<CharSet>& sets) {
    sets_ = &sets;
    DE_TRY(emit(root));
    DE_TRY(push(Inst{.op = Inst::Op::Match}));
    return std::move(prog_);
  }

 private:
  Result<std::size_t> push(Inst inst) {
    if (prog_.size() >= kMaxProgram)
      return fail(Code::InvalidArgument, "the pattern is too complex (repeats expand beyond {} "
                                         "steps)", kMaxProgram);
    prog_.push_back(inst);
    return prog_.size() - 1;
  }

  Status emit(const Node& n) {
    switch (n.kind) {
      case Node::Kind::Empty:
        return {};
      case Node::Kind::Set:
        sets_->push_back(n.set);
        DE_TRY(push(Inst{.op = Inst::Op::Char, .x = sets_->size() - 1}));
        return {};
      case Node::Kind::Concat:
        for (const Node& child : n.children) DE_TRY(emit(child));
        return {};
      case Node::Kind::Alt: {
        // split L1, next; L1: child; jump end; next: split ... ; last child
        std::vector<std::size_t> jumps;
        for (std::size_t i = 0; i < n.children.size(); ++i) {
          std::size_t split = 0;
          bool last = i + 1 == n.children.size();
          if (!last) split = DE_TRY(push(Inst{.op = Inst::Op::Split}));
          if (!last) prog_[split].x = prog_.size();
          DE_TRY(emit(n.children[i]));
          if (!last) {
            jumps.push_back(DE_TRY(push(Inst{.op = Inst::Op::Jump})));
            prog_[split].y = prog_.size();
          }
        }
        for (std::size_t j : jumps) prog_[j].x = prog_.size();
        return {};
      }
      case Node::Kind::Repeat:
        return emit_repeat(n);
      default:
        DE_TRY(push(Inst{.op = Inst::Op::Assert, .assertion = n.kind}));
        return {};
    }
  }

  Status emit_repeat(const Node& n) {
    const Node& child = n.children[0];
    for (int i = 0; i < n.min; ++i) DE_TRY(emit(child));
    if (n.max == -1) {
      // loop: split body, out; body; jump loop
      std::size_t loop = DE_TRY(push(Inst{.op = Inst::Op::Split}));
      prog_[loop].x = prog_.size();
      DE_TRY(emit(child));
      std::size_t back = DE_TRY(push(Inst{.op = Inst::Op::Jump}));
      prog_[back].x = loop;
      prog_[loop].y = prog_.size();
      return {};
    }
    std::vector<std::size_t> splits;
    for (int i = n.min; i < n.max; ++i) {
      std::size_t split = DE_TRY(push(Inst{.op = Inst::Op::Split}));
      prog_[split].x = prog_.size();
      splits.push_back(split);
      DE_TRY(emit(child));
    }
    for (std::size_t s : splits) prog_[s].y = prog_.size();
    return {};
  }

  std::vector<Inst> prog_;
  std::vector<CharSet>* sets_ = nullptr;
};

}  // namespace

struct SpecRegex::Impl {
  std::vector<Inst> program;
  std::vector<CharSet> sets;
};

Result<SpecRegex> SpecRegex::compile(std::string_view pattern) {
  auto bad = [&](const Error& why) {
    return fail(Code::InvalidArgument, "invalid regular expression '{}': {}", pattern,
                why.message());
  };
  if (pattern.size() > kMaxPattern)
    return fail(Code::InvalidArgument,
                "invalid regular expression of {} bytes: at most {} are accepted", pattern.size(),
                kMaxPattern);
  auto tree = Parser(pattern).parse();
  if (!tree) return bad(tree.error());
  auto impl = std::make_shared<Impl>();
  auto program = Compiler().compile(*tree, impl->sets);
  if (!program) return bad(program.error());
  impl->program = std::move(*program);
  SpecRegex r;
  r.impl_ = std::move(impl);
  return r;
}

bool SpecRegex::full_match(std::string_view text) const {
  const auto& prog = impl_->program;
  const auto& sets = impl_->sets;
  std::vector<std::size_t> current, next, stack;
  std::vector<std::size_t> seen(prog.size(), 0);
  std::size_t generation = 0;

  auto holds = [&](Node::Kind kind, std::size_t pos) {
    bool before = pos > 0 && is_word(static_cast<unsigned char>(text[pos - 1]));
    bool after = pos < text.size() && is_word(static_cast<unsigned char>(text[pos]));
    switch (kind) {
      case Node::Kind::LineStart:
        return pos == 0;
      case Node::Kind::LineEnd:
        return pos == text.size();
      case Node::Kind::WordEdge:
        return before != after;
      default:
        return before == after;
    }
  };
  // Adds the threads reachable from `pc` without consuming a character (each pc once per step).
  auto add = [&](std::vector<std::size_t>& list, std::size_t pc, std::size_t pos) {
    stack.push_back(pc);
    while (!stack.empty()) {
      std::size_t at = stack.back();
      stack.pop_back();
      if (seen[at] == generation) continue;
      seen[at] = generation;
      const Inst& inst = prog[at];
      switch (inst.op) {
        case Inst::Op::Jump:
          stack.push_back(inst.x);
          break;
        case Inst::Op::Split:
          stack.push_back(inst.y);
          stack.push_back(inst.x);
          break;
        case Inst::Op::Assert:
          if (holds(inst.assertion, pos)) stack.push_back(at + 1);
          break;
        default:
          list.push_back(at);
      }
    }
  };

  ++generation;
  add(current, 0, 0);
  for (std::size_t pos = 0; pos < text.size() && !current.empty(); ++pos) {
    ++generation;
    next.clear();
    auto c = static_cast<unsigned char>(text[pos]);
    for (std::size_t pc : current)
      if (prog[pc].op == Inst::Op::Char && sets[prog[pc].x][c]) add(next, pc + 1, pos + 1);
    std::swap(current, next);
  }
  for (std::size_t pc : current)
    if (prog[pc].op == Inst::Op::Match) return true;
  return false;
}

}  // namespace de::conda::detail
