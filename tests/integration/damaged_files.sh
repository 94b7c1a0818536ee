#!/usr/bin/env bash
# Damaged results files: a corpus made from a real file (truncations, flipped bytes at many
# offsets, columns of the wrong type, missing columns, columns of the wrong length, a 2-D
# column) is given to every command that reads a results file: summary, merge (as input and as
# --out), run appending to it, compact, sweep --resume onto it. Each must end without a signal, without
# a traceback or abort, leave no temp file, and either succeed quietly (the damage missed
# everything that is read) or print exactly one line and exit 2 ("... is damaged: ...").
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
good=$WORK/good.h5
$cs run -k triad -m serial -s 1000 -r 2 --warmup 0 -o "$good" -q
$cs run -k ep -m threads -w 2 -s 1000 -r 2 --warmup 0 -o "$good" -q
$cs run -k triad -m serial -s 1000 -r 1 --warmup 0 -o "$WORK/other.h5" -q
corpus=$WORK/corpus
mkdir -p "$corpus"
"$PYTHON" - "$good" "$corpus" <<'PY'
import os, shutil, sys
import h5py, numpy as np
good, corpus = sys.argv[1], sys.argv[2]
data = open(good, "rb").read()
n = len(data)
def put(name, blob):
    open(os.path.join(corpus, name), "wb").write(blob)
for size in sorted({0, 1, 8, 100, 512, 1024, 2048, 4096, n // 4, n // 2, 3 * n // 4, n - 4096, n - 100, n - 1}):
    put(f"trunc-{size}.h5", data[:size])
for k in range(64):  # flipped bytes: dense in the first 4 KiB (superblock, root), then spread
    off = k * 64 if k < 32 else 4096 + (k - 32) * (n - 4097) // 32
    blob = bytearray(data)
    blob[off] ^= 0xFF
    put(f"flip-{off}.h5", bytes(blob))
def edit(name, change):
    path = os.path.join(corpus, name)
    shutil.copy(good, path)
    with h5py.File(path, "r+") as f:
        change(f)
def retype(f, column, values):
    del f[column]
    f.create_dataset(column, data=values, maxshape=(None,) * np.ndim(values), chunks=True)
edit("type-text-as-int.h5", lambda f: retype(f, "runs/kernel", np.arange(2, dtype=np.int64)))
edit("type-int-as-text.h5", lambda f: retype(f, "runs/workers", np.array([b"a", b"b"], dtype=object)))
edit("type-float32.h5", lambda f: retype(f, "runs/wall_s_median", np.ones(2, dtype=np.float32)))
edit("type-int8-link.h5", lambda f: retype(f, "samples/run", np.zeros(len(f["samples/run"]), dtype=np.int8)))
edit("missing-run_id.h5", lambda f: f.__delitem__("runs/run_id"))
edit("missing-scale.h5", lambda f: f.__delitem__("runs/run"))
edit("missing-samples-run.h5", lambda f: f.__delitem__("samples/run"))
edit("missing-tables.h5", lambda f: f.__delitem__("tables"))
edit("length-long.h5", lambda f: retype(f, "runs/mode", np.array([b"x"] * 3, dtype=object)))
edit("length-short.h5", lambda f: retype(f, "samples/wall_s", np.ones(1)))
edit("two-d.h5", lambda f: retype(f, "runs/size", np.ones((2, 2), dtype=np.int64)))
edit("link-out-of-range.h5", lambda f: f["samples/run"].__setitem__(0, 99))
edit("runs-not-a-group.h5", lambda f: (f.__delitem__("runs"), f.create_dataset("runs", data=np.ones(2))))
edit("compound-wrong.h5", lambda f: retype(f, "tables/runs", np.ones(2)))
print(len(os.listdir(corpus)), "damaged files from a file of", n, "bytes")
PY

signals=0 aborts=0 leftovers=0 bad_lines=0 bad_codes=0 damaged=0 ok=0 runs=0
check() {  # check LABEL DIR: the last command's $rc and $WORK/err
  local label=$1 dir=$2 lines
  runs=$((runs + 1))
  lines=$(wc -l <"$WORK/err")
  if ((rc > 128)); then signals=$((signals + 1)); fail "$label: signal $((rc - 128)): $(head -c 300 "$WORK/err")"; fi
  if grep -qiE "traceback|abort|terminate called|HDF5-DIAG|core dumped" "$WORK/err"; then
    aborts=$((aborts + 1)); fail "$label: $(head -c 300 "$WORK/err")"
  fi
  if find "$dir" -maxdepth 1 -name '.*.tmp.*' | grep -q .; then leftovers=$((leftovers + 1)); fail "$label: temp file left"; fi
  if ((rc == 0)); then
    ok=$((ok + 1))
    ((lines == 0)) || { bad_lines=$((bad_lines + 1)); fail "$label: exit 0 with stderr: $(head -c 300 "$WORK/err")"; }
  else
    ((lines == 1)) || { bad_lines=$((bad_lines + 1)); fail "$label: $lines stderr lines: $(head -c 400 "$WORK/err")"; }
    if ((rc == 2)) && grep -q "is damaged: \|is not an HDF5 file\|not a corescope results file\|schema_version" "$WORK/err"; then
      damaged=$((damaged + 1))
    else
      bad_codes=$((bad_codes + 1)); fail "$label: exit $rc: $(head -c 300 "$WORK/err")"
    fi
  fi
}
for f in "$corpus"/*.h5; do
  name=$(basename "$f")
  d=$WORK/case
  rm -rf "$d"; mkdir -p "$d"
  cp "$f" "$d/in.h5"
  rc=0; $cs summary "$d/in.h5" >/dev/null 2>"$WORK/err" || rc=$?; check "summary $name" "$d"
  rc=0; $cs merge -q -o "$d/merged.h5" "$WORK/other.h5" "$d/in.h5" >/dev/null 2>"$WORK/err" || rc=$?; check "merge from $name" "$d"
  cp "$f" "$d/out.h5"
  rc=0; $cs merge -q -o "$d/out.h5" "$WORK/other.h5" >/dev/null 2>"$WORK/err" || rc=$?; check "merge into $name" "$d"
  cp "$f" "$d/run.h5"
  rc=0; $cs run -k triad -m serial -s 1000 -r 1 --warmup 0 -q -o "$d/run.h5" >/dev/null 2>"$WORK/err" || rc=$?
  check "run onto $name" "$d"
  cp "$f" "$d/compact.h5"
  rc=0; $cs compact -q "$d/compact.h5" >/dev/null 2>"$WORK/err" || rc=$?; check "compact of $name" "$d"
  cp "$f" "$d/sweep.h5"
  rc=0; $cs sweep --kernels triad --modes serial --size 1000 --reps 1 --warmup 0 -q --resume --out "$d/sweep.h5" \
    >/dev/null 2>"$WORK/err" || rc=$?
  check "sweep --resume onto $name" "$d"
done
echo "$runs commands on $(ls "$corpus" | wc -l) damaged files: $ok succeeded, $damaged refused with one line (exit 2);" \
  "signals $signals, aborts/tracebacks $aborts, temp files left $leftovers, wrong line counts $bad_lines, other exits $bad_codes"

# /dev/zero as a plan: refused at once (plans are regular files of bounded size).
rc=0
timeout 20 $cs sweep --plan /dev/zero --dry-run >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$WORK/err") -eq 1 ]] || fail "--plan /dev/zero: exit $rc: $(head -c 200 "$WORK/err")"
head -c 3000000 /dev/zero | tr '\0' '#' >"$WORK/big.plan"
rc=0
timeout 20 $cs sweep --plan "$WORK/big.plan" --dry-run >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$WORK/err") -eq 1 ]] || fail "a 3 MB plan: exit $rc: $(head -c 200 "$WORK/err")"
rc=0
head -c 3000000 /dev/zero | timeout 20 $cs sweep --plan - --dry-run >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$WORK/err") -eq 1 ]] || fail "3 MB of NULs on stdin as a plan: exit $rc: $(head -c 200 "$WORK/err")"
finish
