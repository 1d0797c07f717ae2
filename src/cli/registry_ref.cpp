#include "cli/registry_ref.hpp"

#include <cstdlib>

#include "docker_envs/base/log.hpp"
#include "docker_envs/base/redact.hpp"

namespace de::cli {
namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

bool is_registry_ref(std::string_view text) { return text.starts_with(kRegistryPrefix); }

void add_registry_options(CLI::App* sub, RegistryFlags& flags, bool platform) {
  sub->add_option("--creds", flags.creds,
                  "Registry credentials USER:PASSWORD (else docker's config.json)");
  sub->add_option("--insecure-registry", flags.insecure,
                  "Allow plain HTTP / unverified TLS for this registry host[:port] (repeatable)");
  sub->add_option("--ca-file", flags.ca_file, "Extra PEM CA bundle to trust for registry TLS")
      ->check(CLI::ExistingFile);
  sub->add_option("--parallel", flags.parallel, "Concurrent blob transfers")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  if (platform)
    sub->add_option(
        "--platform", flags.platform,
        "Platform to pick from a multi-platform image (os/arch[/variant]); default: every "
        "platform's, as an image index (a docker-archive DEST needs one picked)");
  sub->add_flag("--json", flags.json, "Print a JSON summary on stdout");
}

Result<registry::RegistryOptions> registry_options(const RegistryFlags& flags) {
  registry::RegistryOptions o;
  if (!flags.creds.empty())
    o.credentials = DE_TRY_CTX(registry::Credentials::parse_user_pass(flags.creds), "--creds");
  fs::path config_dir = env("DOCKER_CONFIG");
  std::string home = env("HOME");
  if (config_dir.empty() && !home.empty()) config_dir = fs::path(home) / ".docker";
  if (!config_dir.empty())
    o.docker_config = DE_TRY(registry::DockerConfig::load(config_dir / "config.json"));
  o.insecure_registries = flags.insecure;
  o.ca_file = flags.ca_file;
  o.parallel = flags.parallel;
  fs::path cache = env("XDG_CACHE_HOME");
  if (cache.empty() && !home.empty()) cache = fs::path(home) / ".cache";
  if (!cache.empty()) o.cache_dir = cache / "docker-envs";
  return o;
}

Result<registry::RegistryOptions> registry_options(const RegistryFlags& flags,
                                                   progress::Reporter* reporter,
                                                   std::string stage, std::string done) {
  auto o = DE_TRY(registry_options(flags));
  o.progress = registry::report_blobs(reporter, std::move(stage), std::move(done));
  return o;
}

namespace {
// Whether "[docker://]user[:pw]@host/repo" has a userinfo part: an '@' before the first '/'
// ("repo@sha256:..." has none).
bool has_userinfo(std::string_view text) {
  if (is_registry_ref(text)) text.remove_prefix(kRegistryPrefix.size());
  auto at = text.find('@');
  auto slash = text.find('/');
  return at != std::string_view::npos && slash != std::string_view::npos && at < slash;
}
}  // namespace

std::string shown_ref(std::string_view text) { return redact_reference(text); }

Result<registry::Reference> parse_registry_ref(std::string_view text) {
  if (has_userinfo(text))
    return fail(Code::InvalidArgument,
                "'{}': an image reference cannot carry credentials; pass --creds USER:PASSWORD or "
                "log in with `docker login` (docker's config.json)",
                shown_ref(text));
  if (is_registry_ref(text)) text.remove_prefix(kRegistryPrefix.size());
  return registry::Reference::parse(text);
}

Result<oci::Image> read_registry_image(std::string_view text, const RegistryFlags& flags,
                                       bool fetch_layers) {
  auto ref = DE_TRY(parse_registry_ref(text));
  auto options = DE_TRY(registry_options(flags));
  registry::PullOptions pull{.fetch_layers = fetch_layers};
  if (!flags.platform.empty())
    pull.platform = DE_TRY_CTX(oci::Platform::parse(flags.platform), "--platform");
  auto pulled = DE_TRY(registry::pull_image(ref, options, pull));
  return std::move(pulled.image);
}

Result<SourceImages> read_registry_sources(std::string_view text, const RegistryFlags& flags) {
  SourceImages out{.source = shown_ref(text)};
  std::string context = fmt::format("reading {}", out.source);
  if (!flags.platform.empty()) {
    auto image = DE_TRY_CTX(read_registry_image(text, flags, /*fetch_layers=*/false), context);
    out.platforms.push_back(image.config.platform());
    out.images.push_back(std::move(image));
    return out;
  }
  // The whole image: every image of an index (by the index's digest, so that a tag moving
  // meanwhile cannot mix two indexes) with the index's bytes, so that an unedited copy or push
  // keeps its digest.
  auto ref = DE_TRY_CTX(parse_registry_ref(text), context);
  auto options = DE_TRY(registry_options(flags));
  auto pulled = DE_TRY_CTX(registry::pull_all(ref, options, {.fetch_layers = false}), context);
  out.index = pulled.index != nullptr;
  out.source_index = std::move(pulled.index);
  for (auto& p : pulled.images) {
    out.platforms.push_back(p.image.index_platform ? *p.image.index_platform
                                                   : p.image.config.platform());
    out.images.push_back(std::move(p.image));
  }
  return out;
}

Result<registry::PushResult> write_registry_image(const oci::Image& image, std::string_view text,
                                                  const RegistryFlags& flags,
                                                  const registry::PushOptions& push) {
  auto ref = DE_TRY(parse_registry_ref(text));
  auto options = DE_TRY(registry_options(flags));
  return registry::push_image(image, ref, options, push);
}

Result<registry::PushResult> write_registry_index(std::span<const oci::Image> images,
                                                  std::string_view text, const RegistryFlags& flags,
                                                  const registry::PushOptions& push) {
  auto ref = DE_TRY(parse_registry_ref(text));
  auto options = DE_TRY(registry_options(flags));
  return registry::push_index(images, ref, options, push);
}

}  // namespace de::cli
