#include "docker_envs/oci/image_ref.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <cctype>

#include "docker_envs/base/text.hpp"

#include "oci/docker_archive.hpp"
#include "oci/layout.hpp"

namespace de::oci {
namespace fs = std::filesystem;

namespace {

struct Prefix {
  std::string_view text;
  Transport transport;
};
constexpr Prefix kPrefixes[] = {
    {"docker-archive:", Transport::DockerArchive},
    {"oci-archive:", Transport::OciArchive},
    {"oci:", Transport::OciLayout},
};

// "word:" or "word://" at the start of `text`, word being letters, digits, '-' and '_' (what a
// transport name looks like): the word, else empty.
std::string_view transport_word(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  std::string_view word = text.substr(0, colon);
  bool name = std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  return name ? word : std::string_view();
}

std::unexpected<Error> unknown_transport(std::string_view text, std::string_view word) {
  constexpr std::string_view kNames[] = {"docker-archive", "oci", "oci-archive", "docker"};
  std::string hint;
  if (auto near = closest_word(word, kNames, 3))
    hint = fmt::format(" (did you mean '{}{}'?)", *near, *near == "docker" ? "://" : ":");
  std::string registry;
  if (!text.substr(word.size() + 1).starts_with("//"))
    registry = fmt::format("; an image in a registry is docker://{}", text);
  return fail(Code::InvalidArgument,
              "unknown transport '{}:'{}; known: docker-archive:PATH, oci:DIR, oci-archive:PATH, "
              "docker://REF, scratch{}; a local path with ':' in its first component is written "
              "./PATH",
              word, hint, registry);
}

// Whether the file starts like an archive an image could be in: gzip or zstd magic, or a tar
// header (a valid checksum). A text file (env.yml) or anything else does not.
bool starts_like_archive(const fs::path& path) {
  auto file = FileReader::open(path);
  if (!file) return true;  // let the archive reader report why
  std::array<unsigned char, 512> block{};
  std::size_t have = 0;
  while (have < block.size()) {
    auto n = (*file)->read(std::as_writable_bytes(std::span(block)).subspan(have));
    if (!n || *n == 0) break;
    have += *n;
  }
  if (have >= 2 && block[0] == 0x1f && block[1] == 0x8b) return true;
  if (have >= 4 && block[0] == 0x28 && block[1] == 0xb5 && block[2] == 0x2f && block[3] == 0xfd)
    return true;
  if (have < block.size()) return false;
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < block.size(); ++i) sum += (i >= 148 && i < 156) ? ' ' : block[i];
  std::uint64_t stored = 0;
  bool digits = false;
  for (std::size_t i = 148; i < 156; ++i) {
    if (block[i] >= '0' && block[i] <= '7') {
      stored = stored * 8 + (block[i] - '0');
      digits = true;
    } else if (digits || (block[i] != ' ' && block[i] != '\0')) {
      break;
    }
  }
  return digits && stored == sum;
}

// What a reference names once opened: an OCI layout's blobs and index.json (a directory or an
// archive), or a docker-archive.
struct OpenedSource {
  std::optional<BlobSource> blobs;
  std::string index_json;
  std::shared_ptr<const ArchiveFile> docker;
};

Result<OpenedSource> open_archive_by_content(const fs::path& path, const ImageRef& ref) {
  if (!starts_like_archive(path))
    return fail(Code::InvalidArgument,
                "{} is not an image (not a docker-archive, OCI layout or OCI archive)",
                path.string());
  auto archive = DE_TRY(ArchiveFile::open(path));
  bool docker = archive->contains("manifest.json") || archive->contains("repositories");
  if (ref.transport == Transport::DockerArchive || (ref.transport == Transport::Auto && docker))
    return OpenedSource{.docker = archive};
  if (!archive->contains("index.json"))
    return fail(Code::InvalidArgument,
                "{} is neither a docker-archive (no manifest.json or repositories) nor an "
                "oci-archive (no index.json)",
                path.string());
  if (!archive->contains("oci-layout"))
    return fail(Code::Corruption, "{} has an index.json but no oci-layout file", path.string());
  std::string index = DE_TRY(archive->read_member("index.json"));
  return OpenedSource{.blobs = archive_blobs(archive), .index_json = std::move(index)};
}

// Opens what `ref` (not scratch) names, by transport or, for a bare path, by content.
Result<OpenedSource> open_source(const ImageRef& ref) {
  fs::path path(ref.path);
  std::error_code ec;
  if (!fs::exists(path, ec)) return fail(Code::NotFound, "{} does not exist", ref.path);
  bool dir = fs::is_directory(path, ec);
  if (ref.transport == Transport::OciLayout || (ref.transport == Transport::Auto && dir)) {
    if (!dir) return fail(Code::InvalidArgument, "{} is not a directory (an OCI layout)", ref.path);
    if (!fs::exists(path / "oci-layout", ec) || !fs::exists(path / "index.json", ec))
      return fail(Code::InvalidArgument, "{} is not an OCI image layout (no oci-layout/index.json)",
                  ref.path);
    std::string index = DE_TRY(read_file(path / "index.json"));
    return OpenedSource{.blobs = directory_blobs(path), .index_json = std::move(index)};
  }
  if (dir) return fail(Code::InvalidArgument, "{} is a directory, not an archive", ref.path);
  return open_archive_by_content(path, ref);
}

}  // namespace

Result<ImageRef> ImageRef::parse(std::string_view text) {
  if (text == "scratch") return ImageRef{.transport = Transport::Scratch};
  if (text.starts_with("docker://"))
    return fail(Code::Unsupported, "'{}': the registry transport (docker://) is not available yet",
                text);
  ImageRef ref;
  for (auto& p : kPrefixes) {
    if (!text.starts_with(p.text)) continue;
    ref.transport = p.transport;
    std::string_view rest = text.substr(p.text.size());
    auto colon = rest.find(':');
    ref.path = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) ref.selector = std::string(rest.substr(colon + 1));
    if (ref.path.empty()) return fail(Code::InvalidArgument, "'{}' names no path", text);
    if (colon != std::string_view::npos && ref.selector.empty())
      return fail(Code::InvalidArgument, "'{}' ends with ':' but names no image after it", text);
    return ref;
  }
  if (text.empty()) return fail(Code::InvalidArgument, "empty image reference");
  // A mistyped transport ("dockr://host/a:b", "docker-archiv:x.tar") must not become a local
  // path: only an existing file or directory may be named so without ./ in front.
  if (auto word = transport_word(text); !word.empty()) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(fs::path(text), ec))) return unknown_transport(text, word);
  }
  ref.transport = Transport::Auto;
  ref.path = std::string(text);
  return ref;
}

std::string ImageRef::to_string() const {
  std::string prefix;
  switch (transport) {
    case Transport::Scratch:
      return "scratch";
    case Transport::DockerArchive:
      prefix = "docker-archive:";
      break;
    case Transport::OciLayout:
      prefix = "oci:";
      break;
    case Transport::OciArchive:
      prefix = "oci-archive:";
      break;
    case Transport::Auto:
      break;
  }
  return prefix + path + (selector.empty() ? "" : ":" + selector);
}

Result<Image> read_image(const ImageRef& ref, const ReadOptions& options) {
  if (ref.transport == Transport::Scratch) return scratch_image();
  auto source = DE_TRY(open_source(ref));
  if (source.docker) return read_docker_archive(source.docker, ref.selector);
  return read_oci_layout(*source.blobs, source.index_json, ref.selector, options);
}

Result<ImageSet> read_image_set(const ImageRef& ref) {
  if (ref.transport == Transport::Scratch) {
    Image image = scratch_image();
    Platform platform = image.config.platform();
    return ImageSet{.images = {std::move(image)}, .platforms = {std::move(platform)}};
  }
  auto source = DE_TRY(open_source(ref));
  if (source.docker) {
    Image image = DE_TRY(read_docker_archive(source.docker, ref.selector));
    Platform platform = image.config.platform();
    return ImageSet{.images = {std::move(image)}, .platforms = {std::move(platform)}};
  }
  return read_oci_layout_set(*source.blobs, source.index_json, ref.selector);
}

Result<WriteResult> write_image(const Image& image, const ImageRef& dest,
                                const WriteOptions& options) {
  switch (dest.transport) {
    case Transport::Scratch:
      return fail(Code::InvalidArgument, "scratch cannot be a destination");
    case Transport::DockerArchive:
      return write_docker_archive(image, dest.path, dest.selector);
    case Transport::OciLayout:
      return write_oci_directory(image, dest.path, dest.selector, options);
    case Transport::OciArchive:
      return write_oci_archive(image, dest.path, dest.selector, options);
    case Transport::Auto:
      if (dest.path.ends_with(".tar")) return write_docker_archive(image, dest.path, "");
      return write_oci_directory(image, dest.path, "", options);
  }
  return fail(Code::Internal, "unknown transport");
}

Result<WriteResult> write_image_index(std::span<const Image> images, const ImageRef& dest,
                                      const WriteOptions& options) {
  if (images.empty()) return fail(Code::InvalidArgument, "an image index needs at least one image");
  switch (dest.transport) {
    case Transport::OciLayout:
      return write_oci_index_directory(images, dest.path, dest.selector, options);
    case Transport::OciArchive:
      return write_oci_index_archive(images, dest.path, dest.selector, options);
    case Transport::Auto:
      if (!dest.path.ends_with(".tar"))
        return write_oci_index_directory(images, dest.path, "", options);
      break;
    default:
      break;
  }
  return fail(Code::InvalidArgument,
              "{}: a multi-platform image needs an OCI layout (oci:DIR or oci-archive:PATH)",
              dest.to_string());
}

}  // namespace de::oci
