// The installer's per-package plan cache: a cached plan equals a fresh one, every input of a
// package's plan changes its key, damaged or hostile cache files are ignored.
#include "conda/package_plan_cache.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/package.hpp"
#include "test_packages.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;
using test::Entry;

using test::make_extracted;

std::string describe(const InstallEntry& e) {
  return fmt::format("{}|{}|{:o}|{}|{}|{}|{}|{}|{}|{}|{}", e.path, static_cast<int>(e.type), e.mode,
                     static_cast<int>(e.source), e.host_path, Digest::of(e.data).hex(),
                     e.placeholder, static_cast<int>(e.placeholder_mode), e.size, e.link_target,
                     e.package);
}

void expect_same(const InstallPlan& a, const InstallPlan& b) {
  ASSERT_EQ(a.entries.size(), b.entries.size());
  for (size_t i = 0; i < a.entries.size(); ++i)
    ASSERT_EQ(describe(a.entries[i]), describe(b.entries[i])) << i;
  EXPECT_EQ(a.warnings, b.warnings);
  EXPECT_EQ(a.records, b.records);
}

// Plan files only: .used/ holds the use stamps `cache prune` reads.
bool is_plan(const fs::path& p) { return p.extension() == ".plan"; }

size_t count_files(const fs::path& dir) {
  std::error_code ec;
  size_t n = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    n += is_plan(it->path());
  return n;
}

// python, a noarch: python package, a package with placeholders, links and a post-link script,
// and one that replaces a path of the previous one.
struct Environment {
  TempDir dir = std::move(*TempDir::create());
  std::vector<PackageToInstall> packages;

  Environment() {
    test::PackageSpec python = test::python_package();
    test::PackageSpec pure = test::noarch_python_package();
    test::PackageSpec zz = test::placeholder_package();
    zz.payload.push_back(test::file("share/zz/c", "kept"));
    zz.payload.push_back(Entry{"share/zz/d", "share/zz/c", Entry::Hardlink});
    zz.payload.push_back(test::file("etc/shared.conf", "from zz"));
    test::PackageSpec late;
    late.name = "late";
    late.payload = {test::file("etc/shared.conf", "from late"),
                    test::file("share/zz/a", "late's a")};
    packages = {{make_extracted(dir.path(), python), {}, ""},
                {make_extracted(dir.path(), pure), {}, "pure"},
                {make_extracted(dir.path(), zz), {}, "zz >=1"},
                {make_extracted(dir.path(), late), {}, ""}};
    packages[2].record.url =
        "https://conda.anaconda.org/t/tk-123/conda-forge/linux-64/zz-1.0-0.conda";
    packages[2].record.sha256 = Digest::of("zz");
  }
};

InstallOptions options(const fs::path& cache) {
  // A tiny in-memory limit so that the binary file is a Source::Rewrite entry.
  return {.max_rewrite_in_memory = 8, .history_time = 1700000000, .plan_cache = cache};
}

TEST(PackagePlanCache, CachedPlansEqualFreshOnes) {
  Environment env;
  auto cache = env.dir.path() / "plans";
  auto fresh = plan_environment(env.packages, options(""));
  ASSERT_TRUE(fresh) << fresh.error().to_string();
  ASSERT_FALSE(fs::exists(cache));
  auto cold = plan_environment(env.packages, options(cache));
  ASSERT_TRUE(cold) << cold.error().to_string();
  EXPECT_EQ(count_files(cache), env.packages.size());
  auto warm = plan_environment(env.packages, options(cache));
  ASSERT_TRUE(warm) << warm.error().to_string();
  expect_same(*fresh, *cold);
  expect_same(*fresh, *warm);
  // The plan has every kind of entry the cache must carry.
  std::set<std::pair<int, int>> kinds;
  for (const auto& e : warm->entries)
    kinds.insert({static_cast<int>(e.type), static_cast<int>(e.source)});
  EXPECT_TRUE(kinds.contains({0, 0}) && kinds.contains({0, 1}) && kinds.contains({0, 2}));
  EXPECT_TRUE(kinds.contains({1, 0}) && kinds.contains({2, 0}) && kinds.contains({3, 0}));
  bool replaced = false;
  for (const auto& w : warm->warnings) replaced |= w.find("from late-1.0-0 replaces") != w.npos;
  EXPECT_TRUE(replaced);
}

TEST(PackagePlanCache, WarmPlansDoNotReadThePackageAgain) {
  Environment env;
  auto cache = env.dir.path() / "plans";
  auto cold = plan_environment(env.packages, options(cache));
  ASSERT_TRUE(cold);
  // Without its file list the package cannot be planned: only the cached plan can answer.
  fs::remove(env.packages[2].extracted_dir / "info/paths.json");
  auto warm = plan_environment(env.packages, options(cache));
  ASSERT_TRUE(warm) << warm.error().to_string();
  expect_same(*cold, *warm);
  // The cached plan follows the package directory (a moved package cache) by relative paths.
  auto moved = env.dir.path() / "moved" / env.packages[3].extracted_dir.filename();
  fs::create_directories(moved.parent_path());
  fs::rename(env.packages[3].extracted_dir, moved);
  env.packages[3].extracted_dir = moved;
  auto after_move = plan_environment(env.packages, options(cache));
  ASSERT_TRUE(after_move) << after_move.error().to_string();
  EXPECT_EQ(count_files(cache), env.packages.size());
  for (const auto& e : after_move->entries) {
    if (e.package == "late-1.0-0" && !e.host_path.empty()) {
      EXPECT_TRUE(e.host_path.starts_with(moved.string())) << e.host_path;
    }
  }
}

TEST(PackagePlanCache, EveryInputChangesTheKey) {
  Environment env;
  auto cache = env.dir.path() / "plans";
  ASSERT_TRUE(plan_environment(env.packages, options(cache)));
  size_t files = count_files(cache);

  auto changed = [&](auto edit, size_t new_plans) {
    auto packages = env.packages;
    auto opts = options(cache);
    edit(packages, opts);
    auto fresh_opts = opts;
    fresh_opts.plan_cache.clear();
    auto fresh = plan_environment(packages, fresh_opts);
    auto cached = plan_environment(packages, opts);
    ASSERT_TRUE(fresh && cached);
    expect_same(*fresh, *cached);
    files += new_plans;
    EXPECT_EQ(count_files(cache), files);
  };
  using Pkgs = std::vector<PackageToInstall>;
  // The prefix changes every package's plan.
  changed([](Pkgs&, InstallOptions& o) { o.prefix = "/srv/env"; }, 4);
  changed([](Pkgs&, InstallOptions& o) { o.max_rewrite_in_memory = 1 << 20; }, 4);
  changed([](Pkgs&, InstallOptions& o) { o.verify_files = true; }, 4);
  // What is written into one package's conda-meta changes that package's plan only.
  changed([](Pkgs& p, InstallOptions&) { p[2].requested_spec = "zz"; }, 1);
  changed([](Pkgs& p, InstallOptions&) { p[3].record.url = "file:///elsewhere/late.conda"; }, 1);
  changed([](Pkgs& p, InstallOptions&) { p[3].record.channel = "other"; }, 1);
  changed([](Pkgs& p, InstallOptions&) { p[3].record.sha256 = Digest::of("late"); }, 1);
  // Another python moves the noarch: python package only.
  changed(
      [](Pkgs&, InstallOptions& o) {
        o.python = PythonInfo{"3.12", "lib/python3.12/site-packages"};
      },
      1);
  // History options are environment-wide: no package's plan changes.
  changed([](Pkgs&, InstallOptions& o) { o.history_time = 1; }, 0);
}

TEST(PackagePlanCache, DamagedFilesAreIgnoredAndRewritten) {
  Environment env;
  auto cache = env.dir.path() / "plans";
  auto fresh = plan_environment(env.packages, options(""));
  ASSERT_TRUE(fresh);
  ASSERT_TRUE(plan_environment(env.packages, options(cache)));
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(cache))
    if (is_plan(f.path())) files.push_back(f.path());
  std::map<fs::path, std::string> good;
  for (const auto& f : files) good[f] = *read_file(f);
  // Every truncation and a flipped byte at every position of one plan; garbage in the others.
  const fs::path& victim = files[0];
  const std::string& bytes = good[victim];
  for (size_t n = 0; n < bytes.size(); n += std::max<size_t>(1, bytes.size() / 97)) {
    for (const auto& damaged :
         {bytes.substr(0, n), bytes.substr(0, n) + "\xff" + bytes.substr(n + 1)}) {
      if (damaged == bytes) continue;
      ASSERT_TRUE(write_file_atomic(victim, damaged));
      for (size_t k = 1; k < files.size(); ++k) ASSERT_TRUE(write_file_atomic(files[k], "junk"));
      auto plan = plan_environment(env.packages, options(cache));
      ASSERT_TRUE(plan) << n << ": " << plan.error().to_string();
      expect_same(*fresh, *plan);
      if (::testing::Test::HasFailure()) return;
    }
  }
  for (const auto& f : files) EXPECT_EQ(*read_file(f), good[f]) << f;  // rewritten
}

TEST(PackagePlanCache, RefusesEntriesOutsideThePrefixOrThePackage) {
  auto dir = fs::path("/cache/pkgs/zz-1.0-0-abcdef");
  auto decode = [&](InstallEntry e) {
    detail::PackagePlan plan;
    plan.entries.push_back(std::move(e));
    return detail::decode_package_plan(detail::encode_package_plan(plan, dir), dir, "zz-1.0-0",
                                       "opt/conda");
  };
  InstallEntry ok;
  ok.path = "opt/conda/lib/libzz.so";
  ok.host_path = (dir / "lib/libzz.so").native();
  auto back = decode(ok);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->entries.at(0).host_path, (dir / "lib/libzz.so").native());
  EXPECT_EQ(back->entries.at(0).package, "zz-1.0-0");
  for (std::string bad : {"opt/conda/../etc/passwd", "etc/passwd", "opt/condax/a", "opt/conda",
                          "opt/conda//a", "/opt/conda/a", "opt/conda/./a"}) {
    auto e = ok;
    e.path = bad;
    EXPECT_FALSE(decode(e)) << bad;
  }
  for (std::string bad : {"/etc/passwd", "../other/lib/a", "lib/../../a", ""}) {
    auto e = ok;
    e.host_path = bad;
    EXPECT_FALSE(decode(e)) << bad;
  }
  // An entry count the file cannot hold (with a valid checksum) is refused before allocating.
  detail::PackagePlan one;
  one.entries.push_back(ok);
  std::string bytes = detail::encode_package_plan(one, dir);
  // After the magic, the summary's length, the summary and its checksum: the warnings' count
  // (none), then the entries'.
  auto magic = std::string_view("docker-envs package plan v2\n").size();
  std::uint32_t summary_length = 0;
  std::memcpy(&summary_length, bytes.data() + magic, 4);
  auto count_at = magic + 4 + summary_length + 32 + 4;
  std::uint32_t huge = 1u << 30;
  std::memcpy(bytes.data() + count_at, &huge, 4);
  auto sum = Digest::of(std::string_view(bytes).substr(0, bytes.size() - 32));
  std::memcpy(bytes.data() + bytes.size() - 32, sum.bytes().data(), 32);
  EXPECT_FALSE(detail::decode_package_plan(bytes, dir, "zz-1.0-0", "opt/conda"));

  auto link = ok;
  link.type = InstallEntry::Type::Hardlink;
  link.link_target = "etc/passwd";
  EXPECT_FALSE(decode(link));
  link.link_target = "opt/conda/lib/libzz.so.1";
  EXPECT_TRUE(decode(link));
}

TEST(PlanSummary, SaysWhatMergingNeedsAndIsReadWithoutTheEntries) {
  auto dir = fs::path("/cache/pkgs/zz-1.0-0-abcdef");
  detail::PackagePlan plan;
  plan.warnings = {"zz: post-link script not run"};
  auto add = [&](std::string path, InstallEntry::Type type, std::uint64_t size,
                 std::string target = "") {
    InstallEntry e;
    e.path = std::move(path);
    e.type = type;
    e.size = size;
    e.link_target = std::move(target);
    if (type != InstallEntry::Type::Symlink && type != InstallEntry::Type::Directory)
      e.host_path = (dir / "f").native();
    plan.entries.push_back(std::move(e));
  };
  add("opt/conda/lib/libzz.so.1", InstallEntry::Type::File, 100);
  add("opt/conda/lib/libzz.so", InstallEntry::Type::Symlink, 0, "libzz.so.1");
  add("opt/conda/share/zz/a/b", InstallEntry::Type::File, 20);
  add("opt/conda/share/zz/c", InstallEntry::Type::Hardlink, 20, "opt/conda/share/zz/a/b");
  const std::string bytes = detail::encode_package_plan(plan, dir);
  auto s = detail::decode_plan_summary(bytes);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->entries, 4u);
  EXPECT_EQ(s->size, 140u);
  EXPECT_EQ(s->warnings, plan.warnings);
  EXPECT_TRUE(s->hardlinks_inside);
  EXPECT_FALSE(s->activation);
  auto sorted = [](std::vector<std::uint64_t> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  using detail::path_hash;
  EXPECT_EQ(s->paths,
            sorted({path_hash("opt/conda/lib/libzz.so.1"), path_hash("opt/conda/lib/libzz.so"),
                    path_hash("opt/conda/share/zz/a/b"), path_hash("opt/conda/share/zz/c")}));
  EXPECT_EQ(s->dirs, sorted({path_hash("opt"), path_hash("opt/conda"), path_hash("opt/conda/lib"),
                             path_hash("opt/conda/share"), path_hash("opt/conda/share/zz"),
                             path_hash("opt/conda/share/zz/a")}));
  EXPECT_EQ(s->links, std::vector<std::uint64_t>{path_hash("opt/conda/lib/libzz.so")});
  EXPECT_NE(path_hash("a"), path_hash("b"));
  EXPECT_EQ(path_hash("opt/conda"), 0x2ffd3427589769feULL) << "FNV-1a: the same on every machine";

  // Equal entries, equal digests; any change to one entry changes it.
  EXPECT_EQ(detail::decode_plan_summary(detail::encode_package_plan(plan, dir))->body, s->body);
  auto edited = plan;
  edited.entries[2].mode = 0755;
  EXPECT_NE(detail::decode_plan_summary(detail::encode_package_plan(edited, dir))->body, s->body);

  // A hard link to another package's file, an activation script.
  edited = plan;
  edited.entries[3].link_target = "opt/conda/share/other";
  edited.entries[0].path = "opt/conda/etc/conda/activate.d/zz.sh";
  auto flags = detail::decode_plan_summary(detail::encode_package_plan(edited, dir));
  ASSERT_TRUE(flags);
  EXPECT_FALSE(flags->hardlinks_inside);
  EXPECT_TRUE(flags->activation);

  // The summary has its own checksum: a damaged entry leaves it readable (the entries are
  // refused when decoded), a damaged summary is refused, and so is every truncation of it.
  std::string damaged = bytes;
  damaged[damaged.size() - 40] ^= 1;
  EXPECT_TRUE(detail::decode_plan_summary(damaged));
  EXPECT_FALSE(detail::decode_package_plan(damaged, dir, "zz-1.0-0", "opt/conda"));
  EXPECT_TRUE(detail::decode_package_plan(bytes, dir, "zz-1.0-0", "opt/conda"));
  std::uint32_t length = 0;
  const auto magic = std::string_view("docker-envs package plan v2\n").size();
  std::memcpy(&length, bytes.data() + magic, 4);
  for (size_t at = 0; at < magic + 4 + length + 32; ++at) {
    std::string flipped = bytes;
    flipped[at] ^= 0x20;
    EXPECT_FALSE(detail::decode_plan_summary(flipped)) << at;
    EXPECT_FALSE(detail::decode_plan_summary(std::string_view(bytes).substr(0, at))) << at;
  }
}

// The entries and warnings of the packages `mask` selects (and the environment's own), as `full`
// holds them.
InstallPlan restricted(const InstallPlan& full, unsigned mask) {
  InstallPlan out;
  for (const auto& e : full.entries) {
    bool wanted = e.package.empty();
    for (size_t i = 0; i < full.records.size(); ++i)
      wanted |= (mask >> i & 1) && e.package == full.records[i].dist_name();
    if (wanted) out.entries.push_back(e);
  }
  for (size_t k = 0; k < full.warnings.size(); ++k) {
    size_t about = full.warning_packages.at(k);
    if (about >= full.records.size() || (mask >> about & 1))
      out.warnings.push_back(full.warnings[k]);
  }
  out.records = full.records;
  return out;
}

// Two packages that do not meet: their summary is what planning gives, and planning some of them
// gives exactly their entries of the full plan.
TEST(PlanSummary, AnEnvironmentWhoseMergeChangesNothingIsSummarized) {
  Environment env;
  env.packages.pop_back();  // late replaces a file of zz
  auto cache = env.dir.path() / "plans";
  auto full = plan_environment(env.packages, options(""));
  ASSERT_TRUE(full) << full.error().to_string();
  std::string why;
  // Without a cache every package is planned to be summarized; with one, the cold run fills it.
  for (auto where : {fs::path(), cache, cache}) {
    auto summary = summarize_environment(env.packages, options(where), &why);
    ASSERT_TRUE(summary) << summary.error().to_string();
    ASSERT_TRUE(*summary) << why;
    EXPECT_EQ((*summary)->records, full->records);
    ASSERT_EQ((*summary)->packages.size(), env.packages.size());
    std::vector<std::string> warnings;
    std::uint64_t all = 1;  // the history
    for (size_t i = 0; i < env.packages.size(); ++i) {
      const auto& p = (*summary)->packages[i];
      EXPECT_FALSE(p.entangled) << i;
      std::uint64_t entries = 0, size = 0;
      for (const auto& e : full->entries)
        if (e.package == full->records[i].dist_name()) ++entries, size += e.size;
      EXPECT_EQ(p.entries, entries) << i;
      EXPECT_EQ(p.size, size) << i;
      EXPECT_EQ(p.size, full->planned_sizes.at(i)) << i;
      all += p.entries;
      warnings.insert(warnings.end(), p.warnings.begin(), p.warnings.end());
    }
    EXPECT_EQ(warnings, full->warnings);
    EXPECT_EQ(all, full->entries.size());
  }
  EXPECT_EQ(count_files(cache), env.packages.size());
  for (unsigned mask = 0; mask < 8; ++mask) {
    auto opts = options(cache);
    opts.only = [&](size_t i) { return (mask >> i & 1) != 0; };
    auto some = plan_environment(env.packages, opts);
    ASSERT_TRUE(some) << some.error().to_string();
    expect_same(restricted(*full, mask), *some);
    opts.export_plans = true;
    EXPECT_FALSE(plan_environment(env.packages, opts));
  }
}

// Packages whose entries the merge may change are marked; planned with any others, they get the
// entries and warnings of the full plan.
TEST(PlanSummary, PackagesWhoseEntriesTheMergeMayChangeAreEntangled) {
  Environment env;  // late replaces etc/shared.conf of zz
  auto cache = env.dir.path() / "plans";
  auto full = plan_environment(env.packages, options(""));
  ASSERT_TRUE(full) << full.error().to_string();
  auto replaced = summarize_environment(env.packages, options(cache));
  ASSERT_TRUE(replaced && *replaced);
  std::vector<bool> entangled;
  for (const auto& p : (*replaced)->packages) entangled.push_back(p.entangled);
  EXPECT_EQ(entangled, (std::vector<bool>{false, false, true, true}));
  for (unsigned mask = 0b1100; mask < 16; ++mask) {
    if ((mask & 0b1100) != 0b1100) continue;
    auto opts = options(cache);
    opts.only = [&](size_t i) { return (mask >> i & 1) != 0; };
    auto some = plan_environment(env.packages, opts);
    ASSERT_TRUE(some) << some.error().to_string();
    expect_same(restricted(*full, mask), *some);
  }

  auto one = [&](std::string name, std::vector<Entry> payload) {
    test::PackageSpec spec;
    spec.name = std::move(name);
    spec.payload = std::move(payload);
    return PackageToInstall{make_extracted(env.dir.path(), spec), {}, ""};
  };
  auto flags = [&](const std::vector<PackageToInstall>& packages) {
    auto s = summarize_environment(packages, options(cache));
    EXPECT_TRUE(s && *s);
    std::vector<bool> out;
    if (s && *s)
      for (const auto& p : (*s)->packages) out.push_back(p.entangled);
    return out;
  };
  // A symlink of one package above a file of another (which planning refuses).
  std::vector<PackageToInstall> linked = {one("links", {test::symlink("share/x", "elsewhere")}),
                                          one("apart", {test::file("share/y", "y")}),
                                          one("below", {test::file("share/x/f", "f")})};
  EXPECT_EQ(flags(linked), (std::vector<bool>{true, false, true}));
  EXPECT_FALSE(plan_environment(linked, options(cache)));
  // A package writing conda-meta/history.
  EXPECT_EQ(flags({one("hist", {test::file("conda-meta/history", "x")}),
                   one("other", {test::file("share/other", "o")})}),
            (std::vector<bool>{true, false}));
}

}  // namespace
}  // namespace de::conda
