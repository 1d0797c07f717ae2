#include "docker_envs/pypi/tags.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "docker_envs/pypi/dist_filename.hpp"
#include "docker_envs/pypi/target.hpp"

namespace de::pypi {
namespace {

Target T(std::string platform = "linux-64", std::string python = "3.11.4",
         std::string build = "hab00c5b_0_cpython", std::string glibc = "2.28") {
  auto t = Target::for_image(TargetSpec{.platform = std::move(platform),
                                        .python_version = std::move(python),
                                        .python_build = std::move(build),
                                        .glibc = std::move(glibc)});
  EXPECT_TRUE(t) << (t ? "" : t.error().to_string());
  return t ? *t : Target{};
}

std::optional<std::size_t> P(const Target& t, std::string_view wheel) {
  auto w = WheelFilename::parse(wheel);
  EXPECT_TRUE(w) << wheel << ": " << (w ? "" : w.error().to_string());
  return w ? w->priority(t.tags) : std::nullopt;
}

TEST(PypiTags, LinuxPlatformsNewestFirstWithLegacyAliases) {
  auto p = linux_platform_tags("x86_64", 2, 17);
  std::vector<std::string> head(p.begin(), p.begin() + 3);
  EXPECT_EQ(head, (std::vector<std::string>{"manylinux_2_17_x86_64", "manylinux2014_x86_64",
                                            "manylinux_2_16_x86_64"}));
  auto find = [&](std::string_view s) { return std::find(p.begin(), p.end(), s) - p.begin(); };
  EXPECT_EQ(find("manylinux2010_x86_64"), find("manylinux_2_12_x86_64") + 1);
  EXPECT_EQ(find("manylinux1_x86_64"), find("manylinux_2_5_x86_64") + 1);
  EXPECT_EQ(p.back(), "linux_x86_64");
  EXPECT_EQ(p.size(), 13u /*2_17..2_5*/ + 3 /*aliases*/ + 1 /*linux*/);
  EXPECT_EQ(std::count(p.begin(), p.end(), "manylinux_2_4_x86_64"), 0);

  auto a = linux_platform_tags("aarch64", 2, 28);
  EXPECT_EQ(a.front(), "manylinux_2_28_aarch64");
  EXPECT_EQ(a[a.size() - 3], "manylinux_2_17_aarch64");
  EXPECT_EQ(a[a.size() - 2], "manylinux2014_aarch64");
  EXPECT_EQ(a.back(), "linux_aarch64");
  for (const auto& s : a) EXPECT_EQ(s.find("manylinux1"), std::string::npos);
  for (const auto& s : a) EXPECT_EQ(s.find("manylinux2010"), std::string::npos);

  // A glibc older than the first manylinux leaves only linux_<arch>.
  EXPECT_EQ(linux_platform_tags("aarch64", 2, 12), (std::vector<std::string>{"linux_aarch64"}));
}

TEST(PypiTags, CPythonOrderLikePip) {
  Target t = T();
  const auto& tags = t.tags.tags();
  ASSERT_FALSE(tags.empty());
  EXPECT_EQ(tags.front().to_string(), "cp311-cp311-manylinux_2_28_x86_64");
  EXPECT_EQ(tags.back().to_string(), "py30-none-any");
  auto pos = [&](std::string_view s) {
    for (std::size_t i = 0; i < tags.size(); ++i)
      if (tags[i].to_string() == s) return static_cast<long>(i);
    ADD_FAILURE() << s << " not in the tag set";
    return -1L;
  };
  // cpXY-cpXY-P < cpXY-abi3-P < cpXY-none-P < cp3x-abi3-P (x < Y) < py3x-none-P < cpXY-none-any
  // < py3x-none-any.
  EXPECT_LT(pos("cp311-cp311-linux_x86_64"), pos("cp311-abi3-manylinux_2_28_x86_64"));
  EXPECT_LT(pos("cp311-abi3-linux_x86_64"), pos("cp311-none-manylinux_2_28_x86_64"));
  EXPECT_LT(pos("cp311-none-linux_x86_64"), pos("cp310-abi3-manylinux_2_28_x86_64"));
  EXPECT_LT(pos("cp310-abi3-linux_x86_64"), pos("cp39-abi3-manylinux_2_28_x86_64"));
  EXPECT_LT(pos("cp32-abi3-linux_x86_64"), pos("py311-none-manylinux_2_28_x86_64"));
  EXPECT_LT(pos("py311-none-linux_x86_64"), pos("py3-none-manylinux_2_28_x86_64"));
  EXPECT_LT(pos("py3-none-linux_x86_64"), pos("py310-none-manylinux_2_28_x86_64"));
  EXPECT_LT(pos("py30-none-linux_x86_64"), pos("cp311-none-any"));
  EXPECT_LT(pos("cp311-none-any"), pos("py311-none-any"));
  EXPECT_LT(pos("py311-none-any"), pos("py3-none-any"));
  EXPECT_LT(pos("py3-none-any"), pos("py310-none-any"));
  // Never another Python, ABI, OS or libc.
  for (const char* no : {"cp312-cp312-manylinux_2_28_x86_64", "cp310-cp310-manylinux_2_28_x86_64",
                         "cp312-abi3-manylinux_2_28_x86_64", "cp311-cp311-musllinux_1_2_x86_64",
                         "cp311-cp311-manylinux_2_29_x86_64", "cp311-cp311-win_amd64",
                         "cp311-cp311-macosx_11_0_x86_64", "cp311-cp311-manylinux_2_28_aarch64",
                         "py2-none-any", "pp311-none-any", "cp311-cp311d-linux_x86_64"}) {
    auto w = WheelFilename::parse(std::string("x-1.0-") + no + ".whl");
    ASSERT_TRUE(w) << no;
    EXPECT_FALSE(w->priority(t.tags)) << no;
  }
}

TEST(PypiTags, WheelPriorityPicksTheMostSpecific) {
  Target t = T();
  auto native = P(t, "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
  auto abi3 = P(t, "cryptography-42.0.0-cp39-abi3-manylinux_2_28_x86_64.whl");
  auto pure = P(t, "six-1.16.0-py2.py3-none-any.whl");
  auto old_glibc = P(t, "numpy-1.26.4-cp311-cp311-manylinux1_x86_64.whl");
  ASSERT_TRUE(native && abi3 && pure && old_glibc);
  EXPECT_LT(*native, *old_glibc);
  EXPECT_LT(*native, *abi3);
  EXPECT_LT(*abi3, *pure);
  EXPECT_FALSE(P(t, "numpy-1.26.4-cp311-cp311-musllinux_1_1_x86_64.whl"));
  EXPECT_FALSE(P(t, "numpy-1.26.4-cp311-cp311-manylinux_2_34_x86_64.whl"));  // glibc too new
  EXPECT_FALSE(P(t, "numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.whl"));
  EXPECT_FALSE(P(t, "pywin32-306-cp311-cp311-win_amd64.whl"));
  EXPECT_FALSE(P(t, "futures-3.0.5-py2-none-any.whl"));
  // An older glibc ceiling (2.17) refuses manylinux_2_28 wheels.
  Target old = T("linux-64", "3.11.4", "h_0_cpython", "2.17");
  EXPECT_FALSE(P(old, "cryptography-42.0.0-cp39-abi3-manylinux_2_28_x86_64.whl"));
  EXPECT_TRUE(P(old, "cryptography-42.0.0-cp39-abi3-manylinux2014_x86_64.whl"));
}

TEST(PypiTags, PyPy) {
  Target t = T("linux-64", "3.9.18", "2_73_pypy");
  EXPECT_EQ(t.markers.implementation_name, "pypy");
  EXPECT_EQ(t.markers.platform_python_implementation, "PyPy");
  EXPECT_EQ(t.markers.implementation_version, "7.3");
  EXPECT_EQ(t.tags.tags().front().to_string(), "pp39-pypy39_pp73-manylinux_2_28_x86_64");
  EXPECT_TRUE(P(t, "x-1.0-pp39-pypy39_pp73-manylinux2014_x86_64.whl"));
  EXPECT_TRUE(P(t, "x-1.0-py3-none-any.whl"));
  EXPECT_FALSE(P(t, "x-1.0-cp39-cp39-manylinux2014_x86_64.whl"));
  EXPECT_FALSE(P(t, "x-1.0-cp39-abi3-manylinux2014_x86_64.whl"));
}

TEST(PypiTarget, MarkersComeFromTheImage) {
  Target t = T("linux-aarch64", "3.12.1", "h_0_cpython", "");
  EXPECT_EQ(t.markers.python_version, "3.12");
  EXPECT_EQ(t.markers.python_full_version, "3.12.1");
  EXPECT_EQ(t.markers.implementation_name, "cpython");
  EXPECT_EQ(t.markers.implementation_version, "3.12.1");
  EXPECT_EQ(t.markers.platform_machine, "aarch64");
  EXPECT_EQ(t.markers.sys_platform, "linux");
  EXPECT_EQ(t.markers.platform_system, "Linux");
  EXPECT_EQ(t.markers.os_name, "posix");
  EXPECT_EQ(t.tags.tags().front().to_string(), "cp312-cp312-manylinux_2_28_aarch64");  // default
  EXPECT_EQ(T("linux-64", "3.10").markers.python_full_version, "3.10.0");
  EXPECT_EQ(T("linux-32").markers.platform_machine, "i686");
  EXPECT_EQ(T("linux-ppc64le").markers.platform_machine, "ppc64le");
  EXPECT_EQ(T("linux-64", "3.7.12").tags.tags().front().to_string(),
            "cp37-cp37m-manylinux_2_28_x86_64");

  auto osx = Target::for_image(TargetSpec{.platform = "osx-arm64", .python_version = "3.11"});
  ASSERT_FALSE(osx);
  EXPECT_EQ(osx.error().code(), Code::Unsupported);
  EXPECT_FALSE(Target::for_image(TargetSpec{.platform = "linux-64", .python_version = "3"}));
  EXPECT_FALSE(Target::for_image(TargetSpec{.platform = "linux-64", .python_version = "x"}));
  EXPECT_FALSE(
      Target::for_image(TargetSpec{.platform = "linux-64", .python_version = "3.11", .glibc = "2"}));
}

TEST(PypiFilename, Wheels) {
  auto w = WheelFilename::parse("Foo_Bar-1.0.post1-2b-cp311-abi3-manylinux_2_17_x86_64.whl");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->name, "Foo_Bar");
  EXPECT_EQ(normalize_name(w->name), "foo-bar");
  EXPECT_EQ(w->version.to_string(), "1.0.post1");
  ASSERT_TRUE(w->build);
  EXPECT_EQ(w->build->number, 2u);
  EXPECT_EQ(w->build->rest, "b");
  EXPECT_EQ(w->tags().size(), 1u);
  auto c = WheelFilename::parse("six-1.16.0-py2.py3-none-any.whl");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->build);
  ASSERT_EQ(c->tags().size(), 2u);
  EXPECT_EQ(c->tags()[1].to_string(), "py3-none-any");
  EXPECT_LT((BuildTag{1, "z"}), (BuildTag{2, ""}));
  EXPECT_LT((BuildTag{1, "a"}), (BuildTag{1, "b"}));
  for (const char* bad : {"six-1.16.0-py3-none-any.zip", "six-1.16.0-none-any.whl",
                          "six-1.16.0-1-2-py3-none-any.whl", "six-1.x-py3-none-any.whl",
                          "six--1.0-py3-none-any.whl", "six-1.0-b1-py3-none-any.whl",
                          "../six-1.0-py3-none-any.whl", "six-1.0-py3-none-any/x.whl",
                          "six-1.0-py3..x-none-any.whl", ".whl"}) {
    EXPECT_FALSE(WheelFilename::parse(bad)) << bad;
  }
}

TEST(PypiFilename, DistInfoDirectories) {
  auto d = parse_dist_info_dirname("typing_extensions-4.9.0.dist-info");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->name, "typing-extensions");
  EXPECT_EQ(d->version.to_string(), "4.9.0");
  EXPECT_EQ(parse_dist_info_dirname("PyYAML-6.0.1.dist-info")->name, "pyyaml");
  EXPECT_EQ(parse_dist_info_dirname("numpy-1.26.4+mkl.dist-info")->version.to_string(),
            "1.26.4+mkl");
  EXPECT_FALSE(parse_dist_info_dirname("numpy-1.26.4.egg-info"));
  EXPECT_FALSE(parse_dist_info_dirname("numpy.dist-info"));
  EXPECT_FALSE(parse_dist_info_dirname("numpy-one.dist-info"));
  EXPECT_FALSE(parse_dist_info_dirname("-1.0.dist-info"));
}

TEST(PypiFilename, Sdists) {
  auto s = SdistFilename::parse("zope.interface-6.1.tar.gz");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->name, "zope.interface");
  EXPECT_EQ(s->version.to_string(), "6.1");
  auto dash = SdistFilename::parse("python-dateutil-2.8.2.tar.gz", "python_dateutil");
  ASSERT_TRUE(dash);
  EXPECT_EQ(dash->name, "python-dateutil");
  EXPECT_EQ(dash->version.to_string(), "2.8.2");
  EXPECT_TRUE(SdistFilename::parse("python-dateutil-2.8.2.zip"));
  EXPECT_FALSE(SdistFilename::parse("foo-1.0.tar.gz", "bar"));
  EXPECT_FALSE(SdistFilename::parse("foo-1.0.exe"));
  EXPECT_FALSE(SdistFilename::parse("foo.tar.gz"));
  EXPECT_TRUE(is_sdist_filename("Foo-1.0.TAR.GZ"));
  EXPECT_FALSE(is_sdist_filename("foo-1.0-py3-none-any.whl"));
}

}  // namespace
}  // namespace de::pypi
