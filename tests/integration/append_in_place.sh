#!/usr/bin/env bash
# Appends write into the file and cost what they write, not what the file holds
# (docs/user/results-format.md, "Appends are crash-safe"): the file keeps its inode, the journal
# of one append (left behind by a finisher killed on purpose) is no more than twice as large for
# a file of 10,000 runs as for 200, a finisher's death leaves a file no reader takes for whole
# until the next corescope command completes it, a reader that has the file open keeps seeing it
# whole (the append writes a copy), kill -9 at moments spread over an append, a merge and a
# compact leaves a file that reads whole, the files beside it stay small, and `corescope compact`
# rewrites the file with the same rows.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
grow=$(dirname "$0")/../../bench/grow_results.py
append() { $cs run -k ep -m serial -s 1000 -r 1 --warmup 0 -q -o "$1"; }
ino() { stat -c %i "$1"; }
journal() { echo "$(dirname "$1")/.$(basename "$1").journal"; }
# Rows of /runs, /tables/runs and /samples (tests/integration/h5_open.py: a finisher a kill left
# writing the file holds its lock for milliseconds).
runs() {
  "$PYTHON" - "$1" "$(dirname "$0")" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from h5_open import open_read
f = open_read(sys.argv[1])
print(len(f["runs/run_id"]), len(f["tables/runs"]), len(f["samples/run"]))
PY
}
dump() {  # every column of /runs and /samples and both compound copies, as text
  "$PYTHON" - "$1" "$(dirname "$0")" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import numpy as np
from h5_open import open_read
with open_read(sys.argv[1]) as f:
    for g in ("runs", "samples"):
        for name in sorted(f[g]):
            print(g, name, np.asarray(f[g][name][...]).tolist())
        print("tables", g, f["tables"][g][...].tolist())
PY
}
signature() { head -c 8 "$1" | od -An -tx1 | tr -d ' \n'; }
millis() { local start; start=$(date +%s%N); "$@"; echo $((($(date +%s%N) - start) / 1000000)); }
kill_at() {  # kill_at I N SPAN_MS CMD...: runs CMD (a program, not a function), kill -9 at I/N of SPAN_MS
  local i=$1 n=$2 span=$3
  shift 3
  "$@" &
  local pid=$!
  sleep "$(echo "scale=3; $span * $i / ($n * 1000)" | bc)"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
hdf5_signature=894844460d0a1a0a

# The pages of one append, at 200 and 10,000 runs: a finisher that dies leaves them in the journal.
journal_sizes=()
for n in 200 10000; do
  f=$WORK/r$n.h5
  append "$f"
  cp "$f" "$f.x" && mv "$f.x" "$f"   # an outside change: the next append must notice it
  "$PYTHON" "$grow" "$f" "$n"
  append "$f"  # checks the file first
  [[ $(runs "$f") == "$((n + 1)) $((n + 1)) $((n + 1))" ]] || fail "$n: rows after the checking append: $(runs "$f")"
  old=$(ino "$f")
  append "$f"
  [[ $(ino "$f") == "$old" ]] || fail "$n: the append replaced the file instead of writing into it"
  rc=0
  CORESCOPE_TEST_FINISHER=die $cs run -k ep -m serial -s 1000 -r 1 --warmup 0 -q -o "$f" 2>"$WORK/err" || rc=$?
  ((rc == 1)) || fail "$n: a dead finisher: exit $rc, expected 1"
  grep -q "the process writing it died; the next corescope command that reads or writes it completes the append" "$WORK/err" ||
    fail "$n: a dead finisher's message: $(cat "$WORK/err")"
  [[ $(signature "$f") != "$hdf5_signature" ]] || fail "$n: a half-written file kept its signature"
  "$PYTHON" -c "import h5py,sys; h5py.File(sys.argv[1],'r')" "$f" 2>/dev/null && fail "$n: h5py opened a half-written file"
  journal_sizes+=("$(stat -c %s "$(journal "$f")")")
  echo "$n runs: file $(stat -c %s "$f") bytes, journal of one append ${journal_sizes[-1]} bytes"
  $cs summary "$f" >/dev/null || fail "$n: summary of an interrupted append"
  [[ $(signature "$f") == "$hdf5_signature" ]] || fail "$n: summary did not complete the append"
  [[ $(runs "$f") == "$((n + 3)) $((n + 3)) $((n + 3))" ]] || fail "$n: rows after the completed append: $(runs "$f")"
done
small=${journal_sizes[0]} big=${journal_sizes[1]}
((big <= 2 * small)) || fail "the journal grows with the file: $small bytes at 200 runs, $big at 10000"
((big * 5 < $(stat -c %s "$WORK/r10000.h5"))) || fail "the journal ($big bytes) is not small against the file"

# Many appends: every run once, and only the lock and the journal's record beside the file.
f=$WORK/many.h5
for i in $(seq 1 9); do append "$f"; done
"$PYTHON" -c "import h5py,sys; ids=h5py.File(sys.argv[1],'r')['runs/run_id'].asstr()[...]; assert len(set(ids)) == 9, ids" "$f" ||
  fail "the run ids after 9 appends are not 9 different ones"
[[ $(runs "$f") == "9 9 9" ]] || fail "rows after 9 appends: $(runs "$f")"
# HDF5 1.8's file format whatever HDF5 wrote it (library version bounds earliest-1.8): superblock 0.
superblock=$(h5dump -B -H "$f" | grep SUPERBLOCK_VERSION)
[[ $superblock =~ SUPERBLOCK_VERSION\ 0$ ]] || fail "the superblock is not version 0: $superblock"
beside=$(find "$WORK" -maxdepth 1 -name '.many.h5.*' -printf '%f %s\n' | sort)
[[ $(echo "$beside" | cut -d' ' -f1 | tr '\n' ' ') == ".many.h5.journal .many.h5.lock " ]] ||
  fail "files beside the results file: $beside"
bytes=$(echo "$beside" | awk '{ s += $2 } END { print s }')
((bytes * 10 <= $(stat -c %s "$f"))) || fail "the files beside ($bytes bytes) are over 10 % of the file"
echo "beside a file of $(stat -c %s "$f") bytes: $(echo "$beside" | tr '\n' ',')"

# A reader with the file open keeps its view whole through two appends, which write copies.
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
held=$(ino "$f")
append "$f"
append "$f"
[[ $(ino "$f") != "$held" ]] || fail "an append wrote into a file a reader has open"
touch "$WORK/go"
wait "$reader" || fail "the reader failed"
cmp -s "$WORK/before.txt" "$WORK/seen.txt" || fail "a reader's open file changed under it"
[[ $(runs "$f") == "11 11 11" ]] || fail "rows after appends with a reader: $(runs "$f")"
old=$(ino "$f")
append "$f"
[[ $(ino "$f") == "$old" ]] || fail "the append after the reader closed the file copied it"

# kill -9 at moments spread over a whole append (timed once here): after each kill the file
# reads whole, with the rows it had or one more, and a killed append never stops the next one.
span_ms=$(millis append "$f")
rows=$(runs "$f" | cut -d' ' -f1)
for i in $(seq 1 20); do
  kill_at "$i" 20 "$span_ms" $cs run -k ep -m serial -s 1000 -r 1 --warmup 0 -q -o "$f"
  now=$(runs "$f") || { fail "kill $i: the file is unreadable"; continue; }
  n=${now%% *}
  [[ $now == "$n $n $n" ]] && ((n == rows || n == rows + 1)) || fail "kill $i: rows $rows before, now $now"
  rows=$n
done
append "$f"
expected=$((rows + 1))
[[ $(runs "$f") == "$expected $expected $expected" ]] || fail "rows after the kills and an append: $(runs "$f")"
echo "kills during appends of $span_ms ms: $rows rows before the last append"

# kill -9 at moments spread over a merge (into an existing file: one append of every input run)
# and over a compact (a new file renamed over the old): after each kill the file reads whole,
# with all of the merged runs or none of them, and compact's rows are never changed.
src=$WORK/r10000.h5
m=$WORK/merged.h5
append "$m"
base=$(runs "$m" | cut -d' ' -f1)
added=$(($(runs "$src" | cut -d' ' -f1)))
cp "$m" "$WORK/probe.h5"
merge_ms=$(millis $cs merge -q -o "$WORK/probe.h5" "$src")
for i in $(seq 1 8); do
  kill_at "$i" 8 "$merge_ms" $cs merge -q -o "$m" "$src"
  now=$(runs "$m") || { fail "merge kill $i: the file is unreadable"; continue; }
  n=${now%% *}
  [[ $now == "$n $n"* ]] && ((n == base || n == base + added)) || fail "merge kill $i: rows $base before, now $now"
done
dump "$m" >"$WORK/merged.txt"
cp "$m" "$WORK/probe.h5"
compact_ms=$(millis $cs compact -q "$WORK/probe.h5")
for i in $(seq 1 8); do
  kill_at "$i" 8 "$compact_ms" $cs compact -q "$m"
  dump "$m" >"$WORK/now.txt" 2>&1 || fail "compact kill $i: the file is unreadable"
  cmp -s "$WORK/merged.txt" "$WORK/now.txt" || fail "compact kill $i: the rows changed"
done
append "$m"
echo "kills during a merge of $merge_ms ms and a compact of $compact_ms ms: $(runs "$m") rows after an append"

# compact: same rows, columns and attributes; not larger; appends go on in place afterwards.
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
old=$(ino "$f")
append "$f"
[[ $(ino "$f") == "$old" ]] || fail "the append after compact copied the file"
expected=$((expected + 1))
[[ $(runs "$f") == "$expected $expected $expected" ]] || fail "rows after compact and an append: $(runs "$f")"
echo "compact: $before -> $after bytes"
expect_usage_error "compact of a missing file" $cs compact "$WORK/missing.h5"
echo "not hdf5" >"$WORK/text.h5"
expect_usage_error "compact of a text file" $cs compact "$WORK/text.h5"
leftovers=$(find "$WORK" -name '.*.tmp.*' | wc -l)
((leftovers == 0)) || fail "$leftovers temp files left"
finish
