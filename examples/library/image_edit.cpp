// image-edit: the image library in one program. Reads a `docker save` archive, lists the files of
// one layer, adds a layer made from a host directory or file, removes a layer, and writes the
// result back as a docker-archive that `docker load` accepts.
//
//   image-edit IN.tar OUT.tar [--list N] [--add HOST[:IMAGE_PATH]] [--remove N] [--tag NAME:TAG]
//
// Layers are numbered from 0 = bottom. The steps run in the order above; --add puts the new layer
// on top, and --remove counts layers after the addition.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "docker_envs/base/error.hpp"
#include "docker_envs/oci/filesystem.hpp"
#include "docker_envs/oci/layer_builder.hpp"
#include "docker_envs/oci/mutate.hpp"
#include "docker_envs/oci/image_ref.hpp"

namespace {

struct Args {
  std::string in, out, tag = "image-edit:latest";
  std::optional<std::size_t> list, remove;
  std::optional<std::string> add;
};

std::optional<std::size_t> parse_index(std::string_view s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  return std::stoul(std::string(s));
}

std::optional<Args> parse_args(int argc, char** argv) {
  Args a;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--list" && has_value) {
      if (!(a.list = parse_index(argv[++i]))) return std::nullopt;
    } else if (arg == "--remove" && has_value) {
      if (!(a.remove = parse_index(argv[++i]))) return std::nullopt;
    } else if (arg == "--add" && has_value) {
      a.add = argv[++i];
    } else if (arg == "--tag" && has_value) {
      a.tag = argv[++i];
    } else if (!arg.starts_with("--") && positional < 2) {
      (positional++ == 0 ? a.in : a.out) = arg;
    } else {
      return std::nullopt;
    }
  }
  if (positional != 2) return std::nullopt;
  return a;
}

// The layer for --add HOST[:IMAGE_PATH]: a directory's contents (at IMAGE_PATH, default the root)
// or one file (at IMAGE_PATH, default /<its name>).
de::Result<de::oci::LayerPtr> layer_from_host(const std::string& spec) {
  auto colon = spec.find(':');
  std::filesystem::path host = spec.substr(0, colon);
  std::string image_path = colon == std::string::npos ? "" : spec.substr(colon + 1);
  de::oci::LayerBuilder builder({});
  if (std::filesystem::is_directory(host)) {
    DE_TRY(builder.add_directory(host, image_path));
  } else {
    DE_TRY(builder.add_file(host, image_path.empty() ? host.filename().string() : image_path));
  }
  return std::move(builder).build();
}

de::Status run(const Args& a) {
  using namespace de;
  auto in = DE_TRY(oci::ImageRef::parse("docker-archive:" + a.in));
  oci::Image image = DE_TRY_CTX(oci::read_image(in), "reading " + a.in);
  std::printf("read %s: %zu layers\n", a.in.c_str(), image.layers.size());

  if (a.list) {
    if (*a.list >= image.layers.size())
      return fail(Code::InvalidArgument, "--list {}: the image has {} layers", *a.list,
                  image.layers.size());
    auto entries = DE_TRY_CTX(oci::list_layer(*image.layers[*a.list]),
                              fmt::format("listing layer {}", *a.list));
    std::printf("files of layer %zu (%s):\n", *a.list, image.layers[*a.list]->describe().c_str());
    for (const auto& e : entries)
      if (!e.path.empty()) std::printf("  %s\n", oci::format_long(e).c_str());  // not the root
  }

  if (a.add) {
    auto layer = DE_TRY_CTX(layer_from_host(*a.add), "building a layer from " + *a.add);
    image = oci::append_layer(std::move(image), std::move(layer),
                              oci::HistoryEntry{.created_by = "image-edit --add " + *a.add});
    std::printf("added a layer from %s: %zu layers\n", a.add->c_str(), image.layers.size());
  }

  if (a.remove) {
    image = DE_TRY(oci::remove_layer(std::move(image), *a.remove));
    std::printf("removed layer %zu: %zu layers\n", *a.remove, image.layers.size());
  }

  auto out = DE_TRY(oci::ImageRef::parse("docker-archive:" + a.out + ":" + a.tag));
  auto written = DE_TRY_CTX(oci::write_image(image, out), "writing " + a.out);
  std::printf("wrote %s (%s): %zu layers, manifest %s\n", a.out.c_str(), a.tag.c_str(),
              written.layers.size(), written.manifest_digest.to_string().c_str());
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse_args(argc, argv);
  if (!args) {
    std::fprintf(stderr,
                 "usage: image-edit IN.tar OUT.tar [--list N] [--add HOST[:IMAGE_PATH]] "
                 "[--remove N] [--tag NAME:TAG]\n");
    return 2;
  }
  if (auto st = run(*args); !st) {
    std::fprintf(stderr, "image-edit: %s\n", st.error().to_string().c_str());
    return 1;
  }
  return 0;
}
