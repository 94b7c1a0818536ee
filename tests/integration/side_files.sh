#!/usr/bin/env bash
# The files corescope keeps beside a results file (.NAME.lock, .NAME.sweep, .NAME.journal, temp
# and probe files, and the twin, redo and prev names older versions used): a planted symbolic link is never followed (the victim is untouched, nothing appears at
# a dangling target), a held lock makes a writer name the holder and give up after
# --lock-timeout with exit 1, and an over-long file name is bad input (exit 2).
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
out=$WORK/r.h5
$cs run -k triad -m serial -s 1000 -r 1 --warmup 0 -o "$out" -q
$cs run -k triad -m serial -s 1000 -r 1 --warmup 0 -o "$WORK/a.h5" -q
victim=$WORK/victim.txt
echo victim >"$victim"
before=$(sha256sum <"$out")

for side in lock sweep; do
  for target in "$victim" "$WORK/nowhere.$side"; do
    ln -sfn "$target" "$WORK/.r.h5.$side"
    if [[ $side == lock ]]; then
      expect_usage_error "run with .r.h5.lock -> $target" $cs run -k triad -m serial -s 1000 -r 1 -o "$out" -q
      expect_usage_error "merge with .r.h5.lock -> $target" $cs merge -q -o "$out" "$WORK/a.h5"
    else
      expect_usage_error "sweep with .r.h5.sweep -> $target" \
        $cs sweep --kernels triad --modes serial --size 1000 --reps 1 --warmup 0 --out "$out" -q
    fi
    grep -q "symbolic link" "$WORK/err" || fail "$side: the message says it is a symbolic link"
    [[ $(cat "$victim") == victim ]] || fail "$side -> $target: the victim changed"
    [[ ! -e $WORK/nowhere.$side ]] || fail "$side -> $target: something was created at the link's target"
    [[ $(sha256sum <"$out") == "$before" ]] || fail "$side -> $target: the results file changed"
    rm -f "$WORK/.r.h5.$side"
  done
done

# The journal, and the twin, redo log and old file's link of older versions
# (docs/user/results-format.md, "Appends are crash-safe"): a link planted at their names is
# removed, never followed, and the append works.
for side in journal twin redo prev; do
  for target in "$victim" "$WORK/nowhere.$side"; do
    rm -f "$WORK/.r.h5.$side"
    ln -s "$target" "$WORK/.r.h5.$side"
    rows=$("$PYTHON" -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['runs/run_id']))" "$out")
    $cs run -k triad -m serial -s 1000 -r 1 --warmup 0 -o "$out" -q 2>"$WORK/err" || fail "append with .r.h5.$side -> $target: $(cat "$WORK/err")"
    [[ $(cat "$victim") == victim ]] || fail "$side -> $target: the victim changed"
    [[ ! -e $WORK/nowhere.$side ]] || fail "$side -> $target: something was created at the link's target"
    after=$("$PYTHON" -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['runs/run_id']))" "$out")
    ((after == rows + 1)) || fail "$side -> $target: $rows rows before, $after after the append"
  done
done
before=$(sha256sum <"$out")

# A held lock: the writer names the holder after a second and gives up after --lock-timeout.
printf 'pid 4242 on otherhost since 2026-01-01T00:00:00Z\n' >"$WORK/.r.h5.lock"
flock -x "$WORK/.r.h5.lock" sleep 30 &
holder=$!
sleep 0.3
rc=0
start=$(date +%s.%N)
$cs merge -q --lock-timeout 1.5 -o "$out" "$WORK/a.h5" 2>"$WORK/err" || rc=$?
waited=$(echo "$(date +%s.%N) - $start" | bc)
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
[[ $rc -eq 1 ]] || fail "held lock: exit $rc, expected 1 ($(cat "$WORK/err"))"
[[ $(wc -l <"$WORK/err") -eq 2 ]] || fail "held lock: expected the waiting line and the give-up line: $(cat "$WORK/err")"
grep -q "^waiting for .*\.r\.h5\.lock, held by pid 4242 on otherhost since 2026-01-01T00:00:00Z$" "$WORK/err" ||
  fail "held lock: the waiting line names the holder: $(cat "$WORK/err")"
grep -q "gave up after 1.5 s" "$WORK/err" || fail "held lock: the give-up line: $(cat "$WORK/err")"
(($(echo "$waited >= 1.5 && $waited < 10" | bc))) || fail "held lock: waited $waited s"
[[ $(sha256sum <"$out") == "$before" ]] || fail "held lock: the results file changed"
echo "held lock: exit $rc after $waited s: $(tr '\n' '|' <"$WORK/err")"
expect_usage_error "--lock-timeout 0" $cs merge -q --lock-timeout 0 -o "$out" "$WORK/a.h5"

# Over-long names are bad input; long ones that fit get hashed names beside them.
long=$WORK/$(printf 'x%.0s' $(seq 1 250)).h5
$cs merge -q -o "$long" "$WORK/a.h5" || fail "merge into a 253-byte file name"
$cs merge -q -o "$long" "$out" || fail "second merge into a 253-byte file name"
find "$WORK" -maxdepth 1 -name '.*~*' | grep -q . || fail "no hashed side file next to the long name"
expect_usage_error "file name over NAME_MAX" $cs run -k triad -m serial -s 1000 -r 1 -o "$WORK/$(printf 'y%.0s' $(seq 1 300)).h5"
expect_usage_error "merge into a name over NAME_MAX" $cs merge -q -o "$WORK/$(printf 'z%.0s' $(seq 1 300)).h5" "$out"
long_dir=$WORK/$(printf 'd%.0s' $(seq 1 300))
expect_usage_error "a directory name over NAME_MAX" $cs run -k triad -m serial -s 1000 -r 1 -o "$long_dir/r.h5"
expect_usage_error "summary under a directory name over NAME_MAX" $cs summary "$long_dir/r.h5"
expect_usage_error "compact of a name over NAME_MAX" $cs compact "$WORK/$(printf 'c%.0s' $(seq 1 300)).h5"
leftovers=$(find "$WORK" -name '.*.tmp.*' -o -name '.*.probe.*' | wc -l)
[[ $leftovers -eq 0 ]] || fail "$leftovers temp files left"
finish
