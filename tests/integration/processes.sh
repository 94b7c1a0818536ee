#!/usr/bin/env bash
# The processes mode through the CLI: pingpong over every channel verifies and records one row
# per message size; a worker killed with SIGKILL mid-run is reported in one line (exit 1, run
# recorded as failed) with no process, zombie, /dev/shm segment or temp file left, and so is a
# SIGINT or SIGTERM to corescope itself; bad input gets one line and exit 2.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
out=$WORK/p.h5
export TMPDIR=$WORK/tmp  # the teams' temp dirs go here, so leftovers are easy to see
mkdir -p "$TMPDIR"

shm_leftovers() { ls /dev/shm | grep -c "^corescope-$1-" || true; }

# 1. Every channel: a small size sweep, verified, one row per size with latency and bandwidth.
for ch in shm pipe file socket; do
  $cs run -k pingpong -m processes -w 2 --channel $ch -s 8:64 -r 3 -o "$out" -q || fail "pingpong over $ch"
done
$cs run -k pingpong -m threads -w 3 --channel event -s 1K -r 3 -o "$out" -q || fail "pingpong over event"
"$PYTHON" - "$out" <<'PY' || fail "pingpong rows"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    r = f["runs"]
    rows = [(r["mode"][i].decode(), r["channel"][i].decode(), int(r["size"][i]), int(r["verified"][i]),
             float(r["latency_s"][i]), float(r["gbytes_per_s"][i])) for i in range(len(r["run_id"]))]
for ch in ("shm", "pipe", "file", "socket"):
    sizes = sorted(s for m, c, s, *_ in rows if m == "processes" and c == ch)
    assert sizes == [8, 16, 32, 64], (ch, sizes)
assert any(m == "threads" and c == "event" for m, c, *_ in rows)
for m, c, s, ok, lat, bw in rows:
    # gbytes_per_s comes from whole repetitions (a preempted round trip slows the repetition),
    # latency_s from the median round trip: the rate can fall below size / latency, never rise above.
    assert ok == 1 and lat > 0 and 0 < bw <= 1.5 * s / lat / 1e9, (m, c, s, ok, lat, bw)
print("ok: one verified row per size and channel, gbytes_per_s <= size / latency_s")
PY
[[ -z "$(ls -A "$TMPDIR")" ]] || fail "temp files left after normal runs: $(ls "$TMPDIR")"

# 2. SIGKILL one worker mid-run, for every channel.
for ch in shm pipe file socket; do
  $cs run -k pingpong -m processes -w 3 --channel $ch -s 8 -r 1000000 -o "$out" -q 2>"$WORK/kill.err" &
  pid=$!
  workers=()
  for _ in $(seq 1 100); do  # wait until all three workers run
    mapfile -t workers < <(pgrep -P $pid || true)
    ((${#workers[@]} == 3)) && break
    sleep 0.05
  done
  if ((${#workers[@]} != 3)); then
    fail "$ch: the workers did not start"
    kill -9 $pid
    wait $pid || true
    continue
  fi
  sleep 0.5
  victim=$(printf '%s\n' "${workers[@]}" | sort -n | sed -n 2p)  # forked second: worker 1
  kill -9 "$victim"
  rc=0
  timeout 20 tail --pid=$pid -f /dev/null || fail "$ch: corescope still running 20 s after its worker was killed"
  wait $pid || rc=$?
  [[ $rc -eq 1 ]] || fail "$ch: exit $rc after a worker was killed, expected 1"
  [[ $(wc -l <"$WORK/kill.err") -eq 1 ]] || fail "$ch: expected one line on stderr: $(cat "$WORK/kill.err")"
  grep -q "worker 1: killed by signal 9" "$WORK/kill.err" || fail "$ch: message does not name the dead worker: $(cat "$WORK/kill.err")"
  echo "ok: $ch: $(cat "$WORK/kill.err")"
  for w in "${workers[@]}"; do
    [[ ! -e /proc/$w ]] || fail "$ch: worker process $w is still there ($(cat /proc/$w/stat 2>/dev/null | cut -d' ' -f3))"
  done
  [[ $(shm_leftovers $pid) -eq 0 ]] || fail "$ch: shared-memory segment left in /dev/shm"
  [[ -z "$(ls -A "$TMPDIR")" ]] || fail "$ch: temp files left: $(ls "$TMPDIR")"
done
"$PYTHON" - "$out" <<'PY' || fail "killed runs recorded as failed"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    r = f["runs"]
    failed = [r["channel"][i].decode() for i in range(len(r["run_id"])) if r["status"][i] == b"failed"]
assert sorted(failed) == ["file", "pipe", "shm", "socket"], failed
print("ok: every killed run is in the file with status failed")
PY

# 3. Ctrl-C or SIGTERM to the supervisor: the team is stopped and cleaned up, then the signal
#    ends corescope as it would have (exit 128 + signal).
for sig in INT TERM; do
  rc=0
  # env --default-signal: a background job's SIGINT may be ignored, and an ignored signal stays so.
  timeout --preserve-status -k 10 -s $sig 1.5 env --default-signal=INT,TERM $cs run -k pingpong -m processes -w 3 --channel file -s 8 -r 1000000 \
    -o "$out" -q 2>/dev/null || rc=$?
  want=$((128 + $(kill -l $sig)))
  [[ $rc -eq $want ]] || fail "SIG$sig: exit $rc, expected $want"
  [[ -z "$(ls -A "$TMPDIR")" ]] || fail "SIG$sig: temp files left: $(ls "$TMPDIR")"
  [[ -z "$(pgrep -f -- "-r 1000000 -o $out")" ]] || fail "SIG$sig: worker processes left"
  echo "ok: SIG$sig stops the team and leaves nothing"
done

# 4. Bad input.
expect_usage_error "unknown channel" $cs run -k pingpong -m processes -w 2 --channel pigeon -o "$out"
grep -q "shm, pipe, file, socket" "$WORK/err" || fail "unknown channel message lists the channels"
expect_usage_error "channel the mode lacks" $cs run -k pingpong -m threads -w 2 --channel shm -o "$out"
grep -q "atomic, event" "$WORK/err" || fail "the message lists the mode's channels"
expect_usage_error "pingpong with one worker" $cs run -k pingpong -m processes -w 1 -o "$out"
expect_usage_error "size range backwards" $cs run -k pingpong -m processes -w 2 -s 4M:8 -o "$out"
TMPDIR=/proc/self/not-a-dir expect_usage_error "temp dir not writable" $cs run -k ep -m processes -w 2 -s S -o "$out"
grep -q "TMPDIR" "$WORK/err" || fail "the temp dir message says what to do"
expect_usage_error "/dev/shm too small" $cs run -k pingpong -m processes -w 3000 --channel shm -s 8 -o "$out"
grep -q "/dev/shm" "$WORK/err" || fail "the shared-memory message names /dev/shm"
[[ -z "$(ls -A "$TMPDIR")" ]] || fail "temp files left after bad input: $(ls "$TMPDIR")"
finish
