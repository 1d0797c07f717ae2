#include "registry/blob_cache.hpp"

#include <algorithm>

#include "docker_envs/base/log.hpp"

namespace de::registry {
namespace fs = std::filesystem;

namespace {
// A registry host as a directory name ("localhost:5000" stays readable; '/' cannot occur).
std::string dir_name(std::string_view registry) {
  std::string out(registry);
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}
}  // namespace

Status BlobCache::init() const {
  std::error_code ec;
  fs::create_directories(root_ / "blobs" / "sha256", ec);
  if (ec) return fail(Code::Io, "creating blob cache {}: {}", root_.string(), ec.message());
  return {};
}

fs::path BlobCache::blob_path(const Digest& d) const {
  return root_ / "blobs" / "sha256" / d.hex();
}

bool BlobCache::contains(const Digest& d, std::int64_t size) const {
  std::error_code ec;
  auto s = fs::file_size(blob_path(d), ec);
  return !ec && static_cast<std::int64_t>(s) == size;
}

void BlobCache::remember_repository(std::string_view registry, std::string_view repository,
                                    const Digest& d) const {
  auto known = repositories_with(registry, d);
  if (std::find(known.begin(), known.end(), repository) != known.end()) return;
  known.emplace_back(repository);
  if (known.size() > 16) known.erase(known.begin());  // a hint; keep it small
  fs::path dir = root_ / "seen" / dir_name(registry);
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string text;
  for (auto& r : known) text += r + "\n";
  if (auto st = write_file_atomic(dir / d.hex(), text); !st)
    log::debug("blob cache: {}", st.error().to_string());
}

std::vector<std::string> BlobCache::repositories_with(std::string_view registry,
                                                      const Digest& d) const {
  std::vector<std::string> out;
  auto text = read_file(root_ / "seen" / dir_name(registry) / d.hex(), 1 << 16);
  if (!text) return out;
  size_t start = 0;
  while (start < text->size()) {
    size_t nl = text->find('\n', start);
    if (nl == std::string::npos) nl = text->size();
    if (nl > start) out.push_back(text->substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::optional<oci::Descriptor> BlobCache::compressed_form(const Digest& diff_id,
                                                          Compression c) const {
  auto text = read_file(root_ / "compressed" / std::string(to_string(c)) / diff_id.hex(), 1 << 16);
  if (!text) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  auto d = oci::Descriptor::from_json(j);
  if (!d) return std::nullopt;
  return *d;
}

void BlobCache::remember_compressed_form(const Digest& diff_id, Compression c,
                                         const oci::Descriptor& blob) const {
  fs::path dir = root_ / "compressed" / std::string(to_string(c));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (auto st = write_file_atomic(dir / diff_id.hex(), blob.to_json().dump()); !st)
    log::debug("blob cache: {}", st.error().to_string());
}

}  // namespace de::registry
