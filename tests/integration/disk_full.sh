#!/usr/bin/env bash
# A full disk: runs append to a file on a small tmpfs until it is full. The failing append must
# end without a signal, print one line naming the file and the free space needed, exit 1, leave
# no temp file, and the file must still hold every earlier row. Needs root (mount); skipped
# with exit 77 otherwise.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
mnt=$WORK/small
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=700k tmpfs "$mnt" 2>/dev/null; then
  echo "cannot mount a tmpfs (needs root): skipped"
  exit 77
fi
trap 'umount "$mnt" 2>/dev/null; cleanup_work' EXIT
out=$mnt/r.h5
rows=0 rc=0
for i in $(seq 1 200); do
  rc=0
  $cs run -k triad -m serial -s 1000 -r 3 --warmup 0 -o "$out" -q 2>"$WORK/err" || rc=$?
  ((rc == 0)) || break
  rows=$i
done
echo "full after $rows appends: exit $rc: $(cat "$WORK/err")"
((rows > 0)) || fail "not one append fitted"
((rc == 1)) || fail "exit $rc when the disk is full, expected 1"
[[ $(wc -l <"$WORK/err") -eq 1 ]] || fail "expected one line: $(cat "$WORK/err")"
grep -q "no space to write $out: [0-9]* KiB of free space needed in $mnt, [0-9]* KiB free" "$WORK/err" ||
  fail "the line names the file and the space needed: $(cat "$WORK/err")"
leftovers=$(find "$mnt" -name '.*.tmp.*' | wc -l)
((leftovers == 0)) || fail "$leftovers temp files left on the full file system"
n=$("$PYTHON" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(len(f['runs/run_id']), len(f['tables/runs']))" "$out") ||
  fail "the file is not readable after the failed append"
[[ $n == "$rows $rows" ]] || fail "rows after the failed append: $n, expected $rows in /runs and /tables/runs"
$cs summary "$out" >/dev/null 2>"$WORK/err" || fail "summary after the failed append: $(cat "$WORK/err")"
# merge onto the full file system fails the same way.
$cs run -k triad -m serial -s 1000 -r 1 --warmup 0 -o "$WORK/more.h5" -q
rc=0
$cs merge -q -o "$out" "$WORK/more.h5" 2>"$WORK/err" || rc=$?
((rc == 1)) && [[ $(wc -l <"$WORK/err") -eq 1 ]] || fail "merge onto the full disk: exit $rc: $(cat "$WORK/err")"
((rc > 128)) && fail "merge: signal $((rc - 128))"
finish
