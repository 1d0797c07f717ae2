// Prefix replacement: the placeholder a package was built with, replaced by the install prefix.

#include "docker_envs/conda/installer.hpp"

namespace de::conda {

namespace fs = std::filesystem;

Result<std::string> replace_prefix(std::string_view data, std::string_view placeholder,
                                   std::string_view prefix, PlaceholderMode mode,
                                   std::string_view what) {
  if (placeholder.empty()) return std::string(data);
  std::string out;
  out.reserve(data.size());
  if (mode == PlaceholderMode::Text) {
    std::size_t pos = 0;
    for (auto hit = data.find(placeholder); hit != std::string_view::npos;
         hit = data.find(placeholder, pos)) {
      out.append(data.substr(pos, hit - pos));
      out.append(prefix);
      pos = hit + placeholder.size();
    }
    out.append(data.substr(pos));
    return out;
  }
  if (prefix.size() > placeholder.size())
    return fail(
        Code::InvalidArgument,
        "{}: the prefix '{}' ({} bytes) is longer than the binary placeholder ({} bytes); choose a "
        "shorter prefix",
        what, prefix, prefix.size(), placeholder.size());
  std::size_t pos = 0;
  for (auto hit = data.find(placeholder); hit != std::string_view::npos;
       hit = data.find(placeholder, pos)) {
    out.append(data.substr(pos, hit - pos));
    auto end = data.find('\0', hit);
    if (end == std::string_view::npos) end = data.size();
    std::string_view cstr = data.substr(hit, end - hit);
    auto replaced = DE_TRY(replace_prefix(cstr, placeholder, prefix, PlaceholderMode::Text, what));
    out.append(replaced);
    out.append(cstr.size() - replaced.size(), '\0');
    pos = end;
  }
  out.append(data.substr(pos));
  return out;
}

std::optional<std::string_view> path_in_package(const InstallEntry& entry,
                                                const fs::path& extracted_dir) {
  std::string_view host = entry.host_path;
  const std::string& dir = extracted_dir.native();
  if (host.size() <= dir.size() + 1 || !host.starts_with(dir) || host[dir.size()] != '/')
    return std::nullopt;
  return host.substr(dir.size() + 1);
}

Result<std::unique_ptr<Reader>> open_content(const InstallEntry& entry, std::string_view prefix) {
  switch (entry.source) {
    case InstallEntry::Source::Bytes:
      return std::unique_ptr<Reader>(std::make_unique<StringReader>(entry.data));
    case InstallEntry::Source::HostFile: {
      auto r = DE_TRY(FileReader::open(entry.host_path));
      return std::unique_ptr<Reader>(std::move(r));
    }
    case InstallEntry::Source::Rewrite: {
      auto bytes = DE_TRY(read_file(entry.host_path, std::size_t{16} << 30));
      auto out = DE_TRY(
          replace_prefix(bytes, entry.placeholder, prefix, entry.placeholder_mode, entry.path));
      return std::unique_ptr<Reader>(std::make_unique<StringReader>(std::move(out)));
    }
  }
  return fail(Code::Internal, "bad entry source");
}

}  // namespace de::conda
