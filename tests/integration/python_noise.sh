#!/usr/bin/env bash
# The Python modes' disturbance records (docs/user/python.md, docs/dev/noise.md): every /samples row of a
# py-threads, py-processes and py-pool run has cpu_start, runnable_start and steal_s from the
# driver (not the sentinels) and no speed probe; with more spinning competitors than CPUs, and one
# on the worker's own CPU, the record-time rule flags the Python samples (bit 8, competing tasks,
# in every mode; bit 2, involuntary switches, where the competitor shares the CPU); and a sweep's
# switch-interval axis reaches py-threads as it reaches gil.
source "$(dirname "$0")/common.sh"
PY=/usr/bin/python3
"$PY" -c "import numpy, h5py" 2>/dev/null || { echo "skip: $PY has no numpy or h5py"; exit 77; }
command -v taskset >/dev/null || { echo "skip: no taskset"; exit 77; }
OUT=$WORK/noise.h5

# check_samples FILE RUN-COLUMN-FILTER CHECK: CHECK is Python over `rows` (the /samples rows of the
# runs whose mode is in MODES, as dicts) and `host_cpus`; it prints what it found and fails with a
# message.
check_samples() {
  "$PY" - "$@" <<'PYEOF'
import os, sys, h5py, numpy as np
path, modes, check = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
with h5py.File(path) as f:
    runs, samples = f["runs"], f["samples"]
    mode = [m.decode() for m in runs["mode"][:]]
    keep = np.isin(samples["run"][:], [i for i, m in enumerate(mode) if m in modes])
    names = ["run", "rep", "worker", "cpu", "cpu_start", "runnable_start", "steal_s", "probe_s", "wall_s",
             "invol_ctx_switches", "vol_ctx_switches", "disturbed"]
    cols = {n: samples[n][:][keep] for n in names}
    rows = [dict(zip(names, values), mode=mode[int(values[0])]) for values in zip(*(cols[n] for n in names))]
host_cpus = os.sysconf("SC_NPROCESSORS_ONLN")
assert rows, "no samples of " + ",".join(modes)
exec(check)
PYEOF
}

# --- the records are filled, in every Python mode ---------------------------------------------------
for mode in py-threads py-processes py-pool; do
  nice -n 19 "$CORESCOPE" run -k ep -m "$mode" -w 2 -s 4000 -r 3 --warmup 1 -p impl=python -o "$OUT" -q \
    || fail "$mode run"
done
check_samples "$OUT" py-threads,py-processes,py-pool '
for r in rows:
    where = "%s rep %d worker %d" % (r["mode"], r["rep"], r["worker"])
    assert 0 <= r["cpu_start"] < host_cpus, where + ": cpu_start %d" % r["cpu_start"]
    assert 0 <= r["cpu"] < host_cpus, where + ": cpu %d" % r["cpu"]
    assert r["runnable_start"] >= 1, where + ": runnable_start %d" % r["runnable_start"]
    assert np.isfinite(r["steal_s"]) and r["steal_s"] >= 0, where + ": steal_s %r" % r["steal_s"]
    assert np.isnan(r["probe_s"]), where + ": probe_s %r (the Python samples have no probe)" % r["probe_s"]
    assert r["invol_ctx_switches"] >= 0 and r["vol_ctx_switches"] >= 0, where + ": switches"
print("ok: %d samples of 3 Python modes with cpu_start, runnable_start, steal_s, no probe" % len(rows))
' || fail "the Python samples' records"

# --- the rule flags Python samples: competitors on every CPU, one on the worker's CPU ----------------
# host_cpus + 1 spinners, the first pinned to CPU 0 with the run: the other runnable tasks outnumber
# the CPUs the team leaves idle (bit 8), and the worker shares its CPU with a CPU-bound task (bit 2).
cpus=$(getconf _NPROCESSORS_ONLN)
spinners=()
for ((i = 0; i <= cpus; i++)); do
  if ((i == 0)); then taskset -c 0 "$PY" -c "while True: pass" & else "$PY" -c "while True: pass" & fi
  spinners+=($!)
done
stop_spinners() { for pid in "${spinners[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; spinners=(); }
trap 'stop_spinners; cleanup_work' EXIT
sleep 0.5
BUSY=$WORK/busy.h5
for mode in py-threads py-processes py-pool; do
  taskset -c 0 "$CORESCOPE" run -k ep -m "$mode" -w 1 -s 20000 -r 3 --warmup 1 -p impl=python -o "$BUSY" -q \
    || fail "$mode run beside the spinners"
done
stop_spinners
check_samples "$BUSY" py-threads,py-processes,py-pool '
for r in rows:
    where = "%s rep %d: runnable_start %d, %d involuntary switches in %.3f s, disturbed %d" % (
        r["mode"], r["rep"], r["runnable_start"], r["invol_ctx_switches"], r["wall_s"], r["disturbed"])
    print(where)
    assert r["runnable_start"] >= host_cpus + 2, where + ": the spinners are not counted"
    assert r["disturbed"] & 8, where + ": more competitors than idle CPUs, not flagged"
switched = [r for r in rows if r["invol_ctx_switches"] > 2 + 20 * r["wall_s"]]
assert len(switched) >= len(rows) // 2, "%d of %d samples preempted beyond the allowance" % (len(switched), len(rows))
assert all(r["disturbed"] & 2 for r in switched), "preempted beyond the allowance, bit 2 not set"
print("ok: %d of %d samples flagged for competing tasks, %d for involuntary switches" % (
    len(rows), len(rows), len(switched)))
' || fail "the rule on Python samples beside spinners"

# --- a sweep's switch-interval axis: gil and py-threads, one cell per interval ------------------------
SWEEP=$WORK/sweep.h5
cat >"$WORK/si.plan" <<'EOF'
kernels = convoy
modes = gil, py-threads
workers = 2
size = 4
reps = 1
warmup = 0
switch-interval = 0.001, 0.002
EOF
nice -n 19 "$CORESCOPE" sweep --plan "$WORK/si.plan" --rounds 1 -o "$SWEEP" -q || fail "the switch-interval sweep"
"$PY" - "$SWEEP" <<'PYEOF' || fail "switch intervals of the sweep's runs"
import sys, h5py
with h5py.File(sys.argv[1]) as f:
    runs = f["runs"]
    got = sorted((m.decode(), round(float(s), 6), st.decode())
                 for m, s, st in zip(runs["mode"][:], runs["switch_interval_s"][:], runs["status"][:]))
want = sorted((m, s, "ok") for m in ("gil", "py-threads") for s in (0.001, 0.002))
assert got == want, got
print("ok: sweep runs", got)
PYEOF

finish
