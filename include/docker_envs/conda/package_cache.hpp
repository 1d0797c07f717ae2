// A directory of extracted packages shared by concurrent processes.
//
// Layout under root:  <stem>-<sha256 prefix>/   a complete extracted package (info/, payload)
//                     <stem>-<sha256 prefix>.lock   flock()ed while one process extracts it
//                     .tmp-<...>/              extraction in progress (or left by a crash)
//                     downloads/<fn>           downloaded package files (verified)
// An entry is keyed by the package file's sha256, so two different files with one name never
// share an entry. It is extracted into a temporary directory and renamed into place, so a crash
// never leaves a complete-looking entry; the lock makes concurrent processes extract once and wait
// for each other. The file is verified (sha256 / md5 / size, as given) before it is extracted.
// A PackageCache object is thread-compatible; separate objects (and processes) may share a root.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/progress.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/package.hpp"

namespace de::conda {

// What a PackageCache holds: conda packages (conda_cache_format()), or another archive format
// (wheels: pypi::wheel_cache_format()) fetched, verified and extracted with the same policy.
struct CacheFormat {
  // The entry name's stem for a file named `file_name` ("zlib-1.2.11-h7b6447c_3"); an error
  // (InvalidArgument) when the file is not of this format.
  std::function<Result<std::string>(std::string_view file_name)> stem;
  // Extracts the verified file `archive` into `dest`, an empty directory that exists, creating
  // nothing outside it.
  std::function<Status(const std::filesystem::path& archive, const std::filesystem::path& dest)>
      extract;
};
// .conda and .tar.bz2 packages, extracted by extract_package().
CacheFormat conda_cache_format();

class PackageCache {
 public:
  explicit PackageCache(std::filesystem::path root, CacheFormat format = conda_cache_format())
      : root_(std::move(root)), format_(std::move(format)) {}
  const std::filesystem::path& root() const { return root_; }

  // Verifies `archive` against `expected` and returns its extracted directory, extracting it
  // first when the cache does not have it yet. When `expected` has a sha256 and the cache already
  // holds the entry made from a file with that sha256, the file is not read again (nor, in
  // fetch(), downloaded).
  Result<std::filesystem::path> extract(const std::filesystem::path& archive,
                                        const ExpectedHashes& expected = {});

  // Fetches `url` (file name = its last segment) into downloads/ through `fetcher` when not
  // already there with the expected hashes, then extract()s it. Local (file://) URLs are read in
  // place.
  Result<std::filesystem::path> fetch(const std::string& url, const ExpectedHashes& expected,
                                      Fetcher& fetcher);

  // Where fetch() would take `url` from without any network: the fetcher's local file (file://),
  // the complete entry for `expected.sha256`, or an earlier download of the same file name (its
  // hashes are checked when it is used). nullopt: fetch() would have to download it (what
  // `build --offline` checks before it starts).
  std::optional<std::filesystem::path> local_source(const std::string& url,
                                                    const ExpectedHashes& expected,
                                                    Fetcher& fetcher) const;

  struct FetchRequest {
    std::string url;
    ExpectedHashes expected;
  };
  // What fetch_all() says about each request.
  struct FetchProgress {
    enum class State {
      Started,      // a download begins
      Downloading,  // `bytes` received so far (every 64 KiB)
      Downloaded,   // the whole file: `bytes` received, verified
      Cached,       // nothing downloaded: already in the package cache
      Local,        // nothing downloaded: a local (file://) package, read in place
    } state;
    std::size_t index = 0;              // in the request list
    std::string file_name;              // "numpy-1.26.4-py312h8753938_0.conda"
    std::uint64_t bytes = 0;            // see State
    std::optional<std::uint64_t> size;  // the expected size, when the request gives it
  };
  using FetchProgressFn = std::function<void(const FetchProgress&)>;

  // fetch()es every request on up to `parallelism` threads (`fetcher` must be thread-safe);
  // returns the extracted directories in request order. The first failure stops the rest: no
  // further request is started, the downloads in flight (and their retries) are cancelled, and
  // that first error is returned (de::parallel_for_cancelling). A host that no attempt could reach
  // fails all of its URLs at once (HttpFetcher).
  // `progress` is called from the fetching threads, never concurrently.
  Result<std::vector<std::filesystem::path>> fetch_all(std::span<const FetchRequest> requests,
                                                       Fetcher& fetcher, unsigned parallelism = 4,
                                                       const FetchProgressFn& progress = {});

  // Forwards one FetchProgress to `reporter` as an event of `stage` (progress.hpp): Started is a
  // task start, Downloading its progress, and the others its end with the outcome "downloaded",
  // "cached" or "local".
  static void report(progress::Reporter* reporter, std::string_view stage,
                     const FetchProgress& p);

 private:
  // fetch(), reporting what happens to request `index` (states and bytes) through `report`.
  using Report = std::function<void(FetchProgress::State, std::uint64_t bytes)>;
  Result<std::filesystem::path> fetch_reporting(const std::string& url,
                                                const ExpectedHashes& expected, Fetcher& fetcher,
                                                const Report& report, const Cancellation* cancel);

  std::filesystem::path root_;
  CacheFormat format_;
};

}  // namespace de::conda
