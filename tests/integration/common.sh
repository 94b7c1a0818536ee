# Shared helpers for the integration scripts (sourced). Each script runs with set -euo pipefail
# and a private temp directory that is removed on exit.
set -euo pipefail
: "${CORESCOPE:?set CORESCOPE to the corescope binary}"
PYTHON=${PYTHON:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d /tmp/corescope-test.XXXXXX)
# Open MPI's shared-memory segments (vader) of this script's jobs go to a directory of its own on
# the same tmpfs, removed with WORK: ranks a test kills on purpose do not remove theirs.
SHM_WORK=$(mktemp -d /dev/shm/corescope-test.XXXXXX 2>/dev/null) || SHM_WORK=$WORK/shm
mkdir -p "$SHM_WORK"
export OMPI_MCA_btl_vader_backing_directory=$SHM_WORK
cleanup_work() { rm -rf "$WORK" "$SHM_WORK"; }
trap cleanup_work EXIT
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_usage_error "what" cmd...: exit code 2 and exactly one line on stderr.
expect_usage_error() {
  local what=$1
  shift
  local rc=0
  "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
  local lines
  lines=$(wc -l <"$WORK/err")
  if [[ $rc -ne 2 ]]; then
    fail "$what: exit $rc, expected 2 ($(head -c 300 "$WORK/err"))"
  elif [[ $lines -ne 1 ]]; then
    fail "$what: $lines lines on stderr, expected 1: $(head -c 500 "$WORK/err")"
  else
    echo "ok: $what -> $(cat "$WORK/err")"
  fi
}

finish() {
  if ((failures)); then
    echo "$failures check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}
