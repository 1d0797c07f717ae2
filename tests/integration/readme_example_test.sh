#!/usr/bin/env bash
# The README's set-up paragraph is true: the build command it shows, run as shown from the project
# root, writes the file it names (and `docker load -i` loads), and the default destination it
# mentions is where the command without -o writes.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_build

readme=$DE_SOURCE_DIR/README.md
# The command in backquotes, and the archive the paragraph says it builds.
command=$(grep -o '`docker-envs build examples/conda-hello/environment.yml[^`]*`' "$readme" | head -1 | tr -d '`')
[[ -n "$command" ]] || die "no docker-envs build command for the example in README.md"
loaded=$(grep -o 'docker load -i [^ `]*' "$readme" | head -1 | awk '{print $4}')
[[ -n "$loaded" ]] || die "README.md does not say which file docker load reads"
log "README: '$command' -> $loaded"

# A copy of the project's example, as the set-up script leaves it (the channel made offline).
root=$TEST_TMP/project
mkdir -p "$root/examples"
cp -r "$EXAMPLE_DIR" "$root/examples/"
make_example_channel "$root/examples/conda-hello/channel"
cd "$root"
grep -q 'in a new `out/` directory' "$readme" || die "README.md no longer says that out/ is made first"
mkdir -p out
read -ra words <<<"$command"
XDG_CACHE_HOME=$TEST_TMP/cache "$DE_CLI" "${words[@]:1}" >build.log 2>&1 || { cat build.log >&2; die "the README's command failed"; }
assert_file "$root/$loaded"
"$DE_CLI" image ls "docker-archive:$root/$loaded:conda-hello:latest" | grep -q 'opt/conda/bin/hello' ||
  die "$loaded holds no conda-hello:latest with the environment"

# Without -o: ./conda-hello.tar, as the README says.
grep -q 'without `-o` it would write `./conda-hello.tar`' "$readme" || die "README.md no longer names the default destination"
XDG_CACHE_HOME=$TEST_TMP/cache "$DE_CLI" build examples/conda-hello/environment.yml >default.log 2>&1 || { cat default.log >&2; die "build without -o failed"; }
assert_file "$root/conda-hello.tar"
log "ok"
