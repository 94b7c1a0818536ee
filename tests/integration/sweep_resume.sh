#!/usr/bin/env bash
# corescope sweep: killed with SIGKILL halfway and resumed with --resume, the file holds every
# cell of the plan exactly once, all verified, and nothing of the killed sweep lives on. Also:
# SIGTERM stops a sweep cleanly (exit 143, resumable), a cell that times out is recorded as
# failed and the sweep goes on, merge never duplicates a run, and bad input is one line, exit 2.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
out=$WORK/sweep.h5
plan=(--kernels triad,ep --modes all --workers 1,2 --hybrid 2x1,1x2 --size S --reps 3 --rounds 1)

# Every built mode is in the plan; a build without MPI simply has no mpi/hybrid cells.
$cs sweep "${plan[@]}" --dry-run | tail -n +2 | awk '{print $1}' >"$WORK/expected.txt"
n=$(wc -l <"$WORK/expected.txt")
echo "plan: $n cells"
((n >= 10)) || fail "only $n cells in the plan"

# 1. SIGKILL once about half of the cells are done (plain progress lines count them).
$cs sweep "${plan[@]}" --out "$out" >"$WORK/first.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  done_cells=$(grep -c '^\[' "$WORK/first.log" || true)
  ((done_cells >= n / 2)) && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
kill -9 $pid 2>/dev/null || fail "the sweep ended before it could be killed"
wait $pid 2>/dev/null || true
echo "killed after $(grep -c '^\[' "$WORK/first.log") of $n cells"
# The cell in progress dies with the sweep (its launcher and ranks too): within 10 s (a sanitizer
# build's ranks take seconds to exit) nothing names the file.
for _ in $(seq 1 100); do
  left=$(pgrep -f -- "-o $out" || true)
  [[ -z $left ]] && break
  sleep 0.1
done
[[ -z $left ]] || fail "processes of the killed sweep still run: $(ps -o pid,cmd -p "${left//$'\n'/,}" | tail -n +2)"

rows() { "$PYTHON" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(len(f['runs/run_id']) if 'runs' in f else 0)" "$1"; }
before=$(rows "$out")
((before > 0 && before < n)) || fail "$before rows after the kill, expected some of $n"

# 2. --resume runs the rest only.
$cs sweep "${plan[@]}" --out "$out" --resume >"$WORK/second.log" 2>&1 || fail "resume: $(tail -n 3 "$WORK/second.log")"
grep -q "($before already in the file)" "$WORK/second.log" || fail "resume did not see the $before done cells: $(head -n 1 "$WORK/second.log")"

"$PYTHON" - "$out" "$WORK/expected.txt" <<'PY' || fail "file after resume"
import sys, collections, h5py
expected = open(sys.argv[2]).read().split()
with h5py.File(sys.argv[1], "r") as f:
    runs = f["runs"]
    text = lambda c: [x.decode() for x in runs[c][...]]
    cells, status = text("cell"), text("status")
    counts = collections.Counter(c for c, s in zip(cells, status) if s == "ok")
    assert sorted(counts) == sorted(expected), f"cells differ: missing {set(expected) - set(counts)}, extra {set(counts) - set(expected)}"
    twice = [c for c, k in counts.items() if k != 1]
    assert not twice, f"cells recorded more than once: {twice}"
    assert all(runs["verified"][...] == 1), "a run is not verified"
    assert len(set(text("run_id"))) == len(cells), "duplicate run_id"
    assert len(set(text("sweep_plan"))) == 1, set(text("sweep_plan"))
    assert len(set(text("sweep_id"))) == 2, "expected the cells of two sweep invocations"
    # samples stay linked: every run has workers x reps samples
    run_of = f["samples/run"][...]
    for i in range(len(cells)):
        want = int(runs["workers"][i]) * int(runs["reps"][i])
        assert (run_of == i).sum() == want, f"{cells[i]}: {(run_of == i).sum()} samples, expected {want}"
print(f"{len(cells)} cells, each exactly once, all verified")
PY

# 3. Resuming a finished sweep runs nothing; another plan onto this file is refused.
$cs sweep "${plan[@]}" --out "$out" --resume -q || fail "second resume"
[[ $(rows "$out") == "$n" ]] || fail "second resume added rows"
expect_usage_error "resume onto a different plan" $cs sweep "${plan[@]:0:8}" --size S --reps 4 --out "$out" --resume
grep -q "different sweep plan" "$WORK/err" || fail "resume onto another plan: $(cat "$WORK/err")"

# 4. merge: the file merged with itself and a copy adds nothing; into a new file, everything once.
cp "$out" "$WORK/copy.h5"
$cs merge -q -o "$WORK/all.h5" "$out" "$WORK/copy.h5" || fail "merge"
[[ $(rows "$WORK/all.h5") == "$n" ]] || fail "merge of a file and its copy: $(rows "$WORK/all.h5") runs, expected $n"
"$PYTHON" - "$WORK/all.h5" <<'PY' || fail "merged samples not linked to their runs"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
runs, run_of = f["runs"], f["samples/run"][...]
for i in range(len(runs["run_id"])):
    assert (run_of == i).sum() == int(runs["workers"][i]) * int(runs["reps"][i]), i
PY
cp "$out" "$WORK/v2.h5"
"$PYTHON" -c "import h5py,sys; h5py.File(sys.argv[1],'r+').attrs['schema_version']=3" "$WORK/v2.h5"
expect_usage_error "merge: a newer schema version" $cs merge -o "$WORK/m2.h5" "$out" "$WORK/v2.h5"

# 5. SIGTERM in the middle of a long cell: clean stop, exit 143, nothing recorded, resumable.
term=$WORK/term.h5
$cs sweep --kernels ep --modes threads --workers 2 --size 2G --reps 2 --out "$term" >"$WORK/term.log" 2>&1 &
pid=$!
sleep 1.5
kill -TERM $pid
rc=0
timeout 30 tail --pid=$pid -f /dev/null || true
wait $pid || rc=$?
[[ $rc == 143 ]] || fail "SIGTERM: exit $rc, expected 143 ($(cat "$WORK/term.log"))"
grep -q "interrupted by SIGTERM" "$WORK/term.log" || fail "SIGTERM: no interruption message"
[[ ! -e $term ]] || [[ $(rows "$term") == 0 ]] || fail "SIGTERM: the abandoned cell was recorded"

# 6. A cell over its time limit is recorded as failed; the sweep goes on and exits 1.
slow=$WORK/slow.h5
rc=0
$cs sweep --kernels ep --modes threads --workers 1,2 --size 2G --reps 2 --rounds 1 --timeout-per-run 1 --out "$slow" >"$WORK/slow.log" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "timeout: exit $rc, expected 1"
"$PYTHON" - "$slow" <<'PY' || fail "timed-out cells"
import sys, h5py
r = h5py.File(sys.argv[1], "r")["runs"]
t = lambda c: [x.decode() for x in r[c][...]]
assert t("status") == ["failed", "failed"], t("status")
assert all("timed out" in e for e in t("error")), t("error")
assert sorted(t("cell")) == ["ep/threads/1/strong/2G/none", "ep/threads/2/strong/2G/none"], t("cell")
PY

# 6b. A failed cell and its successful rerun are one configuration: the failed row has the
# shape the cell's own run records (processes: ranks = workers, one thread each).
shape=$WORK/shape.h5
rc=0
$cs sweep --kernels ep --modes processes,threads --workers 2 --size 64M --reps 2 --rounds 1 --timeout-per-run 0.05 \
  --out "$shape" >"$WORK/shape1.log" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "shape: the timed-out sweep exited $rc, expected 1: $(tail -n 2 "$WORK/shape1.log")"
$cs sweep --kernels ep --modes processes,threads --workers 2 --size 64M --reps 2 --rounds 1 --out "$shape" --resume \
  >"$WORK/shape2.log" 2>&1 || fail "shape: rerun: $(tail -n 3 "$WORK/shape2.log")"
"$PYTHON" - "$shape" <<'PY' || fail "failed cell and its rerun differ in shape"
import sys, h5py
r = h5py.File(sys.argv[1], "r")["runs"]
t = lambda c: [x.decode() if isinstance(x, bytes) else x for x in r[c][...]]
rows = list(zip(t("cell"), t("status"), t("workers"), t("ranks"), t("threads_per_rank"), t("memory_model")))
for cell in ("ep/processes/2/strong/64M/none", "ep/threads/2/strong/64M/none"):
    mine = [x for x in rows if x[0] == cell]
    assert sorted(x[1] for x in mine) == ["failed", "ok"], (cell, mine)
    shapes = {x[2:] for x in mine}
    assert len(shapes) == 1, f"{cell}: failed and ok rows differ: {mine}"
    want = (2, 2, 1, "private") if "/processes/" in cell else (2, 1, 2, "shared")
    assert shapes == {want}, (cell, shapes)
print("failed and rerun rows share their shape:", sorted({x[0]: x[2:] for x in rows}.items()))
PY

# 7. Bad input: one line, exit 2.
expect_usage_error "worker 0" $cs sweep --kernels triad --workers 0,1 --out "$WORK/b.h5"
expect_usage_error "negative workers" $cs sweep --kernels triad --workers=-2 --out "$WORK/b.h5"
expect_usage_error "unknown mode" $cs sweep --kernels triad --modes threads,fibres --out "$WORK/b.h5"
expect_usage_error "unknown kernel" $cs sweep --kernels triad,nope --out "$WORK/b.h5"
expect_usage_error "bad hybrid split" $cs sweep --kernels triad --hybrid 2x0 --out "$WORK/b.h5"
expect_usage_error "bad shard" $cs sweep --kernels triad --shard 2/2 --out "$WORK/b.h5"
if $cs list | grep -q '^mpi  *yes'; then
  expect_usage_error "no launcher for mpi cells" $cs sweep --kernels triad --modes mpi --mpirun /bin/true --out "$WORK/b.h5"
  expect_usage_error "sweep under a launcher" env OMPI_COMM_WORLD_SIZE=2 $cs sweep --kernels triad --out "$WORK/b.h5"
fi
printf 'kernels = triad\n# a comment\nworkers = 1, 2\nwrokers = 4\n' >"$WORK/typo.plan"
expect_usage_error "plan: unknown key" $cs sweep --plan "$WORK/typo.plan" --out "$WORK/b.h5"
grep -q "typo.plan:4: unknown key 'wrokers'" "$WORK/err" || fail "plan error without its line number: $(cat "$WORK/err")"
printf 'kernels = triad\nreps = many\n' >"$WORK/bad.plan"
expect_usage_error "plan: bad value" $cs sweep --plan "$WORK/bad.plan" --out "$WORK/b.h5"
grep -q "bad.plan:2: reps" "$WORK/err" || fail "plan error without its line number: $(cat "$WORK/err")"
printf 'kernels = triad\nkernels = ep\n' >"$WORK/twice.plan"
expect_usage_error "plan: key twice" $cs sweep --plan "$WORK/twice.plan" --out "$WORK/b.h5"
printf 'kernels triad\n' >"$WORK/noeq.plan"
expect_usage_error "plan: no '='" $cs sweep --plan "$WORK/noeq.plan" --out "$WORK/b.h5"
expect_usage_error "plan: missing file" $cs sweep --plan "$WORK/none.plan" --out "$WORK/b.h5"
expect_usage_error "merge: missing input" $cs merge -o "$WORK/m.h5" "$WORK/none.h5"
finish
