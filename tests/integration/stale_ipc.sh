#!/usr/bin/env bash
# The processes mode's names and leftovers: its shared-memory segments get names nobody can
# guess (/corescope-PID-<16 random hex digits>, created O_EXCL with mode 0600; checked with strace
# where it is installed), and team directories left in $TMPDIR by runs that were killed
# (corescope-<dead pid>-XXXXXX) are removed by the next team, while those of live processes, of
# other shapes, and symbolic links are left alone.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
tmp=$WORK/tmp
mkdir -p "$tmp" "$WORK/victim"
echo victim >"$WORK/victim/file"
sleep 0 &
dead=$!
wait "$dead"
kill -0 "$dead" 2>/dev/null && { echo "pid $dead reused at once: skipped"; exit 77; }
mkdir -p "$tmp/corescope-$dead-aB3dE9/sub" && echo x >"$tmp/corescope-$dead-aB3dE9/sub/msg"
mkdir -p "$tmp/corescope-$$-fG5hJ7"                    # a live pid: kept
mkdir -p "$tmp/corescope-$dead-other-shape"            # not a team directory's name: kept
ln -s "$WORK/victim" "$tmp/corescope-$dead-kL8mN2"     # a link: kept, its target untouched
TMPDIR=$tmp $cs run -k ep -m processes -w 2 -s 1000 -r 1 --warmup 0 -q -o "$WORK/r.h5" || fail "processes run"
[[ ! -e $tmp/corescope-$dead-aB3dE9 ]] || fail "the stale team directory of dead pid $dead was not removed"
[[ -d $tmp/corescope-$$-fG5hJ7 ]] || fail "the team directory of a live pid was removed"
[[ -d $tmp/corescope-$dead-other-shape ]] || fail "a directory of another name was removed"
[[ -L $tmp/corescope-$dead-kL8mN2 && $(cat "$WORK/victim/file") == victim ]] || fail "a planted link or its target was touched"
left=$(find "$tmp" -maxdepth 1 -name 'corescope-*' | wc -l)
((left == 3)) || fail "$left entries in TMPDIR after the run, expected the 3 planted ones that stay"

if command -v strace >/dev/null && strace -f -qq -e trace=openat -o "$WORK/trace" true 2>/dev/null; then
  TMPDIR=$tmp strace -f -qq -e trace=openat -o "$WORK/trace" \
    $cs run -k critical -m processes -w 2 -s 1000 -r 1 --warmup 0 -q -o "$WORK/r.h5" || fail "processes run under strace"
  grep '/dev/shm/corescope-' "$WORK/trace" >"$WORK/shm" || true
  [[ -s $WORK/shm ]] || fail "no shared-memory segment seen in the trace"
  while read -r line; do
    [[ $line =~ /dev/shm/corescope-[0-9]+-[0-9a-f]{16}\" ]] || fail "a guessable segment name: $line"
    [[ $line == *O_EXCL* && $line == *0600* ]] || fail "a segment not created O_EXCL with mode 0600: $line"
  done <"$WORK/shm"
  echo "shared-memory segments: $(grep -o 'corescope-[0-9]*-[0-9a-f]*' "$WORK/shm" | tr '\n' ' ')"
else
  echo "strace not usable: segment names not checked"
fi
finish
