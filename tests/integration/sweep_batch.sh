#!/usr/bin/env bash
# sweep --batch: one launch per team shape and round. The runs of a round that share a launch run
# in one `corescope run-batch` process (/runs launch_id), each recorded once with its own peak
# RSS; a launch killed in the middle of a run records that run as failed, keeps the runs before
# it and starts the runs after it in a new launch; a run over --timeout-per-run is stopped alone;
# --resume after a kill -9 of the sweep runs exactly the missing runs.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
runs_of() {  # runs_of FILE: cell, status, launch_id, round, error per /runs row, tab-separated
  "$PYTHON" - "$1" <<'PY'
import sys, h5py
r = h5py.File(sys.argv[1], "r")["runs"]
t = lambda c: [x.decode() if isinstance(x, bytes) else x for x in r[c][...]]
for row in zip(t("cell"), t("status"), t("launch_id"), t("round"), t("error"), t("peak_rss_bytes")):
    print("\t".join(str(x) for x in row))
PY
}

# 1. Three modes x two team sizes x two sizes, two rounds: one launch per mode and round.
plan=(--kernels triad --modes serial,threads,processes --workers 1,2 --size 1K,4M --reps 2 --warmup 0 --rounds 2)
$cs sweep "${plan[@]}" --batch --seed 3 --dry-run >"$WORK/dry.txt" || fail "dry run"
grep -q '^round 1: \[.*\], \[.*\], \[.*\]$' "$WORK/dry.txt" || fail "dry run: no three launches: $(grep '^round 1' "$WORK/dry.txt")"
$cs sweep "${plan[@]}" --batch --seed 3 -q --out "$WORK/b.h5" || fail "batch sweep"
runs_of "$WORK/b.h5" >"$WORK/b.tsv"
[[ $(wc -l <"$WORK/b.tsv") == 20 ]] || fail "20 runs expected: $(wc -l <"$WORK/b.tsv")"
[[ $(cut -f2 "$WORK/b.tsv" | sort -u) == ok ]] || fail "not every run ok: $(cut -f1,2,5 "$WORK/b.tsv")"
[[ $(cut -f1,4 "$WORK/b.tsv" | sort -u | wc -l) == 20 ]] || fail "a (cell, round) twice"
[[ $(cut -f3 "$WORK/b.tsv" | sort -u | wc -l) == 6 ]] || fail "6 launches expected: $(cut -f3 "$WORK/b.tsv" | sort | uniq -c)"
# Each launch is one mode and one round.
[[ $(awk -F'\t' '{split($1, c, "/"); print $3, c[2], $4}' "$WORK/b.tsv" | sort -u | wc -l) == 6 ]] ||
  fail "a launch ran two modes or two rounds"
# The peak RSS is each run's own: a 1K run after a 4M run in the same launch is not the 4M's peak.
# (Not under AddressSanitizer: its shadow memory and quarantine of freed blocks, hundreds of MiB,
# are no run's own; .ci/asan-test.sh sets CORESCOPE_TEST_SANITIZED.)
[[ -n ${CORESCOPE_TEST_SANITIZED:-} ]] || "$PYTHON" - "$WORK/b.tsv" <<'PY' || fail "peak RSS carried from one run to the next"
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
by_team = {}
for cell, _status, _launch, _round, _error, peak in rows:
    kernel, mode, workers, scaling, size, pin = cell.split("/")
    by_team.setdefault((mode, workers), {}).setdefault(size, []).append(int(peak))
# triad's 4M is three arrays of 4M doubles (96 MiB), at least 48 MiB in each process of a team of
# two: every 1K run's peak stays 40 MiB below every 4M run's of the same team
for team, sizes in by_team.items():
    assert max(sizes["1K"]) + 40 * 2**20 < min(sizes["4M"]), (team, sizes)
PY
echo "ok: 20 runs in 6 launches, each once$([[ -n ${CORESCOPE_TEST_SANITIZED:-} ]] || echo ", peak RSS of each its own")"

# 2. A launch killed (SIGKILL) during its second run: the first recorded once, the second failed,
# the third run in a new launch. ep of 4G samples takes seconds; of 1K, milliseconds.
crash=(--kernels ep --modes threads --workers 1 --size 1K,4G,2K --reps 1 --warmup 0 --rounds 1)
seed=
for s in $(seq 1 40); do
  if $cs sweep "${crash[@]}" --batch --seed "$s" --dry-run | grep -q '^round 1: \[ep/threads/1/strong/[12]K/none, ep/threads/1/strong/4G/none,'; then
    seed=$s
    break
  fi
done
[[ -n $seed ]] || fail "no seed in 1..40 puts the 4G run second"
$cs sweep "${crash[@]}" --batch --seed "$seed" --out "$WORK/crash.h5" >"$WORK/crash.log" 2>&1 &
sweep=$!
for _ in $(seq 1 400); do
  grep -q '^\[1/3\]' "$WORK/crash.log" && break
  sleep 0.05
done
grep -q '^\[1/3\]' "$WORK/crash.log" || fail "the first run did not finish: $(cat "$WORK/crash.log")"
sleep 0.3
batch_pid=$(pgrep -f "run-batch .*$WORK/crash.h5" | head -n 1)
[[ -n $batch_pid ]] || fail "no run-batch process"
kill -9 "$batch_pid"
rc=0
wait $sweep || rc=$?
[[ $rc == 1 ]] || fail "crash: the sweep exited $rc, expected 1: $(tail -n 3 "$WORK/crash.log")"
runs_of "$WORK/crash.h5" >"$WORK/crash.tsv"
"$PYTHON" - "$WORK/crash.tsv" <<'PY' || fail "crash in a launch: $(cat "$WORK/crash.tsv")"
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
assert len(rows) == 3, rows
first, killed, after = rows
assert "/4G/" in killed[0] and killed[1] == "failed" and "killed by SIGKILL" in killed[4], killed
assert first[1] == "ok" and after[1] == "ok", rows
assert first[2] == killed[2] != after[2], "launch ids: %s" % [r[2] for r in rows]
PY
echo "ok: a killed launch: $(cut -f1,2 "$WORK/crash.tsv" | tr '\t\n' ' ;')"

# 3. A run over --timeout-per-run is stopped; the launch's other runs are not (each has its own
# clock from its start line).
rc=0
$cs sweep "${crash[@]}" --batch --seed "$seed" --timeout-per-run 2 --out "$WORK/slow.h5" >"$WORK/slow.log" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "timeout: exit $rc, expected 1: $(tail -n 3 "$WORK/slow.log")"
runs_of "$WORK/slow.h5" >"$WORK/slow.tsv"
[[ $(grep -c $'\tok\t' "$WORK/slow.tsv") == 2 ]] || fail "timeout: $(cat "$WORK/slow.tsv")"
grep '/4G/' "$WORK/slow.tsv" | grep -q "timed out" || fail "timeout: the 4G run: $(cat "$WORK/slow.tsv")"
echo "ok: a run over its time limit stopped alone"

# 4. kill -9 of a batch sweep halfway, then --resume: every (cell, round) exactly once.
resume=(--kernels triad,ep --modes serial,threads --workers 1,2 --size S --reps 2 --warmup 0 --rounds 3)
$cs sweep "${resume[@]}" --batch --out "$WORK/r.h5" >"$WORK/r1.log" 2>&1 &
sweep=$!
for _ in $(seq 1 600); do
  (($(grep -c '^\[' "$WORK/r1.log" || true) >= 8)) && break
  kill -0 $sweep 2>/dev/null || break
  sleep 0.05
done
kill -9 $sweep 2>/dev/null || fail "the sweep ended before it could be killed"
wait $sweep 2>/dev/null || true
$cs sweep "${resume[@]}" --batch --resume -q --out "$WORK/r.h5" || fail "resume"
runs_of "$WORK/r.h5" >"$WORK/r.tsv"
ok_pairs=$(awk -F'\t' '$2 == "ok" {print $1, $4}' "$WORK/r.tsv" | sort | uniq -c)
[[ $(wc -l <<<"$ok_pairs") == 18 ]] || fail "resume: $(wc -l <<<"$ok_pairs") (cell, round) pairs ok, expected 18"
awk '$1 != 1' <<<"$ok_pairs" | grep -q . && fail "resume: a run twice: $(awk '$1 != 1' <<<"$ok_pairs")"
echo "ok: killed and resumed: 18 runs, each once"
finish
