// Test helper: builds small conda packages (.tar.bz2 and .conda) in a temp dir with libarchive, so
// that every extraction and install rule is tested without ../shared/testdata.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/package.hpp"
#include "docker_envs/conda/package_record.hpp"
#include "ffi/archive.hpp"

namespace de::conda::test {

struct Entry {
  enum Kind { File, Symlink, Hardlink, Dir };
  std::string path;
  std::string content;  // File: the bytes; Symlink/Hardlink: the target
  Kind kind = File;
  std::uint32_t mode = 0644;
  // For paths.json (File only): a placeholder and "text" or "binary".
  std::string placeholder;
  std::string file_mode = "text";
};

inline Entry file(std::string path, std::string content, std::uint32_t mode = 0644) {
  return Entry{std::move(path), std::move(content), Entry::File, mode};
}
inline Entry symlink(std::string path, std::string target) {
  return Entry{std::move(path), std::move(target), Entry::Symlink, 0777};
}

struct PackageSpec {
  std::string name = "tiny";
  std::string version = "1.0";
  std::string build = "0";
  std::string subdir = "linux-64";
  std::string noarch;  // "", "python", "generic"
  std::vector<std::string> depends;
  std::vector<Entry> payload;     // paths relative to the prefix
  std::vector<Entry> extra_info;  // more info/ files (link.json, post-link scripts in bin/...)
  bool write_paths_json = true;
  std::int64_t timestamp = 1700000000000;  // index.json's, in milliseconds
};

inline nlohmann::json paths_json(const PackageSpec& spec) {
  nlohmann::json paths = nlohmann::json::array();
  for (const auto& e : spec.payload) {
    nlohmann::json p = {{"_path", e.path}};
    if (e.kind == Entry::Dir) {
      p["path_type"] = "directory";
      paths.push_back(p);
      continue;
    }
    if (e.kind == Entry::Symlink) {
      p["path_type"] = "softlink";
    } else {
      p["path_type"] = "hardlink";
      std::string bytes = e.content;
      if (e.kind == Entry::Hardlink) {  // a tar hardlink: the content is the target's
        for (const auto& t : spec.payload)
          if (t.path == e.content) bytes = t.content;
      }
      p["sha256"] = Digest::of(bytes).hex();
      p["size_in_bytes"] = bytes.size();
      if (!e.placeholder.empty()) {
        p["prefix_placeholder"] = e.placeholder;
        p["file_mode"] = e.file_mode;
      }
    }
    paths.push_back(p);
  }
  return {{"paths", paths}, {"paths_version", 1}};
}

// Writes the entries with an ArchiveWriter.
inline Status write_entries(ffi::ArchiveWriter& w, const std::vector<Entry>& entries) {
  for (const auto& e : entries) {
    switch (e.kind) {
      case Entry::File:
        DE_TRY(w.add_file(e.path, e.content, e.mode));
        break;
      case Entry::Symlink:
        DE_TRY(w.add_symlink(e.path, e.content));
        break;
      case Entry::Hardlink:
        DE_TRY(w.add_hardlink(e.path, e.content));
        break;
      case Entry::Dir:
        DE_TRY(w.add_directory(e.path, e.mode));
        break;
    }
  }
  return {};
}

inline std::vector<Entry> info_entries(const PackageSpec& spec) {
  nlohmann::json index = {{"name", spec.name},     {"version", spec.version},
                          {"build", spec.build},   {"build_number", 0},
                          {"subdir", spec.subdir}, {"depends", spec.depends},
                          {"license", "MIT"},      {"timestamp", spec.timestamp}};
  if (!spec.noarch.empty()) index["noarch"] = spec.noarch;
  std::vector<Entry> info = {file("info/index.json", index.dump())};
  if (spec.write_paths_json) info.push_back(file("info/paths.json", paths_json(spec).dump()));
  for (const auto& e : spec.extra_info) info.push_back(e);
  return info;
}

// Builds `<dir>/<name>-<version>-<build><ext>` from raw archive entries (info and payload
// together; for .conda they are split by the "info/" prefix).
inline Result<std::filesystem::path> build_raw(const std::filesystem::path& dir,
                                               const std::string& stem, PackageFormat format,
                                               const std::vector<Entry>& entries) {
  if (format == PackageFormat::TarBz2) {
    auto path = dir / (stem + ".tar.bz2");
    auto w = DE_TRY(ffi::ArchiveWriter::create(path, ffi::ArchiveWriteFormat::TarBz2));
    DE_TRY(write_entries(*w, entries));
    DE_TRY(w->close());
    return path;
  }
  std::vector<Entry> info, pkg;
  for (const auto& e : entries) (e.path.starts_with("info/") ? info : pkg).push_back(e);
  auto make_tar = [&](const std::string& name,
                      const std::vector<Entry>& es) -> Result<std::string> {
    auto path = dir / name;
    auto w = DE_TRY(ffi::ArchiveWriter::create(path, ffi::ArchiveWriteFormat::TarZstd));
    DE_TRY(write_entries(*w, es));
    DE_TRY(w->close());
    auto bytes = DE_TRY(read_file(path));
    std::filesystem::remove(path);
    return bytes;
  };
  auto info_tar = DE_TRY(make_tar("info-" + stem + ".tar.zst", info));
  auto pkg_tar = DE_TRY(make_tar("pkg-" + stem + ".tar.zst", pkg));
  auto path = dir / (stem + ".conda");
  auto w = DE_TRY(ffi::ArchiveWriter::create(path, ffi::ArchiveWriteFormat::ZipStored));
  DE_TRY(w->add_file("metadata.json", R"({"conda_pkg_format_version": 2})"));
  // conda-package-handling's order: info first, so that a reader knows paths.json early.
  DE_TRY(w->add_file("info-" + stem + ".tar.zst", info_tar));
  DE_TRY(w->add_file("pkg-" + stem + ".tar.zst", pkg_tar));
  DE_TRY(w->close());
  return path;
}

inline Result<std::filesystem::path> build_package(const std::filesystem::path& dir,
                                                   const PackageSpec& spec, PackageFormat format) {
  auto entries = info_entries(spec);
  for (const auto& e : spec.payload) entries.push_back(e);
  return build_raw(dir, spec.name + "-" + spec.version + "-" + spec.build, format, entries);
}

// conda-build's long binary placeholder (shorter than conda's 255 bytes, long enough for tests).
inline const std::string kBinPlaceholder = "/build/_h_env_placehold_placehold_placehold_placehold";

// "zz-1.0-0": a text placeholder (lib/pkgconfig/zz.pc), a binary one (lib/libzz.so.1), a symlink,
// a hardlink (share/zz/b -> share/zz/a), an empty directory and a post-link script.
inline PackageSpec placeholder_package() {
  PackageSpec spec;
  spec.name = "zz";
  Entry text = file("lib/pkgconfig/zz.pc",
                    "prefix=/opt/anaconda1anaconda2anaconda3\nlibdir=${prefix}/lib\n");
  text.placeholder = "/opt/anaconda1anaconda2anaconda3";
  Entry bin = file("lib/libzz.so.1",
                   std::string("\x7f" "ELF") + '\0' + kBinPlaceholder + "/lib" + '\0', 0755);
  bin.placeholder = kBinPlaceholder;
  bin.file_mode = "binary";
  spec.payload = {text,
                  bin,
                  symlink("lib/libzz.so", "libzz.so.1"),
                  file("share/zz/a", "same"),
                  Entry{"share/zz/b", "share/zz/a", Entry::Hardlink},
                  Entry{"var/empty", "", Entry::Dir, 0755},
                  file("bin/.zz-post-link.sh", "echo hi", 0755)};
  return spec;
}

// "pure-1.0-0", noarch: python: a module under site-packages/, a script under python-scripts/, a
// post-link script, and an entry point `pure-run = pure.cli:app.main` in info/link.json.
inline PackageSpec noarch_python_package() {
  PackageSpec pure;
  pure.name = "pure";
  pure.noarch = "python";
  pure.subdir = "noarch";
  pure.payload = {file("site-packages/pure/__init__.py", "def main():\n    return 0\n"),
                  file("python-scripts/pure-tool", "#!/usr/bin/env python\n", 0755),
                  file("python-scripts/.pure-post-link.sh", "echo", 0755)};
  pure.extra_info = {file(
      "info/link.json",
      R"({"noarch":{"type":"python","entry_points":["pure-run = pure.cli:app.main"]},"package_metadata_version":1})")};
  return pure;
}

// Builds `spec` in `dir` and extracts it into dir/x-NAME-VERSION; returns that directory.
inline std::filesystem::path make_extracted(const std::filesystem::path& dir,
                                            const PackageSpec& spec,
                                            PackageFormat format = PackageFormat::Conda) {
  auto pkg = build_package(dir, spec, format);
  EXPECT_TRUE(pkg) << pkg.error().to_string();
  auto out = dir / ("x-" + spec.name + "-" + spec.version);
  auto st = extract_package(*pkg, out);
  EXPECT_TRUE(st) << st.error().to_string();
  return out;
}

// python 3.11.4: bin/python3.11 and the bin/python symlink.
inline PackageSpec python_package() {
  PackageSpec python;
  python.name = "python";
  python.version = "3.11.4";
  python.payload = {file("bin/python3.11", "ELF", 0755), symlink("bin/python", "python3.11")};
  return python;
}

}  // namespace de::conda::test
