// Runs the built docker-envs binary: help and usage errors, then end-to-end edits across formats.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "docker_envs/base/io.hpp"
#include "support/testdata.hpp"

namespace de {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using test::CommandResult;

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// Runs docker-envs with `args` (already shell-quoted where needed). SOURCE_DATE_EPOCH is fixed
// unless the caller sets its own environment prefix.
CommandResult cli(const std::string& args, const std::string& env = "SOURCE_DATE_EPOCH=0") {
  return test::run_command(env + " " + quote(test::cli_path().string()) + " " + args);
}

std::string describe(const CommandResult& r) {
  return "exit " + std::to_string(r.status) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool contains_line(const std::string& text, const std::string& line) {
  for (auto& l : lines(text))
    if (l == line) return true;
  return false;
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(Cli, VersionAndHelp) {
  auto version = cli("--version");
  EXPECT_EQ(version.status, 0) << describe(version);
  EXPECT_NE(version.out.find("docker-envs"), std::string::npos);

  auto help = cli("--help");
  EXPECT_EQ(help.status, 0) << describe(help);
  EXPECT_NE(help.out.find("image"), std::string::npos);
  EXPECT_NE(help.out.find("--verbose"), std::string::npos);

  for (std::string command : {"inspect", "ls", "add-layer", "remove-layer", "config", "copy"}) {
    auto r = cli("image " + command + " --help");
    EXPECT_EQ(r.status, 0) << command << ": " << describe(r);
    EXPECT_NE(r.out.find("SRC"), std::string::npos) << command << ": " << r.out;
  }
  auto add = cli("image add-layer --help");
  for (std::string option : {"--dir", "--file", "--exclude", "--compression", "--created-by"})
    EXPECT_NE(add.out.find(option), std::string::npos) << option;
  auto config = cli("image config --help");
  for (std::string option :
       {"--env", "--entrypoint", "--cmd", "--workdir", "--user", "--label", "--expose"})
    EXPECT_NE(config.out.find(option), std::string::npos) << option;
}

TEST(Cli, UsageErrorsExitTwo) {
  for (std::string args :
       {"", "image", "image inspect", "image frobnicate x", "image inspect x --no-such-option",
        "image add-layer scratch oci:/tmp/never",
        "image copy scratch oci:/tmp/never --compression lz4",
        "image remove-layer scratch oci:/tmp/never --index minus-one",
        "-v -q image inspect scratch"}) {
    auto r = cli(args);
    EXPECT_EQ(r.status, 2) << "args: " << args << "\n" << describe(r);
    EXPECT_NE(r.err.find("docker-envs: error: "), std::string::npos) << args << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists("/tmp/never"));
}

TEST(Cli, InvalidSourceDateEpochIsAnError) {
  auto r = cli("image inspect scratch", "SOURCE_DATE_EPOCH=yesterday");
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("SOURCE_DATE_EPOCH"), std::string::npos) << r.err;
}

// The end-to-end tests need the image readers, writers and the layer builder.
class CliImage : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::create({}, "de-cli-test-");
    ASSERT_TRUE(dir.has_value());
    tmp_ = std::make_unique<TempDir>(std::move(*dir));
    root_ = tmp_->path() / "root";
    write_text(root_ / "bin/hello.sh", "#!/bin/sh\necho hello\n");
    fs::permissions(root_ / "bin/hello.sh", fs::perms(0755));
    write_text(root_ / "data/a.txt", "alpha\n");
    fs::create_hard_link(root_ / "data/a.txt", root_ / "data/hard.txt");
    fs::create_symlink("a.txt", root_ / "data/link");
    write_text(root_ / "lib/libx.a", "archive");
    write_text(tmp_->path() / "extra.txt", "extra\n");
  }

  std::string path(const std::string& name) const { return (tmp_->path() / name).string(); }

  // add-layer from scratch into `dest`; the layer holds root_ at /app and extra.txt at /etc.
  CommandResult add_layer(const std::string& dest) {
    return cli("image add-layer scratch " + quote(dest) + " --dir " +
               quote(root_.string() + ":/app") + " --file " +
               quote(path("extra.txt") + ":/etc/extra.txt") + " --exclude '*.a'");
  }

  Json inspect(const std::string& ref) {
    auto r = cli("image inspect " + quote(ref));
    EXPECT_EQ(r.status, 0) << describe(r);
    Json j = Json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  std::unique_ptr<TempDir> tmp_;
  fs::path root_;
};

// Issue 13 item 4: an out-of-range image index in a docker-archive reference aborted (exit 134,
// an uncaught std::out_of_range); it is an ordinary error now (inspect, and copy: the reader build --base uses too).
TEST_F(CliImage, OutOfRangeArchiveIndexIsAnError) {
  std::string archive = "docker-archive:" + path("img.tar") + ":test/app:1";
  auto added = add_layer(archive);
  ASSERT_EQ(added.status, 0) << describe(added);
  std::string ref = "docker-archive:" + path("img.tar") + ":@99999999999999999999999";
  auto r = cli("image inspect " + quote(ref));
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("has no image @99999999999999999999999"), std::string::npos) << r.err;
  auto copied = cli("image copy " + quote(ref) + " " + quote("oci:" + path("out")));
  EXPECT_EQ(copied.status, 1) << describe(copied);
  EXPECT_FALSE(fs::exists(path("out")));
}

TEST_F(CliImage, AddLayerConfigLsInspectRemoveCopy) {
  std::string oci1 = "oci:" + path("oci1");
  auto added = add_layer(oci1);
  ASSERT_EQ(added.status, 0) << describe(added);

  // Merged listing: parents emitted, excludes applied, symlink and hardlink present.
  auto ls = cli("image ls " + quote(oci1));
  ASSERT_EQ(ls.status, 0) << describe(ls);
  for (std::string expected : {"app/", "app/bin/", "app/bin/hello.sh", "app/data/a.txt",
                               "app/data/hard.txt", "app/data/link", "etc/", "etc/extra.txt"})
    EXPECT_TRUE(contains_line(ls.out, expected)) << expected << " missing from:\n" << ls.out;
  EXPECT_EQ(ls.out.find("libx.a"), std::string::npos) << ls.out;

  auto ls_long = cli("image ls --long " + quote(oci1) + " --layer 0");
  ASSERT_EQ(ls_long.status, 0) << describe(ls_long);
  bool symlink_shown = false;
  for (auto& line : lines(ls_long.out))
    if (line.find("app/data/link") != std::string::npos && line.find("a.txt") != std::string::npos)
      symlink_shown = true;
  EXPECT_TRUE(symlink_shown) << ls_long.out;
  EXPECT_NE(ls_long.out.find("rwxr-xr-x"), std::string::npos) << ls_long.out;

  auto bad_layer = cli("image ls " + quote(oci1) + " --layer 1");
  EXPECT_EQ(bad_layer.status, 1) << describe(bad_layer);
  EXPECT_NE(bad_layer.err.find("0-0"), std::string::npos) << bad_layer.err;

  // Config edits into a docker-archive.
  std::string archive = "docker-archive:" + path("img.tar") + ":test/app:1";
  auto configured = cli(
      "image config " + quote(oci1) + " " + quote(archive) +
      " --env A=1 --env B=two=2 --workdir /app --user 1000 --entrypoint '[\"/app/bin/hello.sh\"]'"
      " --cmd '[]' --label org.example=yes --expose 80 --expose 53/udp");
  ASSERT_EQ(configured.status, 0) << describe(configured);

  Json info = inspect("docker-archive:" + path("img.tar"));
  ASSERT_TRUE(info.is_object());
  const Json& config = info["config"]["config"];
  EXPECT_EQ(config["Env"], Json({"A=1", "B=two=2"}));
  EXPECT_EQ(config["WorkingDir"], "/app");
  EXPECT_EQ(config["User"], "1000");
  EXPECT_EQ(config["Entrypoint"], Json::array({"/app/bin/hello.sh"}));
  EXPECT_EQ(config["Labels"]["org.example"], "yes");
  EXPECT_TRUE(config["ExposedPorts"].contains("80/tcp"));
  EXPECT_TRUE(config["ExposedPorts"].contains("53/udp"));
  EXPECT_EQ(info["config"]["created"], "1970-01-01T00:00:00Z");
  ASSERT_EQ(info["layers"].size(), 1u);
  const Json& layer = info["layers"][0];
  EXPECT_TRUE(layer["digest"].is_string());
  EXPECT_TRUE(layer["size"].is_number());
  EXPECT_TRUE(layer["media_type"].is_string());
  ASSERT_TRUE(layer["diff_id"].is_string());
  EXPECT_EQ(info["config"]["rootfs"]["diff_ids"], Json::array({layer["diff_id"]}));
  EXPECT_TRUE(info["manifest_digest"].is_string());
  EXPECT_EQ(info["manifest_source"], "derived");  // classic docker-archives store none
  EXPECT_EQ(info["manifest"]["layers"].size(), 1u);
  const Json& history = info["config"]["history"];
  ASSERT_EQ(history.size(), 2u) << history.dump();
  EXPECT_FALSE(history[0].value("empty_layer", false));
  EXPECT_TRUE(history[1].value("empty_layer", false));
  EXPECT_EQ(history[1]["created"], "1970-01-01T00:00:00Z");
  EXPECT_NE(history[1]["created_by"].get<std::string>().find("EXPOSE 80/tcp"), std::string::npos);

  // The docker-archive lists the same files as the OCI layout it came from.
  auto ls_archive = cli("image ls " + quote("docker-archive:" + path("img.tar")));
  ASSERT_EQ(ls_archive.status, 0) << describe(ls_archive);
  EXPECT_EQ(ls_archive.out, ls.out);

  // Copies between formats keep the config (image ID) and the files.
  std::string copy_oci = "oci:" + path("copy-oci");
  std::string copy_archive = "oci-archive:" + path("copy.oci.tar");
  std::string back = "docker-archive:" + path("back.tar");
  auto c1 = cli("image copy " + quote(archive) + " " + quote(copy_oci) + " --compression zstd");
  ASSERT_EQ(c1.status, 0) << describe(c1);
  auto c2 = cli("image copy " + quote(copy_oci) + " " + quote(copy_archive));
  ASSERT_EQ(c2.status, 0) << describe(c2);
  auto c3 = cli("image copy " + quote(copy_archive) + " " + quote(back));
  ASSERT_EQ(c3.status, 0) << describe(c3);
  Json zstd_info = inspect(copy_oci);
  EXPECT_EQ(zstd_info["config_digest"], info["config_digest"]);
  ASSERT_EQ(zstd_info["layers"].size(), 1u);
  EXPECT_NE(zstd_info["layers"][0]["media_type"].get<std::string>().find("zstd"),
            std::string::npos);
  EXPECT_EQ(zstd_info["layers"][0]["diff_id"], layer["diff_id"]);
  for (const auto& ref : {copy_archive, back}) {
    Json j = inspect(ref);
    EXPECT_EQ(j["config_digest"], info["config_digest"]) << ref;
    auto l = cli("image ls " + quote(ref));
    EXPECT_EQ(l.out, ls.out) << ref;
  }

  // Remove the only layer: the config edits stay, the history loses the layer's entry.
  std::string removed = "oci-archive:" + path("removed.tar");
  auto rm = cli("image remove-layer " + quote(archive) + " " + quote(removed));
  ASSERT_EQ(rm.status, 0) << describe(rm);
  Json removed_info = inspect(removed);
  EXPECT_TRUE(removed_info["layers"].empty());
  EXPECT_EQ(removed_info["config"]["config"]["Env"], Json({"A=1", "B=two=2"}));
  ASSERT_EQ(removed_info["config"]["history"].size(), 1u);
  EXPECT_TRUE(removed_info["config"]["history"][0].value("empty_layer", false));
  auto rm_ls = cli("image ls " + quote(removed));
  EXPECT_EQ(rm_ls.status, 0) << describe(rm_ls);
  EXPECT_EQ(rm_ls.out, "");

  auto rm_again =
      cli("image remove-layer " + quote(archive) + " " + quote("oci:" + path("x")) + " --index 3");
  EXPECT_EQ(rm_again.status, 1) << describe(rm_again);
  EXPECT_NE(rm_again.err.find("0-0"), std::string::npos) << rm_again.err;
  EXPECT_FALSE(fs::exists(path("x")));
}

TEST_F(CliImage, SameInputsGiveSameDigests) {
  auto a = add_layer("oci:" + path("a"));
  auto b = add_layer("oci-archive:" + path("b.tar"));
  ASSERT_EQ(a.status, 0) << describe(a);
  ASSERT_EQ(b.status, 0) << describe(b);
  Json ia = inspect("oci:" + path("a"));
  Json ib = inspect("oci-archive:" + path("b.tar"));
  EXPECT_EQ(ia["manifest_digest"], ib["manifest_digest"]);
  // inspect reports the manifest the layout stores, by the digest index.json gives it.
  auto index = read_file(fs::path(path("a")) / "index.json");
  ASSERT_TRUE(index.has_value());
  Json index_json = Json::parse(*index);
  EXPECT_EQ(ia["manifest_source"], "stored");
  EXPECT_EQ(ib["manifest_source"], "stored");
  EXPECT_EQ(ia["manifest_digest"], index_json["manifests"][0]["digest"]) << *index;
  EXPECT_EQ(ia["config_digest"], ib["config_digest"]);
  // Host paths (temp dirs here) never reach the config.
  EXPECT_EQ(ia["config"].dump().find(tmp_->path().string()), std::string::npos);
}

TEST_F(CliImage, ErrorsGiveOneLineAndNoPartialDestination) {
  auto missing = cli("image inspect " + quote("oci:" + path("nope")));
  EXPECT_EQ(missing.status, 1) << describe(missing);
  EXPECT_TRUE(missing.err.starts_with("docker-envs: error: ")) << missing.err;
  EXPECT_NE(missing.err.find(path("nope")), std::string::npos) << missing.err;
  EXPECT_EQ(lines(missing.err).size(), 1u) << missing.err;

  auto copy = cli("image copy " + quote("docker-archive:" + path("nope.tar")) + " " +
                  quote("oci:" + path("out")));
  EXPECT_EQ(copy.status, 1) << describe(copy);
  EXPECT_FALSE(fs::exists(path("out")));

  auto bad_dir = cli("image add-layer scratch " + quote("docker-archive:" + path("partial.tar")) +
                     " --dir " + quote(path("no-such-dir")));
  EXPECT_EQ(bad_dir.status, 1) << describe(bad_dir);
  EXPECT_NE(bad_dir.err.find("no-such-dir"), std::string::npos) << bad_dir.err;
  EXPECT_FALSE(fs::exists(path("partial.tar")));

  auto bad_file = cli("image add-layer scratch " + quote("oci:" + path("partial")) + " --file " +
                      quote(path("extra.txt")));
  EXPECT_EQ(bad_file.status, 1) << describe(bad_file);
  EXPECT_NE(bad_file.err.find("HOST:IMAGEPATH"), std::string::npos) << bad_file.err;
  EXPECT_FALSE(fs::exists(path("partial")));

  for (std::string args : {"--expose http", "--env =x", "--env NOEQUALS", "--entrypoint '/bin/sh'",
                           "--cmd '[1]'", "--workdir relative"}) {
    auto r = cli("image config scratch " + quote("oci:" + path("cfg")) + " " + args);
    EXPECT_EQ(r.status, 1) << args << ": " << describe(r);
    EXPECT_TRUE(r.err.starts_with("docker-envs: error: ")) << r.err;
    EXPECT_FALSE(fs::exists(path("cfg"))) << args;
  }

  auto to_scratch = cli("image copy scratch scratch");
  EXPECT_EQ(to_scratch.status, 1) << describe(to_scratch);
  EXPECT_NE(to_scratch.err.find("scratch"), std::string::npos);
}

TEST_F(CliImage, QuietAndVerbose) {
  auto quiet = cli("-q image add-layer scratch " + quote("oci:" + path("q")) + " --dir " +
                   quote(root_.string()));
  ASSERT_EQ(quiet.status, 0) << describe(quiet);
  EXPECT_EQ(quiet.err, "");
  EXPECT_EQ(quiet.out, "");
  auto normal = cli("image copy " + quote("oci:" + path("q")) + " " + quote("oci:" + path("q2")));
  ASSERT_EQ(normal.status, 0) << describe(normal);
  EXPECT_NE(normal.err.find("wrote"), std::string::npos) << normal.err;
}

// A password inside a registry reference is never echoed, whatever the command.
TEST(CliMistakes, CredentialsInAReferenceAreRefusedAndNeverShown) {
  auto dir = TempDir::create({}, "de-cli-test-");
  ASSERT_TRUE(dir);
  std::string out = quote((dir->path() / "out").string());
  for (std::string args :
       std::vector<std::string>{"image inspect docker://user:s3cret@127.0.0.1:1/repo:tag",
                                "image ls docker://user:s3cret@127.0.0.1:1/repo:tag",
                                "image copy scratch docker://user:s3cret@127.0.0.1:1/repo:tag",
                                "image copy docker://user:s3cret@127.0.0.1:1/repo:tag oci:" + out,
                                "image pull docker://user:s3cret@127.0.0.1:1/repo:tag " + out,
                                "image pull user:s3cret@127.0.0.1:1/repo:tag " + out,
                                "image push scratch docker://user:s3cret@127.0.0.1:1/repo:tag"}) {
    auto r = cli(args);
    EXPECT_NE(r.status, 0) << args << "\n" << describe(r);
    EXPECT_EQ(r.err.find("s3cret"), std::string::npos) << args << "\n" << describe(r);
    EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << args << "\n" << describe(r);
    EXPECT_NE(r.err.find("credentials"), std::string::npos) << args << "\n" << describe(r);
  }
}

// File names with control characters are listed escaped: a newline cannot forge a line.
TEST_F(CliImage, LsEscapesControlCharactersInNames) {
  write_text(root_ / "evil\nbin/fake", "x");
  write_text(root_ / "esc\x1b[2Jname", "y");
  std::string dest = "oci:" + path("ctl");
  auto made = cli("image add-layer scratch " + quote(dest) + " --dir " + quote(root_.string()));
  ASSERT_EQ(made.status, 0) << describe(made);
  auto ls = cli("image ls " + quote(dest));
  ASSERT_EQ(ls.status, 0) << describe(ls);
  EXPECT_TRUE(contains_line(ls.out, "evil\\nbin/")) << ls.out;
  EXPECT_TRUE(contains_line(ls.out, "evil\\nbin/fake")) << ls.out;
  EXPECT_TRUE(contains_line(ls.out, "esc\\x1b[2Jname")) << ls.out;
  EXPECT_FALSE(contains_line(ls.out, "bin/fake")) << ls.out;
  EXPECT_EQ(ls.out.find('\x1b'), std::string::npos) << ls.out;
  auto layer = cli("image ls --layer 0 --long " + quote(dest));
  ASSERT_EQ(layer.status, 0) << describe(layer);
  EXPECT_NE(layer.out.find(" evil\\nbin/fake\n"), std::string::npos) << layer.out;
  EXPECT_EQ(layer.out.find('\x1b'), std::string::npos) << layer.out;
}

// A mistyped transport fails and writes nothing, instead of becoming a local path.
TEST_F(CliImage, MistypedTransportsAreErrors) {
  std::string src = "oci:" + path("good");
  ASSERT_EQ(add_layer(src).status, 0);
  fs::path cwd = fs::current_path();
  fs::current_path(tmp_->path());
  auto typo = cli("image copy " + quote(src) + " dockr://host/a:b");
  auto archiv = cli("image copy " + quote(src) + " docker-archiv:x.tar");
  auto source = cli("image ls oci-archve:x.tar");
  auto bare = cli("image copy " + quote(src) + " ./plain:dir");
  fs::current_path(cwd);
  for (auto* r : {&typo, &archiv, &source}) {
    EXPECT_EQ(r->status, 1) << describe(*r);
    EXPECT_NE(r->err.find("unknown transport"), std::string::npos) << describe(*r);
  }
  EXPECT_NE(typo.err.find("did you mean 'docker://'"), std::string::npos) << typo.err;
  EXPECT_FALSE(fs::exists(tmp_->path() / "dockr:"));
  EXPECT_FALSE(fs::exists(tmp_->path() / "docker-archiv:x.tar"));
  EXPECT_EQ(bare.status, 0) << describe(bare);
  EXPECT_TRUE(fs::exists(tmp_->path() / "plain:dir" / "index.json"));
}

// Usage mistakes are named: an unknown command with the nearest one, a negative index.
TEST(CliMistakes, UnknownCommandsAndNegativeNumbersAreNamed) {
  auto buidl = cli("buidl");
  EXPECT_EQ(buidl.status, 2) << describe(buidl);
  EXPECT_NE(buidl.err.find("unknown command 'buidl' (did you mean 'build'?)"), std::string::npos)
      << buidl.err;
  auto lss = cli("-v image lss x");
  EXPECT_EQ(lss.status, 2) << describe(lss);
  EXPECT_NE(lss.err.find("unknown command 'image lss' (did you mean 'image ls'?)"),
            std::string::npos)
      << lss.err;
  auto far = cli("image frobnicate x");
  EXPECT_EQ(far.status, 2) << describe(far);
  EXPECT_NE(far.err.find("unknown command 'image frobnicate'; commands: "), std::string::npos)
      << far.err;
  auto option = cli("image ls --lnog scratch");
  EXPECT_EQ(option.status, 2) << describe(option);
  EXPECT_NE(option.err.find("--lnog (did you mean '--long'?)"), std::string::npos) << option.err;
  for (std::string args : {"image ls --layer -1 scratch", "image ls --layer=-1 scratch",
                           "image remove-layer --index -2 scratch oci:/tmp/never"}) {
    auto r = cli(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << describe(r);
    EXPECT_NE(r.err.find("is negative"), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(r.err.find("18446744073709551"), std::string::npos) << args << "\n" << r.err;
  }
}

// A file that is no image says so, instead of a tar reader's complaint.
TEST_F(CliImage, ATextFileIsNotAnImage) {
  write_text(path("env.yml"), "name: demo\ndependencies: [python]\n");
  std::string big(4096, 'x');
  write_text(path("big.txt"), big);
  for (std::string file : {"env.yml", "big.txt"}) {
    auto r = cli("image inspect " + quote(path(file)));
    EXPECT_EQ(r.status, 1) << describe(r);
    EXPECT_NE(r.err.find(file + " is not an image (not a docker-archive, OCI layout or OCI "
                                "archive)"),
              std::string::npos)
        << r.err;
  }
}

// --json failures print the error as JSON on stdout, and exit non-zero.
TEST_F(CliImage, JsonFailuresPrintAnErrorObject) {
  for (std::string args : std::vector<std::string>{
           "solve --json " + quote(path("missing.yml")),
           "image pull --json docker://u:pw@127.0.0.1:1/r:t " + quote(path("out")),
           "image push --json " + quote(path("missing.tar")) + " docker://127.0.0.1:1/r:t",
           "build --json " + quote(path("missing.yml"))}) {
    auto r = cli(args);
    EXPECT_EQ(r.status, 1) << args << "\n" << describe(r);
    Json j = Json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << args << "\n" << describe(r);
    ASSERT_TRUE(j.contains("error")) << r.out;
    EXPECT_TRUE(j["error"]["message"].is_string()) << r.out;
    EXPECT_TRUE(j["error"]["code"].is_string()) << r.out;
    EXPECT_TRUE(j["error"]["context"].is_array()) << r.out;
    EXPECT_EQ(r.out.find("pw@"), std::string::npos) << r.out;
  }
  auto r = cli("image push --json " + quote(path("missing.tar")) + " docker://127.0.0.1:1/r:t");
  Json j = Json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["error"]["code"], "not_found") << r.out;
}

}  // namespace
}  // namespace de
