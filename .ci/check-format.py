#!/usr/bin/env python3
"""The sources' format: every C++ file as clang-format 14 writes it under .clang-format, and no
Python line over PY_COLUMNS columns. Prints one line per file that differs (its first differing
line) and per long Python line; exit 1 if any, 0 if none, 77 if clang-format-14 is missing.

    check-format.py [ROOT]       check the tree at ROOT (default: the checkout holding this file)

Why 14: clang-format's output changes between releases, so the check pins Debian 12's; Debian 13
has 19, where the check is skipped. Why a line length and not black for Python: black 23.1 at
100 columns grows analysis/ and python/ by 3,400 lines (+34 %) and pushes four more functions
past the 80-line limit (.ci/function-lengths.py); the project's Python keeps its compact style.
"""
import argparse
import difflib
import shutil
import subprocess
import sys
from pathlib import Path

CLANG_FORMAT = "clang-format-14"
CPP_DIRS = ("src", "kernels", "tests", "bench")
CPP_SUFFIXES = (".cpp", ".hpp", ".h", ".cc")
PY_DIRS = ("analysis", "python", "tests", "bench", "jobs", ".ci")
PY_COLUMNS = 120
SKIP = 77


def files(root, dirs, suffixes):
    for d in dirs:
        base = root / d
        if base.is_dir():
            yield from sorted(p for p in base.rglob("*") if p.suffix in suffixes and p.is_file())


def first_difference(path, formatted):
    original = path.read_text(encoding="utf-8").splitlines()
    for tag, i1, _i2, _j1, _j2 in difflib.SequenceMatcher(None, original, formatted.splitlines(),
                                                          autojunk=False).get_opcodes():
        if tag != "equal":
            return i1 + 1
    return 1


def check_cpp(root, clang_format):
    problems = []
    for path in files(root, CPP_DIRS, CPP_SUFFIXES):
        # --style=file:... names the tree's own config, also for a tree outside any checkout.
        out = subprocess.run([clang_format, f"--style=file:{root / '.clang-format'}", str(path)],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            problems.append(f"{path.relative_to(root)}: {CLANG_FORMAT} failed: {out.stderr.strip()}")
        elif out.stdout != path.read_text(encoding="utf-8"):
            line = first_difference(path, out.stdout)
            problems.append(f"{path.relative_to(root)}:{line}: not formatted "
                            f"({CLANG_FORMAT} -i {path.relative_to(root)})")
    return problems


def check_python(root):
    problems = []
    for path in files(root, PY_DIRS, (".py",)):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if len(line) > PY_COLUMNS:
                problems.append(f"{path.relative_to(root)}:{number}: {len(line)} columns "
                                f"(at most {PY_COLUMNS})")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", nargs="?", default=Path(__file__).resolve().parent.parent, type=Path)
    root = parser.parse_args().root.resolve()
    clang_format = shutil.which(CLANG_FORMAT)
    if not clang_format:
        print(f"{CLANG_FORMAT} is not installed (Debian 12: apt-get install {CLANG_FORMAT}); "
              "the format is not checked", file=sys.stderr)
        return SKIP
    if not (root / ".clang-format").is_file():
        print(f"{root}: no .clang-format", file=sys.stderr)
        return 2
    problems = check_cpp(root, clang_format) + check_python(root)
    for p in problems:
        print(p)
    cpp = sum(1 for _ in files(root, CPP_DIRS, CPP_SUFFIXES))
    py = sum(1 for _ in files(root, PY_DIRS, (".py",)))
    print(f"{len(problems)} problem(s) in {cpp} C++ and {py} Python files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
