#!/usr/bin/env bash
# The emulated GIL (gil mode) beside real CPython (py-threads, py-processes) on this machine, the
# measurements interleaved (every round runs each configuration once, in alternating order) so
# that a noisy neighbour hits both sides alike. Prints the figures of docs/user/python.md:
#   ep speedup at 2 threads (T1/T2), gil vs py-threads            agreement: |difference| <= 0.1
#   convoy I/O calls per second beside K = 1 CPU thread, both    agreement: within 30 %
#     at the default switch interval (5 ms) and at 1 ms (--switch-interval, both sides)
#   iowait sleepers, 4 threads vs 1 (speedup), both                  target: >= 3.5 in both
#   ep at 2 workers, py-processes vs py-threads (speedup of processes over threads)
#   critical sync=none lost updates, py-threads and py-processes
#   what the interpreter costs: ep, 1 pure-Python thread / serial C++, the same number of samples
#   ROUNDS (default 7), OUT (default python_fidelity.h5), CORESCOPE_TEST_SIZE=1 (a few seconds)
source "$(dirname "$0")/common.sh"
OUT=${OUT:-python_fidelity.h5}
ROUNDS=${ROUNDS:-7}
ep_cxx=8M ep_py=40000 convoy=20 sleeps=64 updates=131072 reps=5
if [[ ${CORESCOPE_TEST_SIZE:-0} == 1 ]]; then
  ROUNDS=1 ep_cxx=200K ep_py=4000 convoy=4 sleeps=8 updates=4096 reps=2
fi
tag=$(date +%s)-$$
run() {  # run LABEL ROUND corescope-run-options...: one run, its label in /runs cell
  local label=$1 round=$2
  shift 2
  "$CORESCOPE" run -q -o "$OUT" -r "$reps" --warmup 1 --cell "fidelity/$tag/$label/$round" "$@"
}
for ((round = 0; round < ROUNDS; round++)); do
  # alternate which side goes first
  if ((round % 2)); then sides="py gil"; else sides="gil py"; fi
  for side in $sides; do
    if [[ $side == gil ]]; then
      for w in 1 2; do run "ep-gil-w$w" $round -k ep -m gil -w $w -s $ep_cxx; done
      run convoy-gil $round -k convoy -m gil -w 2 -s $convoy
      run convoy-gil-1ms $round -k convoy -m gil -w 2 -s $convoy --switch-interval 0.001
      run ep-serial-pyN $round -k ep -m serial -s $ep_py
      for w in 1 4; do run "sleep-gil-w$w" $round -k iowait -m gil -w $w -s $sleeps -p wait=sleep; done
    else
      for w in 1 2; do run "ep-py-w$w" $round -k ep -m py-threads -w $w -s $ep_py; done
      run convoy-py $round -k convoy -m py-threads -w 2 -s $convoy
      run convoy-py-1ms $round -k convoy -m py-threads -w 2 -s $convoy --switch-interval 0.001
      for w in 1 4; do run "sleep-py-w$w" $round -k iowait -m py-threads -w $w -s $sleeps -p wait=sleep; done
    fi
  done
  run ep-pyproc-w2 $round -k ep -m py-processes -w 2 -s $ep_py
  run lost-py $round -k critical -m py-threads -w 2 -s $updates -p sync=none
  run lost-pyproc $round -k critical -m py-processes -w 2 -s $updates -p sync=none
done

"${PYTHON:-/usr/bin/python3}" - "$OUT" "$tag" <<'PY'
import sys, h5py, statistics as st
path, tag = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    r = f["runs"]
    cells = [c.decode() for c in r["cell"][...]]
    col = {k: r[k][...] for k in ("wall_s_median", "io_ops_per_s", "lost_updates", "updates_issued") if k in r}
    s = f["samples"]
    srun, srep, swall, scpu = s["run"][...], s["rep"][...], s["wall_s"][...], s["cpu_s"][...]
# CPUs a run's team kept busy: summed CPU time / the repetitions' wall time (max over workers). On
# a loaded machine this, not the mode, can set the time: it says how much CPU the team was given.
busy_cpu, rep_wall = {}, {}
for k in range(len(srun)):
    busy_cpu[srun[k]] = busy_cpu.get(srun[k], 0.0) + scpu[k]
    key = (srun[k], srep[k])
    rep_wall[key] = max(rep_wall.get(key, 0.0), swall[k])
team_wall = {}
for (run, rep), t in rep_wall.items():
    team_wall[run] = team_wall.get(run, 0.0) + t
cpus = {run: busy_cpu[run] / team_wall[run] for run in team_wall if team_wall[run] > 0}
by = {}  # label -> {round: row}
for i, c in enumerate(cells):
    parts = c.split("/")
    if len(parts) == 4 and parts[0] == "fidelity" and parts[1] == tag:
        by.setdefault(parts[2], {})[int(parts[3])] = i

def per_round(fn, *labels):
    rounds = sorted(set.intersection(*(set(by.get(l, {})) for l in labels)))
    return [fn(*(by[l][k] for l in labels)) for k in rounds]

def show(name, values, unit=""):
    v = sorted(values)
    q = lambda p: v[min(len(v) - 1, int(round(p * (len(v) - 1))))]
    print(f"{name:44s} median {st.median(v):10.3f}{unit}  n={len(v)}  range [{v[0]:.3f}, {v[-1]:.3f}]  IQR [{q(.25):.3f}, {q(.75):.3f}]")
    return st.median(v)

wall = col["wall_s_median"]
print("emulated GIL (gil) vs CPython (py-threads, py-processes); per-round values, median over rounds")
g = show("ep speedup T1/T2, gil", per_round(lambda a, b: wall[a] / wall[b], "ep-gil-w1", "ep-gil-w2"))
p = show("ep speedup T1/T2, py-threads", per_round(lambda a, b: wall[a] / wall[b], "ep-py-w1", "ep-py-w2"))
d = show("  difference gil - py-threads", per_round(lambda a, b, c, e: wall[a] / wall[b] - wall[c] / wall[e],
                                                   "ep-gil-w1", "ep-gil-w2", "ep-py-w1", "ep-py-w2"))
print(f"  agreement within 0.1: {'yes' if abs(g - p) <= 0.1 else 'NO'} (|{g:.3f} - {p:.3f}| = {abs(g - p):.3f})")
for label in ("ep-gil-w1", "ep-gil-w2", "ep-py-w1", "ep-py-w2", "ep-pyproc-w2"):
    show(f"  CPUs busy (CPU time / wall), {label}", per_round(lambda a: cpus.get(a, float("nan")), label))
ops = col["io_ops_per_s"]
for suffix, interval in (("", "5 ms"), ("-1ms", "1 ms")):
    g = show(f"convoy K=1 I/O calls/s, {interval}, gil", per_round(lambda a: ops[a], "convoy-gil" + suffix), " /s")
    p = show(f"convoy K=1 I/O calls/s, {interval}, py-threads", per_round(lambda a: ops[a], "convoy-py" + suffix), " /s")
    show("  ratio gil / py-threads", per_round(lambda a, b: ops[a] / ops[b], "convoy-gil" + suffix, "convoy-py" + suffix))
    print(f"  agreement within 30 %: {'yes' if abs(g / p - 1) <= 0.3 else 'NO'} (ratio of medians {g / p:.3f})")
show("ep, same N: 1 py-threads worker time / serial C++ time", per_round(lambda a, b: wall[a] / wall[b], "ep-py-w1", "ep-serial-pyN"))
g = show("iowait sleepers speedup T1/T4, gil", per_round(lambda a, b: wall[a] / wall[b], "sleep-gil-w1", "sleep-gil-w4"))
p = show("iowait sleepers speedup T1/T4, py-threads", per_round(lambda a, b: wall[a] / wall[b], "sleep-py-w1", "sleep-py-w4"))
print(f"  both >= 3.5: {'yes' if min(g, p) >= 3.5 else 'NO'}")
show("ep 2 workers: py-threads time / py-processes time", per_round(lambda a, b: wall[a] / wall[b], "ep-py-w2", "ep-pyproc-w2"))
show("ep 2 workers: py-processes speedup T1(py-threads)/T2", per_round(lambda a, b: wall[a] / wall[b], "ep-py-w1", "ep-pyproc-w2"))
lost, issued = col["lost_updates"], col["updates_issued"]
show("critical sync=none lost updates, py-threads", per_round(lambda a: lost[a], "lost-py"))
show("  lost fraction, py-threads", per_round(lambda a: lost[a] / issued[a], "lost-py"))
show("critical sync=none lost updates, py-processes", per_round(lambda a: lost[a], "lost-pyproc"))
show("  lost fraction, py-processes", per_round(lambda a: lost[a] / issued[a], "lost-pyproc"))
PY
