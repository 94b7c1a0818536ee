#!/usr/bin/env bash
# `corescope sweep --hosts` across nodes: a sweep of ep and pingpong in mpi mode with one rank on
# each of 2 nodes of the namespace cluster (cluster.sh), the launcher words that reach the nodes
# passed with --launcher-args. Read back with h5py: every run ok and verified, every worker's
# /samples host filled with n1 or n2 (both used), /runs nodes = 2 and ranks_per_node = 1, the
# launch command carries the hosts; then bad --hosts/--hostfile input (one line, exit 2), and
# nothing of the cluster left at the end. Skipped (77) without root, network namespaces or MPI.
source "$(dirname "$0")/../integration/common.sh"
source "$(dirname "$0")/cluster.sh"
cs=$CORESCOPE
MPIEXEC=${MPIEXEC:-mpirun}
mn_test_start "$cs"  # exits 77 where no cluster can run; mn_down (and removing $WORK) on exit

mn_up 2
hosts=$(mn_hosts 2)
out=$WORK/hosts.h5
rc=0
timeout -k 5 600 $cs sweep -k ep,pingpong -m mpi -w 2 -s S -r 2 --rounds 1 --warmup 1 --mpirun "$MPIEXEC" \
  --hosts "$hosts" --launcher-args "$(mn_launcher_args)" -o "$out" -q >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
[[ $rc -eq 0 ]] || fail "sweep --hosts $hosts: exit $rc: $(head -c 800 "$WORK/err")"

"$PYTHON" - "$out" "$hosts" <<'PY' || fail "the results file"
import sys, h5py, numpy as np
path, hosts = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    runs, samples = f["runs"], f["samples"]
    text = lambda g, col: [x.decode() if isinstance(x, bytes) else x for x in g[col][...]]
    kernel, status, launch = text(runs, "kernel"), text(runs, "status"), text(runs, "launch_command")
    assert sorted(kernel) == ["ep", "pingpong"], f"runs of {kernel}"
    run_of, rank, host = samples["run"][...], samples["rank"][...], text(samples, "host")
    for i in range(len(kernel)):
        assert status[i] == "ok" and runs["verified"][i] == 1, f"{kernel[i]}: {status[i]}, verified {runs['verified'][i]}"
        assert runs["nodes"][i] == 2, f"{kernel[i]}: nodes {runs['nodes'][i]}"
        assert runs["ranks_per_node"][i] == 1, f"{kernel[i]}: ranks_per_node {runs['ranks_per_node'][i]}"
        assert runs["peak_rss_max_node_bytes"][i] > 0, f"{kernel[i]}: peak_rss_max_node_bytes"
        assert runs["peak_rss_max_node_bytes"][i] <= runs["peak_rss_bytes"][i], "a node holds one rank"
        assert hosts in launch[i], f"{kernel[i]}: launch command {launch[i]!r}"
        mine = [h for h, r in zip(host, run_of) if r == i]
        assert len(mine) == 2 * int(runs["reps"][i]), f"{kernel[i]}: {len(mine)} samples"
        assert set(mine) == {"n1", "n2"}, f"{kernel[i]}: sample hosts {sorted(set(mine))}"
        by_rank = {int(r): h for h, r, k in zip(host, rank, run_of) if k == i}
        assert by_rank[0] != by_rank[1], f"{kernel[i]}: ranks 0 and 1 both on {by_rank[0]}"
print(f"{len(kernel)} runs: every sample's host is n1 or n2, nodes = 2")
PY
echo "ok: sweep --hosts $hosts ran ep and pingpong across 2 nodes"

# Bad input: one line, exit 2, before anything runs.
: >"$WORK/empty"
expect_usage_error "host syntax" $cs sweep -k ep -m mpi -w 2 --hosts "n1:x" -o "$WORK/bad.h5"
expect_usage_error "empty hostfile" $cs sweep -k ep -m mpi -w 2 --hostfile "$WORK/empty" -o "$WORK/bad.h5"
expect_usage_error "missing hostfile" $cs sweep -k ep -m mpi -w 2 --hostfile "$WORK/none" -o "$WORK/bad.h5"
expect_usage_error "hosts for threads" $cs sweep -k ep -m threads -w 2 --hosts "$hosts" -o "$WORK/bad.h5"
[[ ! -e $WORK/bad.h5 ]] || fail "bad input wrote a results file"
echo "ok: bad --hosts/--hostfile input refused"

mn_down
if ! left=$(mn_leftovers); then fail "left behind: $left"; fi
echo "ok: cluster removed"
finish
