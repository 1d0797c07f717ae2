# Shared by the bench scripts (sourced).
#
# Nothing is deleted while timing. This VM's ext4 has no journal, and without one ext4 skips (and
# looks up) every inode freed in the last minutes when it allocates a new one, so creating the ~41k
# files of a cold run right after deleting the previous run's ~41k costs several times the system
# time, for us and for the baselines alike: a measurement of the file system's recent history, not
# of the commands. Old trees are renamed into a trash directory instead and deleted on exit.
#
# Renamed trees keep their pages in memory, dirty at first: after a few cold runs of a few GB each
# the page cache fills the machine, and the next run's writes wait for write-back and reclaim (its
# system time grew from 2 s to 6 s over five runs here). `settle` starts each cold run from the
# same state: everything written back and, as root, clean pages dropped; the inputs read again.
# shellcheck shell=bash

# trash_init DIR: the trash is DIR/trash. One left by an interrupted run is deleted first, then
# the script waits for ext4 to forget the freed inodes.
trash_init() {
  trash=$1/trash
  if [[ -e "$trash" ]]; then
    rm -rf "$trash"
    echo "$(basename "$0"): deleted a previous run's $trash; waiting 60 s before timing" >&2
    sleep 60
  fi
}

# retire PATH...: moves each existing PATH into the trash (a rename: no inode is freed).
retire() {
  local d
  mkdir -p "$trash"
  for d; do [[ -e "$d" ]] && mv "$d" "$trash/$(date +%s%N)-$RANDOM"; done
  return 0
}

# settle [--drop] [FILE...]: writes dirty pages back; with --drop, also drops clean pages when
# allowed (root) and reads FILE... back into the page cache (the run's inputs, warm as in every
# run).
settle() {
  sync
  if [[ ${1:-} == --drop ]]; then
    shift
    if [[ -w /proc/sys/vm/drop_caches ]]; then echo 1 >/proc/sys/vm/drop_caches; fi
  fi
  (($#)) && cat "$@" >/dev/null
  return 0
}
