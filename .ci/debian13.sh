#!/usr/bin/env bash
# CI stage: the second stack users have — Debian 13 (HDF5 1.14, Open MPI 5, MPICH 4.2, GCC 14,
# CMake 3.31, Python 3.13 with NumPy 2). A Debian 13 root is made with debootstrap from the
# Debian archive this machine's apt uses, kept outside the checkout between runs (rebuilt when
# missing or older than a week); the checkout is bound into it, .ci/install-deps.sh installs the
# build dependencies inside, and the default preset is built there (in build-debian13) and its
# whole ctest suite run. /proc, /sys, /dev and a tmpfs on /dev/shm and on /tmp are mounted for
# the stage and unmounted when it ends, failed or not.
#   .ci/debian13.sh                 build and run every test inside
#   .ci/debian13.sh -- CMD ...      run CMD inside instead (the checkout is /corescope)
# CORESCOPE_DEBIAN13_ROOT: where the root is kept (default /var/cache/corescope/debian13).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
chroot_dir=${CORESCOPE_DEBIAN13_ROOT:-/var/cache/corescope/debian13}
max_age_days=7

# The archive apt uses here (deb822 or one-line sources), so that the root comes from it too.
archive() {
  local uri
  uri=$(grep -hoE '^URIs:[[:space:]]*[^[:space:]]+' /etc/apt/sources.list.d/*.sources 2>/dev/null |
          grep -v security | head -n 1 | awk '{print $2}')
  [[ -n $uri ]] || uri=$(grep -hoE '^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+' \
                           /etc/apt/sources.list 2>/dev/null | grep -v security | head -n 1 | awk '{print $NF}')
  echo "${uri:-http://deb.debian.org/debian}"
}

make_root() {
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
  local fresh=$chroot_dir.new
  rm -rf "$fresh"
  mkdir -p "$(dirname "$chroot_dir")"
  echo "debian13: making a Debian 13 root in $chroot_dir from $(archive)"
  debootstrap --variant=minbase trixie "$fresh" "$(archive)" >"$fresh.log" 2>&1 ||
    { tail -n 20 "$fresh.log"; return 1; }
  # No daemon starts while packages are installed (munge, slurm): the tests start their own.
  printf '#!/bin/sh\nexit 101\n' >"$fresh/usr/sbin/policy-rc.d"
  chmod +x "$fresh/usr/sbin/policy-rc.d"
  rm -rf "$chroot_dir"
  mv "$fresh" "$chroot_dir"
  date -u +%s >"$chroot_dir/.corescope-made"
}

root_is_fresh() {
  [[ -f $chroot_dir/.corescope-made ]] || return 1
  local made
  made=$(cat "$chroot_dir/.corescope-made")
  (($(date -u +%s) - made < max_age_days * 86400))
}

mounted=()
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[i]}" 2>/dev/null || umount -R -l "${mounted[i]}" 2>/dev/null || true
  done
  mounted=()
  # And whatever the tests mounted below the root (ip netns binds /run/netns), deepest first.
  awk -v top="$chroot_dir/" 'index($2, top) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r target; do umount -l "$target" 2>/dev/null || true; done
}
mount_at() {  # mount_at TARGET mount-arguments...
  local target=$chroot_dir$1
  shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounted+=("$target")
}

# One user of the root at a time: another run's unmounting would pull /corescope, /proc or
# /dev/shm from under this one's processes.
mkdir -p "$(dirname "$chroot_dir")"
exec 9>"$chroot_dir.lock"
flock -n 9 || { echo "debian13: $chroot_dir is in use by another .ci/debian13.sh" >&2; exit 1; }
root_is_fresh || make_root
trap unmount_all EXIT
# The root itself a mount point, so that `ip netns exec` inside (the multi-node tests) can make
# its "/" a slave mount.
mount_at / --bind "$chroot_dir"
mount --make-private "$chroot_dir"
mount_at /proc -t proc proc
mount_at /sys --rbind /sys
mount --make-rslave "$chroot_dir/sys"
mount_at /dev --rbind /dev
mount --make-rslave "$chroot_dir/dev"
mount_at /dev/shm -t tmpfs -o mode=1777 tmpfs
# A fresh /tmp for every stage: Open MPI 5's launcher leaves its session directory
# (/tmp/prterun.HOST.PID.0) behind when a test kills it, and a later launcher with the same pid
# (pid_max may be 32768) then fails in prte_init with PMIX_ERR_EXISTS.
mount_at /tmp -t tmpfs -o mode=1777 tmpfs
mount_at /corescope --bind "$root"
mount_at /shared --bind "$root/../shared" 2>/dev/null || true
cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf" 2>/dev/null || true
# debootstrap's minimal root has no /etc/hosts: without the host's, every launcher waits seconds
# on this host's name (mpirun took 5.5 s instead of 0.25 s in such a Debian 12 root).
cp /etc/hosts "$chroot_dir/etc/hosts" 2>/dev/null || true

inside=(env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        LANG=C.UTF-8 TERM=dumb CI="${CI:-}" CORESCOPE_WERROR="${CORESCOPE_WERROR:-OFF}" chroot "$chroot_dir")
if [[ ${1:-} == -- ]]; then
  shift
  "${inside[@]}" bash -c 'cd /corescope && "$@"' bash "$@"
  exit
fi
"${inside[@]}" bash -c 'cd /corescope && .ci/debian13-inside.sh'
