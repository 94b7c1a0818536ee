#!/usr/bin/env bash
# The function-length check (.ci/function-lengths.py): the tree passes (every function over 80
# lines is named in .ci/long-functions.txt with a reason), a planted long function fails naming
# its file and line, and a stale exception fails too.
source "$(dirname "$0")/common.sh"
check=$CORESCOPE_SOURCE/.ci/function-lengths.py

"$PYTHON" "$check" --check "$CORESCOPE_SOURCE" >"$WORK/tree.log" 2>&1 || fail "the tree: $(cat "$WORK/tree.log")"
echo "ok: $(tail -n 1 "$WORK/tree.log")"

root=$WORK/planted
mkdir -p "$root/src/core" "$root/analysis" "$root/.ci"
{
  printf '// planted\nnamespace corescope {\nint planted(int n) {\n'
  for i in $(seq 1 85); do printf '  n += %d;  // { a brace in a comment }\n' "$i"; done
  printf '  return n;\n}\n}  // namespace corescope\n'
} >"$root/src/core/planted.cpp"
rc=0
"$PYTHON" "$check" --check "$root" >"$WORK/plant.log" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "a planted 88-line function: exit $rc, expected 1: $(cat "$WORK/plant.log")"
grep -q "^src/core/planted.cpp:3: planted is 88 lines" "$WORK/plant.log" || fail "the planted function is not named: $(cat "$WORK/plant.log")"
echo "ok: refused: $(grep -m 1 "is 88 lines" "$WORK/plant.log")"

printf 'src/core/planted.cpp:planted  planted\nsrc/core/gone.cpp:gone  no longer there\n' >"$root/.ci/long-functions.txt"
rc=0
"$PYTHON" "$check" --check "$root" >"$WORK/stale.log" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "a stale exception: exit $rc, expected 1: $(cat "$WORK/stale.log")"
grep -q "src/core/gone.cpp:gone is no longer over 80 lines" "$WORK/stale.log" || fail "the stale exception is not named: $(cat "$WORK/stale.log")"
grep -q "planted is 88" "$WORK/stale.log" && fail "a named exception was refused: $(cat "$WORK/stale.log")"
echo "ok: refused: $(grep -m 1 "no longer" "$WORK/stale.log")"
finish
