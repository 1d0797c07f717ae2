// The command table as data, and the completion scripts and man page generated from it.
#include "cli/completion.hpp"

#include <gtest/gtest.h>

#include "cli/suggest.hpp"

namespace de::cli {
namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

struct Tree {
  CLI::App app{"A test tool.", "tool"};
  bool flag = false;
  std::string text, out, layering, dir;
  std::vector<std::string> args;
  Tree() {
    app.add_flag("-v,--verbose", flag, "Say more");
    auto* build = app.add_subcommand("build", "Build an image");
    build->add_option("args", args, "[ENV_FILE] [SPEC]...");
    build->add_option("-o,--output", out, "Destination")->type_name("DEST");
    build->add_option("--layering", layering, "Layering strategy")
        ->check(CLI::IsMember({"auto", "single"}));
    build->add_option("-t,--tag", text, ".starts with a dot, has a \\ and a -");
    build->footer("Exit status: 0 ok.\n.A line like a request");
    auto* image = app.add_subcommand("image", "Images");
    auto* ls = image->add_subcommand("ls", "List an image");
    ls->add_option("SRC", text, "Image to list")->required();
    ls->add_option("--dir", dir, "A directory");
    app.add_subcommand("generate", "Hidden")->group("");
    app.add_subcommand("completion", "Scripts")
        ->add_option("SHELL", text, "The shell")
        ->check(one_of({"bash", "zsh"}));
  }
};

TEST(CommandSpec, DescribesCommandsOptionsAndWhatTheirValuesAre) {
  Tree t;
  CommandSpec root = describe(t.app);
  EXPECT_EQ(root.name, "tool");
  ASSERT_EQ(root.subcommands.size(), 3u);  // the hidden one is left out
  EXPECT_EQ(root.subcommands[0].name, "build");
  EXPECT_EQ(root.subcommands[2].name, "completion");
  const CommandSpec* build = root.find("build");
  ASSERT_NE(build, nullptr);
  auto option = [&](const CommandSpec& c, const std::string& name) -> const OptionSpec* {
    for (const auto& o : c.options)
      if (std::find(o.names.begin(), o.names.end(), name) != o.names.end()) return &o;
    return nullptr;
  };
  ASSERT_NE(option(root, "--verbose"), nullptr);
  EXPECT_EQ(option(root, "--verbose")->names, (std::vector<std::string>{"-v", "--verbose"}));
  EXPECT_FALSE(option(root, "--verbose")->takes_value());
  ASSERT_NE(option(*build, "-o"), nullptr);
  EXPECT_EQ(option(*build, "-o")->kind, ValueKind::Image);
  EXPECT_EQ(option(*build, "--layering")->kind, ValueKind::Choice);
  EXPECT_EQ(option(*build, "--layering")->choices, (std::vector<std::string>{"auto", "single"}));
  EXPECT_EQ(option(*build, "--tag")->kind, ValueKind::None);
  ASSERT_EQ(build->positionals.size(), 1u);
  EXPECT_TRUE(build->positionals[0].repeatable);
  EXPECT_EQ(build->positionals[0].kind, ValueKind::File);
  const CommandSpec* ls = root.find("image")->find("ls");
  ASSERT_NE(ls, nullptr);
  EXPECT_EQ(ls->positionals[0].kind, ValueKind::Image);
  EXPECT_TRUE(ls->positionals[0].required);
  EXPECT_EQ(option(*ls, "--dir")->kind, ValueKind::Directory);
  // one_of describes its choices as IsMember does.
  EXPECT_EQ(root.find("completion")->positionals[0].choices,
            (std::vector<std::string>{"bash", "zsh"}));

  std::vector<std::string> paths;
  for (const auto& p : flatten(root)) paths.push_back(p.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"", "build", "image", "image ls", "completion"}));
}

TEST(Completion, BashScriptHoldsEveryCommandOptionAndValueKind) {
  Tree t;
  std::string bash = bash_completion(describe(t.app));
  EXPECT_TRUE(has(bash, "complete -F _tool tool\n")) << bash;
  EXPECT_TRUE(has(bash, "    '')\n      subs='build image completion'\n")) << bash;
  EXPECT_TRUE(has(bash, "    'image ls')\n      subs=''\n      opts='-h --help --dir'\n"
                        "      vopts='--dir'\n"))
      << bash;
  EXPECT_TRUE(has(bash, "'build|-o' | 'build|--output') echo 'image' ;;")) << bash;
  EXPECT_TRUE(has(bash, "'build|--layering') echo 'choice:auto single' ;;")) << bash;
  EXPECT_TRUE(has(bash, "'build|'[0-9]*) echo 'file' ;;")) << bash;  // every spec after the file
  EXPECT_TRUE(has(bash, "'image ls|0') echo 'image' ;;")) << bash;
  EXPECT_TRUE(has(bash, "docker:// docker-archive: oci: oci-archive: scratch")) << bash;
  EXPECT_FALSE(has(bash, "'generate'")) << bash;
  EXPECT_FALSE(has(bash, "@ID@")) << bash;
  EXPECT_EQ(bash, bash_completion(describe(t.app)));  // the same table, the same bytes
}

TEST(Completion, ZshAndFishScriptsDescribeCommandsAndOptions) {
  Tree t;
  CommandSpec root = describe(t.app);
  std::string zsh = zsh_completion(root);
  EXPECT_TRUE(zsh.starts_with("#compdef tool\n"));
  EXPECT_TRUE(has(zsh, "sdesc=('build:Build an image' 'image:Images' 'completion:Scripts')"))
      << zsh;
  EXPECT_TRUE(has(zsh, "'--layering:Layering strategy'")) << zsh;
  EXPECT_TRUE(has(zsh, "compdef _tool tool")) << zsh;
  std::string fish = fish_completion(root);
  EXPECT_TRUE(has(fish, "complete -c tool -n '__tool_is \\'\\'' -a 'build' -d 'Build an image'"))
      << fish;
  EXPECT_TRUE(has(fish, "complete -c tool -n '__tool_is \\'build\\'' -l 'layering' -x -a "
                        "'auto single' -d 'Layering strategy'"))
      << fish;
  EXPECT_TRUE(has(fish, "-s o -l 'output' -x -a '(__tool_images)'")) << fish;
  EXPECT_FALSE(has(zsh, "'generate:")) << zsh;
  EXPECT_FALSE(has(fish, "'generate'")) << fish;
}

TEST(ManPage, OneSectionPerCommandWithRoffEscaped) {
  Tree t;
  std::string man = man_page(describe(t.app), "1.2.3");
  EXPECT_TRUE(man.starts_with(".TH TOOL 1 \"\" \"tool 1.2.3\" \"User Commands\"\n")) << man;
  EXPECT_TRUE(has(man, ".SH NAME\ntool \\- A test tool.\n")) << man;
  EXPECT_TRUE(has(man, ".SS \"tool image ls\"\n")) << man;
  EXPECT_TRUE(has(man, "\\fBtool image ls\\fR [\\fIOPTIONS\\fR] \\fISRC\\fR\n")) << man;
  EXPECT_TRUE(has(man, "\\fB\\-o\\fR, \\fB\\-\\-output\\fR \\fIDEST\\fR\n")) << man;
  // A help text starting with '.' is not a request; '\' is escaped.
  EXPECT_TRUE(has(man, "\\&.starts with a dot, has a \\e and a \\-\n")) << man;
  EXPECT_TRUE(has(man, ".br\n\\&.A line like a request")) << man;
  EXPECT_TRUE(has(man, "Layering strategy (one of: auto, single)")) << man;
  EXPECT_TRUE(has(man, ".SH EXIT STATUS")) << man;
  EXPECT_FALSE(has(man, "tool generate")) << man;
}

}  // namespace
}  // namespace de::cli
