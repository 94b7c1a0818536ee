#!/usr/bin/env bash
# Installs missing packages, then configures and builds one CMake preset (default: "default").
# Usage: .ci/build.sh [preset] [--main] [extra cmake -D options...] [--target T...]
# (--target: build only these targets and what they need; by default, everything.
#  --main: the README's main command: only the main package set (.ci/install-deps.sh main), and
#  a build tree configured here for the first time gets no tests and no benchmarks; one that has
#  them keeps them. The presets turn them back on at every full configure, so that a lean build
#  tree does not leave the test command without tests.)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
preset=${1:-default}
shift || true
configure=() targets=() deps=all
while (($#)); do
  case $1 in
    --target) targets+=(--target "$2"); shift 2 ;;
    --main) deps=main; shift ;;
    *) configure+=("$1"); shift ;;
  esac
done

"$here/install-deps.sh" "$deps"
if [[ $deps == main ]]; then
  # Every preset's binaryDir is build or build-<preset> (CMakePresets.json).
  bindir=$root/build
  [[ $preset == default ]] || bindir=$root/build-$preset
  if ! grep -qs '^CORESCOPE_BUILD_TESTS:BOOL=ON' "$bindir/CMakeCache.txt"; then
    configure=(-DCORESCOPE_BUILD_TESTS=OFF -DCORESCOPE_BUILD_BENCH=OFF "${configure[@]}")
  fi
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
# The default build's objects are cached under paths relative to the checkout, so that a copy of
# the sources built the same way elsewhere hits them (jobs/local/noise_check.sh's slowed build).
# Not for the sanitizer presets: their -g objects would carry relative paths in their debug info.
if [[ $preset == default ]]; then export CCACHE_BASEDIR=$root; fi
# Warnings fail CI's builds (test.sh sets CORESCOPE_WERROR=ON); a user's build only shows them.
werror=(-DCORESCOPE_WERROR="${CORESCOPE_WERROR:-OFF}")
cmake --preset "$preset" -S "$root" "${launcher[@]}" "${werror[@]}" "${configure[@]}" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "${targets[@]}"
