// The solution validator the solver tests rely on: each kind of violation is caught, and valid
// solutions pass.
#include "conda/solution_validator.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace de::conda::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

PackageRecord rec(std::string name, std::string version, std::string build,
                  std::vector<std::string> depends = {}, std::vector<std::string> constrains = {}) {
  PackageRecord r;
  r.name = std::move(name);
  r.version = std::move(version);
  r.build = std::move(build);
  r.depends = std::move(depends);
  r.constrains = std::move(constrains);
  r.subdir = "linux-64";
  r.channel = "test";
  return r;
}

TEST(SolutionValidator, AcceptsAConsistentSolution) {
  std::vector<PackageRecord> s = {
      rec("numpy", "1.26.4", "py312h_0",
          {"python >=3.12,<3.13.0a0", "python_abi 3.12.* *_cp312", "libblas >=3.9"}),
      rec("python", "3.12.1", "h1_0_cpython", {"libzlib >=1.2.13,<2.0a0"}),
      rec("python_abi", "3.12", "4_cp312", {}, {"python 3.12.* *_cpython"}),
      rec("libblas", "3.9.0", "21_openblas", {}, {"liblapack 3.9.0 21_openblas", "mkl <0"}),
      rec("libzlib", "1.2.13", "hd_5"),
  };
  EXPECT_THAT(validate_solution(s, {.specs = {"numpy >=1.20", "python=3.12"}}), IsEmpty());
}

TEST(SolutionValidator, RequestedSpecMustBeSatisfied) {
  std::vector<PackageRecord> s = {rec("numpy", "1.19.0", "py_0")};
  EXPECT_THAT(validate_solution(s, {.specs = {"numpy >=1.20"}}),
              ElementsAre(HasSubstr("requested 'numpy >=1.20' is not satisfied")));
  EXPECT_THAT(
      validate_solution(s, {.specs = {"scipy"}}),
      ElementsAre(
          HasSubstr("requested 'scipy' is not satisfied"),
          HasSubstr("numpy 1.19.0 py_0 (test) is installed but nothing requested depends on it")));
}

TEST(SolutionValidator, BuildStringGlobsInDependsAreHonoured) {
  std::vector<PackageRecord> s = {rec("a", "1", "0", {"b 2.* *_cp312"}),
                                  rec("b", "2.1", "4_cp311")};
  EXPECT_THAT(
      validate_solution(s, {.specs = {"a"}}),
      ElementsAre(HasSubstr(
          "a 1 0 (test) depends on 'b 2.* *_cp312', not satisfied (installed: b 2.1 4_cp311")));
  s[1].build = "4_cp312";
  EXPECT_THAT(validate_solution(s, {.specs = {"a"}}), IsEmpty());
}

TEST(SolutionValidator, MissingDependencyIsReported) {
  std::vector<PackageRecord> s = {rec("a", "1", "0", {"c >=1"})};
  EXPECT_THAT(
      validate_solution(s, {.specs = {"a"}}),
      ElementsAre(HasSubstr("depends on 'c >=1', not satisfied (nothing of that name installed)")));
}

TEST(SolutionValidator, ConstrainsBindOnlyWhenInstalled) {
  std::vector<PackageRecord> s = {rec("a", "1", "0", {"b"}, {"b <2", "c >=5"}),
                                  rec("b", "2.0", "0")};
  EXPECT_THAT(
      validate_solution(s, {.specs = {"a"}}),
      ElementsAre(HasSubstr("a 1 0 (test) constrains 'b <2', violated by installed b 2.0 0")));
  s[1].version = "1.9";
  EXPECT_THAT(validate_solution(s, {.specs = {"a"}}), IsEmpty());
}

TEST(SolutionValidator, ConstrainsWithBuildStrings) {
  std::vector<PackageRecord> s = {
      rec("libblas", "3.9.0", "5_openblas", {"liblapack"}, {"liblapack 3.9.0 5_openblas"}),
      rec("liblapack", "3.9.0", "5_mkl")};
  EXPECT_THAT(validate_solution(s, {.specs = {"libblas"}}),
              ElementsAre(HasSubstr("violated by installed liblapack")));
}

TEST(SolutionValidator, OneRecordPerName) {
  std::vector<PackageRecord> s = {rec("a", "1", "0"), rec("a", "2", "0")};
  EXPECT_THAT(
      validate_solution(s, {.specs = {"a"}}),
      ElementsAre(HasSubstr("more than one record of a installed: a 1 0 (test), a 2 0 (test)")));
}

TEST(SolutionValidator, VirtualPackagesSatisfyDependsAndCountAsInstalled) {
  std::vector<PackageRecord> s = {rec("a", "1", "0", {"__glibc >=2.17"})};
  EXPECT_THAT(validate_solution(s, {.specs = {"a"}}),
              ElementsAre(HasSubstr("'__glibc >=2.17', not satisfied")));
  EXPECT_THAT(
      validate_solution(s, {.specs = {"a"}, .virtual_packages = {rec("__glibc", "2.36", "0")}}),
      IsEmpty());
  EXPECT_THAT(
      validate_solution(s, {.specs = {"a"}, .virtual_packages = {rec("__glibc", "2.12", "0")}}),
      ElementsAre(HasSubstr("not satisfied (installed: __glibc 2.12 0")));
  // A solution that installs a record named like a virtual package is two of that name.
  s.push_back(rec("__glibc", "2.36", "0"));
  EXPECT_THAT(
      validate_solution(s, {.specs = {"a"}, .virtual_packages = {rec("__glibc", "2.36", "0")}}),
      ElementsAre(HasSubstr("more than one record of __glibc")));
}

TEST(SolutionValidator, UnneededPackagesAreReported) {
  std::vector<PackageRecord> s = {rec("a", "1", "0", {"b"}), rec("b", "1", "0"),
                                  rec("c", "1", "0", {"a"})};
  EXPECT_THAT(
      validate_solution(s, {.specs = {"a"}}),
      ElementsAre(HasSubstr("c 1 0 (test) is installed but nothing requested depends on it")));
}

TEST(SolutionValidator, RecordsMustComeFromTheRepository) {
  std::vector<PackageRecord> available = {rec("a", "1", "0"), rec("a", "2", "0")};
  std::vector<PackageRecord> s = {rec("a", "2", "0")};
  EXPECT_THAT(validate_solution(s, {.specs = {"a"}, .available = &available}), IsEmpty());
  s[0].build = "1";
  EXPECT_THAT(
      validate_solution(s, {.specs = {"a"}, .available = &available}),
      ElementsAre(HasSubstr("a 2 1 (test) (linux-64) is not one of the available records")));
  s[0].build = "0";
  s[0].build_number = 3;
  EXPECT_THAT(validate_solution(s, {.specs = {"a"}, .available = &available}),
              ElementsAre(HasSubstr("is not one of the available records")));
}

TEST(SolutionValidator, MatchSpecSemanticsAreConda) {
  // `=1.2` is a prefix match, `==1.2` exact (1.2.0 == 1.2), `1.2.*` excludes 1.20.
  std::vector<PackageRecord> s = {rec("a", "1.2.5", "0")};
  EXPECT_THAT(validate_solution(s, {.specs = {"a=1.2"}}), IsEmpty());
  EXPECT_THAT(validate_solution(s, {.specs = {"a==1.2"}}), ElementsAre(HasSubstr("not satisfied")));
  s[0].version = "1.20";
  EXPECT_THAT(validate_solution(s, {.specs = {"a 1.2.*"}}),
              ElementsAre(HasSubstr("not satisfied")));
  s[0].version = "1.2.0";
  EXPECT_THAT(validate_solution(s, {.specs = {"a==1.2"}}), IsEmpty());
  // Build number and channel keys.
  s[0].build_number = 3;
  EXPECT_THAT(validate_solution(s, {.specs = {"a[build_number='>=4']"}}),
              ElementsAre(HasSubstr("not satisfied")));
  EXPECT_THAT(validate_solution(s, {.specs = {"test::a[build_number=3]"}}), IsEmpty());
  EXPECT_THAT(validate_solution(s, {.specs = {"other::a"}}),
              ElementsAre(HasSubstr("not satisfied")));
}

TEST(SolutionValidator, InvalidSpecsAreProblemsNotCrashes) {
  std::vector<PackageRecord> s = {rec("a", "1", "0", {"b >=>1"})};
  auto problems = validate_solution(s, {.specs = {"a", "c[version="}});
  EXPECT_THAT(problems,
              ::testing::Contains(HasSubstr("requested spec 'c[version=' does not parse")));
  EXPECT_THAT(problems,
              ::testing::Contains(HasSubstr("depends on 'b >=>1', which does not parse")));
}

}  // namespace
}  // namespace de::conda::test
