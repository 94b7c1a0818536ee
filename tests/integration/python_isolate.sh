#!/usr/bin/env bash
# corescope isolate in the Python modes (docs/user/python.md, "Isolation"): a fault in worker 1 of 4,
# read back from /isolation. What each mode does is what CPython does, measured:
#   py-threads:   a crash, an abort or os._exit takes the interpreter and every worker down;
#   py-processes: the other three complete and verify;
#   py-pool:      the pool breaks (BrokenProcessPool) and the others' processes are terminated;
#   every mode:   a leak grows the victim's process (py-threads: the one process of all), a hang
#                 leaves the others to complete and is ended by the watchdog.
# No trial leaves a process behind: every process of a trial inherits the trial's event-file path
# (CORESCOPE_PY_ISOLATE_REPORT, under this test's own TMPDIR), and none may remain. Bad input (a
# stray write, which a Python worker cannot make) is one line and exit 2.
source "$(dirname "$0")/common.sh"
/usr/bin/python3 -c "import numpy" 2>/dev/null || { echo "skip: /usr/bin/python3 has no numpy (python3-numpy)"; exit 77; }
cs=$CORESCOPE
out=$WORK/pyiso.h5
export TMPDIR=$WORK/tmp
mkdir -p "$TMPDIR"
modes=py-threads,py-processes,py-pool

expect_usage_error "stray write in a Python mode" "$cs" isolate -k triad -f stray-write --modes py-threads -o "$out"
grep -q "has none" "$WORK/err" || fail "stray-write refusal does not say why: $(cat "$WORK/err")"
expect_usage_error "a kernel without a Python version" "$cs" isolate -k dgemm -f crash --modes py-threads -o "$out"

run() { "$cs" isolate -k triad --victim 1 -w 4 --modes $modes -o "$out" -q "$@" || fail "isolate $*: exit $?"; }
for fault in crash abort exit; do run -f $fault --run-seconds 1.5 --inject-at 0.3; done
run -f leak --run-seconds 1.5 --inject-at 0.3 --leak-rate 200M
run -f hang --run-seconds 1.5 --inject-at 0.3 --timeout 7

# Nothing of any trial is left: no process carries this test's event-file path.
left=$(grep -l "CORESCOPE_PY_ISOLATE_REPORT=$TMPDIR" /proc/[0-9]*/environ 2>/dev/null || true)
[[ -z $left ]] && echo "ok: no process of a trial is left" || fail "processes left: $left"
[[ -z $(ls -A "$TMPDIR") ]] || fail "temp files left: $(ls -A "$TMPDIR")"

"$PYTHON" - "$out" "$(dirname "$0")" <<'PY' || fail "the Python isolation matrix in the file"
import sys
sys.path.insert(0, sys.argv[2])
import isolation_rows
rows, _ = isolation_rows.read(sys.argv[1])
n = len(rows)
check = isolation_rows.Checks(rows, lambda r: (
    f"survivors {r['survivors']} killed {r['killed']} hung {r['hung']}, outcomes {r['outcomes']!r}, "
    f"victim {r['victim_outcome']!r}, growth {r['others_peak_rss_growth_bytes']}, note {r['note']!r}"))
cell, bad = check.cell, check.bad
assert len(cell) == 15 == n, sorted(cell)
for r in rows:
    check(lambda r: r["injected"] == 1, r["mode"], r["fault"], "never injected")
    check(lambda r: r["leftovers"] == "", r["mode"], r["fault"], f"left {r['leftovers']}")
    check(lambda r: r["memory_model"] == ("shared" if r["mode"] == "py-threads" else "private"),
          r["mode"], r["fault"], "memory model")
signal = {"crash": "signal 11 (SIGSEGV)", "abort": "signal 6 (SIGABRT)", "exit": "exited with code 3"}
for fault, how in signal.items():
    check(lambda r: r["survivors"] == 0 and r["killed"] == 3 and r["processes"] == 1 and how in r["victim_outcome"]
          and r["exit_code"] != 0, "py-threads", fault, "the interpreter dies with every worker")
    check(lambda r: r["survivors"] == 3 and r["processes"] == 4 and how in r["victim_outcome"]
          and r["outcomes"].count("=ok") == 3, "py-processes", fault, "only the victim's process dies")
    check(lambda r: r["survivors"] == 0 and r["killed"] == 3 and how in r["victim_outcome"]
          and r["outcomes"].count("BrokenProcessPool") == 4, "py-pool", fault, "the pool breaks")
for mode in ("py-threads", "py-processes", "py-pool"):
    check(lambda r: r["survivors"] == 3 and r["hung"] == 1 and r["victim_outcome"].startswith("hung"),
          mode, "hang", "the others complete, the victim is hung")
    check(lambda r: r["survivors"] == 3 and r["victim_peak_rss_growth_bytes"] > 100 << 20, mode, "leak",
          "the victim leaks, the others complete")
# the leak: the shared process grows for every worker in py-threads, only the victim's elsewhere
check(lambda r: r["others_peak_rss_growth_bytes"] > 100 << 20, "py-threads", "leak", "others' process grew")
for mode in ("py-processes", "py-pool"):
    check(lambda r: r["others_peak_rss_growth_bytes"] < 32 << 20, mode, "leak", "others' processes did not grow")
assert not bad, "\n".join(bad)
print(f"ok: {n} Python isolation trials as measured")
PY
"$cs" summary "$out" | grep -E "^py-" | sed 's/^/  /'
finish
