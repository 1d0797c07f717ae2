#include "docker_envs/oci/mutate.hpp"

#include <gtest/gtest.h>

namespace de::oci {
namespace {

// A layer with fixed tar bytes, known diff_id (or not, like a layer built from host files).
class FakeLayer final : public Layer {
 public:
  FakeLayer(std::string tar, bool know_diff_id) : tar_(std::move(tar)), known_(know_diff_id) {}
  std::optional<Descriptor> blob() const override { return std::nullopt; }
  std::optional<Digest> diff_id() const override {
    return known_ ? std::optional(Digest::of(tar_)) : std::nullopt;
  }
  Result<std::unique_ptr<Reader>> open_blob() const override {
    return fail(Code::Unsupported, "fake layer has no blob");
  }
  Result<std::unique_ptr<Reader>> open_tar() const override {
    return std::make_unique<StringReader>(tar_);
  }
  std::string describe() const override { return "fake layer"; }

 private:
  std::string tar_;
  bool known_;
};

LayerPtr fake(std::string tar, bool known = true) {
  return std::make_shared<FakeLayer>(std::move(tar), known);
}

size_t non_empty_history(const Image& image) {
  size_t n = 0;
  for (auto& h : image.config.history())
    if (!h.empty_layer) ++n;
  return n;
}

void expect_consistent(const Image& image) {
  EXPECT_EQ(non_empty_history(image), image.layers.size());
  auto ids = image.config.diff_ids();
  ASSERT_TRUE(ids.has_value());
  EXPECT_EQ(ids->size(), image.layers.size());
  EXPECT_FALSE(image.source_config_bytes().has_value());
}

TEST(Mutate, AppendLayerAddsLayerDiffIdAndHistory) {
  Image base = scratch_image();
  base.keep_source_bytes(base.config.to_json());
  Image one =
      append_layer(base, fake("a"), HistoryEntry{.created_by = "first", .empty_layer = true});
  Image two = append_layer(one, fake("b", /*known=*/false), HistoryEntry{.created_by = "second"});

  // Inputs untouched.
  EXPECT_TRUE(base.layers.empty());
  EXPECT_TRUE(base.source_config_bytes().has_value());
  EXPECT_EQ(one.layers.size(), 1u);

  expect_consistent(two);
  auto ids = *two.config.diff_ids();
  EXPECT_EQ(ids[0], Digest::of("a"));
  EXPECT_EQ(ids[1], Digest());  // placeholder until written
  auto history = two.config.history();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].created_by, "first");
  EXPECT_FALSE(history[0].empty_layer);  // forced: it describes a layer
  EXPECT_EQ(history[1].created_by, "second");
}

TEST(Mutate, AppendPadsMissingHistory) {
  Image image = scratch_image();
  image.layers = {fake("x"), fake("y")};
  image.config.set_diff_ids({Digest::of("x"), Digest::of("y")});
  image.config.set_history({HistoryEntry{.created_by = "ENV A=1", .empty_layer = true}});

  Image out = append_layer(image, fake("z"), HistoryEntry{.created_by = "top"});
  expect_consistent(out);
  auto history = out.config.history();
  ASSERT_EQ(history.size(), 4u);
  EXPECT_TRUE(history[0].empty_layer);
  EXPECT_FALSE(history[1].empty_layer);
  EXPECT_FALSE(history[1].comment.empty());
  EXPECT_EQ(history[3].created_by, "top");
}

TEST(Mutate, SurplusHistoryIsMarkedEmpty) {
  Image image = scratch_image();
  image.layers = {fake("x")};
  image.config.set_diff_ids({Digest::of("x")});
  image.config.set_history({HistoryEntry{.created_by = "a"}, HistoryEntry{.created_by = "b"}});
  auto out = remove_layer(image);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  expect_consistent(*out);
  auto history = out->config.history();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].created_by, "b");
  EXPECT_TRUE(history[0].empty_layer);
}

TEST(Mutate, RemoveLayerRemovesMatchingHistoryAndDiffId) {
  Image image = scratch_image();
  image = append_layer(image, fake("a"), HistoryEntry{.created_by = "A"});
  auto edited = edit_config(image, ConfigEdit{.env = {{"K", "V"}}});
  ASSERT_TRUE(edited.has_value());
  image = append_layer(*edited, fake("b"), HistoryEntry{.created_by = "B"});
  image = append_layer(image, fake("c"), HistoryEntry{.created_by = "C"});

  auto middle = remove_layer(image, 1);
  ASSERT_TRUE(middle.has_value()) << middle.error().to_string();
  expect_consistent(*middle);
  EXPECT_EQ(image.layers.size(), 3u);  // input untouched
  auto ids = *middle->config.diff_ids();
  EXPECT_EQ(ids, (std::vector<Digest>{Digest::of("a"), Digest::of("c")}));
  auto history = middle->config.history();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].created_by, "A");
  EXPECT_TRUE(history[1].empty_layer);
  EXPECT_EQ(history[2].created_by, "C");

  auto top = remove_layer(*middle);
  ASSERT_TRUE(top.has_value());
  expect_consistent(*top);
  EXPECT_EQ(*top->config.diff_ids(), std::vector<Digest>{Digest::of("a")});
}

TEST(Mutate, RemoveLayerOutOfRangeNamesTheRange) {
  Image image = append_layer(scratch_image(), fake("a"), {});
  image = append_layer(image, fake("b"), {});
  auto out = remove_layer(image, 2);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code(), Code::InvalidArgument);
  EXPECT_NE(out.error().to_string().find("0-1"), std::string::npos) << out.error().to_string();

  auto empty = remove_layer(scratch_image());
  ASSERT_FALSE(empty.has_value());
  EXPECT_NE(empty.error().to_string().find("no layers"), std::string::npos);
}

// The library records no tool name of its own in the history: the caller names itself.
TEST(Mutate, EditConfigHistoryNamesOnlyTheCallersTool) {
  Image image = scratch_image();
  auto last_created_by = [](const Result<Image>& out) {
    EXPECT_TRUE(out.has_value());
    return out ? out->config.history().back().created_by : std::string();
  };
  EXPECT_EQ(last_created_by(edit_config(image, ConfigEdit{.env = {{"K", "V"}}})), "ENV K=V");
  EXPECT_EQ(
      last_created_by(edit_config(
          image, ConfigEdit{.env = {{"K", "V"}}, .expose = {"80"}, .created_by_prefix = "t c"})),
      "t c: ENV K=V; EXPOSE 80/tcp");
  EXPECT_EQ(last_created_by(edit_config(image, ConfigEdit{.created_by_prefix = "t c"})), "t c");
  EXPECT_EQ(last_created_by(edit_config(image, ConfigEdit{.env = {{"K", "V"}},
                                                          .history = {.created_by = "given"},
                                                          .created_by_prefix = "t c"})),
            "given");
}

TEST(Mutate, EditConfigAppliesAllFields) {
  Image image = append_layer(scratch_image(), fake("a"), {});
  auto out = edit_config(image, ConfigEdit{
                                    .env = {{"PATH", "/opt/bin"}, {"EMPTY", ""}, {"PATH", "/x"}},
                                    .entrypoint = std::vector<std::string>{"/bin/sh", "-c"},
                                    .cmd = std::vector<std::string>{"echo hi"},
                                    .workdir = "/work",
                                    .user = "1000:1000",
                                    .labels = {{"org.example", "yes"}},
                                    .expose = {"80", "53/udp"},
                                    .history = {.created = "1970-01-01T00:00:00Z"},
                                });
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  auto& c = out->config;
  EXPECT_EQ(c.env(), (std::vector<std::string>{"PATH=/x", "EMPTY="}));
  EXPECT_EQ(c.entrypoint(), (std::vector<std::string>{"/bin/sh", "-c"}));
  EXPECT_EQ(c.cmd(), std::vector<std::string>{"echo hi"});
  EXPECT_EQ(c.working_dir(), "/work");
  EXPECT_EQ(c.user(), "1000:1000");
  EXPECT_EQ(c.labels().at("org.example"), "yes");
  EXPECT_EQ(c.exposed_ports(), (std::vector<std::string>{"53/udp", "80/tcp"}));
  expect_consistent(*out);
  auto history = c.history();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_TRUE(history[1].empty_layer);
  EXPECT_EQ(history[1].created, "1970-01-01T00:00:00Z");
  EXPECT_NE(history[1].created_by.find("WORKDIR /work"), std::string::npos);
  EXPECT_NE(history[1].created_by.find("EXPOSE 80/tcp"), std::string::npos);
  // Input untouched.
  EXPECT_TRUE(image.config.env().empty());

  // An empty array clears entrypoint/cmd.
  auto cleared = edit_config(*out, ConfigEdit{.entrypoint = std::vector<std::string>{}});
  ASSERT_TRUE(cleared.has_value());
  EXPECT_FALSE(cleared->config.entrypoint().has_value());
  EXPECT_TRUE(cleared->config.cmd().has_value());
}

TEST(Mutate, EditConfigRejectsInvalidInputWithoutChanges) {
  Image image = scratch_image();
  auto expect_invalid = [&](const ConfigEdit& edit, std::string_view needle) {
    auto out = edit_config(image, edit);
    ASSERT_FALSE(out.has_value()) << needle;
    EXPECT_EQ(out.error().code(), Code::InvalidArgument);
    EXPECT_NE(out.error().to_string().find(needle), std::string::npos) << out.error().to_string();
  };
  expect_invalid({.env = {{"", "x"}}}, "name is empty");
  expect_invalid({.env = {{"A", "1"}, {"B=C", "x"}}}, "B=C");
  expect_invalid({.expose = {"80", "http"}}, "http");
  expect_invalid({.expose = {"0"}}, "'0'");
  expect_invalid({.expose = {"65536"}}, "65536");
  expect_invalid({.expose = {"80/icmp"}}, "protocol");
  expect_invalid({.expose = {"80/"}}, "protocol");
  expect_invalid({.expose = {"/tcp"}}, "/tcp");
  expect_invalid({.workdir = "relative/dir"}, "absolute");
  expect_invalid({.labels = {{"", "v"}}}, "label key");
}

TEST(Mutate, ParsePortCanonicalises) {
  EXPECT_EQ(parse_port("80").value(), "80/tcp");
  EXPECT_EQ(parse_port("80/tcp").value(), "80/tcp");
  EXPECT_EQ(parse_port("53/udp").value(), "53/udp");
  EXPECT_EQ(parse_port("65535/sctp").value(), "65535/sctp");
  EXPECT_FALSE(parse_port("").has_value());
  EXPECT_FALSE(parse_port("-1").has_value());
  EXPECT_FALSE(parse_port("80 ").has_value());
}

TEST(Mutate, SetCreatedAndEpochFormatting) {
  EXPECT_EQ(rfc3339_from_epoch(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339_from_epoch(1700000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(rfc3339_from_epoch(951782400), "2000-02-29T00:00:00Z");
  Image image = scratch_image();
  image.keep_source_bytes(image.config.to_json());
  set_created(image, "1970-01-01T00:00:00Z");
  EXPECT_EQ(image.config.created(), "1970-01-01T00:00:00Z");
  EXPECT_FALSE(image.source_config_bytes().has_value());
}

}  // namespace
}  // namespace de::oci
