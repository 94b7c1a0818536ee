#!/usr/bin/env bash
# Run by .ci/debian13.sh inside the Debian 13 root, in the checkout (/corescope): installs the
# build and test dependencies from Debian 13's packages, builds the default configuration into
# build-debian13 and runs its ctest suite but the tests in .ci/debian13-exclude.txt.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$here/build.sh" debian13
exclude=$("$here/exclude-regex.sh" "$here/debian13-exclude.txt")
ctest --preset debian13 -j "$(nproc)" --timeout 900 -E "$exclude"
