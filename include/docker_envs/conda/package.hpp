// Conda package files: verification and safe extraction of `.conda` (a zip holding
// `info-*.tar.zst` and `pkg-*.tar.zst`) and `.tar.bz2` packages.
//
// Extraction is streaming (no member is held in memory) and refuses, naming the package and the
// entry, anything that could write outside the destination: absolute paths, `..` components,
// entries below a symlink that the package itself created, hardlinks to paths outside the package.
// Symlinks themselves are extracted as they are (their targets are judged at install time).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/package_record.hpp"

namespace de::conda {

struct PackageHashes {
  Digest sha256;
  Md5Hash md5;
  std::uint64_t size = 0;
};

// What a package file is expected to be (from repodata, a lock file or an explicit URL fragment).
// Unset fields are not checked.
struct ExpectedHashes {
  std::optional<Digest> sha256;
  std::optional<Md5Hash> md5;
  std::optional<std::uint64_t> size;
};

// Reads the file once, computing sha256, md5 (unless `with_md5` is false: md5 is then left
// default) and size.
Result<PackageHashes> hash_package_file(const std::filesystem::path& path, bool with_md5 = true);

// Fails with Corruption, naming the file and both digests, when `actual` contradicts `expected`.
Status check_hashes(const PackageHashes& actual, const ExpectedHashes& expected,
                    std::string_view what);

// Normalises a path inside a package ("./bin//x" -> "bin/x"); InvalidArgument for absolute paths,
// `..` components, NUL bytes or an empty result.
Result<std::string> normalize_package_path(std::string_view path);

// Bounds on what one package may expand to (decompression bombs: a 337 KB .conda can hold 10 GiB
// of zeros). Extraction stops with an error naming the package when the bytes written exceed
//  * max(ratio x the package file's size, floor), and always `absolute`;
//  * when info/paths.json is extracted before the payload (conda's own order) and gives
//    size_in_bytes for every file: that sum plus `slack` for the files outside info/.
struct ExtractLimits {
  std::uint64_t ratio = 200;
  std::uint64_t floor = std::uint64_t{256} << 20;    // 256 MiB
  std::uint64_t absolute = std::uint64_t{64} << 30;  // 64 GiB
  std::uint64_t slack = std::uint64_t{16} << 20;     // 16 MiB
};

// Extracts `archive` (format from its name) into `dest`: a directory the call creates (its parent
// must exist), or an empty one that exists. Nothing is ever created above `dest`, so once `dest`
// is removed (by a signal's cleanup) the extraction cannot bring it back.
// Errors carry "extracting <file name>" context. On failure `dest` may hold a partial tree: the
// caller extracts into a temporary directory (see PackageCache).
Status extract_package(const std::filesystem::path& archive, const std::filesystem::path& dest,
                       const ExtractLimits& limits = {});

}  // namespace de::conda
