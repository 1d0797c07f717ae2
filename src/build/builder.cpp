#include "docker_envs/build/builder.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <span>

#include "build/group_memos.hpp"
#include "build/image_memo.hpp"
#include "build/wheel_layers.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/build/layer_cache.hpp"
#include "docker_envs/build/shared_cache.hpp"
#include "docker_envs/conda/installer.hpp"
#include "docker_envs/conda/package_cache.hpp"
#include "docker_envs/oci/mutate.hpp"
#include "docker_envs/oci/tar.hpp"

namespace de::build {
namespace fs = std::filesystem;
using conda::InstallEntry;

Result<oci::Platform> image_platform(std::string_view conda_platform) {
  if (conda_platform == "linux-64") return oci::Platform{.os = "linux", .architecture = "amd64"};
  if (conda_platform == "linux-aarch64")
    return oci::Platform{.os = "linux", .architecture = "arm64", .variant = "v8"};
  if (conda_platform == "linux-ppc64le")
    return oci::Platform{.os = "linux", .architecture = "ppc64le"};
  return fail(Code::InvalidArgument,
              "platform '{}' cannot be an image platform (expected linux-64, linux-aarch64 or "
              "linux-ppc64le)",
              conda_platform);
}

namespace {

bool plain_value(std::string_view v) {
  return v.find_first_of("$`\\;|&<>()") == std::string_view::npos;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool valid_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

}  // namespace

namespace {
// How much a line changes the nesting of compound commands (if/case/for/while/until, { } and
// ( ) groups, function bodies): +1 per opening word, -1 per closing one.
int nesting_change(std::string_view line) {
  int change = 0;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t end = line.find_first_of(" \t;&|", pos);
    if (end == std::string_view::npos) end = line.size();
    std::string_view word = line.substr(pos, end - pos);
    if (word == "#" || word.starts_with("#")) break;
    if (word == "if" || word == "case" || word == "for" || word == "while" || word == "until" ||
        word == "{" || word == "(" || word.ends_with("(){"))
      ++change;
    else if (word == "fi" || word == "esac" || word == "done" || word == "}" || word == ")")
      --change;
    pos = end + 1;
  }
  return change;
}
}  // namespace

ActivationExports parse_activation_script(std::string_view script, std::string_view prefix) {
  ActivationExports out;
  size_t start = 0;
  size_t number = 0;
  int depth = 0;  // inside how many compound commands: their lines run only conditionally
  while (start <= script.size()) {
    size_t end = script.find('\n', start);
    if (end == std::string_view::npos) end = script.size();
    std::string_view line = trim(script.substr(start, end - start));
    start = end + 1;
    ++number;
    if (line.empty() || line.front() == '#') continue;
    bool ok = false;
    int change = nesting_change(line);
    bool top_level = depth == 0 && change == 0;
    depth = std::max(0, depth + change);
    if (top_level && line.starts_with("export ")) {
      std::string_view rest = trim(line.substr(7));
      auto eq = rest.find('=');
      if (eq != std::string_view::npos && valid_name(rest.substr(0, eq))) {
        std::string name(rest.substr(0, eq));
        std::string_view raw = rest.substr(eq + 1);
        std::string value;
        bool quoted_single = raw.size() >= 2 && raw.front() == '\'' && raw.back() == '\'';
        bool quoted_double = raw.size() >= 2 && raw.front() == '"' && raw.back() == '"';
        if (quoted_single) {
          value = std::string(raw.substr(1, raw.size() - 2));
          ok = value.find('\'') == std::string::npos;
        } else {
          std::string_view inner = quoted_double ? raw.substr(1, raw.size() - 2) : raw;
          std::string v = replace_all(std::string(inner), "${CONDA_PREFIX}", prefix);
          v = replace_all(std::move(v), "$CONDA_PREFIX", prefix);
          ok = plain_value(v) && v.find('"') == std::string::npos &&
               (quoted_double ||
                (v.find(' ') == std::string::npos && v.find('\'') == std::string::npos));
          value = std::move(v);
        }
        if (ok) out.variables.emplace_back(std::move(name), std::move(value));
      }
    }
    if (!ok) {
      out.skipped.emplace_back(line);
      out.skipped_lines.push_back(number);
    }
  }
  return out;
}

namespace {

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// Host files for the final layer: a file, symlink or directory tree at `spec.dest`.
Status add_host_files(const FileSpec& spec, std::vector<InstallEntry>& out) {
  auto dest = DE_TRY(oci::normalize_path(spec.dest));
  if (dest.empty())
    return fail(Code::InvalidArgument, "file {}: the destination cannot be the image root",
                spec.source.string());
  auto add = [&](const fs::path& host, const std::string& path) -> Status {
    struct stat st;
    if (::lstat(host.c_str(), &st) != 0) return fail_errno("reading " + host.string(), errno);
    InstallEntry e;
    e.path = path;
    e.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
    if (S_ISDIR(st.st_mode)) {
      e.type = InstallEntry::Type::Directory;
    } else if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      e.type = InstallEntry::Type::Symlink;
      e.mode = 0777;
      e.link_target = fs::read_symlink(host, ec).string();
      if (ec) return fail(Code::Io, "reading link {}: {}", host.string(), ec.message());
    } else if (S_ISREG(st.st_mode)) {
      e.type = InstallEntry::Type::File;
      e.source = InstallEntry::Source::HostFile;
      e.host_path = host.native();
      e.size = static_cast<std::uint64_t>(st.st_size);
    } else {
      return fail(Code::InvalidArgument, "{} is not a file, directory or symlink", host.string());
    }
    out.push_back(std::move(e));
    return {};
  };
  std::error_code ec;
  auto status = fs::symlink_status(spec.source, ec);
  if (ec || !fs::exists(status))
    return fail(Code::NotFound, "file to add {} does not exist", spec.source.string());
  DE_TRY(add(spec.source, dest));
  if (fs::is_directory(status)) {
    std::vector<fs::path> all;
    for (fs::recursive_directory_iterator it(spec.source, ec), end; !ec && it != end;
         it.increment(ec))
      all.push_back(it->path());
    if (ec) return fail(Code::Io, "listing {}: {}", spec.source.string(), ec.message());
    for (const auto& p : all)
      DE_TRY(add(p, dest + "/" + p.lexically_relative(spec.source).generic_string()));
  }
  return {};
}

// The image's created time: SOURCE_DATE_EPOCH when given, else the newest package's timestamp
// (repodata's or the package's own index.json), so that the same packages give the same time on
// any machine and a rebuild the same digest; 1970 only when no package has a timestamp.
std::int64_t created_time(const BuildRequest& r, const std::vector<conda::PackageRecord>& records) {
  if (r.source_date_epoch) return *r.source_date_epoch;
  std::int64_t newest = 0;
  for (const auto& record : records)
    newest = std::max(newest, record.timestamp_seconds().value_or(0));
  return newest;
}

Result<std::string> hash_host_file(const fs::path& path) {
  auto in = DE_TRY(FileReader::open(path));
  NullWriter sink;
  HashingWriter hashing(sink);
  DE_TRY(copy(*in, hashing));
  return hashing.finish().hex();
}

// The variables the packages' activation scripts export (sorted by path), with a warning per
// script about the lines that cannot be evaluated without running it.
Result<std::vector<NameValue>> activation_exports(std::vector<InstallEntry> scripts,
                                                  const std::string& prefix,
                                                  std::vector<std::string>& warnings) {
  std::vector<NameValue> out;
  std::sort(scripts.begin(), scripts.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  for (const auto& script : scripts) {
    auto reader = DE_TRY(conda::open_content(script, prefix));
    auto text = DE_TRY_CTX(read_all(*reader, 1 << 20), "reading " + script.path);
    auto exports = parse_activation_script(text, prefix);
    for (auto& v : exports.variables) out.push_back(std::move(v));
    if (!exports.skipped.empty()) {
      std::vector<std::string> lines;
      for (size_t i = 0; i < exports.skipped.size(); ++i)
        lines.push_back(fmt::format("line {}: {}", exports.skipped_lines[i], exports.skipped[i]));
      warnings.push_back(fmt::format(
          "{} ({}): {} line(s) cannot be evaluated without running it (commands, conditional or "
          "nested lines) and are not applied: {}",
          "/" + script.path, script.package, exports.skipped.size(), join(lines, " | ")));
    }
  }
  return out;
}

// The image from the base, the environment's layers and the request's config: the one tail of
// a build, whether its layers were just found or produced, or came from the image memo, so that
// both give the same bytes.
Status assemble_image(const BuildRequest& r, const std::string& prefix,
                      const oci::Platform& platform, const detail::ImageMemo& memo,
                      const std::vector<bool>& reused, const std::vector<bool>& shared,
                      BuildResult& result) {
  const std::string& created = memo.created;
  result.created = created;
  result.activation = memo.activation;
  oci::Image image = r.base;
  image.index_platform.reset();  // a new image: an index lists it with its config's platform
  if (image.layers.empty()) image.config.set_platform(platform);
  for (size_t i = 0; i < memo.layers.size(); ++i) {
    const auto& layer = memo.layers[i];
    oci::HistoryEntry h;
    h.created = created;
    h.created_by = r.created_by + ": " + layer.label;
    h.comment = layer.packages.empty() ? "environment-wide files" : join(layer.packages, " ");
    image = oci::append_layer(std::move(image), layer.cached.layer, h);
    std::uint64_t bytes = static_cast<std::uint64_t>(layer.cached.blob.size);
    (reused[i] ? result.bytes_reused : result.bytes_new) += bytes;
    result.layers.push_back({layer.label, layer.packages, layer.cached.blob, layer.cached.diff_id,
                             layer.key, layer.cached.tar_size, reused[i], shared[i]});
  }
  oci::ConfigEdit edit;
  std::string base_path = r.base.config.env_var("PATH").value_or(
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  edit.env.emplace_back("PATH", prefix + "/bin" + (base_path.empty() ? "" : ":" + base_path));
  edit.env.emplace_back("CONDA_PREFIX", prefix);
  if (!r.environment_name.empty()) edit.env.emplace_back("CONDA_DEFAULT_ENV", r.environment_name);
  for (const auto& v : memo.activation) edit.env.push_back(v);
  for (const auto& v : r.variables) edit.env.push_back(v);
  for (const auto& v : r.env) edit.env.push_back(v);
  edit.entrypoint = r.entrypoint;
  edit.cmd = r.cmd;
  edit.workdir = r.workdir;
  if (r.user) edit.user = *r.user;
  if (!r.environment_name.empty()) {
    edit.labels.emplace_back("org.opencontainers.image.title", r.environment_name);
    edit.labels.emplace_back("io.docker-envs.environment.name", r.environment_name);
  }
  edit.labels.emplace_back("org.opencontainers.image.created", created);
  edit.labels.emplace_back("org.opencontainers.image.description",
                           fmt::format("conda environment{}{} ({} packages, prefix {})",
                                       r.environment_name.empty() ? "" : " ", r.environment_name,
                                       r.packages.size(), prefix));
  if (!r.spec_hash.empty())
    edit.labels.emplace_back("io.docker-envs.environment.spec-hash", r.spec_hash);
  edit.labels.emplace_back("io.docker-envs.environment.packages",
                           std::to_string(r.packages.size()));
  edit.labels.emplace_back("io.docker-envs.environment.prefix", prefix);
  for (const auto& l : r.labels) edit.labels.push_back(l);
  edit.history.created = created;
  edit.history.created_by = r.created_by + ": config (PATH, CONDA_PREFIX, variables, labels)";
  image = DE_TRY_CTX(oci::edit_config(std::move(image), edit), "image config");
  oci::set_created(image, created);
  image.names.clear();
  image.annotations.clear();
  result.image = std::move(image);
  return {};
}

struct LayerJob {
  std::string label;
  std::vector<std::string> packages;
  // A layer of one package views its entries where the plan holds them; others own theirs.
  std::span<InstallEntry> viewed;
  std::vector<InstallEntry> owned;
  std::span<InstallEntry> entries() { return owned.empty() ? viewed : std::span(owned); }
  Digest key;
  std::optional<Digest> alias;  // its group memo's key (layer_group_key), when it has one
  bool memo_found = false;      // found under that memo in the local layer cache
  std::optional<CachedLayer> cached;
  bool reused = false;
  bool shared = false;
};

// The memo a shared cache holds for `key`, each layer from the local layer cache when it has the
// blob, else from the shared cache; nullopt when it holds none. `shared[i]`: layer i is remote.
std::optional<detail::ImageMemo> shared_memo(const SharedCache& caches, const LayerCache& cache,
                                             const Digest& key, std::vector<bool>& shared,
                                             std::string& from) {
  const SharedImageEntry* entry = caches.image(key, &from);
  if (!entry) return std::nullopt;
  detail::ImageMemo memo{.created = entry->created,
                         .layers = {},
                         .activation = entry->activation,
                         .warnings = entry->warnings};
  shared.clear();
  for (const auto& l : entry->layers) {
    const SharedLayerEntry* blob = caches.layer_entry(l.key);
    if (!blob) return std::nullopt;
    auto cached = cache.blob(blob->blob, blob->diff_id, blob->tar_size);
    shared.push_back(!cached);
    if (!cached) cached = caches.layer(l.key);
    if (!cached) return std::nullopt;
    memo.layers.push_back({l.label, l.packages, l.key, std::move(*cached)});
  }
  return memo;
}

}  // namespace

Result<BuildResult> build_image(const BuildRequest& r) {
  if (!r.fetcher) return fail(Code::Internal, "build_image needs a fetcher");
  // Relative to the working directory they would scatter cache files there.
  if (r.package_cache.empty() || r.layer_cache.empty())
    return fail(Code::Internal, "build_image needs a package cache and a layer cache directory");
  if (!r.prefix.starts_with("/") || r.prefix == "/")
    return fail(Code::InvalidArgument, "prefix '{}' must be an absolute path below /", r.prefix);
  const std::string prefix_rel = DE_TRY(oci::normalize_path(r.prefix));
  const std::string prefix = "/" + prefix_rel;
  const std::int64_t mtime = r.source_date_epoch.value_or(0);
  const oci::Platform platform = DE_TRY(image_platform(r.platform));
  const Owner owner = r.owner.value_or(Owner{});
  const unsigned parallelism = std::max(1u, r.parallelism);
  auto report = [&](progress::Event e) { progress::emit(r.reporter, e); };
  using progress::Kind;

  BuildResult result;
  result.base_layers = r.base.layers.size();
  result.package_count = r.packages.size();
  result.wheel_count = r.wheels.size();
  if (!r.base.layers.empty()) {
    auto base_platform = r.base.config.platform();
    if (!base_platform.satisfies(
            oci::Platform{.os = platform.os, .architecture = platform.architecture}))
      return fail(Code::InvalidArgument, "the base image is {} but the environment is for {} ({})",
                  base_platform.to_string(), platform.to_string(), r.platform);
  }

  // Each package's key in a shared cache (--cache-from reads plans under it, --cache-to writes).
  std::vector<std::optional<Digest>> plan_keys(r.packages.size());
  if (r.shared_cache || r.export_plans) {
    std::string python = "-";
    for (const auto& p : r.packages)
      if (p.name == "python" && p.sha256)
        python = p.sha256->hex() + "|" + p.python_site_packages_path;
    for (size_t i = 0; i < r.packages.size(); ++i)
      plan_keys[i] = shared_plan_key(r.packages[i], prefix, python);
  }

  // 0. The image memo: the same inputs as a build before give its layers without planning.
  std::vector<InstallEntry> added_files;
  for (const auto& f : r.files) DE_TRY_CTX(add_host_files(f, added_files), "image files");
  std::map<fs::path, std::string> added_ids;  // host file -> SHA-256, hashed once per build
  auto added_id = [&](const InstallEntry& e) -> Result<std::string> {
    if (auto it = added_ids.find(e.host_path); it != added_ids.end()) return it->second;
    return hash_host_file(e.host_path);
  };
  LayerCache cache(r.layer_cache);
  const detail::ImageMemoCache memos(cache);
  auto hash_added = [&](const InstallEntry& e) -> Result<std::string> {
    auto id = DE_TRY(hash_host_file(e.host_path));
    added_ids.emplace(e.host_path, id);
    return id;
  };
  const auto memo_key =
      DE_TRY_CTX(detail::compute_image_memo_key(r, added_files, hash_added), "image files");
  result.image_memo = {.key = memo_key.key, .why_not = memo_key.why_not};
  if (memo_key.key) {
    auto memo = DE_TRY(memos.find(*memo_key.key));
    std::vector<bool> shared(memo ? memo->layers.size() : 0, false);
    std::string from = "local";
    if (memo) {
      log::debug("image memo {}: hit, {} layer(s) from the layer cache, nothing planned",
                 memo_key.key->hex(), memo->layers.size());
    } else if (r.shared_cache) {
      memo = shared_memo(*r.shared_cache, cache, *memo_key.key, shared, from);
      if (memo)
        log::debug("image memo {}: hit in the shared cache {}, {} of {} layer(s) from there",
                   memo_key.key->hex(), from, std::count(shared.begin(), shared.end(), true),
                   memo->layers.size());
    }
    if (memo && from == "local" && r.export_plans && r.plan_missing) {
      // A --cache-to target without these plans would leave machines with one package changed
      // fetching every package: plan (from the local plan cache) to export them, this once. (A
      // hit in a shared cache is taken all the same: this machine may have none of the packages.)
      auto missing = std::count_if(plan_keys.begin(), plan_keys.end(),
                                   [&](const auto& k) { return k && r.plan_missing(*k); });
      if (missing > 0) {
        result.image_memo.why_not =
            fmt::format("{} package plan(s) to export to the --cache-to cache(s)", missing);
        log::debug("image memo {}: found, not used: {}", memo_key.key->hex(),
                   result.image_memo.why_not);
        memo.reset();
      }
    }
    if (memo) {
      result.image_memo.hit = true;
      result.image_memo.from = from;
      result.warnings = memo->warnings;
      report({.kind = Kind::StageStart,
              .stage = "layers",
              .detail = fmt::format("{} layer(s) (image memo)", memo->layers.size()),
              .total = memo->layers.size()});
      for (const auto& l : memo->layers)
        report({.kind = Kind::TaskEnd,
                .stage = "layers",
                .task = l.label,
                .detail = "reused",
                .bytes = static_cast<std::uint64_t>(l.cached.blob.size)});
      report({.kind = Kind::StageEnd,
              .stage = "layers",
              .detail = fmt::format("{} layer(s): all reused (image memo, nothing planned)",
                                    memo->layers.size())});
      DE_TRY(assemble_image(r, prefix, platform, *memo,
                            std::vector<bool>(memo->layers.size(), true), shared, result));
      // A shared hit is kept locally too: the next build here is a local hit once the blobs are
      // in the layer cache (until then a local miss, found in the shared cache again).
      if (from != "local")
        if (auto put = memos.put(*memo_key.key, *memo); !put)
          log::debug("image memo {}: not written: {}", memo_key.key->hex(),
                     put.error().to_string());
      return result;
    }
    log::debug("image memo {}: miss, planning {} package(s)", memo_key.key->hex(),
               r.packages.size());
  } else {
    log::debug("image memo: none ({})", memo_key.why_not);
  }

  // 1. Fetch, verify and extract (parallel, shared cache). With --cache-from, a package whose plan
  // a shared cache holds is not fetched yet: its plan comes from there, and the package only when
  // its layer has to be made (step 5).
  std::vector<conda::PackageCache::FetchRequest> requests;
  for (const auto& p : r.packages) {
    if (p.url.empty())
      return fail(Code::InvalidArgument, "package {} has no URL to fetch it from", p.dist_name());
    requests.push_back({p.url, {.sha256 = p.sha256, .md5 = p.md5, .size = p.size}});
  }
  const size_t n = r.packages.size();
  std::vector<std::optional<conda::PortablePlan>> shared_plans(n);
  conda::PackageCache package_cache(r.package_cache);
  auto on_fetch = [&](const conda::PackageCache::FetchProgress& p) {
    using State = conda::PackageCache::FetchProgress::State;
    if (p.state == State::Downloaded) {
      ++result.packages_downloaded;
      result.bytes_downloaded += p.bytes;
    }
    if (p.state == State::Local) ++result.packages_local;
    conda::PackageCache::report(r.reporter, "fetch", p);
  };
  // A package not fetched has a directory that never exists: its plan's host files are below it
  // until it is fetched (fetch_packages moves them).
  std::vector<fs::path> dirs(n);
  std::vector<bool> fetched(n, false);
  auto fetch_packages = [&](const std::vector<size_t>& which, std::string_view note) -> Status {
    std::vector<conda::PackageCache::FetchRequest> subset;
    for (size_t i : which) subset.push_back(requests[i]);
    const std::size_t downloaded = result.packages_downloaded, local = result.packages_local;
    const std::uint64_t bytes = result.bytes_downloaded;
    report({.kind = Kind::StageStart,
            .stage = "fetch",
            .detail = fmt::format("{} package(s){}", subset.size(), note),
            .total = subset.size()});
    auto got = DE_TRY_CTX(package_cache.fetch_all(subset, *r.fetcher, parallelism, on_fetch),
                          "fetching packages");
    for (size_t k = 0; k < which.size(); ++k) {
      dirs[which[k]] = got[k];
      fetched[which[k]] = true;
    }
    const std::size_t d = result.packages_downloaded - downloaded,
                      l = result.packages_local - local;
    report({.kind = Kind::StageEnd,
            .stage = "fetch",
            .detail = fmt::format(
                "{} package(s): {} downloaded ({}), {} from the package cache, {} local",
                subset.size(), d, progress::human_bytes(result.bytes_downloaded - bytes),
                subset.size() - d - l, l)});
    return {};
  };
  {
    // The plans a shared cache holds are read (downloaded, small) while the other packages are
    // fetched; a package whose plan cannot be read is fetched after all.
    std::vector<size_t> with_plan, first;
    for (size_t i = 0; i < n; ++i) {
      if (r.shared_cache && plan_keys[i] && r.shared_cache->has_plan(*plan_keys[i]))
        with_plan.push_back(i);
      else
        first.push_back(i);
    }
    auto read_plans = [&]() -> Status {
      std::vector<Digest> keys;
      for (size_t i : with_plan) keys.push_back(*plan_keys[i]);
      if (auto fetched_plans = r.shared_cache->prefetch_plans(keys); !fetched_plans)
        log::debug("shared plans: {}", fetched_plans.error().to_string());
      return parallel_for(with_plan.size(), parallelism, [&](size_t k) -> Status {
        size_t i = with_plan[k];
        if (auto plan = r.shared_cache->plan(*plan_keys[i]))
          shared_plans[i] = std::move(*plan);
        else
          log::debug("shared plan of {}: {}", r.packages[i].dist_name(), plan.error().to_string());
        return {};
      });
    };
    std::string note = with_plan.empty()
                           ? std::string()
                           : fmt::format(" ({} planned from the shared cache)", with_plan.size());
    DE_TRY(parallel_for(with_plan.empty() ? 1 : 2, 2, [&](size_t branch) -> Status {
      return branch == 1 ? read_plans() : fetch_packages(first, note);
    }));
    std::vector<size_t> unread;
    for (size_t i : with_plan)
      if (shared_plans[i])
        dirs[i] = r.package_cache / ".not-fetched" / r.packages[i].dist_name();
      else
        unread.push_back(i);
    if (!unread.empty())
      DE_TRY(fetch_packages(unread, " (their shared plans could not be read)"));
  }

  // 2. What each package puts under the prefix.
  report({.kind = Kind::StageStart,
          .stage = "plan",
          .detail = fmt::format("{} package(s)", r.packages.size())});
  auto to_install = [&] {
    std::vector<conda::PackageToInstall> packages;
    for (size_t i = 0; i < n; ++i) packages.push_back({dirs[i], r.packages[i], ""});
    return packages;
  };
  const conda::InstallOptions plan_options{.prefix = prefix,
                                           .history_time = mtime,
                                           .history_command = r.created_by,
                                           .plan_cache = r.layer_cache / "plans"};
  // Every package's identity in layer keys: its sha256 when known, else the cache entry's name
  // (stem + sha256 prefix), never the host path.
  auto content_of = [&](size_t i, const conda::PackageRecord& record) {
    const auto& sha = r.packages[i].sha256 ? r.packages[i].sha256 : record.sha256;
    return sha ? sha->hex() : dirs[i].filename().string();
  };
  // Package layers hold only prefix files; the final layer also holds the added ones.
  LayerKeyOptions key_options{.layer = {.prefix = prefix, .owner = owner, .mtime = mtime},
                              .compression = r.compression};

  // 2a. Group memos. A layer of packages whose entries the merge leaves as their plans made them
  // (conda::summarize_environment) is named by their plans (layer_group_key): a layer the cache
  // holds under that name needs none of its packages' entries, which are then not read at all.
  // Only the packages of the other layers, the entangled ones and those with activation scripts
  // are planned.
  std::optional<conda::EnvironmentSummary> summary;
  if (r.wheels.empty() && !r.export_plans) {
    conda::InstallOptions options = plan_options;
    options.preplanned = [&](size_t i) -> std::optional<conda::PortablePlan> {
      if (fetched[i]) return std::nullopt;
      return shared_plans[i];  // a copy: planning takes them later
    };
    std::string why;
    auto summarized = conda::summarize_environment(to_install(), options, &why);
    if (!summarized)
      log::debug("group memos: not used: {}", summarized.error().to_string());
    else if (!*summarized)
      log::debug("group memos: not used: {}", why);
    else
      summary = std::move(**summarized);
  } else {
    log::debug("group memos: not used: {}", r.wheels.empty() ? "every plan is exported" : "wheels");
  }
  auto content_at = [&content_of](const conda::EnvironmentSummary& s) {
    return [&content_of, &s](size_t i) { return content_of(i, s.records[i]); };
  };
  const size_t conda_budget =
      r.max_layers - detail::wheel_layer_budget(r.wheels.size(), r.max_layers);
  std::vector<LayerGroup> groups;
  std::vector<std::optional<Digest>> group_alias;
  std::vector<std::optional<detail::FoundGroup>> group_found;
  std::vector<bool> to_plan(n, true);  // the packages whose entries are read
  if (summary) {
    std::vector<PlannedPackage> sizes;
    for (size_t i = 0; i < n; ++i)
      sizes.push_back({summary->records[i].name, summary->packages[i].size});
    groups = DE_TRY(plan_layers(
        sizes,
        {.strategy = r.strategy, .max_layers = conda_budget, .base_layers = r.base.layers.size()}));
    group_alias = detail::group_memo_keys(*summary, groups, content_at(*summary), key_options);
    group_found = DE_TRY(detail::find_groups(group_alias, cache, r.shared_cache, parallelism));
    for (size_t i = 0; i < n; ++i)
      to_plan[i] = summary->packages[i].activation || summary->packages[i].entangled;
    size_t found = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
      if (group_found[g])
        ++found;
      else
        for (size_t i : groups[g].packages) to_plan[i] = true;
    }
    log::debug("group memos: {} of {} layer(s) found, {} of {} package(s) planned", found,
               groups.size(), std::count(to_plan.begin(), to_plan.end(), true), n);
  }
  auto plan_all = [&]() -> Result<conda::InstallPlan> {
    conda::InstallOptions options = plan_options;
    // Moved out: planning reads each once (a second planning, below, has fetched every package
    // and asks for none).
    options.preplanned = [&](size_t i) -> std::optional<conda::PortablePlan> {
      if (fetched[i]) return std::nullopt;
      return std::move(shared_plans[i]);
    };
    options.export_plans = r.export_plans;
    if (summary) options.only = [&](size_t i) { return static_cast<bool>(to_plan[i]); };
    return conda::plan_environment(to_install(), options);
  };
  auto planned = plan_all();
  if (!planned && std::find(fetched.begin(), fetched.end(), false) != fetched.end()) {
    // A plan from the shared cache that does not fit (damaged, or the environment needs a file of
    // a package not fetched): every package fetched and planned from its files.
    log::debug("plans from the shared cache not used: {}", planned.error().to_string());
    std::vector<size_t> rest;
    for (size_t i = 0; i < n; ++i)
      if (!fetched[i]) rest.push_back(i);
    DE_TRY(fetch_packages(rest, " (the shared cache's plans did not fit)"));
    // Planned from the packages' files, every one, as without summaries.
    summary.reset();
    groups.clear();
    group_alias.clear();
    group_found.clear();
    to_plan.assign(n, true);
    planned = plan_all();
  }
  auto plan = DE_TRY(std::move(planned));
  result.packages_planned = static_cast<size_t>(std::count(to_plan.begin(), to_plan.end(), true));
  if (r.export_plans)
    for (size_t i = 0; i < n && i < plan.portable.size(); ++i)
      if (plan_keys[i]) {
        auto blob = DE_TRY_CTX(encode_shared_plan(plan.portable[i]), "a shared plan");
        result.plans.push_back({*plan_keys[i], std::move(blob)});
      }
  // With group memos the plan holds only some packages' entries and warnings; their summaries
  // say the rest (in the same order as a full plan's).
  size_t entry_count = plan.entries.size();
  if (summary) {
    std::vector<std::string> warnings;
    for (size_t i = 0; i <= n; ++i) {
      if (i < n && !to_plan[i]) {
        entry_count += summary->packages[i].entries;
        warnings.insert(warnings.end(), summary->packages[i].warnings.begin(),
                        summary->packages[i].warnings.end());
        continue;
      }
      for (size_t k = 0; k < plan.warnings.size(); ++k)
        if (plan.warning_packages.at(k) == i) warnings.push_back(plan.warnings[k]);
    }
    result.warnings = std::move(warnings);
  } else {
    result.warnings = plan.warnings;
  }
  report(
      {.kind = Kind::StageEnd, .stage = "plan", .detail = fmt::format("{} entries", entry_count)});
  const std::string created = oci::rfc3339_from_epoch(created_time(r, plan.records));

  std::map<std::string, size_t> index_of;  // dist name -> package index
  std::vector<std::string> content_base(plan.records.size());
  for (size_t i = 0; i < plan.records.size(); ++i) {
    index_of[plan.records[i].dist_name()] = i;
    content_base[i] = content_of(i, plan.records[i]);
  }
  // Each package's entries, where they lie in plan.entries (package by package, in install
  // order): viewed there, not moved into arrays of their own (a large environment's entries are
  // tens of megabytes).
  std::vector<std::span<InstallEntry>> per_package(plan.records.size());
  std::vector<InstallEntry> final_entries;
  std::vector<InstallEntry> activation;
  const std::string activate_dir = prefix_rel + "/etc/conda/activate.d/";
  for (size_t k = 0; k < plan.entries.size();) {
    auto& e = plan.entries[k];
    if (e.package.empty()) {
      final_entries.push_back(std::move(e));
      ++k;
      continue;
    }
    auto it = index_of.find(e.package);
    if (it == index_of.end())
      return fail(Code::Internal, "entry {} names unknown package {}", e.path, e.package);
    if (!per_package[it->second].empty())
      return fail(Code::Internal, "the entries of {} are not together", e.package);
    size_t end = k + 1;
    while (end < plan.entries.size() && plan.entries[end].package == e.package) ++end;
    per_package[it->second] = std::span(plan.entries).subspan(k, end - k);
    k = end;
  }
  for (const auto& entries : per_package)
    for (const auto& e : entries)
      if (e.type == InstallEntry::Type::File && e.path.starts_with(activate_dir) &&
          e.path.ends_with(".sh") && e.path.find('/', activate_dir.size()) == std::string::npos)
        activation.push_back(e);
  for (auto& e : added_files) final_entries.push_back(std::move(e));

  // 2b. PyPI wheels, into the environment's python, never over a conda package's file.
  std::vector<detail::PlannedWheel> wheels;
  std::map<std::string, size_t> wheel_index_of;  // dist ("pip-23.0.1") -> wheel index
  if (!r.wheels.empty()) {
    std::map<std::string, std::string> taken;
    for (size_t i = 0; i < per_package.size(); ++i)
      for (const auto& e : per_package[i])
        taken.emplace(e.path, "the conda package " + plan.records[i].dist_name());
    for (const auto& e : final_entries) taken.emplace(e.path, "the environment's own files");
    detail::WheelFetchStats stats;
    wheels = DE_TRY(detail::plan_wheels(r, plan.records, std::move(taken), prefix, stats));
    result.packages_downloaded += stats.downloaded;
    result.bytes_downloaded += stats.bytes;
    for (size_t i = 0; i < wheels.size(); ++i)
      if (index_of.contains(wheels[i].dist) || !wheel_index_of.emplace(wheels[i].dist, i).second)
        return fail(Code::InvalidArgument, "pypi package {} is named twice in the environment",
                    wheels[i].dist);
  }

  // 3. Layers: the conda packages', the wheels' (a share of the budget kept for them), the
  // environment-wide one.
  if (!summary) {
    // By each package's own plan (before the merge), as with group memos, which know no more.
    std::vector<PlannedPackage> sizes;
    for (size_t i = 0; i < plan.records.size(); ++i)
      sizes.push_back({plan.records[i].name, plan.planned_sizes.at(i)});
    groups = DE_TRY(plan_layers(
        sizes,
        {.strategy = r.strategy, .max_layers = conda_budget, .base_layers = r.base.layers.size()}));
    // A build that planned every package to export the plans (--cache-to) names its layers by
    // group memo too, for the machines that read the cache and for the next build here.
    std::string why = "no plans exported";
    auto exported = r.export_plans && wheels.empty() ? conda::summarize_exported(plan, prefix, &why)
                                                     : std::nullopt;
    if (exported)
      group_alias = detail::group_memo_keys(*exported, groups, content_at(*exported), key_options);
    else
      log::debug("group memos: not written: {}", why);
  }
  const size_t wheel_budget = r.max_layers - conda_budget;
  std::vector<PlannedPackage> wheel_sizes;
  for (const auto& w : wheels) wheel_sizes.push_back({w.dist, w.size});
  const size_t below_wheels = r.base.layers.size() + groups.size();
  auto wheel_groups =
      DE_TRY(plan_layers(wheel_sizes, {.strategy = r.strategy,
                                       .max_layers = below_wheels + wheel_budget + 1,
                                       .base_layers = below_wheels}));
  const size_t layer_count = below_wheels + wheel_groups.size() + 1;
  if (layer_count > 125)
    result.warnings.push_back(fmt::format(
        "the image has {} layers; Docker and other engines refuse images with more than about "
        "125 (use the auto or single layering strategy)",
        layer_count));
  std::vector<LayerJob> jobs;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const auto& g = groups[gi];
    LayerJob job;
    if (gi < group_alias.size()) job.alias = group_alias[gi];
    if (gi < group_found.size() && group_found[gi]) {  // its entries are not needed
      job.key = group_found[gi]->key;
      job.cached = std::move(group_found[gi]->layer);
      job.shared = group_found[gi]->shared;
      job.memo_found = group_found[gi]->local_memo;
    }
    if (!job.cached && g.packages.size() == 1) {
      job.viewed = per_package[g.packages[0]];
    } else if (!job.cached) {
      size_t count = 0;
      for (size_t i : g.packages) count += per_package[i].size();
      job.owned.reserve(count);
      for (size_t i : g.packages)
        for (auto& e : per_package[i]) job.owned.push_back(std::move(e));
    }
    for (size_t i : g.packages) job.packages.push_back(plan.records[i].dist_name());
    job.label = g.packages.size() == 1
                    ? job.packages[0]
                    : fmt::format("{} packages: {}", g.packages.size(), join(job.packages, ", "));
    jobs.push_back(std::move(job));
  }
  for (const auto& g : wheel_groups) {
    LayerJob job;
    for (size_t i : g.packages) {
      job.packages.push_back(wheels[i].dist);
      for (auto& e : wheels[i].entries) job.owned.push_back(std::move(e));
    }
    job.label = detail::wheel_layer_label(job.packages);
    jobs.push_back(std::move(job));
  }
  if (!final_entries.empty() || jobs.empty()) {
    LayerJob fin;
    fin.label = "environment files (conda-meta/history" +
                std::string(r.files.empty() ? ")" : ", added files)");
    fin.owned = std::move(final_entries);
    jobs.push_back(std::move(fin));
  }
  report({.kind = Kind::StageStart,
          .stage = "layers",
          .detail = fmt::format("{} layer(s)", jobs.size()),
          .total = jobs.size()});

  // 4. Keys, and the cache.
  // Added files belong to `user` too (the paths above them stay root's, as the prefix's do).
  std::vector<std::string> owned_files;
  if (r.owner)
    for (const auto& f : r.files) owned_files.push_back(DE_TRY(oci::normalize_path(f.dest)));
  auto options_for = [&](const LayerJob& job) {
    LayerKeyOptions o = key_options;
    if (job.packages.empty()) o.layer.owned = owned_files;
    return o;
  };
  auto content_id = [&](const InstallEntry& e) -> Result<std::string> {
    if (e.package.empty()) return added_id(e);  // added files: by content
    if (auto w = wheel_index_of.find(e.package); w != wheel_index_of.end()) {
      // A wheel's unchanged file: the wheel's sha256 and the member's path.
      const auto& wheel = wheels[w->second];
      if (auto inside = conda::path_in_package(e, wheel.dir))
        return wheel.content_base + "/" + std::string(*inside);
      return fail(Code::Internal, "entry {} of {} lies outside its wheel", e.path, wheel.dist);
    }
    size_t i = index_of.at(e.package);
    if (auto inside = conda::path_in_package(e, dirs[i]))
      return content_base[i] + "/" + std::string(*inside);
    return content_base[i] + "/" +
           fs::path(e.host_path).lexically_relative(dirs[i]).generic_string();
  };
  // Keys hash every entry (and the bytes of generated files): computed on all cores.
  Status keyed = parallel_for(jobs.size(), parallelism, [&](size_t i) -> Status {
    auto& job = jobs[i];
    if (job.cached) return {};  // found under its group memo
    job.key =
        DE_TRY_CTX(layer_key(job.entries(), options_for(job), content_id), "layer " + job.label);
    job.cached = DE_TRY(cache.find(job.key));
    if (!job.cached && r.shared_cache) {
      job.cached = r.shared_cache->layer(job.key);
      job.shared = job.cached.has_value();
    }
    return {};
  });
  DE_TRY(keyed);
  std::vector<size_t> missing;
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto& job = jobs[i];
    if (job.cached) {
      job.reused = true;
      report({.kind = Kind::TaskEnd,
              .stage = "layers",
              .task = job.label,
              .detail = job.shared ? "reused (shared cache)" : "reused",
              .bytes = static_cast<std::uint64_t>(job.cached->blob.size)});
    } else {
      missing.push_back(i);
    }
  }

  // 4b. The packages not fetched yet whose files are needed after all: those of the layers to
  // make, and those with activation scripts (read below). Their entries move below the real
  // directory.
  if (std::find(fetched.begin(), fetched.end(), false) != fetched.end()) {
    std::set<size_t> needed;
    auto need = [&](const std::string& package) {
      if (auto it = index_of.find(package); it != index_of.end() && !fetched[it->second])
        needed.insert(it->second);
    };
    for (size_t i : missing)
      for (const auto& dist : jobs[i].packages) need(dist);
    for (const auto& e : activation) need(e.package);
    if (!needed.empty()) {
      std::map<std::string, fs::path> placeholder;  // dist -> the directory it was planned in
      for (size_t i : needed) placeholder[plan.records[i].dist_name()] = dirs[i];
      DE_TRY(fetch_packages({needed.begin(), needed.end()}, " (their layers are to be made)"));
      auto move_entry = [&](InstallEntry& e) {
        auto it = placeholder.find(e.package);
        if (it == placeholder.end() || e.host_path.empty()) return;
        e.host_path =
            (dirs[index_of.at(e.package)] / fs::path(e.host_path).lexically_relative(it->second))
                .native();
      };
      for (size_t i : missing)
        for (auto& e : jobs[i].entries()) move_entry(e);
      for (auto& e : activation) move_entry(e);
    }
    result.packages_not_fetched =
        static_cast<size_t>(std::count(fetched.begin(), fetched.end(), false));
    log::debug("{} package(s) not fetched: their plans and layers came from the shared cache",
               result.packages_not_fetched);
  }

  // 5. Produce the missing layers in parallel (each also compresses on a second thread).
  Status built = parallel_for(missing.size(), parallelism, [&](size_t k) -> Status {
    auto& job = jobs[missing[k]];
    report({.kind = Kind::TaskStart, .stage = "layers", .task = job.label});
    auto produced = [&]() -> Result<CachedLayer> {
      auto options = options_for(job).layer;
      options.description = "layer " + job.label;
      // The layer keeps its entries until it is written: a viewed layer's are copied.
      std::vector<InstallEntry> entries =
          job.owned.empty() ? std::vector<InstallEntry>(job.viewed.begin(), job.viewed.end())
                            : std::move(job.owned);
      auto layer = DE_TRY(entries_layer(std::move(entries), options));
      return cache.put(job.key, *layer, r.compression);
    }();
    job.cached = DE_TRY_CTX(produced, "building layer " + job.label);
    report({.kind = Kind::TaskEnd,
            .stage = "layers",
            .task = job.label,
            .detail = "built",
            .bytes = static_cast<std::uint64_t>(job.cached->blob.size)});
    return {};
  });
  DE_TRY(built);
  // The group memos of the layers now in the cache, for the next build (and a shared cache).
  for (const auto& job : jobs) {
    if (!job.alias || !job.cached) continue;
    result.group_memos.push_back({*job.alias, job.key});
    if (job.shared || job.memo_found) continue;  // its blob is not here; it is recorded already
    if (auto put = cache.record_alias(*job.alias, job.key, *job.cached); !put)
      log::debug("group memo of {}: not written: {}", job.label, put.error().to_string());
  }
  std::uint64_t new_bytes = 0;
  for (size_t i : missing) new_bytes += static_cast<std::uint64_t>(jobs[i].cached->blob.size);

  // 6. The image, and the memo of what it took.
  report({.kind = Kind::StageEnd,
          .stage = "layers",
          .detail = fmt::format("{} layer(s): {} reused, {} built ({} new)", jobs.size(),
                                jobs.size() - missing.size(), missing.size(),
                                progress::human_bytes(new_bytes))});
  detail::ImageMemo memo{.created = created};
  std::vector<bool> reused, shared;
  for (auto& job : jobs) {
    memo.layers.push_back({job.label, job.packages, job.key, *job.cached});
    reused.push_back(job.reused);
    shared.push_back(job.shared);
  }
  memo.activation = DE_TRY(activation_exports(std::move(activation), prefix, result.warnings));
  memo.warnings = result.warnings;
  DE_TRY(assemble_image(r, prefix, platform, memo, reused, shared, result));
  // Written last, after every blob it names is in the layer cache. A memo that cannot be written
  // costs the next build its shortcut, not this one its image.
  if (memo_key.key)
    if (auto put = memos.put(*memo_key.key, memo); !put)
      log::debug("image memo {}: not written: {}", memo_key.key->hex(), put.error().to_string());
  return result;
}

}  // namespace de::build
