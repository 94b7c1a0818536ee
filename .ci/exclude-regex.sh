#!/usr/bin/env bash
# Prints one ctest -E regex from an exclude list (.ci/asan-exclude.txt, .ci/debian13-exclude.txt):
# one test-name regex per line, '#' starts the reason.
set -euo pipefail
sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1" | paste -sd '|'
