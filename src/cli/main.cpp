#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"docker-envs: build and edit container images from conda environments, without Docker"};
  CLI11_PARSE(app, argc, argv);
  return 0;
}
