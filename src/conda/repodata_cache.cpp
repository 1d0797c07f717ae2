// fetch_repodata(): local channels read in place; remote ones through a validator-aware cache.
#include <sys/stat.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/channel.hpp"
#include "ffi/compress.hpp"

namespace de::conda {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// How long a 404 for repodata.json.zst is believed: a channel may start publishing it.
constexpr std::int64_t kNoZstRecheckSeconds = 7 * 24 * 3600;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What we know about a cached document. Trusted only when size and mtime match the document.
struct CacheState {
  std::string variant;  // "zst" or "json": which URL the validators belong to
  std::string etag, last_modified;
  bool no_zst = false;              // the server answered 404 for repodata.json.zst ...
  std::int64_t no_zst_checked = 0;  // ... at this time (unix seconds)
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

fs::path state_path(const fs::path& doc) {
  fs::path p = doc;
  p.replace_extension(".state.json");
  return p;
}

std::optional<std::pair<std::uint64_t, std::int64_t>> stat_doc(const fs::path& doc) {
  struct stat st {};
  if (::stat(doc.c_str(), &st) != 0) return std::nullopt;
  return std::pair{
      static_cast<std::uint64_t>(st.st_size),
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// The state that goes with `doc`, or an empty one (no validators) when missing or stale. The
// no_zst knowledge is kept even when the validators are stale, for kNoZstRecheckSeconds.
CacheState load_state(const fs::path& doc) {
  CacheState s;
  auto text = read_file(state_path(doc), 1 << 20);
  if (!text) return s;
  try {
    auto j = json::parse(*text);
    s.no_zst_checked = j.value("no_zst_checked", std::int64_t{0});
    s.no_zst = j.value("no_zst", false) && unix_now() - s.no_zst_checked < kNoZstRecheckSeconds;
    auto st = stat_doc(doc);
    if (!st || j.value("size", std::uint64_t{0}) != st->first ||
        j.value("mtime_ns", std::int64_t{0}) != st->second)
      return s;
    s.variant = j.value("variant", "");
    s.etag = j.value("etag", "");
    s.last_modified = j.value("last_modified", "");
    s.size = st->first;
    s.mtime_ns = st->second;
  } catch (const json::exception&) {
    return CacheState{};
  }
  return s;
}

Status save_state(const fs::path& doc, CacheState s, std::string_view shown_url) {
  if (auto st = stat_doc(doc)) {
    s.size = st->first;
    s.mtime_ns = st->second;
  }
  json j = {{"url", shown_url},   {"variant", s.variant},
            {"etag", s.etag},     {"last_modified", s.last_modified},
            {"no_zst", s.no_zst}, {"no_zst_checked", s.no_zst_checked},
            {"size", s.size},     {"mtime_ns", s.mtime_ns}};
  return write_file_atomic(state_path(doc), j.dump(2) + "\n");
}

Status make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Code::Io, "creating {}: {}", dir.string(), ec.message());
  return {};
}

Error no_subdir(const Channel& channel, std::string_view subdir, std::string_view detail) {
  return Error(Code::NotFound, fmt::format("channel {} has no subdir '{}' ({})",
                                           channel.to_string(), subdir, detail));
}

// Decompresses a zstd document into `out`.
Status unzstd(std::string compressed, Writer& out, const std::string& what) {
  auto inner = std::make_unique<StringReader>(std::move(compressed));
  auto reader = DE_TRY_CTX(ffi::make_decompressor(Compression::Zstd, std::move(inner)), what);
  DE_TRY_CTX(copy(*reader, out), what);
  return {};
}

// Downloads the current document into memory (no cache): .zst first, then plain.
Result<std::string> download_uncached(const Channel& channel, std::string_view subdir,
                                      Fetcher& fetcher, const std::string& url) {
  StringWriter zst;
  auto got = fetcher.fetch_to(url + ".zst", zst);
  if (got) {
    StringWriter plain;
    DE_TRY(unzstd(zst.take(), plain, redact_url(url + ".zst")));
    return plain.take();
  }
  if (got.error().code() != Code::NotFound) return std::unexpected(std::move(got).error());
  StringWriter plain;
  auto got_plain = fetcher.fetch_to(url, plain);
  if (!got_plain) {
    if (got_plain.error().code() == Code::NotFound)
      return std::unexpected(no_subdir(channel, subdir, redact_url(url) + " not found"));
    return std::unexpected(std::move(got_plain).error());
  }
  return plain.take();
}

}  // namespace

fs::path repodata_cache_path(const fs::path& cache_dir, std::string_view subdir_url) {
  Sha256 h;
  h.update(subdir_url);
  return cache_dir / "channels" / (h.finish().hex().substr(0, 32) + ".json");
}

Result<fs::path> fetch_repodata_file(const Channel& channel, std::string_view subdir,
                                     Fetcher& fetcher, const RepodataFetchOptions& options) {
  std::string subdir_url = channel.subdir_url(subdir);
  std::string url = subdir_url + "/repodata.json";
  std::string shown = redact_url(url);

  if (auto local = fetcher.local_path(url)) {
    std::error_code ec;
    if (!fs::exists(*local, ec)) {
      if (!fs::is_directory(local->parent_path().parent_path(), ec))
        return std::unexpected(
            Error(Code::NotFound,
                  fmt::format("channel {} does not exist ({} is not a directory)",
                              channel.to_string(), local->parent_path().parent_path().string())));
      return std::unexpected(no_subdir(channel, subdir, local->string() + " does not exist"));
    }
    return *local;
  }
  if (options.cache_dir.empty())
    return fail(Code::InvalidArgument, "no cache directory to keep the repodata of {} in", shown);

  fs::path doc = repodata_cache_path(options.cache_dir, subdir_url);
  auto use = EntryUse::begin(options.cache_dir, "channels/" + doc.filename().string());
  if (options.offline) {
    std::error_code ec;
    if (!fs::exists(doc, ec))
      return fail(Code::NotFound,
                  "offline: the cache ({}) has no repodata for channel {} subdir '{}'; run once "
                  "without --offline to fill it",
                  options.cache_dir.string(), channel.to_string(), subdir);
    return doc;
  }

  DE_TRY(make_dirs(doc.parent_path()));
  CacheState state = load_state(doc);
  std::string what = "fetching " + shown;

  if (!state.no_zst) {
    FetchConditions cond;
    if (state.variant == "zst") cond = {.etag = state.etag, .last_modified = state.last_modified};
    StringWriter zst;
    auto got = fetcher.fetch_to(url + ".zst", zst, cond);
    if (got && got->not_modified) return doc;
    if (got) {
      auto out = DE_TRY_CTX(AtomicFileWriter::create(doc), what);
      DE_TRY(unzstd(zst.take(), *out, redact_url(url + ".zst")));
      DE_TRY_CTX(out->commit(), what);
      DE_TRY(save_state(doc,
                        {.variant = "zst", .etag = got->etag, .last_modified = got->last_modified},
                        shown + ".zst"));
      return doc;
    }
    if (got.error().code() != Code::NotFound)
      return std::unexpected(std::move(got).error().add_context(what + ".zst"));
    state.no_zst = true;
    state.no_zst_checked = unix_now();
  }

  FetchConditions cond;
  if (state.variant == "json") cond = {.etag = state.etag, .last_modified = state.last_modified};
  auto out = DE_TRY_CTX(AtomicFileWriter::create(doc), what);
  auto got = fetcher.fetch_to(url, *out, cond);
  if (!got) {
    if (got.error().code() == Code::NotFound)
      return std::unexpected(no_subdir(channel, subdir, shown + " not found"));
    return std::unexpected(std::move(got).error().add_context(what));
  }
  if (got->not_modified) {
    out.reset();  // abandons the empty temp file
    if (state.no_zst) {
      // Remember the missing .zst with the validators we had.
      DE_TRY(save_state(doc, state, shown));
    }
    return doc;
  }
  DE_TRY_CTX(out->commit(), what);
  DE_TRY(save_state(doc,
                    {.variant = "json",
                     .etag = got->etag,
                     .last_modified = got->last_modified,
                     .no_zst = true,
                     .no_zst_checked = state.no_zst_checked},
                    shown));
  return doc;
}

Result<Repodata> load_fetched_repodata(const Channel& channel, std::string_view subdir,
                                       Fetcher& fetcher, const fs::path& file) {
  std::string url = channel.subdir_url(subdir) + "/repodata.json";
  auto r =
      Repodata::load(file, {.channel = channel.name(), .subdir_url = channel.subdir_url(subdir)});
  if (!r) {
    std::string shown = redact_url(url);
    return std::unexpected(std::move(r).error().add_context(
        fetcher.local_path(url) ? "reading " + shown
                                : fmt::format("reading cached {} ({})", shown, file.string())));
  }
  return r;
}

Result<Repodata> fetch_repodata(const Channel& channel, std::string_view subdir, Fetcher& fetcher,
                                const RepodataFetchOptions& options) {
  std::string url = channel.subdir_url(subdir) + "/repodata.json";
  if (!fetcher.local_path(url) && options.cache_dir.empty()) {
    std::string shown = redact_url(url);
    if (options.offline)
      return fail(Code::InvalidArgument,
                  "offline: no cache directory to read the repodata of {} from", shown);
    auto body = DE_TRY_CTX(download_uncached(channel, subdir, fetcher, url), "fetching " + shown);
    return Repodata::parse(
        body, {.channel = channel.name(), .subdir_url = channel.subdir_url(subdir)}, shown);
  }
  fs::path file = DE_TRY(fetch_repodata_file(channel, subdir, fetcher, options));
  return load_fetched_repodata(channel, subdir, fetcher, file);
}

}  // namespace de::conda
