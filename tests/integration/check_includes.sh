#!/usr/bin/env bash
# The include-direction check (.ci/check-includes.py): the tree passes, and an include planted
# against the layers (core including cli, a backend including sweep, kernels including a
# backend) fails with the offending file and line.
source "$(dirname "$0")/common.sh"
check=$CORESCOPE_SOURCE/.ci/check-includes.py

"$PYTHON" "$check" "$CORESCOPE_SOURCE" >"$WORK/tree.log" 2>&1 || fail "the tree breaks its layers: $(cat "$WORK/tree.log")"
echo "ok: the tree's includes point down"

plant() {  # plant FILE INCLUDE: a tree with one file that includes INCLUDE must fail, naming it
  local root=$WORK/planted.$RANDOM
  mkdir -p "$root/$(dirname "$1")"
  printf '// planted\n#include <vector>\n#include "%s"\n' "$2" >"$root/$1"
  local rc=0
  "$PYTHON" "$check" "$root" >"$WORK/plant.log" 2>&1 || rc=$?
  [[ $rc == 1 ]] || fail "planted $1 -> $2: exit $rc, expected 1"
  grep -q "^$1:3: " "$WORK/plant.log" || fail "planted $1 -> $2: the file and line are not named: $(cat "$WORK/plant.log")"
  echo "ok: $1 including $2 is refused: $(head -n 1 "$WORK/plant.log")"
}
plant src/core/run_loop.cpp cli/commands.hpp
plant src/core/results.hpp record/recorder.hpp
plant src/backends/mpi/mpi_support.cpp sweep/launch.hpp
plant kernels/triad.cpp backends/registry.hpp
plant src/backends/serial/serial_mode.cpp kernels/registry.hpp
plant src/record/recorder.cpp isolate/fault.hpp
plant src/sweep/plan.cpp cli/table_printer.hpp
finish
