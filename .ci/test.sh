#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test —
#   1. default build (OpenMPI, Release): unit, integration, MPI, Python and Slurm tests (ctest);
#   2. ThreadSanitizer build: the threads and gil tests;
#   3. MPICH build: the MPI tests with mpiexec.mpich;
#   4. AddressSanitizer + UBSan build: every test but the fault-injection ones (.ci/asan-test.sh).
# Set CORESCOPE_SKIP_TSAN=1, CORESCOPE_SKIP_MPICH=1 or CORESCOPE_SKIP_ASAN=1 to leave a stage out.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc)
stage_start=$SECONDS
stage_done() {  # the time each stage took, so that CI's total can be traced to its stages
  echo "== $1: $((SECONDS - stage_start)) s"
  stage_start=$SECONDS
}

echo "== default build and tests"
"$here/build.sh" default
ctest --preset default -j "$jobs" --timeout 900
stage_done "default build and tests"

if [[ "${CORESCOPE_SKIP_TSAN:-0}" != 1 ]]; then
  echo "== ThreadSanitizer: threads and gil tests"
  # Only the unit tests are run here, so only they are built.
  "$here/build.sh" tsan --target corescope_unit_tests
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    build-tsan/tests/corescope_unit_tests --gtest_filter="$(cat "$here/tsan-filter.txt")"
  stage_done "ThreadSanitizer"
fi

if [[ "${CORESCOPE_SKIP_MPICH:-0}" != 1 ]]; then
  echo "== MPICH build: MPI tests"
  # The mpi.* tests run the corescope binary only (and its Python driver, a dependency of it).
  "$here/build.sh" mpich --target corescope
  ctest --test-dir build-mpich -R '^mpi\.' --output-on-failure --timeout 900
  stage_done "MPICH"
fi
if [[ "${CORESCOPE_SKIP_ASAN:-0}" != 1 ]]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer: every test but .ci/asan-exclude.txt"
  "$here/asan-test.sh"
  stage_done "AddressSanitizer + UBSan"
fi
echo "== all test stages passed"
