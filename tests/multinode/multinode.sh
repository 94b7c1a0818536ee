#!/usr/bin/env bash
# Every kernel in mpi and hybrid mode on a real multi-node MPI job: a cluster of 2 and then 4
# nodes made of network namespaces on this machine (cluster.sh), one rank per node, the ranks
# talking TCP between nodes; every run read back from the results file. Kernels that need
# team-shared memory are refused across nodes (one line, exit 2) and run on one node. At the end
# nothing the cluster added is left. Open MPI or MPICH, whichever $MPIEXEC is.
# Skipped (77) without root, network namespaces or an MPI build.
#   env: CORESCOPE_MN_NODES ("2 4"), CORESCOPE_MN_KERNELS (all), CORESCOPE_MN_REPS (3)
source "$(dirname "$0")/../integration/common.sh"
source "$(dirname "$0")/cluster.sh"
cs=$CORESCOPE
MPIEXEC=${MPIEXEC:-mpirun}
if ! why=$(mn_available); then
  echo "skipped: $why"
  exit 77
fi
if ! $cs list | grep -qE '^mpi +yes'; then
  echo "skipped: this corescope is built without MPI"
  exit 77
fi
trap 'mn_down; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

all_kernels=$($cs list | awk '/^Kernels/{k=1;next} /^$/{k=0} k && $1 != "name" {print $1}')
kernels=${CORESCOPE_MN_KERNELS:-$all_kernels}
# Team-shared memory is an MPI shared-memory window over one node: these kernels are refused
# across nodes until it has an implementation that spans nodes (issue 15).
team_kernels=" critical farm convoy "
reps=${CORESCOPE_MN_REPS:-3}
refusal="needs every rank on one node"
flavour=$(mn_flavour)
echo "launcher: $MPIEXEC ($flavour); kernels: $(echo $kernels)"

# check_file FILE RUNS RANKS: RUNS rows, all ok and verified; an mpi run has RANKS workers, a
# hybrid run RANKS x 2, one rank per node, and every worker's samples are there.
check_file() {
  "$PYTHON" - "$@" <<'PY'
import sys, h5py, numpy as np
path, want, ranks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with h5py.File(path, "r") as f:
    runs, samples = f["runs"], f["samples"]
    text = lambda col: [x.decode() if isinstance(x, bytes) else x for x in runs[col][...]]
    n = len(runs["run_id"])
    assert n == want, f"{n} runs in the file, expected {want}"
    kernel, mode, status = text("kernel"), text("mode"), text("status")
    run_of, worker = samples["run"][...], samples["worker"][...]
    for i in range(n):
        what = f"{kernel[i]} {mode[i]}"
        assert status[i] == "ok", f"{what}: status {status[i]}"
        assert runs["verified"][i] == 1, f"{what}: not verified"
        assert runs["ranks"][i] == ranks, f"{what}: {runs['ranks'][i]} ranks, expected {ranks}"
        w = ranks * (2 if mode[i] == "hybrid" else 1)
        assert runs["workers"][i] == w, f"{what}: {runs['workers'][i]} workers, expected {w}"
        got = sorted(set(worker[run_of == i].tolist()))
        assert got == list(range(w)), f"{what}: samples of workers {got}"
        assert np.sum(run_of == i) == w * int(runs["reps"][i]), f"{what}: samples missing"
print(f"{n} runs read back: all ok and verified, every worker's samples there")
PY
}

# run_on HOSTS NP MODE KERNEL: one run; its exit code in $rc, stderr in $WORK/err.
run_on() {
  local hosts=$1 np=$2 mode=$3 k=$4 extra=()
  [[ $mode == hybrid ]] && extra=(-t 2)
  rc=0
  mn_launch "$hosts" "$np" $cs run -k "$k" -m "$mode" "${extra[@]}" -s S -r "$reps" --warmup 1 \
    -o "$out" -q >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
}

for n in ${CORESCOPE_MN_NODES:-2 4}; do
  start=$SECONDS
  mn_up "$n"
  hosts=$(mn_hosts "$n")
  out=$WORK/nodes$n.h5

  # The launcher reaches every node, and each says its own name.
  names=$(mn_launch "$hosts" "$n" hostname 2>&1 | sort | xargs) || true
  want=$(for ((i = 1; i <= n; i++)); do echo n$i; done | xargs)
  [[ $names == "$want" ]] || fail "$n nodes: the processes report hosts '$names', expected '$want'"

  expected=0
  for k in $kernels; do
    for mode in mpi hybrid; do
      run_on "$hosts" "$n" $mode "$k"
      if [[ $team_kernels == *" $k "* ]]; then
        lines=$(grep -c "$refusal" "$WORK/err" || true)
        if [[ $rc -ne 2 || $lines -ne 1 ]]; then
          fail "$n nodes: $k $mode: exit $rc with '$refusal' $lines times, expected exit 2 and once: $(head -c 600 "$WORK/err")"
        else
          echo "ok: $n nodes: $k $mode refused: $(grep "$refusal" "$WORK/err")"
        fi
      elif [[ $rc -ne 0 ]]; then
        fail "$n nodes: $k $mode: exit $rc: $(head -c 600 "$WORK/err")"
      else
        expected=$((expected + 1))
      fi
    done
  done
  check_file "$out" "$expected" "$n" || fail "$n nodes: the results file"

  # On one node the same kernels run: the refusal is about ranks on several nodes only.
  out=$WORK/one_node$n.h5
  ran=0
  for k in $kernels; do
    [[ $team_kernels == *" $k "* ]] || continue
    run_on n1:2 2 mpi "$k"
    if [[ $rc -eq 0 ]]; then ran=$((ran + 1)); else fail "1 node: $k mpi: exit $rc: $(head -c 600 "$WORK/err")"; fi
  done
  ((ran == 0)) || check_file "$out" "$ran" 2 || fail "1 node: the results file"

  mn_down
  if ! left=$(mn_leftovers); then fail "$n nodes: left behind: $left"; fi
  echo "ok: $n nodes: $expected runs across nodes verified, $ran team-memory runs on one node, cluster removed ($((SECONDS - start)) s)"
done
finish
