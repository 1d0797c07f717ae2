#!/usr/bin/env bash
# The shell completion scripts and the man page, generated from the command table: the scripts
# parse in bash, zsh and fish; bash completes commands, nested commands, options, choices and
# image transports when its completion function is driven as readline would; zsh loads the
# function; and `cmake --install` into a temporary prefix installs the man page (which groff
# renders without warnings) and the three scripts where the shells look for them.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cli completion
need_cmd bash zsh cmake groff
DE_BUILD_DIR=${DE_BUILD_DIR:-$(dirname "$DE_CLI")}
cd "$TEST_TMP"

"$DE_CLI" completion bash >de.bash || die "completion bash failed"
"$DE_CLI" completion zsh >_docker-envs || die "completion zsh failed"
"$DE_CLI" completion fish >de.fish || die "completion fish failed"
bash -n de.bash || die "the bash script does not parse"
zsh -n _docker-envs || die "the zsh script does not parse"
if command -v fish >/dev/null 2>&1; then
  fish --no-execute de.fish || die "the fish script does not parse"
fi

# complete WORDS...: what bash's completion function offers for the last word (COMP_WORDS and
# COMP_CWORD as readline sets them, without COMP_LINE).
complete_words() {
  local words
  printf -v words '%q ' "$@"
  bash -c "source de.bash; COMP_WORDS=($words); COMP_CWORD=$(($# - 1)); _docker_envs; printf '%s\n' \"\${COMPREPLY[@]}\"" |
    sort | tr '\n' ' ' | sed 's/ $//'
}
# complete_line LINE: the same from COMP_LINE/COMP_POINT (the cursor at the end), the way bash
# passes a word with ':' in it.
complete_line() {
  bash -c "source de.bash; COMP_LINE=$(printf %q "$1"); COMP_POINT=\${#COMP_LINE}; COMP_WORDS=(); COMP_CWORD=0; _docker_envs; printf '%s\n' \"\${COMPREPLY[@]}\"" |
    sort | tr '\n' ' ' | sed 's/ $//'
}

log "bash: docker-envs bu<TAB> and friends"
assert_eq build "$(complete_words docker-envs bu)" "docker-envs bu<TAB>"
assert_eq ls "$(complete_words docker-envs -v image l)" "docker-envs -v image l<TAB>"
assert_eq install "$(complete_words docker-envs env i)" "docker-envs env i<TAB>"
assert_eq "--tag" "$(complete_words docker-envs build --ta)" "build --ta<TAB>"
assert_eq "per-package" "$(complete_words docker-envs build --layering p)" "build --layering p<TAB>"
assert_eq "bash fish zsh" "$(complete_words docker-envs completion '')" "completion <TAB>"
assert_eq "docker-archive:" "$(complete_words docker-envs image copy docker-a)" "image copy docker-a<TAB>"
assert_eq "--long" "$(complete_words docker-envs image ls --lo)" "image ls --lo<TAB>"
# Files after a transport, and files for a file-valued option (the value after an option is skipped).
mkdir -p out && : >out/app.tar
assert_eq "out/app.tar" "$(complete_line 'docker-envs image ls docker-archive:out/a')" "docker-archive:out/a<TAB>"
assert_eq "out/app.tar" "$(complete_words docker-envs lock -o out/a)" "lock -o out/a<TAB>"
assert_eq "oci-archive:" "$(complete_line 'docker-envs build -t x -o oci-a')" "build -t x -o oci-a<TAB>"

log "zsh: the function loads and registers"
zsh -fc 'autoload -Uz compinit && compinit -u -d "$PWD/zcompdump" && source ./_docker-envs && print -r -- ${_comps[docker-envs]}' >zsh.out 2>zsh.err ||
  { cat zsh.err >&2; die "zsh could not load the completion"; }
assert_eq _docker_envs "$(cat zsh.out)" "zsh completion function for docker-envs"

if command -v fish >/dev/null 2>&1; then
  log "fish: complete -C drives the same table"
  fish_complete() { fish -c "source de.fish; complete -C$(printf %q "$1")" | cut -f1 | sort | tr '\n' ' ' | sed 's/ $//'; }
  assert_eq build "$(fish_complete 'docker-envs bu')" "fish: docker-envs bu<TAB>"
  assert_eq ls "$(fish_complete 'docker-envs -v image l')" "fish: image l<TAB>"
  assert_eq per-package "$(fish_complete 'docker-envs build --layering p')" "fish: build --layering p<TAB>"
  assert_eq docker-archive: "$(fish_complete 'docker-envs image copy docker-a')" "fish: image copy docker-a<TAB>"
fi

log "cmake --install puts the man page and scripts in place"
prefix=$TEST_TMP/prefix
cmake --install "$DE_BUILD_DIR" --prefix "$prefix" >install.log 2>&1 || { cat install.log >&2; die "cmake --install failed"; }
man=$prefix/share/man/man1/docker-envs.1
assert_file "$man"
assert_file "$prefix/share/bash-completion/completions/docker-envs"
assert_file "$prefix/share/zsh/site-functions/_docker-envs"
assert_file "$prefix/share/fish/vendor_completions.d/docker-envs.fish"
cmp -s "$prefix/share/bash-completion/completions/docker-envs" de.bash || die "the installed bash script is not what the binary prints"
head -1 "$man" | grep -q '^\.TH DOCKER-ENVS 1' || die "not a man page: $(head -1 "$man")"
for section in 'docker-envs build' 'docker-envs image ls' 'docker-envs completion' 'docker-envs version'; do
  grep -qF ".SS \"${section//-/\\-}\"" "$man" || die "the man page has no section for '$section'"
done
groff -man -ww -z "$man" 2>groff.err
[[ ! -s groff.err ]] || { cat groff.err >&2; die "groff warns about the man page"; }
rendered=$(groff -man -Tascii -P-cbou "$man")
assert_contains "$rendered" "docker-envs image add-layer" "rendered man page"
assert_contains "$rendered" "--compression" "rendered man page"
log "ok"
