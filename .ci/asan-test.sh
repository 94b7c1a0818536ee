#!/usr/bin/env bash
# CI stage 4: the AddressSanitizer + UndefinedBehaviorSanitizer build (preset asan) runs every
# ctest test — unit, CLI, integration, MPI, Python, Slurm — except the fault-injection tests listed
# in .ci/asan-exclude.txt. Every finding is fatal (halt_on_error, -fno-sanitize-recover=all) and
# leak detection is on. ASan and LSan reports are also written under build-asan/sanitizer-logs, and
# UBSan's (which this runtime prints only on stderr) are looked for in ctest's log of every test's
# output: a finding in a process whose exit code a test does not look at fails the stage too.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

"$here/build.sh" asan
logs=$root/build-asan/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
exclude=$("$here/exclude-regex.sh" "$here/asan-exclude.txt")
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:check_initialization_order=1:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
export LSAN_OPTIONS="suppressions=$here/asan-lsan-suppressions.txt:print_suppressions=0"
# Open MPI ranks (mpirun passes this list on): full unwinding, so their leaks can be matched to the
# Open MPI libraries (see .ci/asan-lsan-suppressions.txt).
export OMPI_MCA_mca_base_env_list="ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0"
# jobs.local without its isolation study (fault injection by design; see .ci/asan-exclude.txt).
export CORESCOPE_TEST_SKIP_STUDIES=isolation
# The Python tests that run a crash trial check what a real crash does only outside ASan.
export CORESCOPE_TEST_SANITIZED=address
rc=0
ctest --preset asan -j "$(nproc)" --timeout 900 -E "$exclude" || rc=$?
if grep -n -E 'runtime error:|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer' \
     build-asan/Testing/Temporary/LastTest.log; then
  echo "sanitizer findings in the tests' output (above)"
  rc=1
fi
if compgen -G "$logs/*" >/dev/null; then
  echo "sanitizer findings:"
  for f in "$logs"/*; do
    echo "--- $f"
    cat "$f"
  done
  rc=1
fi
exit "$rc"
