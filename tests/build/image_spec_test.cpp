#include "docker_envs/build/image_spec.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "docker_envs/base/io.hpp"

namespace de::build {
namespace {

TEST(ImageSpec, ParsesEveryKey) {
  auto parsed = parse_environment_image(R"(name: demo
channels: [conda-forge]
dependencies: [python=3.11]
variables:
  MY_VAR: "1"
image:
  base: scratch
  name: demo:1.0
  prefix: /env
  platforms: [linux-64]
  entrypoint: [/env/bin/python]
  cmd: "-V"
  workdir: /work
  user: "1000:100"
  env: {LANG: C.UTF-8}
  labels:
    org.opencontainers.image.source: https://example.org
  files:
    - app/:/app
    - {source: /etc/hostname, dest: /etc/h}
    - conf.ini
  layering: {strategy: single, max_layers: 20}
)",
                                        "env.yml", "/proj");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->name, "demo");
  ASSERT_EQ(parsed->variables.size(), 1u);
  EXPECT_EQ(parsed->variables[0], (NameValue{"MY_VAR", "1"}));
  const auto& s = parsed->image;
  EXPECT_EQ(s.base, "scratch");
  EXPECT_EQ(s.name, "demo:1.0");
  EXPECT_EQ(s.prefix, "/env");
  EXPECT_EQ(s.platforms, std::vector<std::string>{"linux-64"});
  EXPECT_EQ(s.entrypoint, std::vector<std::string>{"/env/bin/python"});
  EXPECT_EQ(s.cmd, std::vector<std::string>{"-V"});
  EXPECT_EQ(s.workdir, "/work");
  EXPECT_EQ(s.user, "1000:100");
  ASSERT_EQ(s.env.size(), 1u);
  EXPECT_EQ(s.env[0], (NameValue{"LANG", "C.UTF-8"}));
  ASSERT_EQ(s.labels.size(), 1u);
  ASSERT_EQ(s.files.size(), 3u);
  EXPECT_EQ(s.files[0].source, "/proj/app/");
  EXPECT_EQ(s.files[0].dest, "/app");
  EXPECT_EQ(s.files[1].source, "/etc/hostname");
  EXPECT_EQ(s.files[1].dest, "/etc/h");
  EXPECT_EQ(s.files[2].source, "/proj/conf.ini");
  EXPECT_EQ(s.files[2].dest, "/conf.ini");
  EXPECT_EQ(s.strategy, LayerStrategy::Single);
  EXPECT_EQ(s.max_layers, 20u);
}

TEST(ImageSpec, CommandStringsFollowTheDockerfileRule) {
  auto spec = parse_environment_image(
      "image:\n  entrypoint: hello\n  cmd: mytool --help\n", "env.yml", ".");
  ASSERT_TRUE(spec) << spec.error().to_string();
  EXPECT_EQ(spec->image.entrypoint, std::vector<std::string>{"hello"});
  EXPECT_EQ(spec->image.cmd, (std::vector<std::string>{"/bin/sh", "-c", "mytool --help"}));
  EXPECT_TRUE(is_shell_form(*spec->image.cmd));
  EXPECT_FALSE(is_shell_form({"mytool", "--help"}));
  auto list = parse_environment_image("image:\n  cmd: [mytool, --help]\n", "env.yml", ".");
  ASSERT_TRUE(list) << list.error().to_string();
  EXPECT_EQ(list->image.cmd, (std::vector<std::string>{"mytool", "--help"}));
}

TEST(ImageSpec, AbsentSectionLeavesEverythingUnset) {
  auto parsed = parse_environment_image("name: x\ndependencies: [a]\n", "env.yml", ".");
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->image.base);
  EXPECT_FALSE(parsed->image.strategy);
  EXPECT_TRUE(parsed->image.files.empty());
}

void expect_error(const std::string& yaml, const std::string& where, const std::string& what) {
  auto parsed = parse_environment_image(yaml, "env.yml", ".");
  ASSERT_FALSE(parsed) << yaml;
  EXPECT_EQ(parsed.error().code(), Code::InvalidArgument);
  EXPECT_NE(parsed.error().to_string().find(where), std::string::npos)
      << parsed.error().to_string();
  EXPECT_NE(parsed.error().to_string().find(what), std::string::npos) << parsed.error().to_string();
}

TEST(ImageSpec, ErrorsNameFileAndLine) {
  expect_error("name: x\nimage:\n  bogus: 1\n", "env.yml:3", "unknown key 'image.bogus'");
  expect_error("name: x\nimage:\n  layering: {strategy: fancy}\n", "env.yml:3", "fancy");
  expect_error("image:\n  layering:\n    max_layers: lots\n", "env.yml:3", "max_layers");
  expect_error("image:\n  prefix: relative/dir\n", "env.yml:2", "absolute");
  expect_error("image:\n  workdir: w\n", "env.yml:2", "absolute");
  expect_error("image:\n  files: [\"a:relative\"]\n", "env.yml:2", "absolute");
  expect_error("image:\n  env: [NOEQUALS]\n", "env.yml:2", "NAME=VALUE");
  expect_error("image: [a, b]\n", "env.yml:1", "mapping");
  expect_error("name: x\nimage:\n  base: [unclosed\n", "env.yml:", "malformed YAML");
}

TEST(ImageSpec, FileSpecParse) {
  auto f = FileSpec::parse("dir/app.py:/srv/app.py");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->source, "dir/app.py");
  EXPECT_EQ(f->dest, "/srv/app.py");
  EXPECT_EQ(FileSpec::parse("dir/app.py")->dest, "/app.py");
  EXPECT_EQ(FileSpec::parse("dir/")->dest, "/dir");
  EXPECT_FALSE(FileSpec::parse("x:rel"));
  EXPECT_FALSE(FileSpec::parse(""));
}

// Names become what `docker load` accepts (distribution's reference grammar).
TEST(ReferenceName, FollowsTheGrammar) {
  EXPECT_EQ(reference_name("My_Env"), "my_env");
  EXPECT_EQ(reference_name("demo"), "demo");
  EXPECT_EQ(reference_name("My Env!"), "my-env");
  EXPECT_EQ(reference_name("a..b__c___d--e"), "a-b__c-d--e");
  EXPECT_EQ(reference_name("-_x_-"), "x");
  EXPECT_EQ(reference_name("Team/App"), "team/app");
  EXPECT_EQ(reference_name("localhost:5000/Team/App"), "localhost:5000/team/app");
  EXPECT_EQ(reference_name("!!!"), "environment");
  EXPECT_EQ(reference_tag("V1.0"), "V1.0");
  EXPECT_EQ(reference_tag(".hidden tag"), "hidden-tag");
  EXPECT_EQ(reference_tag(""), "latest");
  EXPECT_EQ(reference_tag(std::string(200, 'a')).size(), 128u);
}

// image.base paths are relative to the environment file, like its channels and files.
TEST(ResolveBase, RelativeToTheEnvironmentFile) {
  EXPECT_EQ(resolve_base("base.tar", "envs/x"), "envs/x/base.tar");
  EXPECT_EQ(resolve_base("./layout", "envs/x"), "envs/x/layout");
  EXPECT_EQ(resolve_base("docker-archive:../b.tar:n:1", "envs/x"), "docker-archive:envs/b.tar:n:1");
  EXPECT_EQ(resolve_base("oci:lay:v1", "envs"), "oci:envs/lay:v1");
  EXPECT_EQ(resolve_base("/abs/b.tar", "envs"), "/abs/b.tar");
  EXPECT_EQ(resolve_base("oci:/abs/lay", "envs"), "oci:/abs/lay");
  EXPECT_EQ(resolve_base("scratch", "envs"), "scratch");
  EXPECT_EQ(resolve_base("debian:bookworm-slim", "envs"), "debian:bookworm-slim");
  EXPECT_EQ(resolve_base("ghcr.io/o/r:1", "envs"), "ghcr.io/o/r:1");
  EXPECT_EQ(resolve_base("docker://x/y:1", "envs"), "docker://x/y:1");

  auto parsed = parse_environment_image("image:\n  base: base.tar\n", "env.yml", "sub/dir");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->image.base, "sub/dir/base.tar");
}

TEST(ResolveBase, PathLookingBases) {
  for (auto base : {"./x", "../x", "/x", "~/x", "x.tar", "x.tar.gz", "x.tgz", "x.tar.zst"})
    EXPECT_TRUE(base_is_path(base, ".")) << base;
  for (auto base : {"debian", "debian:12", "library/debian:12", "ghcr.io/o/r:1"})
    EXPECT_FALSE(base_is_path(base, ".")) << base;
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::filesystem::create_directories(dir->path() / "build");
  EXPECT_TRUE(base_is_path("build/layout", dir->path()));
}

}  // namespace
}  // namespace de::build
