#include "docker_envs/conda/channel.hpp"

#include <gtest/gtest.h>

#include "support/testdata.hpp"

namespace de::conda {
namespace {

TEST(Channel, Names) {
  auto c = Channel::parse("conda-forge");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->url(), "https://conda.anaconda.org/conda-forge");
  EXPECT_EQ(c->name(), "conda-forge");
  EXPECT_EQ(c->subdir_url("linux-64"), "https://conda.anaconda.org/conda-forge/linux-64");
  EXPECT_EQ(c->subdirs("linux-aarch64"), (std::vector<std::string>{"linux-aarch64", "noarch"}));

  auto labelled =
      Channel::parse("pytorch/label/nightly", {.channel_alias = "https://mirror.example/conda/"});
  ASSERT_TRUE(labelled);
  EXPECT_EQ(labelled->url(), "https://mirror.example/conda/pytorch/label/nightly");
  EXPECT_EQ(labelled->name(), "pytorch/label/nightly");

  EXPECT_FALSE(Channel::parse(""));
  EXPECT_FALSE(Channel::parse("bad name"));
}

TEST(Channel, UrlsAndSubdirs) {
  auto c = Channel::parse("https://repo.anaconda.com/pkgs/main/");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->url(), "https://repo.anaconda.com/pkgs/main");
  EXPECT_EQ(c->name(), "https://repo.anaconda.com/pkgs/main");
  EXPECT_FALSE(c->fixed_subdir());

  auto fixed = Channel::parse("https://conda.anaconda.org/conda-forge/osx-arm64");
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->url(), "https://conda.anaconda.org/conda-forge");
  EXPECT_EQ(fixed->name(), "conda-forge");
  EXPECT_EQ(fixed->subdirs("linux-64"), std::vector<std::string>{"osx-arm64"});
}

TEST(Channel, TokensNeverShown) {
  auto c = Channel::parse("https://conda.anaconda.org/t/tk-123-secret/private-channel");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->has_token());
  EXPECT_EQ(c->url(), "https://conda.anaconda.org/t/tk-123-secret/private-channel");
  EXPECT_EQ(c->to_string(), "https://conda.anaconda.org/t/***/private-channel");
  EXPECT_EQ(c->name(), "private-channel");
  EXPECT_EQ(c->subdir_url("noarch"),
            "https://conda.anaconda.org/t/tk-123-secret/private-channel/noarch");
  EXPECT_EQ(redact_url("https://user:pw@host.example/t/abc/x"),
            "https://user:***@host.example/t/***/x");
  auto creds = Channel::parse("https://user:hunter2@host.example/ch");
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->name().find("hunter2"), std::string::npos);
  EXPECT_EQ(creds->to_string().find("hunter2"), std::string::npos);

  FileFetcher fetcher;
  auto missing = fetch_repodata(*c, "noarch", fetcher);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().to_string().find("tk-123-secret"), std::string::npos)
      << missing.error().to_string();
}

TEST(Channel, StripCredentials) {
  EXPECT_EQ(strip_credentials("https://user:pw@host.example/t/abc/chan/linux-64/x-1-0.conda"),
            "https://host.example/chan/linux-64/x-1-0.conda");
  EXPECT_EQ(strip_credentials("https://host.example/t/***/chan"), "https://host.example/chan");
  EXPECT_EQ(strip_credentials("https://host.example/t/tok"), "https://host.example");
  EXPECT_EQ(strip_credentials("https://host.example/a/t/x/t/y/b"), "https://host.example/a/b");
  EXPECT_EQ(strip_credentials("https://tok@host.example/chan"), "https://host.example/chan");
  // Nothing to strip: unchanged, including '@' after the host and "t" directories elsewhere.
  EXPECT_EQ(strip_credentials("https://host.example/chan/x@1/tt/a.conda"),
            "https://host.example/chan/x@1/tt/a.conda");
  EXPECT_EQ(strip_credentials("file:///srv/t.dir/chan"), "file:///srv/t.dir/chan");
  EXPECT_EQ(strip_credentials("conda-forge"), "conda-forge");
}

TEST(Channel, LocalPaths) {
  auto c = Channel::parse("./my channel", {.working_directory = "/srv"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->url(), "file:///srv/my%20channel");
  EXPECT_TRUE(c->is_local());
  EXPECT_EQ(*file_url_to_path(c->subdir_url("noarch")), "/srv/my channel/noarch");
  auto abs = Channel::parse("file:///opt/chan/");
  ASSERT_TRUE(abs);
  EXPECT_EQ(abs->url(), "file:///opt/chan");
  EXPECT_FALSE(file_url_to_path("https://x/y"));
  EXPECT_EQ(*parse_platform("osx-arm64"), "osx-arm64");
  EXPECT_FALSE(parse_platform("amiga-68k"));
}

TEST(Channel, FetchesLocalRepodata) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::filesystem::create_directories(dir->path() / "chan/noarch");
  ASSERT_TRUE(write_file_atomic(dir->path() / "chan/noarch/repodata.json",
                                R"({"info":{"subdir":"noarch"},"packages.conda":{
      "tiny-1.0-0.conda":{"name":"tiny","version":"1.0","build":"0","subdir":"noarch"}}})"));
  auto c = Channel::parse((dir->path() / "chan").string());
  ASSERT_TRUE(c);
  FileFetcher fetcher;
  auto r = fetch_repodata(*c, "noarch", fetcher);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_EQ(r->records[0].channel, c->name());
  EXPECT_EQ(r->url_for(r->records[0]), c->url() + "/noarch/tiny-1.0-0.conda");
  auto missing = fetch_repodata(*c, "linux-64", fetcher);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);
}

}  // namespace
}  // namespace de::conda
