// Differential tests against rattler (conda/rattler compiled to wasm, npm @conda-org/rattler).
//
// Runs only where `node` and tests/conda/rattler/node_modules are present (set up with
// `cd tests/conda/rattler && npm ci`). Generates random versions and version specs (seed printed;
// fresh per run unless DE_SEED is set), adds the shared vector files when present, asks
// rattler_oracle.mjs for rattler's verdicts and compares them with ours.
//
// Every disagreement is sorted into a class. Classes where rattler knowingly differs from conda's
// documented rules (which we follow) are listed in known_classes() with the rule; any disagreement
// outside them fails the test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "docker_envs/conda/version.hpp"
#include "docker_envs/conda/version_spec.hpp"
#include "support/testdata.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

fs::path harness_dir() { return fs::path(DE_SOURCE_DIR) / "tests/conda/rattler"; }

// Skips unless node and the installed rattler module are available.
#define DE_REQUIRE_RATTLER()                                                                     \
  do {                                                                                           \
    if (test::run_command("command -v node >/dev/null").status != 0)                             \
      GTEST_SKIP() << "node is not installed; rattler comparison skipped";                       \
    if (!fs::exists(harness_dir() / "node_modules/@conda-org/rattler/package.json"))             \
      GTEST_SKIP() << "rattler is not installed; run `npm ci` in tests/conda/rattler to enable " \
                      "the rattler comparison";                                                  \
  } while (0)

std::uint64_t seed_for_run() {
  if (const char* s = std::getenv("DE_SEED"); s && *s) return std::strtoull(s, nullptr, 10);
  return std::random_device{}() ^ (std::uint64_t(std::random_device{}()) << 32);
}

// Random conda-looking versions: mostly valid, biased to small numbers so that specs built from
// the same generator match often; a few malformed ones to compare rejection.
class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < percent; }
  template <class T>
  const T& pick_of(const std::vector<T>& v) {
    return v[pick(int(v.size()))];
  }

  std::string number() {
    if (chance(5)) return std::to_string(2000 + pick(30));
    if (chance(5)) return "0" + std::to_string(pick(10));  // leading zero
    return std::to_string(pick(chance(70) ? 4 : 15));
  }
  std::string word() {
    static const std::vector<std::string> words = {
        "a", "b", "rc", "dev", "post", "alpha", "beta", "c", "z", "pre", "g", "devdev", "r", "p"};
    std::string w = pick_of(words);
    if (chance(5)) w[0] = char(w[0] - 'a' + 'A');
    return w;
  }
  std::string segment() {
    int shape = pick(10);
    if (shape < 6) return number();
    if (shape < 8) return number() + word() + (chance(50) ? number() : "");
    if (shape < 9) return word() + (chance(60) ? number() : "");
    return number() + word();
  }
  std::string version() {
    if (chance(3)) {
      static const std::vector<std::string> bad = {"",   "1..2",  "1.",  ".1",   "1!2!3", "+1",
                                                   "1+", "1-2_3", "a!1", "1.2$", "1 2",   "1+2+3"};
      return pick_of(bad);
    }
    std::string out;
    if (chance(8)) out += std::to_string(pick(3)) + "!";
    int n = 1 + pick(4);
    char sep = chance(85) ? '.' : chance(50) ? '_' : '-';
    for (int i = 0; i < n; ++i) {
      if (i) out += chance(85) ? '.' : sep == '.' ? '.' : sep;
      out += segment();
    }
    if (chance(3)) out += "_";
    if (chance(8)) {
      out += "+";
      int m = 1 + pick(2);
      for (int i = 0; i < m; ++i) out += (i ? "." : "") + segment();
    }
    return out;
  }
  std::string primary() {
    static const std::vector<std::string> ops = {"", "==", "!=", "<", "<=", ">", ">=", "=", "~="};
    std::string op = pick_of(ops);
    if (chance(3)) return "*";
    std::string v = version();
    while (v.empty() || v.find_first_of(" $") != std::string::npos) v = version();
    std::string suffix;
    if ((op.empty() || op == "=" || op == "!=" || op == "==") && chance(30))
      suffix = chance(70) ? ".*" : "*";
    if ((op == ">=" || op == "<") && chance(5)) suffix = ".*";
    return op + v + suffix;
  }
  std::string spec(int depth = 0) {
    int n = 1 + (chance(60) ? 0 : pick(3));
    std::string out;
    for (int i = 0; i < n; ++i) {
      if (i) out += chance(60) ? "," : "|";
      if (depth < 1 && chance(10))
        out += "(" + spec(depth + 1) + ")";
      else
        out += primary();
    }
    return out;
  }

 private:
  std::mt19937_64 rng_;
};

struct Query {
  char kind;  // p, c, s, m
  std::string a, b;
};

std::string ours(const Query& q) {
  auto version = [](const std::string& t) { return Version::parse(t); };
  switch (q.kind) {
    case 'p':
      return version(q.a) ? "ok" : "E";
    case 'c': {
      auto a = version(q.a), b = version(q.b);
      if (!a || !b) return "E";
      auto c = *a <=> *b;
      return c < 0 ? "-1" : c > 0 ? "1" : "0";
    }
    case 's': {
      auto a = version(q.a), b = version(q.b);
      if (!a || !b) return "E";
      return a->starts_with(*b) ? "1" : "0";
    }
    case 'm': {
      auto s = VersionSpec::parse(q.a);
      auto v = version(q.b);
      if (!s || !v) return "E";
      return s->contains(*v) ? "1" : "0";
    }
  }
  return "?";
}

// Disagreement classes where rattler departs from conda's documented rules (which we follow and
// which the shared vectors check). classify() names a class only when the inputs show its rule.
const std::map<std::string, std::string>& known_classes() {
  static const std::map<std::string, std::string> m = {
      {"dev-prefixed-string",
       "conda treats only the exact run `dev` as special; `devdev`, `devx` are ordinary strings "
       "compared bytewise (`a` < `devdev`). rattler sorts every string starting with `dev` before "
       "all other strings"},
      {"starts-with-tail",
       "conda's starts-with (`=1.7`, `1.7.*`, `1.7*`) compares the version only up to the "
       "prefix's last atom, a string atom by string prefix: 1.7a and 1.7post start with 1.7, "
       "0.4.1p1 with 0.4.1p (conda/mamba vectors). rattler compares whole segments"},
      {"starts-with-padding",
       "conda pads a missing atom with 0 when testing starts-with, also inside a segment: "
       "7g.3 starts with 7g0, as 1.0 starts with 1.0.0 (conda vector: `1.0.0*` contains 1.0); "
       "rattler pads missing segments but not atoms inside one"},
      {"starts-with-local",
       "a starts-with prefix with a local part (`2+0`) requires equal main versions and then "
       "compares the local parts (conda vectors: 0.4.1+1.3 starts with 0.4.1+1); rattler "
       "answers differently for main versions that are not equal (2.00.r1 vs 2+0)"},
      {"exact-with-star",
       "`==1.7.1.*` is a starts-with (mamba vector: contains 1.7.1.1); rattler drops the `.*` "
       "and reads `==1.7.1`"},
      {"glob",
       "a `*` inside a version spec (`1.*.3`, `*.*`) is a glob over the version text (conda/mamba "
       "vectors: `*.*` does not contain 3); rattler rejects such specs or reads them as `*`"},
      {"trailing-underscore",
       "conda accepts a spec version ending in `_` (`openssl>=1.1.1_`, conda canonical-form "
       "vector); rattler's spec parser rejects it although its Version accepts `1.1.1_`. Also, "
       "conda splits a segment into runs of digits and non-digits before looking at `post`, so "
       "in `1post_` the run is `post_`, an ordinary string (1post_ < 1.1); rattler reads `post`"},
      {"regex",
       "`^...$` is a regular expression over the version text (conda/mamba vectors); rattler "
       "rejects regex specs"},
      {"whitespace",
       "whitespace around a spec or between an operator and its version (`>= 1.7`, ` ~=1 `) is "
       "accepted (mamba vectors); rattler rejects it"},
      {"empty-spec", "an empty version spec matches everything (mamba vector); rattler rejects it"},
      {"compatible-with-local",
       "`~=` on a version with a local part (`~=1.2+3`) is not defined by conda's docs; we take "
       "the prefix from the main segments and ignore the local part there, rattler does not"},
  };
  return m;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}

bool is_alpha(char c) { return c >= 'a' && c <= 'z'; }

// A string atom that starts with "dev" but is longer ("devdev", "devx").
bool has_dev_prefixed_word(const std::string& text) {
  std::string t = lower(text);
  for (std::size_t i = t.find("dev"); i != std::string::npos; i = t.find("dev", i + 1))
    if ((i == 0 || !is_alpha(t[i - 1])) && i + 3 < t.size() && is_alpha(t[i + 3])) return true;
  return false;
}

bool atoms_equal(const Version::Atom& a, const Version::Atom& b) {
  return a.kind == b.kind && a.number == b.number && a.text == b.text;
}
bool segments_equal(Version::Segment a, Version::Segment b) {
  static const Version::Atom zero{};
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i)
    if (!atoms_equal(i < a.size() ? a[i] : zero, i < b.size() ? b[i] : zero)) return false;
  return true;
}
// rattler's reading of starts-with: every segment of the prefix equals the version's segment.
bool segmentwise_starts_with(const Version& v, const Version& p) {
  if (v.epoch() != p.epoch()) return false;
  auto main_seg = [](const Version& x, std::size_t i) {
    return i < x.segment_count() ? x.segment(i) : Version::Segment{};
  };
  auto local_seg = [](const Version& x, std::size_t i) {
    return i < x.local_segment_count() ? x.local_segment(i) : Version::Segment{};
  };
  std::size_t main_n =
      p.has_local() ? std::max(v.segment_count(), p.segment_count()) : p.segment_count();
  for (std::size_t i = 0; i < main_n; ++i)
    if (!segments_equal(main_seg(v, i), main_seg(p, i))) return false;
  for (std::size_t i = 0; i < p.local_segment_count(); ++i)
    if (!segments_equal(local_seg(v, i), local_seg(p, i))) return false;
  return true;
}

// "1post_", "2a_+1": a trailing '_' right after letters, which conda's run split joins to them.
bool letters_before_trailing_underscore(const std::string& text) {
  std::string t = lower(text.substr(0, text.find('+')));
  return t.size() >= 2 && t.back() == '_' && is_alpha(t[t.size() - 2]);
}

// A segment of the prefix has more atoms than the version's segment there, the extra ones all
// zeros ("7g.3" vs "7g0", "0post.1" vs "post0.1"): conda pads the missing atoms with 0, rattler
// does not inside a segment. Any segment may show it, not only the last.
bool padded_inside_segment(const Version& v, const Version& p) {
  if (p.has_local() || p.segment_count() == 0) return false;
  for (std::size_t s = 0; s < p.segment_count(); ++s) {
    Version::Segment ps = p.segment(s);
    Version::Segment vs = s < v.segment_count() ? v.segment(s) : Version::Segment{};
    if (ps.size() <= vs.size()) continue;
    bool zeros = true;
    for (std::size_t i = vs.size(); i < ps.size(); ++i)
      if (ps[i].kind != Version::Atom::Kind::Number || ps[i].number != 0) zeros = false;
    if (zeros) return true;
  }
  return false;
}

// The primaries of a spec as (operator, body) pairs, split on , | ( ).
std::vector<std::pair<std::string, std::string>> primaries(const std::string& spec) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string cur;
  auto flush = [&] {
    std::string t;
    for (char c : cur)
      if (c != ' ') t += c;
    cur.clear();
    if (t.empty()) return;
    std::size_t n = 0;
    while (n < t.size() && std::string_view("=<>!~").find(t[n]) != std::string_view::npos) ++n;
    out.emplace_back(t.substr(0, n), t.substr(n));
  };
  for (char c : spec) {
    if (c == ',' || c == '|' || c == '(' || c == ')')
      flush();
    else
      cur += c;
  }
  flush();
  return out;
}

bool is_glob_body(const std::string& body) {
  auto stripped = body.substr(0, body.find_last_not_of('*') + 1);
  return body.find_last_not_of('*') != std::string::npos && stripped.find('*') != std::string::npos;
}

std::string classify(const Query& q, const std::string& our, const std::string& theirs) {
  bool their_error = theirs == "E", our_error = our == "E";
  if (our_error) return "";  // we reject what rattler accepts: always worth a look
  switch (q.kind) {
    case 'c':
      if (has_dev_prefixed_word(q.a) || has_dev_prefixed_word(q.b)) return "dev-prefixed-string";
      return letters_before_trailing_underscore(q.a) || letters_before_trailing_underscore(q.b)
                 ? "trailing-underscore"
                 : "";
    case 's': {
      if (has_dev_prefixed_word(q.a) || has_dev_prefixed_word(q.b)) return "dev-prefixed-string";
      auto a = Version::parse(q.a), b = Version::parse(q.b);
      if (a && b && b->has_local()) return "starts-with-local";
      if (a && b && padded_inside_segment(*a, *b)) return "starts-with-padding";
      return a && b && theirs == (segmentwise_starts_with(*a, *b) ? "1" : "0") ? "starts-with-tail"
                                                                               : "";
    }
    case 'm': {
      auto prims = primaries(q.a);
      if (prims.empty()) return their_error ? "empty-spec" : "";
      if (their_error) {
        for (const auto& [op, body] : prims)
          if (body.starts_with('^')) return "regex";
        if (q.a.front() == ' ' || q.a.back() == ' ') return "whitespace";
        for (const auto& [op, body] : prims) {
          std::string b = body.substr(0, body.find_last_not_of("*.") + 1);
          if ((!b.empty() && b.back() == '_') || b.find("_+") != std::string::npos)
            return "trailing-underscore";
        }
        for (std::size_t i = 0; i + 1 < q.a.size(); ++i)
          if (std::string_view("=<>~").find(q.a[i]) != std::string_view::npos && q.a[i + 1] == ' ')
            return "whitespace";
        for (const auto& [op, body] : prims)
          if (is_glob_body(body) || (body.find('*') != std::string::npos && op.size() &&
                                     op != "=" && op != "==" && op != "!="))
            return "glob";
        return "";
      }
      if (has_dev_prefixed_word(q.a) || has_dev_prefixed_word(q.b)) return "dev-prefixed-string";
      if (letters_before_trailing_underscore(q.b)) return "trailing-underscore";
      // The same reading of `post_` applies to a version inside the spec (">=1post_.*").
      for (const auto& [op, body] : prims)
        if (letters_before_trailing_underscore(body.substr(0, body.find_last_not_of("*.") + 1)))
          return "trailing-underscore";
      for (const auto& [op, body] : prims)
        if (op == "==" && body.find('*') != std::string::npos) return "exact-with-star";
      for (const auto& [op, body] : prims)
        if (is_glob_body(body)) return "glob";
      for (const auto& [op, body] : prims)
        if (op == "~=" && body.find('+') != std::string::npos) return "compatible-with-local";
      // A starts-with primary whose verdict changes under rattler's segment-wise reading.
      auto v = Version::parse(q.b);
      if (!v) return "";
      // ~= is a starts-with on all but the last segment plus >=: the same padding rule applies.
      for (const auto& [op, body] : prims)
        if (op == "~=")
          if (auto p = Version::parse(body); p && padded_inside_segment(*v, *p))
            return "starts-with-padding";
      for (const auto& [op, body] : prims) {
        bool star = body.ends_with('*');
        if (!(op == "=" || (star && (op.empty() || op == "!=")))) continue;
        std::string prefix = body.substr(0, body.find_last_not_of('*') + 1);
        if (prefix.ends_with('.')) prefix.pop_back();
        auto p = Version::parse(prefix);
        if (p && p->has_local()) return "starts-with-local";
        if (p && padded_inside_segment(*v, *p)) return "starts-with-padding";
        if (p && v->starts_with(*p) != segmentwise_starts_with(*v, *p)) return "starts-with-tail";
      }
      return "";
    }
  }
  return "";
}

// Runs the oracle over the queries; returns one answer per query.
std::vector<std::string> ask_rattler(const std::vector<Query>& queries) {
  fs::path input = fs::temp_directory_path() / ("de-rattler-queries-" + std::to_string(::getpid()));
  {
    std::ofstream out(input);
    for (const auto& q : queries) out << q.kind << '\t' << q.a << '\t' << q.b << '\n';
  }
  auto result = test::run_command("cd '" + harness_dir().string() +
                                  "' && node rattler_oracle.mjs < '" + input.string() + "'");
  fs::remove(input);
  EXPECT_EQ(result.status, 0) << result.err;
  std::vector<std::string> answers;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) answers.push_back(line);
  EXPECT_EQ(answers.size(), queries.size()) << result.err;
  return answers;
}

std::string describe(const Query& q) {
  switch (q.kind) {
    case 'p':
      return "parse '" + q.a + "'";
    case 'c':
      return "compare '" + q.a + "' with '" + q.b + "'";
    case 's':
      return "'" + q.a + "' starts with '" + q.b + "'";
    case 'm':
      return "spec '" + q.a + "' contains '" + q.b + "'";
  }
  return "?";
}

TEST(Rattler, AgreesOnVersionsAndSpecs) {
  DE_REQUIRE_RATTLER();
  std::uint64_t seed = seed_for_run();
  std::cout << "[rattler] seed " << seed << " (set DE_SEED=" << seed << " to repeat)\n";
  Generator gen(seed);

  std::vector<Query> queries;
  std::vector<std::string> versions;
  for (int i = 0; i < 3000; ++i) versions.push_back(gen.version());
  for (const auto& v : versions) queries.push_back({'p', v, ""});
  for (int i = 0; i < 3000; ++i)
    queries.push_back({'c', gen.pick_of(versions), gen.pick_of(versions)});
  for (int i = 0; i < 1000; ++i)
    queries.push_back({'s', gen.pick_of(versions), gen.pick_of(versions)});
  for (int i = 0; i < 4000; ++i) queries.push_back({'m', gen.spec(), gen.pick_of(versions)});

  // The shared vectors, when present.
  if (!test::testdata_dir().empty()) {
    auto dir = test::testdata_dir() / "conda-versions";
    std::ifstream parsed(dir / "rattler_parsed_versions.txt");
    std::vector<std::string> real;
    for (std::string line; std::getline(parsed, line);)
      if (!line.empty() && line[0] != '#') real.push_back(line.substr(0, line.find('=')));
    for (std::size_t i = 0; i < real.size(); i += 7) queries.push_back({'p', real[i], ""});
    for (int i = 0; i < 3000; ++i) queries.push_back({'c', gen.pick_of(real), gen.pick_of(real)});
    std::ifstream specs_file(dir / "spec_match.json");
    auto specs = nlohmann::json::parse(specs_file);
    for (const auto& e : specs["version_spec_match"])
      queries.push_back({'m', e["spec"].get<std::string>(), e["version"].get<std::string>()});
    std::ifstream order_file(dir / "version_order.json");
    auto order = nlohmann::json::parse(order_file);
    for (const auto& e : order["startswith"])
      queries.push_back({'s', e["version"].get<std::string>(), e["prefix"].get<std::string>()});
  }

  auto answers = ask_rattler(queries);
  ASSERT_EQ(answers.size(), queries.size());
  std::map<std::string, std::vector<std::string>> by_class;
  std::map<char, std::pair<int, int>> per_kind;  // agreed, total
  int agreed = 0;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    std::string our = ours(queries[i]);
    auto& [kind_agreed, kind_total] = per_kind[queries[i].kind];
    ++kind_total;
    if (our == answers[i]) {
      ++agreed;
      ++kind_agreed;
      continue;
    }
    std::string cls = classify(queries[i], our, answers[i]);
    by_class[cls].push_back(describe(queries[i]) + ": ours " + our + ", rattler " + answers[i]);
  }
  std::cout << "[rattler] agreement " << agreed << "/" << queries.size() << " ("
            << 100.0 * agreed / double(queries.size()) << "%)\n";
  for (auto [kind, counts] : per_kind)
    std::cout << "[rattler]   " << kind << ": " << counts.first << "/" << counts.second << "\n";
  for (const auto& [cls, examples] : by_class) {
    bool known = known_classes().contains(cls);
    std::cout << "[rattler] " << (known ? "known class " : "UNEXPLAINED ") << "'" << cls
              << "': " << examples.size() << " disagreements\n";
    for (std::size_t i = 0; i < examples.size() && i < (known ? 3u : 40u); ++i)
      std::cout << "[rattler]     " << examples[i] << "\n";
    if (!known)
      ADD_FAILURE() << examples.size() << " unexplained disagreements with rattler (seed " << seed
                    << ")";
  }
}

}  // namespace
}  // namespace de::conda
