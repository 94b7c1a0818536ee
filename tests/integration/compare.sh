#!/usr/bin/env bash
# corescope compare and summary on files the binary wrote: exit codes (0 for a file against
# itself and a copy, 1 for a really slower run, 2 for bad input), the slower cell flagged and no
# other, csv/json output that parses back, --kernel/--mode filters, and runs of another host kept
# apart by summary and compare.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
cd "$WORK"

# Each cell in its own file, so that B can be A with one cell's runs replaced.
# iowait with sleeps: its time is set by the waits, not by how busy the machine's CPUs are, so a
# team of fewer workers is slower whatever else runs (4 sleeps of 20 ms per repetition, split among
# the workers, long enough that wake-up delays of a busy machine are small beside them).
$cs run -k iowait -m threads -w 2 -s 4 -p wait=sleep -p wait_us=20000 -r 8 -o io_threads.h5 -q
$cs run -k ep -m serial -s S -r 8 -o ep_serial.h5 -q
$cs run -k triad -m threads -w 2 -s S -r 8 -o triad_threads.h5 -q
$cs merge -q -o a.h5 io_threads.h5 ep_serial.h5 triad_threads.h5
cp a.h5 copy.h5

# no_differences N: cmp.out's tally has N cells, each "no difference" or "inconclusive" (a file
# against itself: its ratios are 1, their intervals may cross the threshold).
no_differences() {
  local tally
  tally=$(tail -n 1 cmp.out)
  "$PYTHON" - "$1" "$tally" <<'PY' || fail "expected $1 cells without a difference: $(cat cmp.out)"
import sys
want, tally = int(sys.argv[1]), sys.argv[2]
counts = {name: int(n) for n, name in (part.split(" ", 1) for part in tally.split(", "))}
assert set(counts) <= {"no difference", "inconclusive"} and sum(counts.values()) == want, counts
PY
}

# compare_rc FILE_A FILE_B ARGS...: runs compare, output in $WORK/cmp.out, exit code echoed.
compare_rc() {
  local rc=0
  $cs compare "$@" >cmp.out 2>cmp.err || rc=$?
  echo $rc
}

rc=$(compare_rc a.h5 a.h5)
[[ $rc -eq 0 ]] || fail "a file against itself: exit $rc, expected 0: $(cat cmp.out cmp.err)"
no_differences 3
rc=$(compare_rc a.h5 copy.h5 --threshold 0)
[[ $rc -eq 0 ]] || fail "a file against its copy at threshold 0: exit $rc: $(cat cmp.out cmp.err)"
no_differences 3

# B: the same file with the iowait cell replaced by a really slower run of the same kernel, mode
# and size: one worker instead of two, so 4 sleeps in a row instead of 2. compare matches it to
# A's 2-worker cell with --ignore workers.
$cs run -k iowait -m threads -w 1 -s 4 -p wait=sleep -p wait_us=20000 -r 8 -o io_threads_one_worker.h5 -q
$cs merge -q -o b.h5 io_threads_one_worker.h5 ep_serial.h5 triad_threads.h5
rc=$(compare_rc a.h5 b.h5)
[[ $rc -eq 0 ]] || fail "without --ignore the 1-worker cell has no partner: exit $rc: $(cat cmp.out cmp.err)"
grep -Eq "^iowait/threads/2/4/wait_us=20000 .* only in A" cmp.out || fail "the 2-worker cell is not listed as only in A: $(cat cmp.out)"
rc=$(compare_rc a.h5 b.h5 --threshold 3% --ignore workers)
[[ $rc -eq 1 ]] || fail "a really slower cell: exit $rc, expected 1: $(cat cmp.out cmp.err)"
grep -Eq "^iowait/threads/2 vs 1/.* slower" cmp.out || fail "the iowait cell is not called slower: $(cat cmp.out)"
[[ $(grep -Ec "  slower( [?!])*$" cmp.out) -eq 1 ]] || fail "not exactly one cell called slower: $(cat cmp.out)"
echo "ok: a.h5 vs b.h5 (iowait threads 2 vs 1 worker):"
cat cmp.out
# --include-disturbed: the analysis-time slow-CPU rule compares each probe with the fastest of its
# file, so two files holding the same runs beside different ones may leave out different
# repetitions of them; with every repetition the unchanged cells' ratio is exactly 1.
rc=$(compare_rc --ignore workers --format csv --threshold 0.03 --include-disturbed a.h5 b.h5)
[[ $rc -eq 1 ]] || fail "csv: exit $rc, expected 1"
"$PYTHON" - cmp.out <<'PY' || fail "compare csv does not parse back as expected: $(cat cmp.out)"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 3, rows
slower = [r for r in rows if r["verdict"] == "slower"]
assert [(r["kernel"], r["mode"], r["shape"], r["shape_b"]) for r in slower] == [("iowait", "threads", "2", "1")], slower
s = slower[0]
assert float(s["ratio_lo"]) > 1.03 and float(s["ratio_hi"]) >= float(s["ratio"]) >= float(s["ratio_lo"]), s
assert float(s["p_value"]) < 0.05, s
assert all(r["verdict"] in ("no difference", "inconclusive") and float(r["ratio"]) == 1.0 for r in rows if r is not s), rows
PY
# The reverse direction is faster, which is no failure.
rc=$(compare_rc b.h5 a.h5 --ignore workers)
[[ $rc -eq 0 ]] || fail "b against a (faster): exit $rc, expected 0: $(cat cmp.out)"
grep -Eq "^iowait/threads/1 vs 2/.* faster" cmp.out || fail "reverse comparison does not say faster: $(cat cmp.out)"

rc=$(compare_rc a.h5 copy.h5 --format json)
[[ $rc -eq 0 ]] || fail "json: exit $rc"
"$PYTHON" -c 'import json,sys; rows = json.load(open(sys.argv[1])); assert len(rows) == 3 and {r["verdict"] for r in rows} <= {"no difference", "inconclusive"}, rows' cmp.out ||
  fail "compare json does not parse back: $(cat cmp.out)"

# Cells of one file only are listed as such; compare with a filter.
$cs run -k reduce -m threads -w 2 -s S -r 5 -o reduce.h5 -q
$cs merge -q -o a_more.h5 a.h5 reduce.h5
rc=$(compare_rc a.h5 a_more.h5)
[[ $rc -eq 0 ]] || fail "a file with one more cell: exit $rc"
grep -Eq "^reduce/threads/2/.* only in B" cmp.out || fail "the cell of B only is not listed: $(cat cmp.out)"
rc=$(compare_rc a.h5 a_more.h5 --kernel ep --mode serial)
no_differences 1

# Bad input: one line, exit 2.
expect_usage_error "compare a missing file" $cs compare a.h5 missing.h5
expect_usage_error "compare files without common cells" $cs compare a.h5 reduce.h5
expect_usage_error "compare threshold junk" $cs compare a.h5 copy.h5 --threshold fast
expect_usage_error "compare threshold negative" $cs compare a.h5 copy.h5 --threshold -3%
expect_usage_error "compare threshold 100%" $cs compare a.h5 copy.h5 --threshold 100%
expect_usage_error "compare format xml" $cs compare a.h5 copy.h5 --format xml
expect_usage_error "compare two ways of taking the speed out" $cs compare a.h5 copy.h5 --matched-state --speed-normalised

# --matched-state: a file against its copy compares the same repetitions of one state (or says
# there is none), never a difference; the csv names the state of each pair.
rc=$(compare_rc a.h5 copy.h5 --matched-state --threshold 0 --format csv)
[[ $rc -eq 0 ]] || fail "matched state, a file against its copy: exit $rc: $(cat cmp.out cmp.err)"
header=$(head -n 1 cmp.out)
[[ ,$header, == *,state,* ]] || fail "matched state: no state column in the csv: $header"
states=(-e '^name,' -e ',fast,' -e ',factor [0-9]\.[0-9][0-9]-[0-9]\.[0-9][0-9],' -e 'no matched state')
if grep -qv "${states[@]}" cmp.out; then
  fail "matched state: a pair with neither a state nor 'no matched state': $(grep -v "${states[@]}" cmp.out | head -3)"
fi
grep -q "${states[@]:2:4}" cmp.out || fail "matched state: no pair compared in a state: $(cat cmp.out)"
cp cmp.out matched.csv
# By default a pair is compared in the state --matched-state picks where there is one, and over
# all clean repetitions (state "") where there is none; --all-states never matches.
rc=$(compare_rc a.h5 copy.h5 --threshold 0 --format csv)
[[ $rc -eq 0 ]] || fail "default states, a file against its copy: exit $rc: $(cat cmp.out cmp.err)"
cp cmp.out default.csv
rc=$(compare_rc a.h5 copy.h5 --all-states --format csv)
[[ $rc -eq 0 ]] || fail "--all-states, a file against its copy: exit $rc: $(cat cmp.out cmp.err)"
"$PYTHON" - matched.csv default.csv cmp.out <<'PY' || fail "default states: $(cat default.csv)"
import csv, sys
matched, default, every = (list(csv.DictReader(open(p))) for p in sys.argv[1:])
assert len(matched) == len(default) == len(every) == 3, (matched, default, every)
for m, d, e in zip(matched, default, every):
    assert d["state"] == m["state"] and e["state"] == "", (m, d, e)
    assert d["ratio"] == "1" and e["ratio"] == "1", (d, e)
    for x in (d, e):  # a ratio of 1: no difference when its interval lies within the threshold
        bound = 1 + float(x["threshold"])
        inside = 1 / bound <= float(x["ratio_lo"]) and float(x["ratio_hi"]) <= bound
        assert x["verdict"] == ("no difference" if inside else "inconclusive"), x
    if m["verdict"] == "no matched state":   # over all clean repetitions, as --all-states
        assert (d["n_a"], d["median_a_s"]) == (e["n_a"], e["median_a_s"]), (d, e)
    else:
        assert (d["n_a"], d["median_a_s"]) == (m["n_a"], m["median_a_s"]), (d, m)
PY
expect_usage_error "compare --matched-state --all-states" $cs compare a.h5 copy.h5 --matched-state --all-states
# Cells of 2 repetitions have no state with 3 on both sides: "no matched state", nothing compared.
$cs run -k ep -m serial -s S -r 2 -o two_reps.h5 -q
rc=$(compare_rc two_reps.h5 two_reps.h5 --matched-state --format csv)
[[ $rc -eq 0 ]] || fail "matched state, 2 repetitions: exit $rc: $(cat cmp.out cmp.err)"
"$PYTHON" - cmp.out <<'PY' || fail "matched state, 2 repetitions: $(cat cmp.out)"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 1 and rows[0]["verdict"] == "no matched state", rows
assert rows[0]["n_a"] == "0" and rows[0]["n_b"] == "0" and rows[0]["ratio"] == "" and rows[0]["state"] == "", rows
PY
expect_usage_error "compare unknown kernel" $cs compare a.h5 copy.h5 --kernel ep,nope
expect_usage_error "compare filter without common cells" $cs compare a.h5 copy.h5 --kernel reduce
expect_usage_error "compare one file" $cs compare a.h5
expect_usage_error "compare ignoring the kernel" $cs compare a.h5 copy.h5 --ignore kernel

# summary: text header, csv and json that parse back, filters.
$cs summary a.h5 >sum.out || fail "summary: exit $?"
grep -q "median \[95% CI\]" sum.out || fail "summary shows no interval: $(cat sum.out)"
$cs summary a.h5 --wide >sum.out || fail "summary --wide: exit $?"
grep -q "rate @median" sum.out || fail "summary --wide does not say the rate comes from the median: $(cat sum.out)"
$cs summary a.h5 --format csv >sum.csv || fail "summary csv: exit $?"
"$PYTHON" - sum.csv <<'PY' || fail "summary csv does not parse back: $(cat sum.csv)"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 3, rows
for r in rows:
    # n: the clean repetitions the statistics use (disturbed ones are left out, all 8 when fewer
    # than 3 are clean); repetitions: every one recorded.
    assert r["repetitions"] == "8" and 3 <= int(r["n"]) <= 8, r
    assert r["mostly_disturbed"] == "1" or int(r["n"]) == 8 - int(r["disturbed"]), r
    assert float(r["median_lo_s"]) <= float(r["median_s"]) <= float(r["median_hi_s"]), r
threads = [r for r in rows if r["kernel"] == "iowait"][0]
assert threads["speedup"] == "", threads  # no 1-worker threads cell in this file
PY
$cs summary a.h5 --format json --kernel ep,iowait >sum.json || fail "summary json: exit $?"
"$PYTHON" -c 'import json,sys; rows = json.load(open(sys.argv[1])); assert sorted((r["kernel"], r["mode"]) for r in rows) == [("ep", "serial"), ("iowait", "threads")], rows' sum.json ||
  fail "summary json --kernel ep,iowait: $(cat sum.json)"
$cs summary --mode threads,serial --kernel triad a.h5 >sum.out
[[ $(grep -c "^triad/threads/" sum.out) -eq 1 && $(grep -c "^[a-z]*/" sum.out) -eq 1 ]] ||
  fail "summary --kernel triad: $(cat sum.out)"
expect_usage_error "summary unknown mode" $cs summary a.h5 --mode threads,nope
expect_usage_error "summary format yaml" $cs summary a.h5 --format yaml

# Speedup over the 1-worker cell of the same kernel and mode, with its interval.
$cs merge -q -o scaling.h5 io_threads.h5 io_threads_one_worker.h5
$cs summary scaling.h5 --format csv >sum.csv
"$PYTHON" - sum.csv <<'PY' || fail "summary speedup: $(cat sum.csv)"
import csv, sys
rows = {r["workers"]: r for r in csv.DictReader(open(sys.argv[1]))}
two, one = rows["2"], rows["1"]
# over all clean repetitions: the ratio of the medians; the stated speedup is the same-state one
# where the two cells have a machine state in common (docs/user/compare.md), else that one
assert abs(float(two["speedup_all"]) / (float(one["median_s"]) / float(two["median_s"])) - 1) < 1e-6, two
if two["speedup_basis"] == "clean repetitions":
    assert two["speedup"] == two["speedup_all"] and two["speedup_matched"] == "", two
else:
    assert two["speedup_basis"] == "same state: " + two["matched_state"] and int(two["n_matched"]) >= 3, two
    assert two["speedup"] == two["speedup_matched"], two
assert float(two["speedup_lo"]) > 1.5, two  # 2 sleeps in a row instead of 4
assert float(two["speedup_lo"]) <= float(two["speedup"]) <= float(two["speedup_hi"]), two
PY

# Runs of another host (a UTS namespace with its own host name) are other cells: summary shows
# both with a legend, compare names the difference.
if unshare -u true 2>/dev/null; then
  unshare -u bash -c "hostname corescope-other-host && exec $cs run -k ep -m serial -s S -r 8 -o other_host.h5 -q"
  $cs merge -q -o two_hosts.h5 ep_serial.h5 other_host.h5
  $cs summary two_hosts.h5 >sum.out
  [[ $(grep -Ec "^ep/serial/1/[^ ]+ +[12] " sum.out) -eq 2 ]] || fail "two hosts pooled in summary: $(cat sum.out)"
  grep -q "host corescope-other-host" sum.out || fail "summary legend lacks the other host: $(cat sum.out)"
  $cs summary two_hosts.h5 --format csv >sum.csv
  "$PYTHON" -c 'import csv,sys; rows = list(csv.DictReader(open(sys.argv[1]))); assert [r["repetitions"] for r in rows] == ["8", "8"] and len({r["host"] for r in rows}) == 2, rows' sum.csv ||
    fail "two hosts: $(cat sum.csv)"
  rc=$(compare_rc ep_serial.h5 other_host.h5)
  grep -q "A and B differ in: host" cmp.out || fail "compare does not name the host difference: $(cat cmp.out)"
else
  echo "skipped: the other-host check needs unshare -u (root)"
fi

finish
