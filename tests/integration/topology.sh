#!/usr/bin/env bash
# The machine's topology as hwloc reads it (tests/topologies/): `corescope info` names packages,
# NUMA domains with their memory, L3 groups, cores and hardware threads of every described node,
# and says that it is described; on this machine a run records numa_domains and l3_groups as root
# attributes and each sample's NUMA domain and package beside its CPU.
source "$(dirname "$0")/common.sh"
topologies=$CORESCOPE_SOURCE/tests/topologies

expect() {  # expect FILE ROW VALUE: `info` on the described node shows ROW with VALUE
  local out
  out=$(HWLOC_XMLFILE=$topologies/$1 HWLOC_THISSYSTEM=0 "$CORESCOPE" info) || fail "info on $1: exit $?"
  grep -qE "^$2 +$3\$" <<<"$out" || fail "info on $1: no '$2  $3' in: $out"
}
expect epyc-2x64-nps4-smt.xml "packages / cores / hardware threads" "2 / 128 / 256"
expect epyc-2x64-nps4-smt.xml "NUMA domains" "8, 64.00 GiB each, 16 cores each"
expect epyc-2x64-nps4-smt.xml "L3 groups" "32 x 32.00 MiB, 4 cores each"
expect epyc-2x64-nps4-smt.xml "topology" "a described node \(HWLOC_XMLFILE\), not this system"
expect xeon-2x56-snc4-smt.xml "packages / cores / hardware threads" "2 / 112 / 224"
expect xeon-2x56-snc4-smt.xml "NUMA domains" "8, 64.00 GiB each, 14 cores each"
expect xeon-2x56-snc4-smt.xml "L3 groups" "8 x 26.25 MiB, 14 cores each"
expect laptop-1x8-smt.xml "packages / cores / hardware threads" "1 / 8 / 16"
expect laptop-1x8-smt.xml "NUMA domains" "1, 32.00 GiB, 8 cores"
expect vm-2cpu.xml "packages / cores / hardware threads" "1 / 2 / 2"
echo "ok: info reads the four described nodes"
"$CORESCOPE" info | grep -qE "^topology +this system$" || fail "info on this machine: $("$CORESCOPE" info)"

cd "$WORK"
"$CORESCOPE" run -k triad -m threads -w 2 -s S -r 3 -o t.h5 -q || fail "run: exit $?"
domains=$("$CORESCOPE" info | awk -F'  +' '$1 == "NUMA domains" { split($2, a, ","); print a[1] }')
"$PYTHON" - t.h5 "$domains" <<'PY' || fail "the file's topology records"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    domains = int(sys.argv[2])
    assert f.attrs["numa_domains"] == domains, (f.attrs["numa_domains"], domains)
    assert f.attrs["l3_groups"] >= 1 and f.attrs["packages"] >= 1
    s = f["samples"]
    numa, package, cpu = s["numa"][:], s["package"][:], s["cpu"][:]
    assert len(numa) == 6 and ((numa >= 0) & (numa < domains)).all(), numa
    assert ((package >= 0) & (package < f.attrs["packages"])).all(), package
    assert s["numa"].attrs["units"] == b"1" or s["numa"].attrs["units"] == "1"
    print(f"ok: {domains} NUMA domain(s); samples on CPUs {sorted(set(cpu))}, domains {sorted(set(numa))}, packages {sorted(set(package))}")
PY
finish
