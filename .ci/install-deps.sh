#!/usr/bin/env bash
# Installs what corescope needs from Debian 12's packages (and nothing else): compilers, CMake,
# OpenMPI + parallel HDF5, MPICH (second MPI, tested too), CLI11, hwloc, GTest, Google Benchmark,
# the Python stack for the analysis, Slurm + munge for the job-script tests, headless Chromium for
# the report's page check, for the multi-node test's network namespaces,
# udunits-bin for the units check and strace for the shared-memory name check.
# Only missing packages are installed; apt-get update runs only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ccache
  openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
  mpich libmpich-dev libhdf5-mpich-dev
  libcli11-dev libhwloc-dev hwloc libgtest-dev libbenchmark-dev
  python3 python3-h5py python3-numpy python3-pandas python3-matplotlib python3-xarray
  python3-h5netcdf python3-tables python3-pytest
  slurm-wlm munge procps time
  chromium iproute2 udunits-bin strace
)

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
