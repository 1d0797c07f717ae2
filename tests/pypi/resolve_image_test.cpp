// resolve_for_image() end to end over a --find-links directory: the target from plain values,
// conda-installed distributions from their .dist-info names, and core metadata read from inside
// the wheels (a directory serves no PEP 658 files).
#include "docker_envs/pypi/resolve_image.hpp"

#include <gtest/gtest.h>

#include "docker_envs/base/io.hpp"
#include "ffi/archive.hpp"

namespace de::pypi {
namespace {

void write_wheel(const std::filesystem::path& dir, const std::string& name,
                 const std::string& version, const std::string& requires_dist) {
  auto w = ffi::ArchiveWriter::create(dir / (name + "-" + version + "-py3-none-any.whl"),
                                      ffi::ArchiveWriteFormat::ZipStored);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->add_file(name + "/__init__.py", ""));
  ASSERT_TRUE((*w)->add_file(name + "-" + version + ".dist-info/METADATA",
                             "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version +
                                 "\n" + requires_dist));
  ASSERT_TRUE((*w)->close());
}

ImageResolveRequest request(const std::filesystem::path& links, std::vector<std::string> reqs) {
  return ImageResolveRequest{
      .target = {.platform = "linux-64", .python_version = "3.11.4", .python_build = "h_cpython"},
      .requirements = std::move(reqs),
      .sources = {.index_urls = {}, .find_links = {links.string()}},
      .installed_dist_info = {"six-1.16.0.dist-info", "not a dist-info"}};
}

TEST(PypiResolveImage, FindLinksWheelsAndCondaFacts) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  write_wheel(dir->path(), "demo", "1.0", "Requires-Dist: six>=1.10\nRequires-Dist: extra_dep\n");
  write_wheel(dir->path(), "extra_dep", "2.0", "");
  write_wheel(dir->path(), "six", "1.17.0", "");
  auto outcome = resolve_for_image(request(dir->path(), {"demo"}));
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  ASSERT_TRUE(std::holds_alternative<Resolution>(*outcome))
      << std::get<Unresolvable>(*outcome).explanation;
  const auto& d = std::get<Resolution>(*outcome).distributions;
  ASSERT_EQ(d.size(), 2u);  // six comes from conda
  EXPECT_EQ(d[0].name, "demo");
  EXPECT_TRUE(d[0].requested);
  EXPECT_EQ(d[1].name, "extra_dep");
  EXPECT_FALSE(d[1].requested);
  EXPECT_TRUE(d[1].file.url.starts_with("file:///"));

  // conda's six 1.16.0 is a fact: a requirement it does not meet is a conflict, not an upgrade.
  auto conflict = resolve_for_image(request(dir->path(), {"demo", "six>=1.17"}));
  ASSERT_TRUE(conflict);
  ASSERT_TRUE(std::holds_alternative<Unresolvable>(*conflict));
  EXPECT_NE(std::get<Unresolvable>(*conflict).explanation.find("six 1.16.0 is installed by the conda"),
            std::string::npos);
}

TEST(PypiResolveImage, ErrorsNameTheRequirement) {
  auto bad = resolve_for_image(request("/nonexistent", {"demo", "demo >= "}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().to_string().find("pip requirement 2"), std::string::npos)
      << bad.error().to_string();
  auto req = request("/nonexistent", {"demo"});
  req.target.platform = "win-64";
  auto win = resolve_for_image(req);
  ASSERT_FALSE(win);
  EXPECT_EQ(win.error().code(), Code::Unsupported);
}

}  // namespace
}  // namespace de::pypi
