#include "docker_envs/oci/image_ref.hpp"

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

Result<Image> read_archive_by_content(const fs::path& path, const ImageRef& ref,
                                      const ReadOptions& options) {
  auto archive = DE_TRY(ArchiveFile::open(path));
  bool docker = archive->contains("manifest.json") || archive->contains("repositories");
  if (ref.transport == Transport::DockerArchive || (ref.transport == Transport::Auto && docker))
    return read_docker_archive(archive, ref.selector);
  if (!archive->contains("index.json"))
    return fail(Code::InvalidArgument,
                "{} is neither a docker-archive (no manifest.json or repositories) nor an "
                "oci-archive (no index.json)",
                path.string());
  if (!archive->contains("oci-layout"))
    return fail(Code::Corruption, "{} has an index.json but no oci-layout file", path.string());
  std::string index = DE_TRY(archive->read_member("index.json"));
  return read_oci_layout(archive_blobs(archive), index, ref.selector, options);
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
    return read_oci_layout(directory_blobs(path), index, ref.selector, options);
  }
  if (dir) return fail(Code::InvalidArgument, "{} is a directory, not an archive", ref.path);
  return read_archive_by_content(path, ref, options);
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
