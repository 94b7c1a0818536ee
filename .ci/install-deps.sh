#!/usr/bin/env bash
# Installs what corescope needs from Debian's packages (12 or 13; nothing else), one of two sets:
#   main: what building the corescope binary, running `corescope study` (every mode, the Python
#         modes included) and writing the report need: the README's main command
#         (jobs/local/quickstart.sh) installs only these;
#   all:  main + what the tests need (the default; .ci/build.sh, .ci/test.sh): ccache, MPICH
#         (second MPI, tested too), GTest, Google Benchmark, hdf5-tools, the Python packages the
#         tests read files with and pytest, Slurm + munge for the job-script tests, headless
#         Chromium for the report's page check, iproute2 for the multi-node test's network
#         namespaces, udunits-bin for the units check (with its library, which Debian 13's
#         udunits-bin does not pull in), strace for the shared-memory name check, bc for the
#         tests' arithmetic, clang and its libomp for the clang build, and on Debian 12
#         clang-format-14, the version check.format pins (.ci/check-format.py).
# Only missing packages are installed; apt-get update runs only when something is missing.
# Usage: .ci/install-deps.sh [main|all]
set -euo pipefail

# git: the build records the commit it was built from (cmake/CorescopeGitCommit.cmake).
# python3-numpy: the Python modes' kernels; h5py, pandas, matplotlib: corescope-report.
main=(
  build-essential cmake pkg-config git
  openmpi-bin libopenmpi-dev libhdf5-openmpi-dev
  libcli11-dev libhwloc-dev
  python3 python3-numpy python3-h5py python3-pandas python3-matplotlib
)
test_extras=(
  ccache hdf5-tools hwloc bc clang libomp-dev
  mpich libmpich-dev libhdf5-mpich-dev
  libgtest-dev libbenchmark-dev
  python3-xarray python3-h5netcdf python3-tables python3-pytest
  slurm-wlm munge procps time
  chromium iproute2 udunits-bin libudunits2-0 strace
)
# The formatter's output changes between releases: the check pins Debian 12's (Debian 13 has
# none of that version, and check.format skips there).
if [[ $(. /etc/os-release 2>/dev/null && echo "${VERSION_ID:-}") == 12 ]]; then test_extras+=(clang-format-14); fi
case ${1:-all} in
  main) packages=("${main[@]}") ;;
  all) packages=("${main[@]}" "${test_extras[@]}") ;;
  *) echo "install-deps.sh: error: unknown package set '$1' (main or all)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "corescope: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Installing MPICH must not take over the default MPI: corescope's default build is OpenMPI.
if command -v update-alternatives >/dev/null && [[ -e /usr/bin/mpirun.openmpi ]]; then
  cur=$(readlink -f /usr/bin/mpirun || true)
  if [[ "$cur" != *openmpi* && "$cur" != */orterun ]]; then
    ${SUDO:-} update-alternatives --set mpi /usr/bin/mpicc.openmpi >/dev/null 2>&1 || true
    ${SUDO:-} update-alternatives --set mpirun /usr/bin/mpirun.openmpi >/dev/null 2>&1 || true
  fi
fi
