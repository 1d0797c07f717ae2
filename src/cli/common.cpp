#include "cli/common.hpp"

#include <charconv>

#include "cli/registry_ref.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/oci/mutate.hpp"

namespace de::cli {

Result<std::int64_t> parse_source_date_epoch(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0)
    return fail(Code::InvalidArgument,
                "SOURCE_DATE_EPOCH='{}' is not a non-negative number of seconds", text);
  return value;
}

Result<oci::ImageRef> parse_ref(std::string_view text, std::string_view role) {
  return DE_TRY_CTX(oci::ImageRef::parse(text), fmt::format("{} '{}'", role, shown_ref(text)));
}

Status check_destination(std::string_view text) {
  if (is_registry_ref(text)) {
    DE_TRY_CTX(parse_registry_ref(text), fmt::format("destination '{}'", shown_ref(text)));
    return {};
  }
  auto ref = DE_TRY(parse_ref(text, "destination"));
  if (ref.transport == oci::Transport::Scratch)
    return fail(Code::InvalidArgument, "destination '{}': scratch can only be a source",
                shown_ref(text));
  return {};
}

std::string created_time(const Globals& globals) {
  return globals.source_date_epoch ? oci::rfc3339_from_epoch(*globals.source_date_epoch)
                                   : std::string();
}

Status write_destination(oci::Image image, std::string_view text, const oci::WriteOptions& options,
                         const Globals& globals, bool stamp_created) {
  if (is_registry_ref(text)) {
    if (stamp_created && globals.source_date_epoch) oci::set_created(image, created_time(globals));
    auto pushed = DE_TRY_CTX(write_registry_image(image, text, RegistryFlags{},
                                                  {.compression = options.compression,
                                                   .keep_compressed = options.keep_compressed}),
                             fmt::format("pushing {}", shown_ref(text)));
    log::info("pushed {} (manifest {})", shown_ref(text), pushed.manifest_digest.to_string());
    return {};
  }
  auto ref = DE_TRY(parse_ref(text, "destination"));
  if (ref.transport == oci::Transport::Scratch)
    return fail(Code::InvalidArgument, "destination '{}': scratch can only be a source",
                shown_ref(text));
  if (stamp_created && globals.source_date_epoch) oci::set_created(image, created_time(globals));
  auto written =
      DE_TRY_CTX(oci::write_image(image, ref, options), fmt::format("writing {}", shown_ref(text)));
  log::info("wrote {} ({} layer{}, manifest {})", shown_ref(text), written.layers.size(),
            written.layers.size() == 1 ? "" : "s", written.manifest_digest.to_string());
  return {};
}

CLI::Validator non_negative(std::string what) {
  return CLI::Validator(
      [what](std::string& value) -> std::string {
        // An unsigned number has no '-' anywhere.
        if (value.find('-') != std::string::npos)
          return fmt::format("{} is negative; {}", value, what);
        return {};
      },
      "N>=0");
}

void add_compression_option(CLI::App* sub, std::optional<std::string>& target) {
  sub->add_option("--compression", target,
                  "Compression of every layer written to an OCI layout or registry: layers stored "
                  "in another compression are recompressed (same diffID, new digest). Default: "
                  "new layers gzip, stored layers kept as they are. docker-archive layers are "
                  "always uncompressed")
      ->check(CLI::IsMember({"gzip", "zstd", "none"}));
}

Result<Compression> layer_compression(std::string_view name) {
  return DE_TRY_CTX(parse_compression(name), std::string("--compression"));
}

Result<oci::WriteOptions> compression_options(const std::optional<std::string>& name) {
  if (!name) return oci::WriteOptions{.compression = Compression::Gzip, .keep_compressed = true};
  return oci::WriteOptions{.compression = DE_TRY(layer_compression(*name)),
                           .keep_compressed = false};
}

}  // namespace de::cli
