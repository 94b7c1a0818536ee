# Sourced by the jobs/local scripts: finds corescope and runs one study's plan.
#   CORESCOPE            the binary (default: build/corescope of this checkout, else corescope in PATH)
#   OUT                  the results file (default: <study>.h5 in the current directory)
#   CORESCOPE_TEST_SIZE  1 = shrink the study to a few seconds (the tests run every script so)
#   CORESCOPE_SWEEP_ARGS more sweep options, e.g. "--modes mpi,hybrid" to run part of a study
set -euo pipefail
jobs_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ -z ${CORESCOPE:-} ]]; then
  CORESCOPE=corescope
  [[ -x $jobs_root/build/corescope ]] && CORESCOPE=$jobs_root/build/corescope
fi

# study NAME [test-size options...] <<'PLAN' ... PLAN
# Runs the plan on stdin into $OUT (resuming it); at test size the options override the plan.
study() {
  local name=$1
  shift
  local shrink=() extra=()
  [[ ${CORESCOPE_TEST_SIZE:-0} == 1 ]] && shrink=("$@")
  read -r -a extra <<<"${CORESCOPE_SWEEP_ARGS:-}"
  exec "$CORESCOPE" sweep --plan - --out "${OUT:-$name.h5}" --resume "${shrink[@]}" "${extra[@]}"
}
