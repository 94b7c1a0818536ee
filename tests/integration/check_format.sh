#!/usr/bin/env bash
# The format check (.ci/check-format.py): the tree is as clang-format 14 writes it under
# .clang-format and has no Python line over 120 columns; a planted unformatted C++ file and a
# planted long Python line fail, each named with its file and line. Skipped (77) without
# clang-format-14 (Debian 13 ships another version).
source "$(dirname "$0")/common.sh"
check=$CORESCOPE_SOURCE/.ci/check-format.py
command -v clang-format-14 >/dev/null || { echo "skipped: clang-format-14 is not installed"; exit 77; }

"$PYTHON" "$check" "$CORESCOPE_SOURCE" >"$WORK/tree.log" 2>&1 || fail "the tree: $(cat "$WORK/tree.log")"
echo "ok: $(tail -n 1 "$WORK/tree.log")"

root=$WORK/planted
mkdir -p "$root/src/core" "$root/analysis"
cp "$CORESCOPE_SOURCE/.clang-format" "$root/"
cp "$CORESCOPE_SOURCE/src/core/text.hpp" "$root/src/core/formatted.hpp"
printf '// planted\nnamespace corescope {\nint planted( int n ){ return n+1; }\n}  // namespace corescope\n' \
  >"$root/src/core/planted.cpp"
printf 'def planted():\n    return "%s"\n' "$(printf 'x%.0s' $(seq 1 120))" >"$root/analysis/planted.py"
rc=0
"$PYTHON" "$check" "$root" >"$WORK/plant.log" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "planted unformatted files: exit $rc, expected 1: $(cat "$WORK/plant.log")"
grep -q "^src/core/planted.cpp:3: not formatted" "$WORK/plant.log" ||
  fail "the unformatted C++ file is not named with its line: $(cat "$WORK/plant.log")"
grep -q "^analysis/planted.py:2: 133 columns" "$WORK/plant.log" ||
  fail "the long Python line is not named: $(cat "$WORK/plant.log")"
grep -q "formatted.hpp" "$WORK/plant.log" && fail "a formatted file was refused: $(cat "$WORK/plant.log")"
echo "ok: refused: $(head -n 2 "$WORK/plant.log" | tr '\n' ';')"
finish
