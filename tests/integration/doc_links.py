#!/usr/bin/env python3
"""Check that every relative Markdown link in the guide points at a file that exists.

Usage: doc_links.py ROOT. Reads ROOT/README.md, ROOT/docs/**/*.md, ROOT/jobs/README.md and
ROOT/analysis/README.md; for each inline link or image `[text](target)` and each reference
definition `[label]: target` outside code (fenced blocks and `inline code`), a target that is not
a URL (scheme:), not a bare #anchor and not absolute must name an existing file or directory,
relative to the Markdown file. Prints FILE:LINE: target for each one that does not; exit 1 if any.
"""
import pathlib
import re
import sys

INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
CODE_SPAN = re.compile(r"(`+).*?\1")


def pages(root):
    yield from (p for p in [root / "README.md", root / "jobs/README.md", root / "analysis/README.md"]
                if p.is_file())
    yield from sorted((root / "docs").rglob("*.md"))


def targets(text):
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if m:
            fence = None if fence == m.group(1) else (fence or m.group(1))
            continue
        if fence:
            continue
        line = CODE_SPAN.sub("", line)
        for m in INLINE.finditer(line):
            yield number, m.group(1)
        m = REFDEF.match(line)
        if m:
            yield number, m.group(1)


def broken(root):
    for page in pages(root):
        for number, target in targets(page.read_text(encoding="utf-8")):
            if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target) or target.startswith(("#", "/")):
                continue
            path = target.split("#", 1)[0].split("?", 1)[0]
            if path and not (page.parent / path).exists():
                yield f"{page.relative_to(root)}:{number}: {target}"


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    bad = list(broken(root))
    for line in bad:
        print(line)
    checked = sum(1 for _ in pages(root))
    print(f"{len(bad)} broken relative links in {checked} Markdown files", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
