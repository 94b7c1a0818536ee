#!/usr/bin/env bash
# The Python modes (docs/user/python.md): every Python kernel verified in every Python mode and variant,
# the driver's kernel list agreeing with corescope's, the refusal of kernels a Python mode cannot
# run, the python columns of /runs (free-threaded detection with a faked interpreter), ep's hit
# count equal to the C++ kernel's, and crashes, kills and hangs that leave no process behind.
source "$(dirname "$0")/common.sh"
PY=/usr/bin/python3
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: $PY has no numpy (python3-numpy)"; exit 77; }
OUT=$WORK/py.h5
export PYTHONPATH="$CORESCOPE_SOURCE/python"

col() {  # col FILE COLUMN: /runs COLUMN, one value per line
  "$PY" - "$1" "$2" <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1]) as f:
    for v in f["runs"][sys.argv[2]][:]:
        print(v.decode() if isinstance(v, bytes) else v)
PYEOF
}
last() { col "$1" "$2" | tail -1; }

# --- the decision a free-threaded interpreter is recognised by -------------------------------------
"$PY" - <<'PYEOF' || fail "decide_gil"
from corescope_py.probe import decide_gil
assert decide_gil(None, False) == 1          # 3.12 and older: always a GIL
assert decide_gil(None, True) == 0           # a free-threaded build without the probe
assert decide_gil(lambda: False, True) == 0  # 3.13t: GIL off
assert decide_gil(lambda: True, True) == 1   # 3.13t with PYTHON_GIL=1
assert decide_gil(lambda: True, False) == 1
print("ok: decide_gil")
PYEOF

# --- every kernel x every Python mode -----------------------------------------------------------------
kernels=$("$CORESCOPE" list | awk '/^Kernels/{k=1; next} /^$/{k=0} k && /^[a-z]/ && $1 != "name" {print $1}')
driver_list=$("$PY" -m corescope_py list)
variants() {  # the params/channels each kernel is run with (each value of its Python variants)
  case $1 in
    ep) echo "-pimpl=python -pimpl=numpy" ;;
    iowait) echo "-pwait=sleep -pwait=fsync -pwait=pipe" ;;
    critical) echo "-psync=none -psync=mutex -psync=reduce" ;;
    farm) echo "-pschedule=static -pschedule=dynamic" ;;
    pingpong) echo "--channel=pipe --channel=queue --channel=shm" ;;
    *) echo "-pseed=1" ;;  # no variant: a placeholder the next case strips
  esac
}
runs=0
for mode in py-threads py-processes py-pool; do
  for k in $kernels; do
    if grep -qE "^$k( .*)? $mode( |\$)" <<<"$driver_list"; then
      for v in $(variants "$k"); do
        [[ $v == -pseed=1 && $k != ep && $k != farm ]] && v=""
        [[ $k == convoy ]] && size=10 || size=S
        if "$CORESCOPE" run -k "$k" -m "$mode" -w 2 -s "$size" -r 2 --warmup 1 $v -o "$OUT" -q >"$WORK/log" 2>&1; then
          runs=$((runs + 1))
        else
          fail "$k in $mode ($v): $(tail -2 "$WORK/log")"
        fi
      done
    else
      expect_usage_error "$k refused by $mode" "$CORESCOPE" run -k "$k" -m "$mode" -w 2 -s S -r 1 -o "$OUT"
      grep -q "does not run kernel $k" "$WORK/err" || fail "$k in $mode: refusal does not say why"
    fi
  done
done
echo "ok: $runs Python runs verified"
# iowait's fsync files go with their run: a pool process's too (it keeps its waiter for the run)
mkdir -p "$WORK/iowait_tmp"
for mode in py-threads py-processes py-pool; do
  TMPDIR="$WORK/iowait_tmp" "$CORESCOPE" run -k iowait -m "$mode" -w 2 -s S -r 2 -pwait=fsync -o "$OUT" -q \
    || fail "iowait fsync in $mode"
  left=$(ls -A "$WORK/iowait_tmp")
  [[ -z $left ]] || fail "iowait fsync in $mode left files behind in TMPDIR: $left"
done
echo "ok: iowait's fsync files removed in every Python mode"
# corescope's table and the driver's list name the same kernels per mode
for mode in py-threads py-processes py-pool; do
  want=$(grep -E " $mode( |\$)" <<<"$driver_list" | cut -d' ' -f1 | tr '\n' ' ')
  for k in $want; do "$CORESCOPE" run -k "$k" -m "$mode" -s S -r 1 -w 2 --size 0 -o "$OUT" >/dev/null 2>"$WORK/err" || true
    grep -q "does not run kernel" "$WORK/err" && fail "corescope refuses $k in $mode, the driver has it"; done
done
[[ $(col "$OUT" status | sort -u) == ok ]] || fail "a Python run was not ok: $(col "$OUT" status | sort | uniq -c)"
[[ $(col "$OUT" verified | sort -u) == 1 ]] || fail "a Python run did not verify"

# py-threads takes --switch-interval (sys.setswitchinterval), recorded as switch_interval_s; the
# process modes do not (an interpreter per worker), nor does a value out of range
"$CORESCOPE" run -k convoy -m py-threads -w 2 -s 10 -r 2 --switch-interval 0.001 -o "$OUT" -q || fail "py-threads --switch-interval"
[[ $(last "$OUT" switch_interval_s) == 0.001 ]] || fail "switch interval not recorded: $(last "$OUT" switch_interval_s)"
"$CORESCOPE" run -k convoy -m py-threads -w 2 -s 10 -r 2 -o "$OUT" -q || fail "py-threads, default interval"
[[ $(last "$OUT" switch_interval_s) == 0.005 ]] || fail "default switch interval not recorded: $(last "$OUT" switch_interval_s)"
expect_usage_error "py-processes --switch-interval" "$CORESCOPE" run -k ep -m py-processes --switch-interval 0.001 -o "$OUT"
expect_usage_error "py-threads --switch-interval 0" "$CORESCOPE" run -k ep -m py-threads --switch-interval 0 -o "$OUT"

# spawn and forkserver
for sm in spawn forkserver; do
  "$CORESCOPE" run -k critical -m py-processes -w 2 -s S -r 2 --start-method $sm -o "$OUT" -q || fail "py-processes --start-method $sm"
  [[ $(last "$OUT" start_method) == "$sm" ]] || fail "start_method $sm not recorded"
  "$CORESCOPE" run -k triad -m py-pool -w 2 -s S -r 2 --start-method $sm -o "$OUT" -q || fail "py-pool --start-method $sm"
done

# --- the python columns ---------------------------------------------------------------------------------
"$CORESCOPE" run -k ep -m py-threads -w 2 -s 20011 -r 1 -o "$WORK/cols.h5" -q
"$CORESCOPE" run -k ep -m py-processes -w 2 -s 20011 -r 1 -p impl=numpy -o "$WORK/cols.h5" -q
"$CORESCOPE" run -k ep -m py-pool -w 2 -s 20011 -r 1 -o "$WORK/cols.h5" -q
"$CORESCOPE" run -k ep -m serial -s 20011 -r 1 -o "$WORK/cols.h5" -q
version=$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
[[ $(col "$WORK/cols.h5" python | tr '\n' ,) == "$PY,$PY,$PY,," ]] || fail "python column: $(col "$WORK/cols.h5" python | tr '\n' ,)"
[[ $(col "$WORK/cols.h5" python_version | tr '\n' ,) == "$version,$version,$version,," ]] || fail "python_version column"
[[ $(col "$WORK/cols.h5" python_gil | tr '\n' ,) == "1,1,1,-1," ]] || fail "python_gil column: $(col "$WORK/cols.h5" python_gil | tr '\n' ,)"
[[ $(col "$WORK/cols.h5" start_method | tr '\n' ,) == ",fork,fork,," ]] || fail "start_method column"
# ep's hits are the C++ kernel's, in every mode and implementation
[[ $(col "$WORK/cols.h5" ep_hits | sort -u | wc -l) == 1 ]] || fail "ep_hits differ: $(col "$WORK/cols.h5" ep_hits | tr '\n' ' ')"
# a free-threaded interpreter, faked: sys._is_gil_enabled says False
cat >"$WORK/python3t" <<FAKE
#!/bin/sh
shift 2  # -m corescope_py
exec $PY -c 'import sys, runpy; sys._is_gil_enabled = lambda: False; sys.argv[0] = "corescope_py"; runpy.run_module("corescope_py", run_name="__main__")' "\$@"
FAKE
chmod +x "$WORK/python3t"
"$CORESCOPE" run -k ep -m py-threads -w 2 -s S -r 1 --python "$WORK/python3t" -o "$WORK/ft.h5" -q || fail "run with the faked interpreter"
[[ $(last "$WORK/ft.h5" python_gil) == 0 ]] || fail "free-threaded interpreter not detected"

# --- user mistakes -----------------------------------------------------------------------------------------
expect_usage_error "--python not executable" "$CORESCOPE" run -k ep -m py-threads --python /nonexistent/python -o "$OUT"
expect_usage_error "--python on a C++ mode" "$CORESCOPE" run -k ep -m threads --python "$PY" -o "$OUT"
expect_usage_error "--start-method on py-threads" "$CORESCOPE" run -k ep -m py-threads --start-method spawn -o "$OUT"
expect_usage_error "--start-method unknown" "$CORESCOPE" run -k ep -m py-processes --start-method vfork -o "$OUT"
expect_usage_error "sync=atomic in Python" "$CORESCOPE" run -k critical -m py-threads -p sync=atomic -o "$OUT"
expect_usage_error "pingpong in py-pool" "$CORESCOPE" run -k pingpong -m py-pool -o "$OUT"

# --- crashes and kills: a failed run, nothing left behind -------------------------------------------------
# A unique interpreter path marks every process of the team (fork and spawn children show it too).
MARK=$WORK/corescope-pytest-$$
mkdir -p "$MARK" && ln -s "$PY" "$MARK/python3"
leftovers() { pgrep -f "$MARK/python3" || true; }
for spec in "py-threads abort:1 SIGABRT" "py-threads segv:0 SIGSEGV" "py-processes segv:1 worker 1" "py-processes abort:0 worker 0" \
            "py-processes raise:1 RuntimeError" "py-pool exit:1 BrokenProcessPool" "py-pool abort:0 BrokenProcessPool" "py-pool raise:1 RuntimeError"; do
  read -r mode fault why <<<"$spec"
  rc=0
  CORESCOPE_PY_FAULT=$fault "$CORESCOPE" run -k ep -m "$mode" -w 2 -s S -r 3 --python "$MARK/python3" -o "$WORK/f.h5" -q \
    >/dev/null 2>"$WORK/ferr" || rc=$?
  [[ $rc == 1 ]] || fail "$mode $fault: exit $rc, expected 1"
  [[ $(last "$WORK/f.h5" status) == failed ]] || fail "$mode $fault: not recorded as failed"
  last "$WORK/f.h5" error | grep -q "$why" || fail "$mode $fault: error '$(last "$WORK/f.h5" error)' does not say '$why'"
  sleep 0.2
  [[ -z $(leftovers) ]] && echo "ok: $mode $fault -> failed run, no process left" || fail "$mode $fault left $(leftovers)"
done
# corescope itself killed while a worker hangs: its driver and every worker go with it
for mode in py-threads py-processes py-pool; do
  for sig in KILL TERM; do
    CORESCOPE_PY_FAULT=hang:1 "$CORESCOPE" run -k ep -m "$mode" -w 2 -s S -r 3 --python "$MARK/python3" -o "$WORK/k.h5" -q \
      >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do [[ $(leftovers | wc -l) -ge 2 ]] && break; sleep 0.1; done
    sleep 0.5
    kill -$sig $pid
    wait $pid 2>/dev/null || true
    for _ in $(seq 50); do [[ -z $(leftovers) ]] && break; sleep 0.1; done
    [[ -z $(leftovers) ]] && echo "ok: $mode, corescope got SIG$sig -> no process left" || {
      fail "$mode SIG$sig left: $(leftovers | tr '\n' ' ')"; pkill -KILL -f "$MARK/python3" || true; }
  done
done
finish
