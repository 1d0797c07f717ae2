// Target: the metadata of an extracted conda package as the installer reads it: info/paths.json,
// info/has_prefix, info/link.json, info/files and info/index.json. The input is split at NUL
// bytes into those five files (missing parts are left out), written into a scratch package
// directory with a few payload files, and planned with conda::plan_environment.
#include <array>
#include <vector>

#include "docker_envs/conda/installer.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 << 10) return 0;
  std::string_view text = de::fuzz::as_text(data, size);
  static constexpr std::array<const char*, 5> kFiles = {
      "info/paths.json", "info/has_prefix", "info/link.json", "info/files", "info/index.json"};
  std::vector<std::string_view> parts;
  for (std::size_t pos = 0; parts.size() < kFiles.size();) {
    std::size_t nul = text.find('\0', pos);
    parts.push_back(text.substr(pos, nul == std::string_view::npos ? text.npos : nul - pos));
    if (nul == std::string_view::npos) break;
    pos = nul + 1;
  }
  auto dir = de::fuzz::scratch_dir() / "pkg";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  de::fuzz::write_file(dir / "bin/tool", "#!/opt/placeholder/bin/sh\necho hi\n");
  de::fuzz::write_file(dir / "lib/libx.so", std::string("\0/opt/placeholder/lib\0", 22));
  de::fuzz::write_file(dir / "site-packages/m/__init__.py", "x = 1\n");
  for (std::size_t i = 0; i < parts.size(); ++i)
    if (!parts[i].empty()) de::fuzz::write_file(dir / kFiles[i], parts[i]);

  de::conda::PackageToInstall package;
  package.extracted_dir = dir;
  package.record.name = "pkg";
  package.record.version = "1.0";
  package.record.build = "0";
  de::conda::InstallOptions options;
  options.prefix = "/opt/conda";
  options.python = de::conda::PythonInfo{"3.11", "lib/python3.11/site-packages"};
  options.threads = 1;
  options.max_rewrite_in_memory = 1 << 16;
  (void)de::conda::plan_environment(std::span(&package, 1), options);
  return 0;
}
