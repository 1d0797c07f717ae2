// The environment's plan: every package planned (in parallel, or read from the plan cache), then
// merged in install order, later packages replacing earlier ones' paths.

#include "docker_envs/conda/installer.hpp"

#include <algorithm>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "conda/installer_internal.hpp"
#include "conda/package_paths.hpp"
#include "conda/package_plan_cache.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/package.hpp"

namespace de::conda {

namespace fs = std::filesystem;

namespace {

std::string history_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// A package's info/index.json as read, and parsed.
struct IndexJson {
  std::string text;
  PackageRecord record;
};

Result<IndexJson> read_index_json(const fs::path& extracted_dir) {
  std::string what = extracted_dir.filename().string();
  auto pkg = DE_TRY(detail::PackageDir::open(extracted_dir, "package " + what));
  auto index = DE_TRY(pkg.read_file("info/index.json", 64 << 20));
  if (!index) return fail(Code::NotFound, "package {}: no info/index.json", what);
  std::string text = std::move(*index);
  auto record = DE_TRY(parse_index_json(text, what + "/info/index.json"));
  return IndexJson{std::move(text), std::move(record)};
}

struct Planner {
  const InstallOptions& options;
  std::string prefix_rel;  // "opt/conda"
  std::optional<PythonInfo> python;
  InstallPlan plan;
  // Image path -> index in plan.entries; the keys view the entries' own paths.
  std::unordered_map<std::string_view, std::size_t> by_path;
  std::vector<bool> dropped;
  std::optional<detail::PackagePlanCache> cache;
  std::size_t merging = 0;  // the index of the package being merged

  void warn(std::string warning, std::size_t package) {
    plan.warnings.push_back(std::move(warning));
    plan.warning_packages.push_back(package);
  }

  void add(InstallEntry e) {
    const bool moves = plan.entries.size() == plan.entries.capacity();
    plan.entries.push_back(std::move(e));
    dropped.push_back(false);
    if (moves) {  // the keys viewed the old storage
      by_path.clear();
      for (std::size_t i = 0; i + 1 < plan.entries.size(); ++i)
        if (!dropped[i]) by_path.emplace(plan.entries[i].path, i);
    }
    const std::size_t index = plan.entries.size() - 1;
    const InstallEntry& added = plan.entries[index];
    auto [it, inserted] = by_path.try_emplace(added.path, index);
    if (!inserted) {
      const auto& old = plan.entries[it->second];
      if (old.package != added.package) {
        // About the package merged; the history, added after them all, about the environment.
        const std::size_t about = added.package.empty() ? plan.records.size() : merging;
        warn(fmt::format("{}: '{}' from {} replaces the one from {}", added.package, added.path,
                         added.package, old.package.empty() ? "an earlier package" : old.package),
             about);
      }
      dropped[it->second] = true;
      it->second = index;
    }
  }

  // One package's merged record and plan: independent of the other packages, so packages are
  // prepared in parallel and then merged in install order.
  struct Prepared {
    PackageRecord record;
    detail::PackagePlan plan;
  };

  // The package's record: index.json, with what the caller knows of its origin.
  Result<PackageRecord> merged_record(const PackageToInstall& input, const IndexJson& index) const {
    PackageRecord rec = index.record;
    // What the caller knows (repodata, lock file) wins over index.json for origin fields. Every
    // field taken from `known` here must be in package_plan_key (package_plan_cache.cpp).
    const PackageRecord& known = input.record;
    if (!known.url.empty()) rec.url = known.url;
    if (!known.channel.empty()) rec.channel = known.channel;
    if (!known.fn.empty()) rec.fn = known.fn;
    if (known.md5) rec.md5 = known.md5;
    if (known.sha256) rec.sha256 = known.sha256;
    if (known.size) rec.size = known.size;
    if (!known.python_site_packages_path.empty())
      rec.python_site_packages_path = known.python_site_packages_path;
    if (rec.fn.empty()) rec.fn = rec.dist_name() + ".conda";
    if (rec.noarch == NoarchKind::Python && !python)
      return fail(Code::InvalidArgument,
                  "{}: noarch: python package, but the environment has no python "
                  "(add python, or give the python version)",
                  rec.dist_name());
    return rec;
  }

  // The package's key in the plan cache.
  Digest plan_key(const PackageToInstall& input, const IndexJson& index,
                  const PackageRecord& rec) const {
    const PackageRecord& known = input.record;
    std::string content_id = (known.sha256 ? known.sha256->hex() : std::string()) + "|" +
                             input.extracted_dir.filename().string();
    return detail::package_plan_key(
        {.content_id = content_id,
         .index_json = index.text,
         .known = &known,
         .requested_spec = input.requested_spec,
         .prefix = options.prefix,
         .site_packages = rec.noarch == NoarchKind::Python ? python->site_packages_path : "",
         .max_rewrite_in_memory = options.max_rewrite_in_memory,
         .verify_files = options.verify_files});
  }

  Result<Prepared> prepare(const PackageToInstall& input, const IndexJson& index,
                           const std::optional<PortablePlan>& preplanned) const {
    const fs::path& dir = input.extracted_dir;
    PackageRecord rec = DE_TRY(merged_record(input, index));
    std::string dist = rec.dist_name();
    std::optional<detail::PackagePlan> planned;
    if (preplanned) {
      planned = detail::decode_package_plan(preplanned->plan, dir, dist, prefix_rel);
      if (!planned)
        return fail(Code::Corruption, "{}: the plan made elsewhere does not decode", dist);
      return Prepared{std::move(rec), std::move(*planned)};
    }
    Digest key;
    if (cache) {
      key = plan_key(input, index, rec);
      planned = cache->find(key, dir, dist, prefix_rel);
    }
    if (!planned) {
      planned = DE_TRY(detail::plan_package(input, rec, {options, prefix_rel, python}));
      if (cache) {
        if (auto put = cache->put(key, *planned, dir); !put)
          log::debug("not keeping the plan of {}: {}", dist, put.error().to_string());
      }
    }
    return Prepared{std::move(rec), std::move(*planned)};
  }

  void merge(Prepared&& prepared) {
    merging = plan.records.size();
    for (auto& w : prepared.plan.warnings) warn(std::move(w), merging);
    std::uint64_t size = 0;
    for (auto& e : prepared.plan.entries) {
      size += e.size;
      add(std::move(e));
    }
    std::vector<InstallEntry>().swap(prepared.plan.entries);  // moved from: its memory goes back
    plan.records.push_back(std::move(prepared.record));
    plan.planned_sizes.push_back(size);
  }

  // Refuses any entry below a symlink of the plan: writing it would follow the link.
  Status check_symlink_parents() const {
    std::unordered_set<std::string_view> links;
    for (std::size_t i = 0; i < plan.entries.size(); ++i)
      if (!dropped[i] && plan.entries[i].type == InstallEntry::Type::Symlink)
        links.insert(plan.entries[i].path);
    if (links.empty()) return {};
    // Entries share few parent directories: each directory's ancestors are checked once.
    std::unordered_set<std::string_view> clean_dirs;
    for (std::size_t i = 0; i < plan.entries.size(); ++i) {
      if (dropped[i]) continue;
      std::string_view p = plan.entries[i].path;
      auto last = p.rfind('/');
      if (last == std::string_view::npos || clean_dirs.contains(p.substr(0, last))) continue;
      for (auto slash = p.find('/'); slash != std::string_view::npos;
           slash = p.find('/', slash + 1)) {
        if (links.contains(p.substr(0, slash)))
          return fail(Code::InvalidArgument,
                      "{}: '{}' would be written through the symlink '{}'; refused",
                      plan.entries[i].package, p, p.substr(0, slash));
      }
      clean_dirs.insert(p.substr(0, last));
    }
    return {};
  }
};

}  // namespace

std::string_view package_plan_format() { return detail::kPackagePlanFormat; }

namespace {

// What planning and summarizing start from: the options with the prefix normalised, every
// package's index.json (read once), the plans made elsewhere, the environment's python.
struct Setup {
  InstallOptions options;
  std::string rel;  // "opt/conda"
  std::vector<IndexJson> indexes;
  std::vector<std::optional<PortablePlan>> preplanned;
  std::optional<PythonInfo> python;
};

// "/opt/conda/" -> "opt/conda": a normalised absolute path below /, without its slashes.
Result<std::string> prefix_below_root(std::string_view given) {
  std::string prefix(given);
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (!prefix.starts_with("/") || prefix == "/")
    return fail(Code::InvalidArgument, "the prefix '{}' must be an absolute path below /", given);
  auto rel = DE_TRY_CTX(normalize_package_path(prefix.substr(1)), "prefix " + prefix);
  if (rel != prefix.substr(1))
    return fail(Code::InvalidArgument, "the prefix '{}' is not normalised", prefix);
  return rel;
}

Result<Setup> set_up(std::span<const PackageToInstall> packages, const InstallOptions& options) {
  const std::string rel = DE_TRY(prefix_below_root(options.prefix));
  const std::string prefix = "/" + rel;
  Setup setup{options, rel, std::vector<IndexJson>(packages.size()),
              std::vector<std::optional<PortablePlan>>(packages.size()), options.python};
  setup.options.prefix = prefix;
  auto& indexes = setup.indexes;
  auto& preplanned = setup.preplanned;
  // Every index.json is read once: to find python here, and for each package's record.
  Status indexed = parallel_for(packages.size(), options.threads, [&](std::size_t i) -> Status {
    if (options.preplanned) preplanned[i] = options.preplanned(i);
    if (preplanned[i]) {
      std::string what = packages[i].extracted_dir.filename().string() + "/info/index.json";
      auto record = DE_TRY(parse_index_json(preplanned[i]->index_json, what));
      indexes[i] = IndexJson{preplanned[i]->index_json, std::move(record)};
    } else {
      indexes[i] = DE_TRY(read_index_json(packages[i].extracted_dir));
    }
    return {};
  });
  DE_TRY(indexed);
  if (!setup.python) {
    for (std::size_t i = 0; i < packages.size(); ++i) {
      if (indexes[i].record.name != "python") continue;
      PackageRecord python = indexes[i].record;
      if (!packages[i].record.python_site_packages_path.empty())
        python.python_site_packages_path = packages[i].record.python_site_packages_path;
      setup.python = DE_TRY(python_info_from_record(python));
    }
  }
  return setup;
}

// conda-meta/history: one revision listing every package.
InstallEntry history_entry(const std::vector<PackageRecord>& records, const InstallOptions& options,
                           const std::string& rel) {
  std::string history = fmt::format("==> {} <==\n# cmd: {}\n", history_time(options.history_time),
                                    options.history_command);
  for (const auto& r : records) {
    std::string channel = r.channel.empty() ? "<unknown>" : strip_credentials(r.channel);
    history +=
        fmt::format("+{}/{}::{}\n", channel, r.subdir.empty() ? "noarch" : r.subdir, r.dist_name());
  }
  InstallEntry h;
  h.path = rel + "/conda-meta/history";
  h.source = InstallEntry::Source::Bytes;
  h.data = std::move(history);
  h.size = h.data.size();
  return h;
}

}  // namespace

Result<InstallPlan> plan_environment(std::span<const PackageToInstall> packages,
                                     const InstallOptions& options) {
  if (options.only && options.export_plans)
    return fail(Code::Internal, "plan_environment: export_plans needs every package planned");
  Setup setup = DE_TRY(set_up(packages, options));
  const InstallOptions& opts = setup.options;
  const std::string& rel = setup.rel;
  const auto& indexes = setup.indexes;
  Planner planner{opts, rel, setup.python, {}, {}, {}, {}};
  if (!opts.plan_cache.empty()) planner.cache.emplace(opts.plan_cache);
  std::vector<Planner::Prepared> prepared(packages.size());
  std::vector<PortablePlan> portable(options.export_plans ? packages.size() : 0);
  Status planned = parallel_for(packages.size(), options.threads, [&](std::size_t i) -> Status {
    if (options.only && !options.only(i)) {  // its record only
      prepared[i].record = DE_TRY(planner.merged_record(packages[i], indexes[i]));
      return {};
    }
    prepared[i] = DE_TRY(planner.prepare(packages[i], indexes[i], setup.preplanned[i]));
    if (options.export_plans)
      portable[i] = {indexes[i].text,
                     detail::encode_package_plan(prepared[i].plan, packages[i].extracted_dir)};
    return {};
  });
  DE_TRY(planned);
  std::size_t total = 1;  // conda-meta/history
  for (const auto& p : prepared) total += p.plan.entries.size();
  planner.plan.entries.reserve(total);
  planner.dropped.reserve(total);
  planner.by_path.reserve(total);
  for (auto& p : prepared) planner.merge(std::move(p));

  planner.add(history_entry(planner.plan.records, opts, rel));

  // A hardlink whose target was replaced by a later package would take the new content: make it
  // a plain copy of its own file instead.
  for (std::size_t i = 0; i < planner.plan.entries.size(); ++i) {
    auto& e = planner.plan.entries[i];
    if (planner.dropped[i] || e.type != InstallEntry::Type::Hardlink) continue;
    auto it = planner.by_path.find(e.link_target);
    if (it != planner.by_path.end() && planner.plan.entries[it->second].package == e.package)
      continue;
    e.type = InstallEntry::Type::File;
    e.link_target.clear();
    std::error_code ec;
    e.size = fs::file_size(e.host_path, ec);
    if (ec) return fail(Code::Io, "{}: {}: {}", e.package, e.host_path, ec.message());
  }
  DE_TRY(planner.check_symlink_parents());
  InstallPlan out;
  out.warnings = std::move(planner.plan.warnings);
  out.warning_packages = std::move(planner.plan.warning_packages);
  out.planned_sizes = std::move(planner.plan.planned_sizes);
  out.records = std::move(planner.plan.records);
  out.portable = std::move(portable);
  // The entries kept, compacted in place: a large environment's entries are not moved into a
  // second array.
  auto& entries = planner.plan.entries;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (!planner.dropped[i]) {
      if (kept != i) entries[kept] = std::move(entries[i]);
      ++kept;
    }
  planner.by_path.clear();  // it views the entries' paths
  entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(kept), entries.end());
  out.entries = std::move(entries);
  return out;
}

namespace {

// The environment's summary from its packages' (summarize_environment): nullopt, with the reason
// in `why`, when a package has none.
std::optional<EnvironmentSummary> merge_summaries(
    std::vector<PackageRecord> records,
    const std::vector<std::optional<detail::PlanSummary>>& summaries, const std::string& rel,
    std::string* why) {
  const std::size_t n = records.size();
  constexpr std::size_t kHistory = std::numeric_limits<std::size_t>::max();
  EnvironmentSummary out;
  std::vector<std::pair<std::uint64_t, std::size_t>> paths{
      {detail::path_hash(rel + "/conda-meta/history"), kHistory}};
  std::vector<std::pair<std::uint64_t, std::size_t>> dirs, links;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& s = summaries[i];
    if (!s) {
      if (why) *why = records[i].dist_name() + ": its plan has no summary";
      return std::nullopt;
    }
    for (auto h : s->paths) paths.emplace_back(h, i);
    for (auto h : s->dirs) dirs.emplace_back(h, i);
    for (auto h : s->links) links.emplace_back(h, i);
    out.packages.push_back({.entries = s->entries,
                            .size = s->size,
                            .plan = s->body,
                            .activation = s->activation,
                            .entangled = !s->hardlinks_inside,
                            .warnings = s->warnings});
  }
  auto entangle = [&](std::size_t i) {
    if (i != kHistory) out.packages[i].entangled = true;
  };
  // Every package with a path another (or the history) has too.
  std::sort(paths.begin(), paths.end());
  for (std::size_t a = 0; a < paths.size();) {
    std::size_t b = a + 1;
    while (b < paths.size() && paths[b].first == paths[a].first) ++b;
    if (b - a > 1)
      for (std::size_t k = a; k < b; ++k) entangle(paths[k].second);
    a = b;
  }
  // Every symlink above an entry, and the packages of both.
  std::sort(dirs.begin(), dirs.end());
  for (const auto& [hash, i] : links) {
    auto it = std::lower_bound(dirs.begin(), dirs.end(), std::pair{hash, std::size_t{0}});
    for (; it != dirs.end() && it->first == hash; ++it) {
      entangle(i);
      entangle(it->second);
    }
  }
  out.records = std::move(records);
  return out;
}

}  // namespace

Result<std::optional<EnvironmentSummary>> summarize_environment(
    std::span<const PackageToInstall> packages, const InstallOptions& options, std::string* why) {
  Setup setup = DE_TRY(set_up(packages, options));
  const InstallOptions& opts = setup.options;
  Planner planner{opts, setup.rel, setup.python, {}, {}, {}, {}};
  if (!opts.plan_cache.empty()) planner.cache.emplace(opts.plan_cache);
  const std::size_t n = packages.size();
  std::vector<PackageRecord> records(n);
  std::vector<std::optional<detail::PlanSummary>> summaries(n);
  Status summarized = parallel_for(n, options.threads, [&](std::size_t i) -> Status {
    records[i] = DE_TRY(planner.merged_record(packages[i], setup.indexes[i]));
    if (setup.preplanned[i]) {
      summaries[i] = detail::decode_plan_summary(setup.preplanned[i]->plan);
      return {};
    }
    if (planner.cache)
      summaries[i] =
          planner.cache->summary(planner.plan_key(packages[i], setup.indexes[i], records[i]));
    if (!summaries[i]) {  // planned now (and cached): its summary from its encoding
      auto prepared = DE_TRY(planner.prepare(packages[i], setup.indexes[i], std::nullopt));
      summaries[i] = detail::decode_plan_summary(
          detail::encode_package_plan(prepared.plan, packages[i].extracted_dir));
    }
    return {};
  });
  DE_TRY(summarized);
  return merge_summaries(std::move(records), summaries, setup.rel, why);
}

std::optional<EnvironmentSummary> summarize_exported(const InstallPlan& plan,
                                                     std::string_view prefix, std::string* why) {
  auto rel = prefix_below_root(prefix);
  if (!rel) {
    if (why) *why = rel.error().to_string();
    return std::nullopt;
  }
  if (plan.portable.size() != plan.records.size()) {
    if (why) *why = "the plan was made without export_plans";
    return std::nullopt;
  }
  std::vector<std::optional<detail::PlanSummary>> summaries;
  for (const auto& p : plan.portable) summaries.push_back(detail::decode_plan_summary(p.plan));
  return merge_summaries(plan.records, summaries, *rel, why);
}

}  // namespace de::conda
