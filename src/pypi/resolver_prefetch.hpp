// Private (resolver): fetching the project pages and metadata files the search is about to ask
// for, on several threads at once, so that the search itself reads them from memory.
//
// What is fetched is a guess: the pages of the names required so far, the metadata of the
// candidate each would try first (the newest version that fits the specifiers known for it), and
// then, transitively, the pages and first candidates of what those require. The search still makes
// every decision and asks the source for whatever the guess missed, so its outcome is the same as
// with one request at a time. An error is kept for the item it belongs to and handed to the search
// only if the search asks for that item (a wrong guess that failed costs nothing but the request).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/pypi/resolver.hpp"

namespace de::pypi::detail {

// Runs fetch(i, cancel) for every i in [0, n) on up to `threads` threads (de::parallel_for) and
// returns each item's result at its index, so that the outcome does not depend on timing. The
// first item to fail cancels `cancel`: items not started yet are skipped and those in flight may
// give up early. Its error is kept at its index; skipped items, and items that failed after it
// (perhaps only because they were cancelled), are left empty: the caller asks again when it
// needs them.
template <class T>
std::vector<std::optional<Result<T>>> fetch_each(
    std::size_t n, unsigned threads,
    const std::function<Result<T>(std::size_t i, const Cancellation& cancel)>& fetch) {
  std::vector<std::optional<Result<T>>> out(n);
  Cancellation cancel;
  // Items report failures through `out`, never through the loop's status: every item is offered
  // (a cancelled batch skips the rest at once), and an exception is an Internal error of its item.
  Status loop = parallel_for(n, threads, [&](std::size_t i) -> Status {
    if (cancel.cancelled()) return {};
    Result<T> r = fetch(i, cancel);
    if (r || cancel.cancel()) out[i] = std::move(r);
    return {};
  });
  (void)loop;
  return out;
}

// One name the search requires: the specifiers and extras known for it so far.
struct WantedProject {
  std::string name;  // normalised
  SpecifierSet spec;
  std::set<std::string> extras;
};

class Prefetcher {
 public:
  Prefetcher(DistributionSource& source, const Target& target,
             const std::map<std::string, Version>& installed, bool allow_prereleases,
             unsigned threads)
      : source_(source),
        target_(target),
        installed_(installed),
        allow_prereleases_(allow_prereleases),
        threads_(threads) {}

  // Fetches the pages of the names in `wanted` not fetched yet (installed ones never), the
  // metadata of each one's first candidate, and so on through what those require, one batch of
  // pages and one of metadata files per level.
  void run(const std::vector<WantedProject>& wanted);

  // What was fetched for a page or a metadata file (by the file's URL), handed over once; nullopt
  // when it was not fetched (or was cancelled): the caller asks the source itself.
  std::optional<Result<std::vector<DistributionFile>>> take_page(const std::string& name);
  std::optional<Result<CoreMetadata>> take_metadata(const std::string& url);

 private:
  DistributionSource& source_;
  const Target& target_;
  const std::map<std::string, Version>& installed_;
  bool allow_prereleases_;
  unsigned threads_;
  std::set<std::string> names_seen_;  // pages fetched, handed over or not
  std::set<std::string> urls_seen_;   // metadata files fetched
  std::map<std::string, Result<std::vector<DistributionFile>>> pages_;
  std::map<std::string, Result<CoreMetadata>> metadata_;
};

}  // namespace de::pypi::detail
