#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test —
#   1. default build (Debian 12: GCC 12, Open MPI 4, HDF5 1.10; Release): unit, integration, MPI,
#      Python and Slurm tests (ctest);
#   2. clang build (Debian's clang and libomp): everything compiled, the unit tests run;
#   3. ThreadSanitizer build: the threads and gil tests;
#   4. MPICH build: the MPI tests with mpiexec.mpich;
#   5. AddressSanitizer + UBSan build: every test but the fault-injection ones (.ci/asan-test.sh);
#   6. Debian 13 (GCC 14, Open MPI 5, HDF5 1.14, Python 3.13 / NumPy 2) in a debootstrap root:
#      the default build and its tests (.ci/debian13.sh).
# Every build treats warnings as errors (CORESCOPE_WERROR). Set CORESCOPE_SKIP_CLANG=1,
# CORESCOPE_SKIP_TSAN=1, CORESCOPE_SKIP_MPICH=1, CORESCOPE_SKIP_ASAN=1 or CORESCOPE_SKIP_DEBIAN13=1
# to leave a stage out.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export CORESCOPE_WERROR=ON
jobs=$(nproc)
stage_start=$SECONDS
stage_done() {  # the time each stage took, so that CI's total can be traced to its stages
  echo "== $1: $((SECONDS - stage_start)) s"
  stage_start=$SECONDS
}
skipped() { [[ "$(printenv "CORESCOPE_SKIP_$1" || true)" == 1 ]]; }

echo "== default build and tests"
"$here/build.sh" default
ctest --preset default -j "$jobs" --timeout 900
stage_done "default build and tests"

if ! skipped CLANG; then
  echo "== clang: everything compiled, the unit tests"
  "$here/build.sh" clang
  build-clang/tests/corescope_unit_tests --gtest_brief=1
  # clang's libomp registers each process in /dev/shm (__KMP_REGISTERED_LIB_<pid>_<uid>) and
  # removes the entry at a normal exit only: the tests' killed and crashed workers leave theirs.
  for f in /dev/shm/__KMP_REGISTERED_LIB_*; do
    [[ -e $f ]] || continue
    pid=${f#/dev/shm/__KMP_REGISTERED_LIB_}
    kill -0 "${pid%%_*}" 2>/dev/null || rm -f "$f"
  done
  stage_done "clang"
fi

if ! skipped TSAN; then
  echo "== ThreadSanitizer: threads and gil tests"
  # Only the unit tests are run here, so only they are built.
  "$here/build.sh" tsan --target corescope_unit_tests
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    build-tsan/tests/corescope_unit_tests --gtest_filter="$(cat "$here/tsan-filter.txt")"
  stage_done "ThreadSanitizer"
fi

if ! skipped MPICH; then
  echo "== MPICH build: MPI tests"
  # The mpi.* tests run the corescope binary only (and its Python driver, a dependency of it).
  "$here/build.sh" mpich --target corescope
  ctest --test-dir build-mpich -R '^mpi\.' --output-on-failure --timeout 900
  stage_done "MPICH"
fi
if ! skipped ASAN; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer: every test but .ci/asan-exclude.txt"
  "$here/asan-test.sh"
  stage_done "AddressSanitizer + UBSan"
fi
if ! skipped DEBIAN13; then
  echo "== Debian 13: the default build and its tests in a debootstrap root"
  "$here/debian13.sh"
  stage_done "Debian 13"
fi
echo "== all test stages passed"
