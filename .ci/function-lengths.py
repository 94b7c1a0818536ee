#!/usr/bin/env python3
"""Function lengths in src/, kernels/, python/ and analysis/: the longest functions, and a check
that none is longer than LIMIT lines unless .ci/long-functions.txt names it with a reason.

A C++ function is a brace block opened after a signature with parentheses, at namespace level
or in a class body; its length runs from the signature's first line to its closing brace
(comments and blank lines included, as a reader scrolls them). A Python function is what `ast`
says, decorators excluded.

Usage: function-lengths.py [--top N] [--check] [ROOT]
  --top N   print the N longest functions (default 10)
  --check   exit 1, naming each, when a function over LIMIT lines is not an exception, or an
            exception names a function that is no longer over the limit
"""
import argparse
import ast
import os
import re
import sys

LIMIT = 80
CXX_DIRS = ("src", "kernels", "bench")
PY_DIRS = ("python", "analysis")
EXCEPTIONS = ".ci/long-functions.txt"

# Literals and comments, removed before braces are counted.
STRIPPED = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
SCOPE = re.compile(r'^\s*(?:template\s*<[^{]*>\s*)?(?:namespace|(?:struct|class|union|enum)(?:\s+class)?)\b')
NAME = re.compile(r'([~\w:]+(?:operator\s*\S+?)?)\s*\($')


PREPROCESSOR = re.compile(r'^[ \t]*#(?:[^\n]*\\\n)*[^\n]*', re.M)


def blank_literals(text):
    """The text with literals, comments and preprocessor lines replaced by spaces (newlines kept)."""
    blank = lambda m: re.sub(r'[^\n]', ' ', m.group(0))
    return PREPROCESSOR.sub(blank, STRIPPED.sub(blank, text))


def cxx_functions(path):
    """(name, first line, last line) of each function in a C++ file."""
    text = blank_literals(open(path, encoding="utf-8", errors="replace").read())
    out, stack = [], []  # stack: (kind, name, first line) per open brace
    head_start, head = 0, ""  # text since the last statement or block at the current level
    line = 1
    for ch in text:
        if ch == "\n":
            line += 1
        if ch == "{":
            in_body = any(kind == "function" for kind, _, _ in stack)
            signature = " ".join(head.split())
            if in_body:
                kind = "block"
            elif SCOPE.match(signature):
                kind = "scope"
            elif "(" in signature and "=" not in signature.split("(")[0]:
                kind = "function"
            else:
                kind = "block"
            name = ""
            if kind == "function":
                match = NAME.search(signature[:signature.find("(") + 1])
                name = match.group(1) if match else signature[:40]
            stack.append((kind, name, head_start if kind == "function" else line))
            head, head_start = "", 0
        elif ch == "}":
            if stack:
                kind, name, first = stack.pop()
                if kind == "function":
                    out.append((name, first, line))
            head, head_start = "", 0
        elif ch == ";":
            head, head_start = "", 0
        else:
            if not head.strip() and not ch.isspace():
                head_start = line
            head += ch
    return out


def py_functions(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    return [(node.name, node.lineno, node.end_lineno) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def all_functions(root):
    found = []
    for top, suffixes, reader in ((CXX_DIRS, (".cpp", ".hpp"), cxx_functions), (PY_DIRS, (".py",), py_functions)):
        for directory in top:
            for base, _, files in os.walk(os.path.join(root, directory)):
                for f in sorted(files):
                    if f.endswith(suffixes):
                        path = os.path.join(base, f)
                        rel = os.path.relpath(path, root)
                        found += [(last - first + 1, rel, name, first) for name, first, last in reader(path)]
    return sorted(found, key=lambda t: (-t[0], t[1], t[3]))


def exceptions(root):
    """{"path:name": reason} from the exceptions file ("path:name  reason" per line, # comments)."""
    out = {}
    path = os.path.join(root, EXCEPTIONS)
    if os.path.exists(path):
        for raw in open(path, encoding="utf-8"):
            text = raw.split("#", 1)[0].strip()
            if text:
                key, _, reason = text.partition(" ")
                out[key] = reason.strip()
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    args = parser.parse_args()
    functions = all_functions(args.root)
    for length, rel, name, first in functions[:args.top]:
        print(f"{length:5d}  {rel}:{first}  {name}")
    if not args.check:
        return 0
    allowed = exceptions(args.root)
    long_ones = {f"{rel}:{name}": (length, first) for length, rel, name, first in functions if length > LIMIT}
    bad = [f"{key.split(':')[0]}:{first}: {key.split(':', 1)[1]} is {length} lines (over {LIMIT}; "
           f"shorten it, or name it in {EXCEPTIONS} with a reason)"
           for key, (length, first) in long_ones.items() if key not in allowed]
    bad += [f"{EXCEPTIONS}: {key} is no longer over {LIMIT} lines; remove it"
            for key in allowed if key not in long_ones]
    for b in bad:
        print(b, file=sys.stderr)
    named = sum(1 for key in long_ones if key in allowed)
    print(f"{len(long_ones)} function(s) over {LIMIT} lines, {named} of them named in {EXCEPTIONS}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
