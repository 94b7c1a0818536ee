#!/usr/bin/env bash
# Every jobs/local study script at test size (CORESCOPE_TEST_SIZE=1): each leaves its HDF5 file
# with every cell once, ok and verified; run again, a study resumes and adds nothing. The
# isolation study needs `corescope isolate`; without it the script must say so and exit 3.
# noise_check prints figures into files of its own: it must end well and print its parts.
# CORESCOPE_TEST_SKIP_STUDIES="a b" leaves those studies out.
source "$(dirname "$0")/common.sh"
src=${CORESCOPE_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
export CORESCOPE CORESCOPE_TEST_SIZE=1
cd "$WORK"

check() {  # check STUDY FILE
  "$PYTHON" - "$@" <<'PY'
import sys, h5py
study, path = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    runs = f["runs"]
    text = lambda c: [x.decode() for x in runs[c][...]]
    n, cells, status = len(runs["run_id"]), text("cell"), text("status")
    assert n > 0, "no runs"
    bad = [f"{c}: {s} {e}" for c, s, e, v in zip(cells, status, text("error"), runs["verified"][...]) if s != "ok" or v != 1]
    assert not bad, bad
    rounds = [int(x) for x in runs["round"][...]]
    assert len(set(zip(cells, rounds))) == n, "a cell twice in one round"
    print(f"{study}: {len(set(cells))} cells x {len(set(rounds))} rounds, all ok and verified; modes {sorted(set(text('mode')))}")
PY
}

for script in "$src"/jobs/local/*.sh; do
  study=$(basename "$script" .sh)
  [[ $study == common || $study == quickstart ]] && continue  # quickstart builds; CI runs it as the README's command
  if [[ " ${CORESCOPE_TEST_SKIP_STUDIES:-} " == *" $study "* ]]; then  # e.g. the asan stage: isolation
    echo "$study: skipped (CORESCOPE_TEST_SKIP_STUDIES)"
    continue
  fi
  rc=0
  if [[ $study == noise_check ]]; then  # prints figures into several files of its own
    OUT_DIR=$WORK/noise timeout 600 bash "$script" >"$WORK/$study.log" 2>&1 || rc=$?
    [[ $rc == 0 ]] || fail "noise_check: exit $rc: $(tail -n 5 "$WORK/$study.log")"
    for part in "three independent sweeps" "max/min" "A/A" "20 %-slower" "slowed-ep-default:" "slowed-iowait-default:"; do
      grep -q -- "$part" "$WORK/$study.log" || fail "noise_check: no '$part' in its output: $(tail -n 5 "$WORK/$study.log")"
    done
    # Part 3's slowed build ran, and its ep answers the same as the unchanged kernel's.
    [[ -x $WORK/noise/slowed-build/build/corescope ]] || fail "noise_check: no slowed build"
    "$PYTHON" - "$WORK/noise/aa_a.h5" "$WORK/noise/slow_ep.h5" <<'PY' || fail "noise_check: the slowed ep's answer is not the kernel's"
import sys, h5py
def hits(path):  # ep_hits of the file's ep serial runs
    with h5py.File(path, "r") as f:
        r = f["runs"]
        keep = [k.decode() == "ep" and m.decode() == "serial" for k, m in zip(r["kernel"][...], r["mode"][...])]
        return {float(h) for h, k in zip(r["ep_hits"][...], keep) if k}
a, b = hits(sys.argv[1]), hits(sys.argv[2])
assert len(a) == 1 and a == b, (a, b)
PY
    continue
  fi
  OUT=$WORK/$study.h5 timeout 600 bash "$script" >"$WORK/$study.log" 2>&1 || rc=$?
  if [[ $study == isolation ]] && ! "$CORESCOPE" --help | grep -q '^ *isolate '; then
    if [[ $rc == 3 ]] && grep -q "has no 'isolate' command" "$WORK/$study.log"; then
      echo "isolation: skipped: this corescope has no 'isolate' command yet (the script says so, exit 3)"
    else
      fail "isolation without 'isolate': exit $rc, $(tail -n 2 "$WORK/$study.log")"
    fi
    continue
  fi
  if [[ $rc != 0 ]]; then
    fail "$study: exit $rc: $(tail -n 5 "$WORK/$study.log")"
    continue
  fi
  if [[ $study == isolation ]]; then
    "$PYTHON" -c "import h5py,sys; assert len(h5py.File(sys.argv[1],'r')['isolation/mode']) > 0" "$WORK/$study.h5" ||
      fail "isolation: no /isolation rows"
    continue
  fi
  check "$study" "$WORK/$study.h5" || fail "$study: results file"
done

# A study run again resumes: nothing new.
if [[ " ${CORESCOPE_TEST_SKIP_STUDIES:-} " != *" strong "* ]]; then
  before=$("$PYTHON" -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['runs/run_id']))" "$WORK/strong.h5")
  OUT=$WORK/strong.h5 bash "$src/jobs/local/strong.sh" >"$WORK/again.log" 2>&1 || fail "strong again: $(tail -n 3 "$WORK/again.log")"
  after=$("$PYTHON" -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['runs/run_id']))" "$WORK/strong.h5")
  [[ $before == "$after" ]] || fail "strong.sh run again added $((after - before)) rows"
fi
finish
