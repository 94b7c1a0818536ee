#!/usr/bin/env bash
# Installs missing packages, then configures and builds one CMake preset (default: "default").
# Usage: .ci/build.sh [preset] [extra cmake -D options...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
preset=${1:-default}
shift || true

"$here/install-deps.sh"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake --preset "$preset" -S "$root" "${launcher[@]}" "$@" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
