#!/usr/bin/env bash
# Appends cost what they write, not what the file holds (docs/user/results-format.md, "Appends cost
# the same at any size"): after an append the old file is the twin and the new file is the old
# twin (no copy was made), the redo log holds only the last append's pages (bounded by the
# columns' last chunks: no more than twice as large for a file of 10,000 runs as for 200), a file changed behind corescope's back is checked and copied
# once, a reader that still has the old file open keeps seeing it whole, and `corescope
# compact` rewrites the file with the same rows.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
grow=$(dirname "$0")/../../bench/grow_results.py
append() { $cs run -k ep -m serial -s 1000 -r 1 --warmup 0 -q -o "$1"; }
ino() { stat -c %i "$1"; }
twin() { echo "$(dirname "$1")/.$(basename "$1").twin"; }
redo() { echo "$(dirname "$1")/.$(basename "$1").redo"; }
runs() { "$PYTHON" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(len(f['runs/run_id']), len(f['tables/runs']), len(f['samples/run']))" "$1"; }
dump() {  # every column of /runs and /samples and both compound copies, as text
  "$PYTHON" - "$1" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    for g in ("runs", "samples"):
        for name in sorted(f[g]):
            print(g, name, np.asarray(f[g][name][...]).tolist())
        print("tables", g, f["tables"][g][...].tolist())
PY
}

redo_sizes=()
for n in 200 10000; do
  f=$WORK/r$n.h5
  append "$f"
  cp "$f" "$f.x" && mv "$f.x" "$f"   # an outside change: the next append must notice it
  "$PYTHON" "$grow" "$f" "$n"
  append "$f"  # checks and copies the file once
  [[ $(runs "$f") == "$((n + 1)) $((n + 1)) $((n + 1))" ]] || fail "$n: rows after the copying append: $(runs "$f")"
  [[ -f $(twin "$f") && -f $(redo "$f") ]] || fail "$n: no twin or log after an append"
  old=$(ino "$f") old_twin=$(ino "$(twin "$f")")
  append "$f"
  [[ $(ino "$f") == "$old_twin" ]] || fail "$n: the new file is not the old twin (a copy was made)"
  [[ $(ino "$(twin "$f")") == "$old" ]] || fail "$n: the twin is not the old file"
  [[ $(runs "$f") == "$((n + 2)) $((n + 2)) $((n + 2))" ]] || fail "$n: rows after the twin append: $(runs "$f")"
  redo_sizes+=("$(stat -c %s "$(redo "$f")")")
  echo "$n runs: file $(stat -c %s "$f") bytes, log of the last append $(stat -c %s "$(redo "$f")") bytes"
done
small=${redo_sizes[0]} big=${redo_sizes[1]}
((big <= 2 * small)) || fail "the log grows with the file: $small bytes at 200 runs, $big at 10000"
((big * 5 < $(stat -c %s "$WORK/r10000.h5"))) || fail "the log ($big bytes) is not small against the file"

# The twin and the file agree row for row after many appends (the log replays exactly).
f=$WORK/many.h5
for i in $(seq 1 8); do append "$f"; done
dump "$f" >"$WORK/file.txt"
append "$f"
cp "$(twin "$f")" "$WORK/twin.h5"
dump "$WORK/twin.h5" >"$WORK/twin.txt"
cmp -s "$WORK/file.txt" "$WORK/twin.txt" || fail "the twin is not the file as it was one append ago"
"$PYTHON" -c "import h5py,sys; ids=h5py.File(sys.argv[1],'r')['runs/run_id'].asstr()[...]; assert len(set(ids)) == 9, ids" "$f" ||
  fail "the run ids after 9 appends are not 9 different ones"
[[ $(runs "$f") == "9 9 9" ]] || fail "rows after 9 appends: $(runs "$f")"

# A reader with the file open keeps its view whole through two appends (its inode is not reused).
dump "$f" >"$WORK/before.txt"
"$PYTHON" - "$f" "$WORK/seen.txt" "$WORK/go" <<'PY' &
import os, sys, time, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
open(sys.argv[3] + ".open", "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
with open(sys.argv[2], "w") as out:
    for g in ("runs", "samples"):
        for name in sorted(f[g]):
            print(g, name, np.asarray(f[g][name][...]).tolist(), file=out)
        print("tables", g, f["tables"][g][...].tolist(), file=out)
PY
reader=$!
for _ in $(seq 1 100); do [[ -e $WORK/go.open ]] && break; sleep 0.05; done
append "$f"
append "$f"
touch "$WORK/go"
wait "$reader" || fail "the reader failed"
cmp -s "$WORK/before.txt" "$WORK/seen.txt" || fail "a reader's open file changed under it"
[[ $(runs "$f") == "11 11 11" ]] || fail "rows after appends with a reader: $(runs "$f")"

# kill -9 at moments spread over a whole append (timed once here), many of them inside the twin
# steps: after each kill the file reads whole, with the rows it had or one more, and a killed
# append's leftovers never stop the next one.
start=$(date +%s%N); append "$f"; span_ms=$((($(date +%s%N) - start) / 1000000))
rows=$(runs "$f" | cut -d' ' -f1)
for i in $(seq 1 20); do
  $cs run -k ep -m serial -s 1000 -r 1 --warmup 0 -q -o "$f" &
  pid=$!
  sleep "$(echo "scale=3; $span_ms * $i / 20000" | bc)"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  now=$(runs "$f") || { fail "kill $i: the file is unreadable"; continue; }
  n=${now%% *}
  [[ $now == "$n $n $n" ]] && ((n == rows || n == rows + 1)) || fail "kill $i: rows $rows before, now $now"
  rows=$n
done
append "$f"
expected=$((rows + 1))
[[ $(runs "$f") == "$expected $expected $expected" ]] || fail "rows after the kills and an append: $(runs "$f")"
echo "kills during appends of $span_ms ms: $rows rows before the last append"

# compact: same rows, columns and attributes; not larger; appends go on afterwards.
dump "$f" >"$WORK/pre.txt"
before=$(stat -c %s "$f")
$cs compact -q "$f" || fail "compact"
dump "$f" >"$WORK/post.txt"
cmp -s "$WORK/pre.txt" "$WORK/post.txt" || fail "compact changed rows"
after=$(stat -c %s "$f")
((after <= before)) || fail "compact made the file larger: $before -> $after"
"$PYTHON" - "$f" <<'PY' || fail "compact lost attributes"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["schema"] == "corescope" and f.attrs["Conventions"].startswith("CF-"), dict(f.attrs)
    assert f["runs/wall_s_median"].attrs["units"] == "s"
    assert f["samples/run"].attrs["instance_dimension"] == "run"
PY
$cs summary "$f" >/dev/null || fail "summary after compact"
old_twin=$(ino "$(twin "$f")")
append "$f"
[[ $(ino "$f") == "$old_twin" ]] || fail "the append after compact copied the file"
expected=$((expected + 1))
[[ $(runs "$f") == "$expected $expected $expected" ]] || fail "rows after compact and an append: $(runs "$f")"
echo "compact: $before -> $after bytes"
expect_usage_error "compact of a missing file" $cs compact "$WORK/missing.h5"
echo "not hdf5" >"$WORK/text.h5"
expect_usage_error "compact of a text file" $cs compact "$WORK/text.h5"
leftovers=$(find "$WORK" -name '.*.tmp.*' -o -name '.*.prev' | wc -l)
((leftovers == 0)) || fail "$leftovers temp files left"
finish
