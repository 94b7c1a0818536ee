#!/usr/bin/env bash
# Memory accounting matches reality: the peak RSS a run records is within 5 % of GNU time's
# "Maximum resident set size" for the same process (sized so the kernel's data dominates); the
# team footprint (sum of PSS) counts each process once, so threads share one copy and processes
# or ranks add theirs; the runtime overhead (PSS before the kernel's setup) and the workers'
# thread stacks are recorded.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
out=$WORK/m.h5
[[ -x /usr/bin/time ]] || { echo "skipped: no GNU time (/usr/bin/time)"; exit 77; }

size=8M  # triad: 24 bytes per element -> 192 MiB of kernel data
for mode in serial threads; do
  /usr/bin/time -v -o "$WORK/time.$mode" $cs run -k triad -m $mode -w $([[ $mode == serial ]] && echo 1 || echo 2) \
    -s $size -r 3 -o "$out" -q || fail "$mode run"
  grep "Maximum resident set size" "$WORK/time.$mode" | awk '{print $NF}' >"$WORK/maxrss.$mode"
done
$cs run -k triad -m processes -w 2 -s $size -r 3 -o "$out" -q || fail "processes run"
mpi=0
if $cs list | grep -q '^mpi *yes' && [[ -n ${MPIEXEC:-} ]]; then
  "$MPIEXEC" -np 2 --oversubscribe "$cs" run -k triad -m mpi -s $size -r 3 -o "$out" -q || fail "mpi run"
  mpi=1
fi

"$PYTHON" - "$out" "$(cat "$WORK/maxrss.serial")" "$(cat "$WORK/maxrss.threads")" "$mpi" <<'PY' || fail "memory columns"
import sys, h5py
path, rss_serial, rss_threads, mpi = sys.argv[1], int(sys.argv[2]) * 1024, int(sys.argv[3]) * 1024, sys.argv[4] == "1"
data = 24 * 8 * 2**20
with h5py.File(path, "r") as f:
    r, s = f["runs"], f["samples"]
    modes = [m.decode() for m in r["mode"][...]]
    runs = {name: r[name][...] for name in r}
    col = lambda name: runs[name]
    probes = f.attrs["memory_probes"]
    probes = probes.decode() if isinstance(probes, bytes) else str(probes)
    assert "stack:" in probes, probes
    bad = []
    for i, mode in enumerate(modes):
        peak, fp, base, over, stacks = (int(col(c)[i]) for c in
            ("peak_rss_bytes", "footprint_pss_bytes", "runtime_footprint_pss_bytes", "runtime_overhead_bytes",
             "thread_stacks_bytes"))
        procs = int(col("ranks")[i])
        if mode in ("serial", "threads"):
            gnu = rss_serial if mode == "serial" else rss_threads
            if abs(peak - gnu) > 0.05 * gnu:
                bad.append(f"{mode}: peak_rss_bytes {peak} vs GNU time {gnu} ({100 * (peak - gnu) / gnu:+.1f} %)")
        # Each process's PSS once: the kernel's data once, plus each process's runtime.
        if not (data < fp < data + procs * 64 * 2**20):
            bad.append(f"{mode}: footprint_pss_bytes {fp} for {procs} process(es) and {data} bytes of data")
        if not (0 < over < 64 * 2**20) or abs(base - over * procs) >= procs:
            bad.append(f"{mode}: runtime_overhead_bytes {over}, runtime_footprint_pss_bytes {base}, {procs} process(es)")
        if not (0 < stacks < 16 * 2**20):
            bad.append(f"{mode}: thread_stacks_bytes {stacks}")
        rows = [k for k in range(len(s["run"])) if s["run"][k] == i and s["rep"][k] == 2]
        per_worker = [int(s["stack_bytes"][k]) for k in rows]
        if len(per_worker) != int(col("workers")[i]) or min(per_worker) <= 0 or sum(per_worker) != stacks:
            bad.append(f"{mode}: per-worker stack_bytes {per_worker} vs {stacks}")
    assert sorted(set(modes)) == sorted({"serial", "threads", "processes"} | ({"mpi"} if mpi else set())), modes
    assert not bad, "\n  ".join(bad)
for i, mode in enumerate(modes):
    print(f"ok: {mode}: peak RSS {int(col('peak_rss_bytes')[i]) / 2**20:.1f} MiB, footprint (PSS) "
          f"{int(col('footprint_pss_bytes')[i]) / 2**20:.1f} MiB over {int(col('ranks')[i])} process(es), runtime "
          f"{int(col('runtime_overhead_bytes')[i]) / 2**20:.1f} MiB per process, stacks "
          f"{int(col('thread_stacks_bytes')[i]) / 1024:.0f} KiB")
print(f"GNU time: serial {rss_serial / 2**20:.1f} MiB, threads {rss_threads / 2**20:.1f} MiB")
PY
finish
