#!/usr/bin/env bash
# The guide's relative links resolve (tests/integration/doc_links.py): the tree passes, and a
# copy of it with a link planted to a missing file fails, naming the file, line and target.
set -euo pipefail
SOURCE=${CORESCOPE_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
check=$SOURCE/tests/integration/doc_links.py
WORK=$(mktemp -d /tmp/corescope-doclinks.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

if "$PYTHON" "$check" "$SOURCE" >"$WORK/tree.log" 2>&1; then
  echo "ok: every relative link in README.md, docs/, jobs/README.md, analysis/README.md resolves"
else
  fail "broken links in the tree: $(cat "$WORK/tree.log")"
fi

plant() {  # plant PAGE: a copy whose PAGE links to a missing file must fail, naming PAGE and line
  local root=$WORK/planted.$RANDOM
  mkdir -p "$root"
  (cd "$SOURCE" && tar cf - README.md docs jobs/README.md analysis/README.md) | (cd "$root" && tar xf -)
  mkdir -p "$root/$(dirname "$1")"
  printf '\nSee [the missing page](no-such-page.md) and `[not a link](in-code.md)`.\n' >>"$root/$1"
  local line rc=0
  line=$(wc -l <"$root/$1")
  "$PYTHON" "$check" "$root" >"$WORK/plant.log" 2>&1 || rc=$?
  [[ $rc == 1 ]] || fail "planted link in $1: exit $rc, expected 1"
  grep -qx "$1:$line: no-such-page.md" "$WORK/plant.log" || fail "planted link in $1: not named: $(cat "$WORK/plant.log")"
  ! grep -q in-code.md "$WORK/plant.log" || fail "a link inside inline code was checked"
  echo "ok: a broken link in $1 is caught: $(head -n 1 "$WORK/plant.log")"
}
plant README.md
plant docs/README.md
plant jobs/README.md
plant analysis/README.md

[[ $failures == 0 ]] || { echo "$failures failure(s)" >&2; exit 1; }
echo "doc_links: all checks passed"
