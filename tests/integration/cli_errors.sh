#!/usr/bin/env bash
# Bad input to the CLI: every mistake gets exit code 2 and one line on stderr, and files that
# are not ours are left untouched.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
out=$WORK/r.h5

expect_usage_error "unknown kernel" $cs run -k nope -o "$out"
grep -q "valid kernels: .*triad" "$WORK/err" || fail "unknown kernel message lists the valid ones"
expect_usage_error "unknown mode" $cs run -k ep -m nope -o "$out"
grep -q "valid modes: .*serial" "$WORK/err" || fail "unknown mode message lists the valid ones"
expect_usage_error "workers 0" $cs run -k ep -m threads -w 0 -o "$out"
expect_usage_error "workers negative" $cs run -k ep -m threads -w -3 -o "$out"
expect_usage_error "workers absurd" $cs run -k ep -m threads -w 1000000 -o "$out"
expect_usage_error "serial with 2 workers" $cs run -k ep -m serial -w 2 -o "$out"
expect_usage_error "size junk" $cs run -k triad -s 12Q -o "$out"
expect_usage_error "size too big for memory" $cs run -k triad -s 900G -o "$out"
grep -q "needs .* available" "$WORK/err" || fail "memory message says what it needs and what there is"
expect_usage_error "size absurd" $cs run -k triad -s 99999999999999999999G -o "$out"
expect_usage_error "threads with non-hybrid mode" $cs run -k ep -m threads -t 2 -o "$out"
expect_usage_error "gil option with threads mode" $cs run -k ep -m threads --switch-interval 0.001 -o "$out"
expect_usage_error "gil release with serial mode" $cs run -k ep -m serial --gil-release compute -o "$out"
for bad in 0 -0.001 10.5 nan; do
  expect_usage_error "switch interval $bad" $cs run -k ep -m gil -s S --switch-interval "$bad" -o "$out"
done
expect_usage_error "unknown gil policy" $cs run -k ep -m gil -s S --gil-policy python2 -o "$out"
grep -q "valid policies: cpython, fifo" "$WORK/err" || fail "unknown policy message lists the valid ones"
expect_usage_error "unknown gil release" $cs run -k ep -m gil -s S --gil-release all -o "$out"
grep -q "valid values: none, io, compute" "$WORK/err" || fail "unknown release message lists the valid ones"
expect_usage_error "unknown param" $cs run -k ep -p nope=1 -o "$out"
expect_usage_error "param without value" $cs run -k ep -p seed -o "$out"
expect_usage_error "unknown variant value" $cs run -k critical -m threads -w 2 -s S -p sync=sometimes -o "$out"
grep -q "valid values: none, mutex, atomic, critical, reduce" "$WORK/err" || fail "unknown variant lists the valid ones"
expect_usage_error "critical section outside openmp" $cs run -k critical -m threads -w 2 -s S -p sync=critical -o "$out"
expect_usage_error "critical M = 0" $cs run -k critical -m threads -w 2 -s 0 -o "$out"
expect_usage_error "critical M negative" $cs run -k critical -m threads -w 2 -s -5 -o "$out"
expect_usage_error "stencil grid smaller than the team" $cs run -k stencil -m threads -w 3 -s 2 -o "$out"
grep -q "fewer rows than the 3 workers" "$WORK/err" || fail "stencil says the grid has fewer rows than workers"
expect_usage_error "farm tail without a mean" $cs run -k farm -m threads -w 2 -s S -p alpha=0.9 -o "$out"
expect_usage_error "dgemm size 0" $cs run -k dgemm -m serial -s 0 -o "$out"
expect_usage_error "reps 0" $cs run -k ep -r 0 -o "$out"
expect_usage_error "mpi without launcher" $cs run -k ep -m mpi -o "$out"
expect_usage_error "unwritable directory" $cs run -k ep -s S -o /nonexistent-dir/r.h5
expect_usage_error "missing option value" $cs run -k
expect_usage_error "no subcommand" $cs
expect_usage_error "summary of a missing file" $cs summary "$WORK/missing.h5"
[[ ! -e "$out" ]] || fail "failed runs must not create the results file"

# Files that are not corescope's are refused and left byte-identical.
echo "my precious notes" >"$WORK/notes.h5"
sum_before=$(md5sum <"$WORK/notes.h5")
expect_usage_error "existing non-HDF5 file" $cs run -k ep -s S -o "$WORK/notes.h5"
[[ $(md5sum <"$WORK/notes.h5") == "$sum_before" ]] || fail "non-HDF5 file was modified"

"$PYTHON" - "$WORK/foreign.h5" "$WORK/newer.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "w") as f:
    f["data"] = [1, 2, 3]
with h5py.File(sys.argv[2], "w") as f:
    f.attrs["schema"] = "corescope"
    f.attrs["schema_version"] = 99
PY
for f in foreign newer; do
  sum_before=$(md5sum <"$WORK/$f.h5")
  expect_usage_error "existing $f HDF5 file" $cs run -k ep -s S -o "$WORK/$f.h5"
  [[ $(md5sum <"$WORK/$f.h5") == "$sum_before" ]] || fail "$f file was modified"
done
grep -q "schema_version 99" "$WORK/err" || fail "newer schema message names the version"
expect_usage_error "summary of a foreign file" $cs summary "$WORK/foreign.h5"

# A good run still works after all that, and help works for every subcommand.
$cs run -k ep -m threads -w 2 -s S -r 2 -o "$out" -q || fail "a good run failed"
for sub in run list info summary; do
  $cs $sub --help >/dev/null || fail "$sub --help"
done
finish
