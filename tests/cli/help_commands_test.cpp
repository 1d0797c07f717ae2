// The built binary's `version`, `completion` and usage messages.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/testdata.hpp"

namespace de {
namespace {

test::CommandResult cli(const std::string& args) {
  return test::run_command(test::cli_path().string() + " " + args);
}

std::string describe(const test::CommandResult& r) {
  return "exit " + std::to_string(r.status) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

TEST(CliVersion, NamesTheToolAndEveryLinkedLibrary) {
  auto version = cli("version");
  ASSERT_EQ(version.status, 0) << describe(version);
  EXPECT_TRUE(version.out.starts_with("docker-envs 0.")) << version.out;
  for (std::string library : {"libsolv", "libcurl", "OpenSSL", "zstd", "ISA-L", "libarchive",
                              "yaml-cpp", "simdjson", "fmt", "nlohmann-json", "CLI11"})
    EXPECT_NE(version.out.find("\n  " + library + " "), std::string::npos) << library;
  EXPECT_EQ(version.out.find("unknown"), std::string::npos) << version.out;
  // --version says the same.
  auto flag = cli("--version");
  ASSERT_EQ(flag.status, 0) << describe(flag);
  EXPECT_EQ(flag.out, version.out);

  auto json = cli("version --json");
  ASSERT_EQ(json.status, 0) << describe(json);
  auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["name"], "docker-envs");
  ASSERT_GE(doc["libraries"].size(), 10u);
  EXPECT_EQ(doc["libraries"][0]["name"], "libsolv");
  EXPECT_EQ(doc["libraries"][0]["runtime"], true);  // asked of the library, not its headers
}

TEST(CliCompletion, PrintsAScriptPerShellFromTheCommandTable) {
  auto bash = cli("completion bash");
  ASSERT_EQ(bash.status, 0) << describe(bash);
  EXPECT_NE(bash.out.find("complete -F _docker_envs docker-envs"), std::string::npos);
  // Every command and nested command is there, the hidden generator is not.
  for (std::string command :
       {"'image ls')", "'image add-layer')", "'env install')", "'build')", "'lock')",
        "'version')", "'completion')"})
    EXPECT_NE(bash.out.find(command), std::string::npos) << command;
  EXPECT_EQ(bash.out.find("'generate'"), std::string::npos);
  EXPECT_EQ(bash.out.find("generate|"), std::string::npos);
  for (std::string shell : {"zsh", "fish"}) {
    auto r = cli("completion " + shell);
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_NE(r.out.find("image"), std::string::npos) << shell;
  }
  auto typo = cli("completion bsh");
  EXPECT_EQ(typo.status, 2) << describe(typo);
  EXPECT_NE(typo.err.find("did you mean 'bash'?"), std::string::npos) << typo.err;
}

TEST(CliUsage, MissingAndMistypedCommandsAndOptionsAreNamed) {
  auto none = cli("");
  EXPECT_EQ(none.status, 2) << describe(none);
  EXPECT_NE(none.err.find("a command is required: image, env, build"), std::string::npos)
      << none.err;
  auto image = cli("-v image");
  EXPECT_EQ(image.status, 2) << describe(image);
  EXPECT_NE(image.err.find("'image' needs a command: inspect, ls"), std::string::npos)
      << image.err;
  auto buidl = cli("buidl");
  EXPECT_EQ(buidl.status, 2) << describe(buidl);
  EXPECT_NE(buidl.err.find("unknown command 'buidl' (did you mean 'build'?)"), std::string::npos)
      << buidl.err;
  auto verison = cli("verison");
  EXPECT_NE(verison.err.find("(did you mean 'version'?)"), std::string::npos) << verison.err;
  auto tag = cli("build --tga x");
  EXPECT_EQ(tag.status, 2) << describe(tag);
  EXPECT_NE(tag.err.find("(did you mean '--tag'?)"), std::string::npos) << tag.err;
  auto above = cli("image ls --verbos scratch");
  EXPECT_EQ(above.status, 2) << describe(above);
  EXPECT_NE(above.err.find("(did you mean '--verbose'?)"), std::string::npos) << above.err;
}

}  // namespace
}  // namespace de
