#!/usr/bin/env bash
# corescope study: --dry-run lists cells of every group; the test budget runs end to end into one
# file whose report has data in every section (no "no data" verdict); --resume adds nothing.
# critical's race: the overlap metrics, and the run's line when the team shares one CPU. pingpong
# at 0 bytes and the one table of a size sweep.
source "$(dirname "$0")/common.sh"
src=${CORESCOPE_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
report=${CORESCOPE_REPORT:-${CORESCOPE_BUILD:-$(dirname "$CORESCOPE")}/corescope-report}
cs=$CORESCOPE
cd "$WORK"

# --- the plan ------------------------------------------------------------------------------------
$cs study --budget test --dry-run -o "$WORK/s.h5" >"$WORK/dry" || fail "dry run: exit $?"
# The Python groups need /usr/bin/python3 with NumPy; without it the study leaves them out and says so.
python_groups="python python-cost python-convoy python-io python-critical"
if /usr/bin/python3 -c "import numpy" 2>/dev/null; then has_numpy=1; else has_numpy=0; python_groups=""; fi
for group in scaling scaling-ep ipc gil gil-io convoy critical critical-omp farm one-cpu isolation $python_groups; do
  grep -q "[:,] $group [0-9]" "$WORK/dry" || fail "dry run: no group $group: $(head -n 1 "$WORK/dry")"
done
((has_numpy)) || grep -q "the Python groups are left out" "$WORK/dry" || fail "dry run: no note on the missing Python groups"
grep -q "^pingpong/processes/2/strong/0/none/channel=pipe" "$WORK/dry" || fail "dry run: no 0-byte pingpong over pipe"
grep -q "^critical/threads/2/strong/S/none/sync=none" "$WORK/dry" || fail "dry run: no race cell"
grep -q "fault=crash .*corescope isolate -k triad -f crash" "$WORK/dry" || fail "dry run: no crash trial command"
trials=$(grep -c "fault=.*corescope isolate" "$WORK/dry")
grep -q "^plan [0-9a-f]*: [0-9]* cells ($trials fault-trial cells, listed after these)$" "$WORK/dry" ||
  fail "dry run: the plan line does not count the $trials fault-trial cells: $(grep "^plan" "$WORK/dry")"
[[ -e $WORK/s.h5 ]] && fail "dry run wrote the file"
expect_usage_error "bad budget" $cs study --budget lots -o "$WORK/x.h5"
expect_usage_error "unknown group" $cs study --groups scaling,nope -o "$WORK/x.h5"
grep -q "its groups: scaling, scaling-ep" "$WORK/err" || fail "unknown group: the groups are not listed: $(cat "$WORK/err")"
# a part of the study: only the named groups' cells
$cs study --budget test --groups scaling-ep,ipc --dry-run -o "$WORK/s.h5" >"$WORK/part" || fail "--groups dry run: exit $?"
head -n 1 "$WORK/part" | grep -q "cells: scaling-ep [0-9]*, ipc [0-9]*$" || fail "--groups: $(head -n 1 "$WORK/part")"
grep -q "^triad/" "$WORK/part" && fail "--groups scaling-ep,ipc listed a triad cell"
# -k / -m as everywhere: only the study's cells of those kernels and modes
$cs study --budget test -k ep,triad -m threads --dry-run -o "$WORK/s.h5" >"$WORK/km" || fail "-k -m dry run: exit $?"
grep -E "^[a-z]+/[a-z-]+/" "$WORK/km" >"$WORK/km_cells"
[[ -s $WORK/km_cells ]] || fail "study -k ep,triad -m threads listed no cell: $(cat "$WORK/km")"
grep -Ev "^(ep|triad)/threads/" "$WORK/km_cells" && fail "study -k ep,triad -m threads listed other cells"
# -w / -p as summary takes them: only 1-worker cells; only the cells of a kernel parameter value
$cs study --budget test -w 1 --dry-run -o "$WORK/s.h5" | grep -E "^[a-z]+/[a-z-]+/" >"$WORK/w_cells" || fail "-w 1 dry run"
grep -Ev "^[a-z]+/[a-z-]+/1/" "$WORK/w_cells" && fail "study -w 1 listed cells of other teams"
$cs study --budget test -p sync=none --dry-run -o "$WORK/s.h5" | grep -E "^[a-z]+/[a-z-]+/" >"$WORK/p_cells" || fail "-p dry run"
grep -v "^critical/" "$WORK/p_cells" && fail "study -p sync=none listed cells of other kernels"
expect_usage_error "study -k with a misspelt kernel" $cs study -k epp --dry-run -o "$WORK/x.h5"
grep -q "did you mean 'ep'" "$WORK/err" || fail "study -k epp: no suggestion: $(cat "$WORK/err")"
expect_usage_error "study -k -m with no cell" $cs study -k dgemm -m py-pool --dry-run -o "$WORK/x.h5"

# --- the test budget, end to end -----------------------------------------------------------------
start=$(date +%s)
$cs study --budget test -o "$WORK/s.h5" >"$WORK/study.log" 2>&1 || fail "study: exit $?: $(tail -n 3 "$WORK/study.log")"
echo "study --budget test: $(( $(date +%s) - start )) s"
grep -q "^study done in" "$WORK/study.log" || fail "study: no closing line"
"$PYTHON" - "$WORK/s.h5" <<'PY' || fail "study file"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    runs = f["runs"]
    text = lambda c: [x.decode() for x in runs[c][...]]
    plans = set(text("sweep_plan"))
    assert len(plans) == 1, plans
    bad = [c for c, s, v in zip(text("cell"), text("status"), runs["verified"][...]) if s != "ok" or v != 1]
    assert not bad, bad
    # Every cell once per round (and its A/A twin, if it has one, once per round too).
    units = list(zip(text("cell"), runs["round"][...].tolist(), runs["twin"][...].tolist()))
    assert len(set(units)) == len(units), "a (cell, round, twin) twice"
    assert set(runs["rounds"][...].tolist()) == {3}, "not 3 rounds"
    assert sum(runs["twin"][...]) > 0, "no A/A twins"
    iso = f["isolation"]
    modes = {x.decode() for x in iso["mode"][...]}
    assert {"processes", "threads"} <= modes, modes
    print(f"study file: {len(runs['run_id'])} runs, {len(iso['mode'])} isolation trials, modes {sorted(modes)}")
PY
$cs study --budget test -o "$WORK/s.h5" --resume >"$WORK/again.log" 2>&1 || fail "resume: exit $?"
grep -q "fault trials" "$WORK/again.log" && fail "resume ran fault trials again: $(grep 'fault trials' "$WORK/again.log")"
grep -q "sweep done: 0 runs" "$WORK/again.log" || fail "resume ran cells again: $(grep 'sweep done' "$WORK/again.log")"

"$report" "$WORK/s.h5" -o "$WORK/report" >"$WORK/report.log" 2>&1 || fail "report: $(tail -n 3 "$WORK/report.log")"
"$PYTHON" - "$WORK/report/index.html" "$has_numpy" <<'PY' || fail "report sections"
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
has_numpy = sys.argv[2] == "1"
verdicts = {}
for key, heading in re.findall(r'<h2 id="([a-z_]+)">(.*?)</h2>', page):
    m = re.search(r'class="verdict [a-z]+">([a-z ]+)<', heading)
    if m:
        verdicts[key] = m.group(1)
assert len(verdicts) >= 9, verdicts
empty = [k for k, v in verdicts.items() if v == "no data" and (has_numpy or k != "cpython")]
assert not empty, f"sections without data: {empty}"
if has_numpy:  # the Python groups filled the CPython section: its comparisons, with intervals
    section = page[page.index('<h2 id="cpython">'):]
    section = section[:section.find("<h2 ", 1)]
    for text in ("ep (CPU-bound), 2 thread(s)", "Convoy, K = 1", "Sleepers (iowait), 4 threads",
                 "What the interpreter costs", "critical sync=none, py-processes"):
        assert text in section, f"CPython section: no {text!r}"
print("report verdicts:", verdicts)
PY

# --- the race: overlap measured; on one CPU the run says the workers never ran at once -----------
$cs run -k critical -m threads -w 2 -s S -r 3 -p sync=none -o "$WORK/c.h5" >"$WORK/race" || fail "race run: exit $?"
grep -q "^race: the workers" "$WORK/race" || fail "race run: no race line: $(cat "$WORK/race")"
$cs run -k critical -m threads -w 2 -s S -r 3 -p sync=none -p overlap_cap_ms=20 --pin one -o "$WORK/c.h5" >"$WORK/one" ||
  fail "race on one CPU: exit $?"
grep -q "never ran at the same time" "$WORK/one" || fail "race on one CPU: $(cat "$WORK/one")"
"$PYTHON" - "$WORK/c.h5" <<'PY' || fail "race metrics"
import sys, h5py, math
with h5py.File(sys.argv[1], "r") as f:
    r = f["runs"]
    pins = [x.decode() for x in r["pin"][...]]
    frac, over = r["concurrent_fraction"][...], r["overlapped_iterations"][...]
    for i, pin in enumerate(pins):
        assert 0 <= frac[i] <= 1 and 0 <= over[i] <= 3, (pin, frac[i], over[i])
        if pin == "one":  # one CPU: never at once
            assert over[i] == 0 and frac[i] < 0.05, (frac[i], over[i])
    print("race metrics:", list(zip(pins, frac.round(3), over)))
PY

# --- pingpong: 0 bytes, one table per size sweep -------------------------------------------------
$cs run -k pingpong -m processes -w 2 --channel pipe -s 0:64 -r 2 -o "$WORK/p.h5" >"$WORK/pp" || fail "pingpong 0:64: exit $?"
[[ $(grep -c "median \[95% CI\]" "$WORK/pp") == 1 ]] || fail "pingpong 0:64: not one table: $(cat "$WORK/pp")"
[[ $(grep -cE "^[0-9]+ +2 +[0-9.]+ [a-z]+/message .* yes$" "$WORK/pp") == 8 ]] || fail "pingpong 0:64: not 8 rows (0..64): $(cat "$WORK/pp")"
grep -qE "^0 +2 +[0-9.]+ [a-z]+/message .* yes$" "$WORK/pp" || fail "pingpong 0 bytes: $(cat "$WORK/pp")"
$cs run -k triad -m threads -w 2 -s 1K,2K -r 2 -o "$WORK/p.h5" >"$WORK/tr" || fail "triad sizes: exit $?"
[[ $(grep -c "^size " "$WORK/tr") == 1 ]] || fail "triad sizes: not one table: $(cat "$WORK/tr")"
expect_usage_error "triad size 0" $cs run -k triad -s 0 -o "$WORK/p.h5"
finish
