# Sourced by the cluster's build scripts: the one cache rule they share. Needs the caller's log().
#
# cached_or_exit DIR: when DIR/.complete exists (a finished build), prints DIR on stdout and
# exits 0; otherwise, with ISCSI_CSI_BUILD_CHECK_ONLY set, says so and exits 3; else returns so
# the caller builds DIR.
cached_or_exit() {
  if [[ -f "$1/.complete" ]]; then
    log "cache hit: $1"
    echo "$1"
    exit 0
  fi
  if [[ -n "${ISCSI_CSI_BUILD_CHECK_ONLY:-}" ]]; then
    log "not built yet: $1"
    exit 3
  fi
}
