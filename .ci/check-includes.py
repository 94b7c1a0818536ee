#!/usr/bin/env python3
"""Include-direction check: every layer includes only itself and the layers below it.

  core  <-  backends, kernels  <-  record  <-  sweep  <-  isolate  <-  cli

backends and kernels are siblings: neither includes the other. Prints each offending
`file:line: include` and exits 1; exits 0 when every #include "..." points down or sideways
within its own layer. Usage: check-includes.py [ROOT] (default: the repository root).
"""
import os
import re
import sys

# Layer of a path (relative to the root), first matching prefix wins; rank orders the layers.
LAYERS = [("src/core/", "core", 0), ("src/backends/", "backends", 1), ("kernels/", "kernels", 1),
          ("src/record/", "record", 2), ("src/sweep/", "sweep", 3), ("src/isolate/", "isolate", 4),
          ("src/cli/", "cli", 5)]
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def layer_of(path):
    for prefix, name, rank in LAYERS:
        if path.startswith(prefix):
            return name, rank
    return None


def target_of(include):
    """The layer an include names: "core/x.hpp" -> src/core/, "kernels/x.hpp" -> kernels/."""
    for candidate in ("src/" + include, include):
        found = layer_of(candidate)
        if found:
            return found
    return None


def check(root):
    bad = []
    for top in ("src", "kernels"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith((".hpp", ".cpp", ".h")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                own = layer_of(rel)
                if not own:
                    continue
                with open(os.path.join(root, rel), encoding="utf-8") as src:
                    for number, line in enumerate(src, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = target_of(m.group(1))
                        if not target or target[0] == own[0]:
                            continue
                        if target[1] >= own[1]:
                            bad.append(f"{rel}:{number}: {own[0]} includes {target[0]}: \"{m.group(1)}\"")
    return bad


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bad = check(root)
    for line in bad:
        print(line)
    if bad:
        print(f"check-includes: {len(bad)} include(s) point up or sideways "
              "(layers: core <- backends, kernels <- record <- sweep <- isolate <- cli)", file=sys.stderr)
        return 1
    print("check-includes: every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
