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

echo "== default build and tests"
"$here/build.sh" default
ctest --preset default -j "$jobs" --timeout 900

if [[ "${CORESCOPE_SKIP_TSAN:-0}" != 1 ]]; then
  echo "== ThreadSanitizer: threads and gil tests"
  "$here/build.sh" tsan -DCORESCOPE_BUILD_BENCH=OFF
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    build-tsan/tests/corescope_unit_tests --gtest_filter="$(cat "$here/tsan-filter.txt")"
fi

if [[ "${CORESCOPE_SKIP_MPICH:-0}" != 1 ]]; then
  echo "== MPICH build: MPI tests"
  "$here/build.sh" mpich
  ctest --test-dir build-mpich -R '^mpi\.' --output-on-failure --timeout 900
fi
if [[ "${CORESCOPE_SKIP_ASAN:-0}" != 1 ]]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer: every test but .ci/asan-exclude.txt"
  "$here/asan-test.sh"
fi
echo "== all test stages passed"
