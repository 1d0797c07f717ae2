// Core metadata from a wheel itself (when the index serves no PEP 658 file): the wheel is
// downloaded, checked against the index's sha256, and its `<name>.dist-info/METADATA` read.
#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/pypi/index_client.hpp"
#include "ffi/archive.hpp"

namespace de::pypi {

Result<CoreMetadata> read_wheel_metadata(std::string_view wheel, std::string_view source) {
  StringReader bytes{std::string(wheel)};
  auto archive = DE_TRY_CTX(
      ffi::ArchiveReader::open_stream(bytes, ffi::ArchiveKind::Zip, std::string(source)),
      fmt::format("reading {}", source));
  for (;;) {
    auto entry = DE_TRY_CTX(archive->next(), fmt::format("reading {}", source));
    if (!entry) break;
    const std::string& path = entry->path;
    std::size_t slash = path.find('/');
    // Exactly "<dir>.dist-info/METADATA" at the top level.
    if (slash == std::string::npos || path.substr(slash) != "/METADATA" ||
        !path.substr(0, slash).ends_with(".dist-info") ||
        entry->type != ffi::ArchiveEntryType::File)
      continue;
    std::string text = DE_TRY_CTX(read_all(*archive, std::size_t{16} << 20),
                                  fmt::format("reading {} in {}", path, source));
    return CoreMetadata::parse(text, fmt::format("{} in {}", path, source));
  }
  return fail(Code::Corruption, "{}: no .dist-info/METADATA in the wheel", source);
}

Result<CoreMetadata> IndexClient::file_metadata(const DistributionFile& file,
                                                const Cancellation* cancel) {
  auto m = core_metadata(file, cancel);
  if (m || m.error().code() != Code::NotFound) return m;
  auto r = DE_TRY_CTX(transport_.get(file.url, "*/*", cancel),
                      fmt::format("downloading {} for its metadata", file.filename));
  if (r.status < 200 || r.status >= 300)
    return fail(r.status == 404 ? Code::NotFound : Code::Network, "{}: HTTP {}",
                redact_url(file.url), r.status);
  if (auto it = file.hashes.find("sha256"); it != file.hashes.end()) {
    std::string got = Digest::of(r.body).hex();
    if (got != it->second)
      return fail(Code::Corruption, "{}: sha256 {} does not match the index's {}",
                  redact_url(file.url), got, it->second);
  }
  return read_wheel_metadata(r.body, file.filename);
}

}  // namespace de::pypi
