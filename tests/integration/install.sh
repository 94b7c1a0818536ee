#!/usr/bin/env bash
# `cmake --install` into a temporary prefix: the installed corescope runs the serial mode and, where
# this build installs the Python driver, a Python mode, and the installed corescope-report writes
# the report of that file, all from another directory and with the source and build trees hidden
# (a tmpfs over each in a mount namespace of their own, where unshare can make one: root), so that
# a copy that still reads either of them fails here. The prefix goes with WORK.
source "$(dirname "$0")/common.sh"
: "${CORESCOPE_BUILD:?set CORESCOPE_BUILD to the build tree}"
: "${CORESCOPE_SOURCE:?set CORESCOPE_SOURCE to the source tree}"
export CORESCOPE_BUILD CORESCOPE_SOURCE  # read by the hiding shell below
prefix=$WORK/prefix
elsewhere=$WORK/elsewhere
mkdir -p "$elsewhere"

if ! cmake --install "$CORESCOPE_BUILD" --prefix "$prefix" >"$WORK/install.log" 2>&1; then
  fail "cmake --install: $(tail -n 5 "$WORK/install.log")"
  finish
fi
for f in bin/corescope bin/corescope-report; do
  [[ -x $prefix/$f ]] || fail "$f is not installed"
done
[[ -f $prefix/share/corescope/analysis/corescope_analysis/__init__.py ]] || fail "corescope_analysis is not installed"
# The Python modes are the build's (its list), so that an install without their driver fails.
py_mode=""
if "$CORESCOPE" list | grep -qE '^py-threads +yes' && "$PYTHON" -c "import numpy" 2>/dev/null; then
  py_mode=py-threads
else
  echo "note: this build has no Python modes (or $PYTHON no numpy): the Python mode is left out"
fi

# Hidden trees: the build tree first, as it may lie inside the source tree.
can_hide=0
if unshare -m true 2>/dev/null; then can_hide=1; else echo "note: no mount namespace (not root?): the trees stay visible"; fi
installed() {  # installed CMD ARGS...: runs $prefix/bin/CMD in $elsewhere, the trees hidden
  if ((can_hide)); then
    (cd "$elsewhere" && unshare -m bash -c '
      for d in "$CORESCOPE_BUILD" "$CORESCOPE_SOURCE"; do
        if [[ -d $d ]]; then mount -t tmpfs -o size=1m hidden "$d" || exit 99; fi
      done
      [[ ! -e $CORESCOPE_SOURCE/CMakeLists.txt ]] || exit 98
      exec "$@"' installed "$prefix/bin/$1" "${@:2}")
  else
    (cd "$elsewhere" && "$prefix/bin/$1" "${@:2}")
  fi
}

out=x.h5
runs=1
installed corescope run -k triad -m serial -w 1 -s S -r 3 -o "$out" >"$WORK/serial.log" 2>&1 ||
  fail "installed corescope run -m serial: $(tail -n 3 "$WORK/serial.log")"
if [[ -n $py_mode ]]; then
  runs=2
  installed corescope run -k ep -m "$py_mode" -w 2 -s S -r 3 -o "$out" >"$WORK/py.log" 2>&1 ||
    fail "installed corescope run -m $py_mode: $(tail -n 3 "$WORK/py.log")"
fi
installed corescope-report "$out" -o rep >"$WORK/report.log" 2>&1 ||
  fail "installed corescope-report: $(tail -n 3 "$WORK/report.log")"

"$PYTHON" - "$elsewhere/$out" "$runs" <<'PY' || fail "the installed corescope's file"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    r = f["runs"]
    text = lambda c: [x.decode() for x in r[c][...]]
    assert len(r["run_id"]) == int(sys.argv[2]), f"{len(r['run_id'])} runs, expected {sys.argv[2]}"
    assert all(s == "ok" for s in text("status")), text("status")
    assert all(v == 1 for v in r["verified"][...]), "a run not verified"
    print("ok: runs in modes", text("mode"), "ok and verified")
PY
page=$elsewhere/rep/index.html
if [[ -s $page ]] && grep -q 'corescope' "$page"; then
  echo "ok: report $(wc -c <"$page") bytes"
else
  fail "no report page at $page"
fi
rm -rf "$prefix"
[[ ! -e $prefix ]] || fail "the prefix is still there"
finish
