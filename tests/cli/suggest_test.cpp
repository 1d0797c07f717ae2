// Usage mistakes named with the nearest valid word, on a small command tree shaped like the real
// one (nested commands, a hidden one, options on several levels).
#include "cli/suggest.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace de::cli {
namespace {

struct Tree {
  CLI::App app{"test tool", "tool"};
  bool verbose = false, long_format = false;
  std::string tag, shell, progress;
  Tree() {
    app.require_subcommand(1);
    app.fallthrough();
    app.add_flag("-v,--verbose", verbose);
    app.add_option("--progress", progress);
    auto* build = app.add_subcommand("build", "Build");
    build->add_option("-t,--tag", tag);
    auto* image = app.add_subcommand("image", "Images");
    image->require_subcommand(1);
    image->fallthrough();
    image->add_subcommand("inspect", "Inspect");
    image->add_subcommand("ls", "List")->add_flag("-l,--long", long_format);
    app.add_subcommand("generate", "Hidden")->group("");
    app.add_subcommand("completion", "Scripts")
        ->add_option("SHELL", shell)
        ->check(one_of({"bash", "zsh", "fish"}));
  }
  std::optional<std::string> words(std::vector<const char*> argv) {
    argv.insert(argv.begin(), "tool");
    return command_word_error(app, static_cast<int>(argv.size()), argv.data());
  }
  // The hint for a parse of argv that fails, or "no error".
  std::string hint(std::vector<const char*> argv) {
    argv.insert(argv.begin(), "tool");
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      return e.what() + option_hint(app, e);
    }
    return "no error";
  }
};

TEST(Suggest, AUniquePrefixOrTheNearestWord) {
  constexpr std::array<std::string_view, 5> kWords = {"build", "image", "inspect", "install",
                                                      "lock"};
  EXPECT_EQ(suggest("buidl", kWords, 3), "build");  // one swap
  EXPECT_EQ(suggest("insp", kWords, 3), "inspect");  // the only word it begins
  EXPECT_EQ(suggest("ins", kWords, 1), std::nullopt);  // inspect or install: too far from both
  EXPECT_EQ(suggest("lokc", kWords, 3), "lock");
  EXPECT_EQ(suggest("zzzzzz", kWords, 3), std::nullopt);
  EXPECT_EQ(suggest("b", kWords, 3), std::nullopt);  // one letter suggests nothing
}

TEST(Suggest, UnknownCommandsAreNamedWithTheNearestOne) {
  Tree t;
  EXPECT_EQ(t.words({"buidl"}), "unknown command 'buidl' (did you mean 'build'?)");
  EXPECT_EQ(t.words({"-v", "image", "lss", "x"}),
            "unknown command 'image lss' (did you mean 'image ls'?)");
  EXPECT_EQ(t.words({"image", "frobnicate"}),
            "unknown command 'image frobnicate'; commands: inspect, ls");
  // A hidden command runs when named, but is never offered.
  EXPECT_EQ(t.words({"generate"}), std::nullopt);
  EXPECT_EQ(t.words({"xyzzy"}), "unknown command 'xyzzy'; commands: build, image, completion");
  // A missing command names the choices.
  EXPECT_EQ(t.words({}), "a command is required: build, image, completion");
  EXPECT_EQ(t.words({"-v", "image"}), "'image' needs a command: inspect, ls");
  // Arguments of a command, and requests for help, are not command words.
  EXPECT_EQ(t.words({"build", "whatever", "-t", "x"}), std::nullopt);
  EXPECT_EQ(t.words({"image", "--help"}), std::nullopt);
  EXPECT_EQ(t.words({"--version"}), std::nullopt);
  // The value of an option that takes one is no command word either.
  EXPECT_EQ(t.words({"--progress", "plain", "build"}), std::nullopt);
  EXPECT_EQ(t.words({"--progress", "plain", "buidl"}),
            "unknown command 'buidl' (did you mean 'build'?)");
  EXPECT_EQ(t.words({"--progress=plain", "image", "ls"}), std::nullopt);
  EXPECT_EQ(t.words({"-v", "build", "x"}), std::nullopt);
}

TEST(Suggest, UnknownOptionsAreNamedWithTheNearestOneOfTheCommandOrAbove) {
  Tree t;
  EXPECT_NE(t.hint({"image", "ls", "--lnog"}).find("(did you mean '--long'?)"),
            std::string::npos);
  Tree above;  // an option of the root is accepted after a subcommand, so it is suggested there
  EXPECT_NE(above.hint({"image", "ls", "--verbos"}).find("(did you mean '--verbose'?)"),
            std::string::npos);
  Tree far;
  std::string message = far.hint({"build", "--frobnicate"});
  EXPECT_NE(message.find("--frobnicate"), std::string::npos) << message;
  EXPECT_EQ(message.find("did you mean"), std::string::npos) << message;
}

TEST(Suggest, OneOfSuggestsTheNearestChoice) {
  Tree t;
  std::string message = t.hint({"completion", "bsh"});
  EXPECT_NE(message.find("'bsh' is not one of bash, zsh, fish (did you mean 'bash'?)"),
            std::string::npos)
      << message;
  Tree ok;
  EXPECT_EQ(ok.hint({"completion", "zsh"}), "no error");
  EXPECT_EQ(ok.shell, "zsh");
}

}  // namespace
}  // namespace de::cli
