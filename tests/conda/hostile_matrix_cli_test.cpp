// The hostile-input matrix for packages (issue 13 item 20): `env install` and `build` × crafted
// packages (the generators of hostile_packages.hpp and test_packages.hpp) × both package formats.
// Each cell must fail with an exit status below 128 and a message naming the package, leave no
// ROOT / DEST, write nothing outside ROOT / DEST and the package cache, and never touch the host
// file the package aims at.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <iterator>

#include "docker_envs/base/io.hpp"
#include "hostile_packages.hpp"
#include "support/testdata.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;
using test::Entry;

// Every path below `dir` (but the ones starting with an excluded prefix) with its type, size and
// mtime: what a command may not change.
std::vector<std::string> snapshot(const fs::path& dir, const std::vector<fs::path>& excluded) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path& p = it->path();
    if (std::any_of(excluded.begin(), excluded.end(), [&](const fs::path& x) {
          return p == x || p.string().starts_with(x.string() + "/");
        })) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    ::lstat(p.c_str(), &st);
    // A directory's mtime moves when ROOT or DEST is made and removed in it: leftovers show as
    // paths; files are compared by content metadata too.
    long long mtime =
        S_ISDIR(st.st_mode) ? 0 : st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    out.push_back(fmt::format("{} {} {} {}", p.string(), st.st_mode,
                              S_ISDIR(st.st_mode) ? 0 : st.st_size, mtime));
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Crafted {
  std::string name;     // the matrix row
  std::string package;  // what the message must name (the package's file stem)
  std::function<Result<fs::path>(const fs::path& dir, PackageFormat format)> make;
};

// Raw entries: the package "evil-1.0-0" with `payload` and a paths.json listing `listed`.
Result<fs::path> raw_package(const fs::path& dir, PackageFormat format,
                             const std::vector<Entry>& payload,
                             const std::vector<std::string>& listed) {
  test::PackageSpec spec;
  spec.name = "evil";
  spec.write_paths_json = false;
  std::vector<Entry> entries = test::info_entries(spec);
  nlohmann::json paths = nlohmann::json::array();
  for (auto& l : listed) paths.push_back({{"_path", l}, {"path_type", "hardlink"}});
  entries.push_back(
      test::file("info/paths.json", nlohmann::json{{"paths", paths}, {"paths_version", 1}}.dump()));
  for (auto& e : payload) entries.push_back(e);
  return test::build_raw(dir, "evil-1.0-0", format, entries);
}

std::vector<Crafted> crafted(const fs::path& secret) {
  std::string through_link = "share/lnk" + secret.string();
  std::vector<Crafted> rows;
  for (auto [via, label] : {std::pair{test::ListedVia::PathsJson, "paths.json"},
                            std::pair{test::ListedVia::InfoFiles, "info/files"},
                            std::pair{test::ListedVia::HasPrefix, "has_prefix"}}) {
    rows.push_back({fmt::format("unlisted link to / via {}", label), "evil-1.0-0",
                    [=](const fs::path& d, PackageFormat f) {
                      return test::build_link_escape(d, via, "/", through_link, f);
                    }});
  }
  rows.push_back(
      {"unlisted link up the tree", "evil-1.0-0", [=](const fs::path& d, PackageFormat f) {
         return test::build_link_escape(d, test::ListedVia::PathsJson, "../../../../../../../../..",
                                        through_link, f);
       }});
  rows.push_back({"listed path with ..", "evil-1.0-0", [](const fs::path& d, PackageFormat f) {
                    return raw_package(d, f, {test::file("share/ok", "ok")}, {"../../escape"});
                  }});
  rows.push_back({"listed absolute path", "evil-1.0-0", [=](const fs::path& d, PackageFormat f) {
                    return raw_package(d, f, {test::file("share/ok", "ok")}, {secret.string()});
                  }});
  rows.push_back({"payload entry with ..", "evil-1.0-0", [](const fs::path& d, PackageFormat f) {
                    return raw_package(d, f, {test::file("../../escape", "x")}, {"../../escape"});
                  }});
  rows.push_back({"listed symlink escaping", "evil-1.0-0", [=](const fs::path& d, PackageFormat f) {
                    test::PackageSpec spec;
                    spec.name = "evil";
                    spec.payload = {test::symlink("share/lnk", "/"),
                                    test::file("share/lnk" + secret.string() + ".new", "x")};
                    return test::build_package(d, spec, f);
                  }});
  rows.push_back({"index.json not JSON", "evil-1.0-0", [](const fs::path& d, PackageFormat f) {
                    return test::build_raw(
                        d, "evil-1.0-0", f,
                        {test::file("info/index.json", "{not json"), test::file("share/ok", "ok")});
                  }});
  rows.push_back({"deep JSON paths.json", "evil-1.0-0", [](const fs::path& d, PackageFormat f) {
                    test::PackageSpec spec;
                    spec.name = "evil";
                    spec.write_paths_json = false;
                    auto entries = test::info_entries(spec);
                    entries.push_back(test::file(
                        "info/paths.json", std::string(100000, '[') + std::string(100000, ']')));
                    return test::build_raw(d, "evil-1.0-0", f, entries);
                  }});
  rows.push_back({"truncated archive", "evil-1.0-0",
                  [](const fs::path& d, PackageFormat f) -> Result<fs::path> {
                    test::PackageSpec spec;
                    spec.name = "evil";
                    for (int i = 0; i < 20; ++i)
                      spec.payload.push_back(
                          test::file(fmt::format("share/f{}", i),
                                     std::string(4096, static_cast<char>('a' + i))));
                    auto path = DE_TRY(test::build_package(d, spec, f));
                    auto bytes = DE_TRY(read_file(path));
                    DE_TRY(write_file_atomic(path, bytes.substr(0, bytes.size() / 2)));
                    return path;
                  }});
  rows.push_back(
      {"not an archive", "evil-1.0-0", [](const fs::path& d, PackageFormat f) -> Result<fs::path> {
         auto path = d / (f == PackageFormat::Conda ? "evil-1.0-0.conda" : "evil-1.0-0.tar.bz2");
         DE_TRY(write_file_atomic(path, std::string(3000, 'z')));
         return path;
       }});
  return rows;
}

TEST(HostileMatrixCli, EveryCraftedPackageFailsCleanlyInInstallAndBuild) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto secret = test::host_secret(dir->path());
  std::string secret_content = *read_file(secret);
  std::string cli = de::test::cli_path().string();
  int row = 0;
  for (const auto& c : crafted(secret)) {
    for (auto format : {PackageFormat::Conda, PackageFormat::TarBz2}) {
      auto cell = dir->path() / fmt::format("cell{}", row++);
      fs::create_directories(cell / "pkgs");
      auto pkg = c.make(cell / "pkgs", format);
      ASSERT_TRUE(pkg) << c.name << ": " << pkg.error().to_string();
      auto lock = cell / "explicit.txt";
      ASSERT_TRUE(write_file_atomic(lock, "@EXPLICIT\nfile://" + pkg->string() + "\n"));
      auto root = cell / "root";
      auto dest = cell / "dest";
      auto cache = cell / "cache";
      struct Command {
        std::string label, line;
        fs::path output;
      };
      std::vector<Command> commands = {
          {"env install",
           fmt::format("timeout 60 {} env install --root {} --cache {} {}", cli, root.string(),
                       (cache / "pkgs").string(), lock.string()),
           root},
          {"build",
           fmt::format("timeout 60 {} build {} --base scratch --cache-dir {} -o oci:{}", cli,
                       lock.string(), cache.string(), dest.string()),
           dest},
      };
      for (const auto& cmd : commands) {
        SCOPED_TRACE(fmt::format("{} × {} ({})", cmd.label, c.name,
                                 format == PackageFormat::Conda ? ".conda" : ".tar.bz2"));
        auto before = snapshot(dir->path(), {cache, cmd.output});
        auto r = de::test::run_command(cmd.line);
        auto after = snapshot(dir->path(), {cache, cmd.output});
        EXPECT_GT(r.status, 0) << r.err;
        EXPECT_LT(r.status, 124) << "crashed, hung or killed: " << r.err;
        EXPECT_NE(r.err.find(c.package), std::string::npos)
            << "the message names no package: " << r.err;
        EXPECT_FALSE(fs::exists(cmd.output)) << cmd.output << " left behind";
        std::vector<std::string> changed;
        std::set_symmetric_difference(before.begin(), before.end(), after.begin(), after.end(),
                                      std::back_inserter(changed));
        EXPECT_TRUE(changed.empty())
            << "wrote outside " << cmd.output
            << " and the cache: " << fmt::format("{}", fmt::join(changed, "; "));
        EXPECT_EQ(test::link_count(secret), 1u);
        EXPECT_EQ(read_file(secret).value_or(""), secret_content);
      }
    }
  }
}

}  // namespace
}  // namespace de::conda
