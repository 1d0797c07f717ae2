// `docker-envs env install WHEEL... --python X.Y`: wheels laid out in a directory as in an image,
// through the package cache, with REQUESTED and direct_url.json as pip writes them for a file.
#include <gtest/gtest.h>

#include "docker_envs/base/io.hpp"
#include "pypi/wheel_test_util.hpp"
#include "support/testdata.hpp"

namespace de::pypi {
namespace {

namespace fs = std::filesystem;

TEST(WheelEnvInstallCli, InstallsWheelFilesIntoTheRoot) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  test::TestWheel w;
  w.files = {{"demo/__init__.py", "VALUE = 7\ndef main():\n    return 0\n"}};
  w.entry_points = "[console_scripts]\ndemo-run = demo:main\n";
  auto wheel = w.write(tmp->path());
  auto r = de::test::run_command(fmt::format(
      "'{}' env install '{}' --root '{}/root' --python 3.11 --cache '{}/cache' 2>&1",
      de::test::cli_path().string(), wheel.string(), tmp->path().string(), tmp->path().string()));
  ASSERT_EQ(r.status, 0) << r.out;
  fs::path sp = tmp->path() / "root/opt/conda/lib/python3.11/site-packages";
  EXPECT_EQ(read_file(sp / "demo/__init__.py").value(), "VALUE = 7\ndef main():\n    return 0\n");
  EXPECT_TRUE(fs::exists(sp / "demo-1.0.dist-info/REQUESTED"));
  auto direct = read_file(sp / "demo-1.0.dist-info/direct_url.json");
  ASSERT_TRUE(direct);
  EXPECT_NE(direct->find("\"url\":\"file://" + wheel.string() + "\""), std::string::npos) << *direct;
  auto script = read_file(tmp->path() / "root/opt/conda/bin/demo-run");
  ASSERT_TRUE(script);
  EXPECT_TRUE(script->starts_with("#!/opt/conda/bin/python\n")) << *script;
  // Extracted once into the package cache's wheels/.
  EXPECT_TRUE(fs::is_directory(tmp->path() / "cache/wheels"));

  // Without a python to install into: refused, naming the wheel.
  auto none = de::test::run_command(fmt::format(
      "'{}' env install '{}' --root '{}/root2' --cache '{}/cache' 2>&1",
      de::test::cli_path().string(), wheel.string(), tmp->path().string(), tmp->path().string()));
  EXPECT_NE(none.status, 0);
  EXPECT_LT(none.status, 128);
  EXPECT_NE((none.out + none.err).find("needs a python"), std::string::npos) << none.out << none.err;
  EXPECT_FALSE(fs::exists(tmp->path() / "root2/opt/conda/lib"));
}

}  // namespace
}  // namespace de::pypi
