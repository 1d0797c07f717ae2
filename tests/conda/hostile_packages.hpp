// Test helper: crafted packages that try to reach the host's files through a payload symlink the
// package's file list does not mention (issue 13 item 1).
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "test_packages.hpp"

namespace de::conda::test {

// Which file list names the path below the link.
enum class ListedVia { PathsJson, InfoFiles, HasPrefix };

// "evil-1.0-0": `share/lnk -> <link_target>` (not listed), `share/ok.txt`, and `listed` (a path
// below share/lnk) in paths.json, in info/files, or in info/files + info/has_prefix.
inline Result<std::filesystem::path> build_link_escape(
    const std::filesystem::path& dir, ListedVia via, const std::string& link_target,
    const std::string& listed, PackageFormat format = PackageFormat::Conda) {
  PackageSpec spec;
  spec.name = "evil";
  spec.payload = {file("share/ok.txt", "ok\n")};
  spec.write_paths_json = via == ListedVia::PathsJson;
  std::vector<Entry> entries = info_entries(spec);
  if (via == ListedVia::PathsJson) {
    nlohmann::json doc = paths_json(spec);
    doc["paths"].push_back({{"_path", listed}, {"path_type", "hardlink"}});
    entries.back() = file("info/paths.json", doc.dump());
  } else {
    entries.push_back(file("info/files", "share/ok.txt\n" + listed + "\n"));
    if (via == ListedVia::HasPrefix) entries.push_back(file("info/has_prefix", listed + "\n"));
  }
  entries.push_back(file("share/ok.txt", "ok\n"));
  entries.push_back(symlink("share/lnk", link_target));
  return build_raw(dir, "evil-1.0-0", format, entries);
}

// A file outside every package: `<dir>/host/secret`. Returns its path.
inline std::filesystem::path host_secret(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir / "host");
  auto path = dir / "host/secret";
  EXPECT_TRUE(write_file_atomic(path, "host secret /opt/anaconda1anaconda2anaconda3\n"));
  return path;
}

inline nlink_t link_count(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_nlink;
}

}  // namespace de::conda::test
