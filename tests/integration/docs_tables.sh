#!/usr/bin/env bash
# The docs' tables of kernels, options and modes are `corescope list --format markdown`: every
# block between `<!-- corescope list --format markdown: SECTIONS -->` and `<!-- end of corescope
# list -->` in README.md and docs/ holds exactly those sections' tables (README.md has the modes,
# docs/user/kernels.md the kernels and their options); a changed row is caught.
source "$(dirname "$0")/common.sh"

"$CORESCOPE" list --format markdown >"$WORK/list.md" || fail "list --format markdown: exit $?"
check() {  # check ROOT: every marked block under ROOT matches; prints the blocks checked
  "$PYTHON" - "$WORK/list.md" "$1" <<'PY'
import glob, os, re, sys
listing, root = open(sys.argv[1]).read(), sys.argv[2]
sections = {}
for part in listing.split("### ")[1:]:
    title, _, body = part.partition("\n")
    sections[title.split()[0].lower()] = body.strip("\n")
block = re.compile(r"<!-- corescope list --format markdown: ([a-z,]+) -->\n(.*?)\n<!-- end of corescope list -->", re.S)
files = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "**", "*.md"), recursive=True))
seen, bad = [], []
for path in files:
    for m in block.finditer(open(path).read()):
        names = m.group(1).split(",")
        missing = [n for n in names if n not in sections]
        want = "\n\n".join(sections[n] for n in names if n in sections)
        rel = os.path.relpath(path, root)
        seen.append(f"{rel}: {m.group(1)}")
        if missing or m.group(2).strip("\n") != want:
            bad.append(f"{rel}: the {m.group(1)} tables differ from `corescope list --format markdown`"
                       + (f" (no section {missing})" if missing else "") + "; paste its output there again")
for b in bad:
    print(b, file=sys.stderr)
print("checked: " + "; ".join(seen))
sys.exit(1 if bad else 0)
PY
}
check "$CORESCOPE_SOURCE" >"$WORK/tree.log" 2>&1 || fail "$(cat "$WORK/tree.log")"
grep -q "README.md: modes" "$WORK/tree.log" || fail "README.md has no generated modes table: $(cat "$WORK/tree.log")"
grep -q "docs/user/kernels.md: kernels,options" "$WORK/tree.log" ||
  fail "docs/user/kernels.md has no generated kernel tables: $(cat "$WORK/tree.log")"
echo "ok: $(cat "$WORK/tree.log")"

# A planted change: one mode's description edited by hand in a copy of the README.
mkdir -p "$WORK/planted/docs"
sed 's/^| serial | shared | - | the main thread alone: the reference |$/| serial | shared | - | the main thread |/' \
  "$CORESCOPE_SOURCE/README.md" >"$WORK/planted/README.md"
cmp -s "$CORESCOPE_SOURCE/README.md" "$WORK/planted/README.md" && fail "the planted edit did not apply"
rc=0
check "$WORK/planted" >"$WORK/planted.log" 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "a hand-edited mode row: exit $rc, expected 1: $(cat "$WORK/planted.log")"
grep -q "^README.md: the modes tables differ" "$WORK/planted.log" || fail "not named: $(cat "$WORK/planted.log")"
echo "ok: a hand-edited row is caught: $(head -n 1 "$WORK/planted.log")"
finish
