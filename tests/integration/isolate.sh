#!/usr/bin/env bash
# corescope isolate: a fault in worker 1 of 4, in every mode built, read back from the HDF5 file.
#   processes (and mpi for leaks): a crash, a hang, a leak or a stray write stays with the victim;
#   threads, openmp, gil: a crash takes every worker down, a leak grows the shared process, a
#   stray write corrupts the neighbour and its check catches it; mpi: a crash ends the job
#   promptly with the survivors killed by the launcher, a hang is caught by the watchdog.
# No trial leaves a process, a /dev/shm file or a temp file behind. Bad input: one line, exit 2.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
out=$WORK/iso.h5
export TMPDIR=$WORK/tmp  # every trial's temp dir goes here, so leftovers are easy to see
mkdir -p "$TMPDIR"

# Every built team mode isolate runs: not serial (no team), hybrid (two layers) or the Python
# modes (isolate runs them when named; tests/integration/python_isolate.sh).
modes=$("$cs" list | awk '/^Modes/{m=1; next} m && $2 == "yes" && $1 != "serial" && $1 != "hybrid" && $1 !~ /^py-/ {printf "%s%s", s, $1; s=","}')
echo "modes: $modes"
# corescope's own names are corescope-PID-...; corescope-test.* are the work directories of tests
# that run beside this one (common.sh).
shm_names() { ls /dev/shm | grep '^corescope-' | grep -v '^corescope-test\.' || true; }
shm_before=$(shm_names)

# A crash needs the survivors to run well past the launcher's reaction (~1 s under mpirun);
# the other faults take short runs.
run() { "$cs" isolate -k triad --victim 1 -w 4 -o "$out" -q "$@" || fail "isolate $*: exit $?"; }
run -f crash --modes "$modes" --run-seconds 4 --inject-at 0.5
run -f leak --modes "$modes" --run-seconds 1.5 --inject-at 0.3 --leak-rate 200M
run -f stray-write --modes "$modes" --run-seconds 1.5 --inject-at 0.3
run -f hang --modes "$modes" --run-seconds 1.5 --inject-at 0.3 --timeout 5

"$PYTHON" - "$out" "$modes" "$(dirname "$0")" <<'PY' || fail "the matrix in the file"
import os, sys
path, modes = sys.argv[1], sys.argv[2].split(",")
sys.path.insert(0, sys.argv[3])
import isolation_rows
rows, compound = isolation_rows.read(path)
n = len(rows)
assert compound == n, "compound copy"
check = isolation_rows.Checks(rows, lambda r: (
    f"outcomes {r['outcomes']!r}, victim {r['victim_outcome']!r}, "
    f"growth {r['others_peak_rss_growth_bytes']} ({r['others_peak_rss_growth_frac']:.3f}), "
    f"ended_s {r['ended_s']:.2f}, note {r['note']!r}"))
cell, bad = check.cell, check.bad
assert len(cell) == 4 * len(modes), f"expected one trial per mode and fault, got {sorted(cell)}"
for r in rows:
    # isolate removes what a trial left and lists it; only what a killed launcher could not clean
    # up (mpirun killed by the watchdog: its session directory, and the shared-memory segment of
    # its ranks, Open MPI's vader_segment, seen once in a fresh-clone run's mpi/hang trial) is an
    # acceptable entry. That nothing stays behind is checked below (TMPDIR empty, no process, no
    # /dev/shm name).
    launcher_left = ("tmp:ompi.", "shm:vader_segment.")
    left = [x for x in r["leftovers"].split() if not (r["mode"] == "mpi" and x.startswith(launcher_left))]
    if left:
        bad.append(f"{r['mode']}/{r['fault']}: the trial left {' '.join(left)}")
    for pid in r["pids"].split():
        if os.path.exists(f"/proc/{pid}") and "corescope" in open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"):
            bad.append(f"{r['mode']}/{r['fault']}: process {pid} still runs")
    for name in r["shared_memory"].split():
        if os.path.exists("/dev/shm/" + name):
            bad.append(f"{r['mode']}/{r['fault']}: /dev/shm/{name} still exists")
    if r["injected"] != 1:
        bad.append(f"{r['mode']}/{r['fault']}: the fault was never injected")
MIB = 1 << 20
for m in modes:
    if m in ("processes", "mpi"):
        check(lambda r: r["processes"] == 4, m, "crash", "one process per worker")
        check(lambda r: r["others_peak_rss_growth_frac"] < 0.05 and r["victim_peak_rss_growth_bytes"] > 100 * MIB,
              m, "leak", "the leak grows the victim's process only (others < 5 %)")
        check(lambda r: r["survivors"] == 3 and r["corrupted"] == 0, m, "stray-write", "stays in the victim")
    if m == "processes":
        check(lambda r: r["survivors"] == 3 and r["outcomes"].startswith("0=ok 1=died"), m, "crash", "3 survivors")
        check(lambda r: r["survivors"] == 3 and r["hung"] == 1 and r["detect_s"] > 0, m, "hang", "3 survivors, victim hung")
        check(lambda r: r["survivors"] == 3, m, "leak", "3 survivors")
    if m == "mpi":
        check(lambda r: r["survivors"] == 0 and r["killed"] == 3 and r["exit_code"] != 0 and r["ended_s"] < 3.0,
              m, "crash", "fail-stop: the launcher ends the job promptly")
        # The watchdog's SIGTERM lets the launcher end the job (within its 15 s grace).
        check(lambda r: r["hung"] >= 1 and r["timed_out"] == 1 and r["inject_s"] + r["ended_s"] < r["timeout_s"] + 15.5,
              m, "hang", "caught by the watchdog")
    if m in ("threads", "openmp", "gil"):
        check(lambda r: r["processes"] == 1, m, "crash", "one process")
        check(lambda r: r["survivors"] == 0 and r["killed"] == 3, m, "crash", "every worker goes down")
        check(lambda r: r["others_peak_rss_growth_bytes"] > 100 * MIB
              and r["others_peak_rss_growth_bytes"] >= 0.9 * r["victim_peak_rss_growth_bytes"], m, "leak",
              "the leak grows the one shared process")
        check(lambda r: r["corrupted"] >= 1 and "2=wrong" in r["outcomes"] and r["detect_s"] > 0, m, "stray-write",
              "the neighbour's check catches the corruption")
        check(lambda r: r["survivors"] == 3 and r["hung"] == 1, m, "hang", "the others finish, the victim hangs")
assert not bad, "\n  " + "\n  ".join(bad)
print(f"ok: {n} trials, the matrix holds for {', '.join(modes)}")
PY

# Nothing left: no team process, no named shared memory of ours, no temp file.
# Only this test's trials (their event files live under our TMPDIR): ctest runs other tests that
# start isolate-trial too (jobs/local/isolation.sh) at the same time.
pgrep -f "isolate-trial .*--report $TMPDIR/" >/dev/null &&
  fail "isolate-trial processes still run: $(pgrep -af "isolate-trial .*--report $TMPDIR/")"
shm_after=$(shm_names)
new_shm=$(comm -13 <(echo "$shm_before") <(echo "$shm_after"))
[[ -z $new_shm ]] || fail "new /dev/shm files: $new_shm"
[[ -z "$(ls -A "$TMPDIR")" ]] || fail "temp files left: $(ls -A "$TMPDIR")"

"$cs" summary "$out" >"$WORK/summary" || fail "summary of an isolate-only file: exit $?"
grep -q "^processes *crash .* 3/3" "$WORK/summary" || fail "summary matrix lacks processes/crash 3/3: $(cat "$WORK/summary")"

# -p reaches the kernel in the team and is recorded: dgemm's naive loop, one trial.
"$cs" isolate -k dgemm -p algo=naive -f crash --victim 1 -w 2 -m threads --run-seconds 1 --inject-at 0.3 \
  -o "$WORK/params.h5" -q || fail "isolate -p algo=naive: exit $?"
"$PYTHON" - "$WORK/params.h5" <<'PY' || fail "isolate -p: the trial does not record algo=naive"
import sys, h5py
t = h5py.File(sys.argv[1], "r")["isolation"]
assert [p.decode() for p in t["params"][:]] == ["algo=naive"], t["params"][:]
PY
expect_usage_error "a kernel parameter value misspelt" $cs isolate -k dgemm -p algo=naiv -f crash -o "$out"
grep -q "did you mean algo=naive" "$WORK/err" || fail "isolate -p algo=naiv: no suggestion: $(cat "$WORK/err")"

# Bad input: one clear line, exit 2, nothing started.
expect_usage_error "victim out of range" $cs isolate -k triad -f crash --victim 4 -w 4 --modes threads -o "$out"
grep -q "out of range" "$WORK/err" || fail "victim message says out of range"
expect_usage_error "unknown fault" $cs isolate -k triad -f meltdown --victim 1 --modes threads -o "$out"
grep -q "faults: crash, abort, exit, leak, stray-write, hang" "$WORK/err" || fail "unknown fault message lists the faults"
expect_usage_error "stray write without a neighbour" $cs isolate -k triad -f stray-write --victim 3 -w 4 --modes threads -o "$out"
expect_usage_error "mem-limit without a leak" $cs isolate -k triad -f crash --mem-limit 64M --victim 1 --modes threads -o "$out"
expect_usage_error "serial has no team" $cs isolate -k triad -f crash --victim 0 --modes serial -o "$out"
expect_usage_error "unknown mode" $cs isolate -k triad -f crash --victim 1 --modes threads,nope -o "$out"
expect_usage_error "kernel without verify_local" $cs isolate -k ep -f crash --victim 1 --modes threads -o "$out"
if ! "$cs" list | grep -q '^mpi *yes'; then
  expect_usage_error "mode not built" $cs isolate -k triad -f crash --victim 1 --modes mpi -o "$out"
fi
finish
