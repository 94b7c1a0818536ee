#!/usr/bin/env bash
# The isolation matrix of the Python modes, measured: a fault in worker 1 of a team of 4 (ep, and
# triad for the leak), each mode x fault TRIALS times (default 3), through corescope run with the
# driver's fault hook CORESCOPE_PY_FAULT (python/corescope_py/faults.py). Prints, per cell, how
# the runs ended (/runs status and error) and, for the leak, the other workers' peak RSS growth.
# This is the ordinary run loop with a fault before a repetition; the isolate trial of the Python
# modes (recorded in /isolation like the C++ modes) is corescope isolate --modes py-threads,...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
CORESCOPE=${CORESCOPE:-$root/build/corescope}
OUT=${OUT:-python_isolation.h5}
TRIALS=${TRIALS:-3}
for ((t = 0; t < TRIALS; t++)); do
  for mode in py-threads py-processes py-pool; do
    for fault in abort segv exit raise leak; do
      kernel=ep
      [[ $fault == leak ]] && kernel=triad
      CORESCOPE_PY_FAULT=$fault:1:1 CORESCOPE_PY_LEAK_MB=256 "$CORESCOPE" run -q -k $kernel -m $mode -w 4 -s S -r 3 \
        --warmup 1 -o "$OUT" --cell "isolation/$mode/$fault/$t" >/dev/null 2>&1 || true
    done
  done
done
"${PYTHON:-/usr/bin/python3}" - "$OUT" <<'PY'
import sys, h5py, collections, re
with h5py.File(sys.argv[1], "r") as f:
    r, s = f["runs"], f["samples"]
    cells = [c.decode() for c in r["cell"][...]]
    status = [c.decode() for c in r["status"][...]]
    error = [c.decode() for c in r["error"][...]]
    run, worker, peak = s["run"][...], s["worker"][...], s["peak_rss_bytes"][...]
table = collections.OrderedDict()
for i, c in enumerate(cells):
    p = c.split("/")
    if len(p) != 4 or p[0] != "isolation":
        continue
    e = re.sub(r"pid \d+", "pid N", error[i])
    e = re.sub(r"after [0-9.]+ s", "", e)
    growth = ""
    if p[2] == "leak" and status[i] == "ok":
        rows = [k for k in range(len(run)) if run[k] == i]
        by = collections.defaultdict(list)
        for k in rows:
            by[worker[k]].append(peak[k])
        # py-pool: worker k is the k-th pool process seen, not task k; the leaking one is the largest
        if p[1] == "py-pool":
            order = sorted(by, key=lambda w: max(by[w]) - min(by[w]))
            by = {(1 if w == order[-1] else w + 10): v for w, v in by.items()}
        victim = max(by[1]) - min(by[1]) if by.get(1) else -1
        others = max(max(v) - min(v) for w, v in by.items() if w != 1) if len(by) > 1 else -1
        growth = " victim peak RSS +%d MiB, others' +%d MiB" % (victim >> 20, others >> 20)
    table.setdefault((p[1], p[2]), collections.Counter())[status[i] + ": " + (e or "completed, verified") + growth] += 1
for (mode, fault), outcomes in table.items():
    for text, n in outcomes.items():
        print(f"{mode:13s} {fault:6s} {n}x {text}")
PY
