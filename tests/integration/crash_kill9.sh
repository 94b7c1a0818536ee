#!/usr/bin/env bash
# kill -9 during a run, and during the append itself, never damages runs already in the file:
# after every kill the file opens and its earlier rows are unchanged.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
out=$WORK/crash.h5

for k in triad ep reduce; do $cs run -k $k -m threads -w 2 -s S -r 3 -o "$out" -q; done

dump() {  # every column of /runs and /samples, as text (tests/integration/h5_open.py: a finisher
  # the kill left writing the file holds its lock for milliseconds)
  "$PYTHON" - "$1" "$(dirname "$0")" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
import numpy as np
from h5_open import open_read
with open_read(sys.argv[1]) as f:
    for g in ("runs", "samples"):
        for name in sorted(f[g]):
            values = [x.decode() if isinstance(x, bytes) else x for x in np.asarray(f[g][name][...]).tolist()]
            print(g, name, json.dumps([json.dumps(v) for v in values]))
PY
}
dump "$out" >"$WORK/before.txt"
rows_before=$("$PYTHON" -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['runs/run_id']))" "$out")

check_intact() {
  local label=$1
  dump "$out" >"$WORK/after.txt" || { fail "$label: file unreadable"; return; }
  # Earlier rows must be a prefix of every column now.
  "$PYTHON" - "$WORK/before.txt" "$WORK/after.txt" <<'PY' || fail "$label: earlier rows changed"
import json, sys
def load(p):
    out = {}
    for line in open(p):
        g, name, values = line.split(" ", 2)
        out[(g, name)] = json.loads(values)
    return out
before, after = load(sys.argv[1]), load(sys.argv[2])
for key, old in before.items():
    new = after.get(key)
    if new is None or new[: len(old)] != old:
        sys.exit(f"{key} changed")
PY
}

# 1. Killed in the middle of a long computation.
$cs run -k ep -m threads -w 2 -s 400M -r 50 -o "$out" -q &
pid=$!
sleep 2
kill -9 $pid
wait $pid 2>/dev/null || true
check_intact "kill during compute"

# 2. Killed at random moments of short runs, many of them while the file is being written.
for i in $(seq 1 25); do
  $cs run -k triad -m serial -s 1000 -r 1 --warmup 0 -o "$out" -q &
  pid=$!
  sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  check_intact "random kill $i"
done

# The file still takes new runs afterwards, and rows only grew.
$cs run -k ep -m serial -s S -r 2 -o "$out" -q || fail "append after crashes"
check_intact "append after crashes"
rows_after=$("$PYTHON" -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['runs/run_id']))" "$out")
((rows_after > rows_before)) || fail "rows did not grow ($rows_before -> $rows_after)"
leftovers=$(find "$WORK" -name '.*tmp*' -newer "$WORK/before.txt" | wc -l)
[[ $leftovers -le 1 ]] || fail "$leftovers temporary files left next to the results file"
echo "rows: $rows_before before, $rows_after after 26 kills"
finish
