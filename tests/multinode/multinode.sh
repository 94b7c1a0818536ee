#!/usr/bin/env bash
# Every kernel in mpi and hybrid mode on a real multi-node MPI job: a cluster of 2 and then 4
# nodes made of network namespaces on this machine (cluster.sh), one rank per node, the ranks
# talking TCP between nodes (Open MPI; MPICH's UCX uses shared memory there, see cluster.sh);
# every run read back from the results file. The kernels that use
# team memory (critical with each sync, farm static and dynamic, convoy) run across nodes on MPI
# one-sided communication (/runs team_memory = mpi-rma): critical sync=none must lose updates in
# at least one of a few tries, the synchronised ones none; on one node they use the shared-memory
# window (mpi-shm). The one-process modes refuse to run as copies a launcher started. At the end
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
trap 'mn_down; cleanup_work' EXIT
trap 'exit 130' INT TERM

all_kernels=$($cs list | awk '/^Kernels/{k=1;next} /^$/{k=0} k && /^[a-z]/ && $1 != "name" {print $1}')
kernels=${CORESCOPE_MN_KERNELS:-$all_kernels}
# Kernels with team memory: run below with each of their variants.
team_kernels=" critical farm convoy "
reps=${CORESCOPE_MN_REPS:-3}
flavour=$(mn_flavour)
read -r -a rma_args <<<"$(mn_rma_args)"
echo "launcher: $MPIEXEC ($flavour); kernels: $(echo $kernels); one-sided options: ${rma_args[*]:-none}"

# check_file FILE RUNS RANKS [TEAM_MEMORY]: RUNS rows, all ok and verified; an mpi run has RANKS
# workers, a hybrid run RANKS x 2, and every worker's samples are there; the runs of team-memory
# kernels used TEAM_MEMORY (mpi-rma across nodes, mpi-shm on one node), with no update lost
# where the counter was synchronised (critical's sync=none is check_race's).
check_file() {
  "$PYTHON" - "$@" <<'PY'
import json, sys, h5py, numpy as np
path, want, ranks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
team_memory = sys.argv[4] if len(sys.argv) > 4 else ""
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
        if kernel[i] in ("critical", "farm", "convoy") and team_memory:
            used = text("team_memory")[i]
            assert used == team_memory, f"{what}: team_memory {used!r}, expected {team_memory!r}"
        if kernel[i] == "critical" and json.loads(text("params")[i])["sync"] != "none":
            lost = runs["lost_updates"][i]
            assert lost == 0, f"{what}: {lost} updates lost with sync={json.loads(text('params')[i])['sync']}"
print(f"{n} runs read back: all ok and verified, every worker's samples there")
PY
}

# run_on HOSTS NP MODE KERNEL [SIZE [OPTION...]]: one run (size S unless given); its exit code
# in $rc, stderr in $WORK/err. MN_LAUNCH_ARGS go to the launcher.
run_on() {
  local hosts=$1 np=$2 mode=$3 k=$4 size=${5:-S} extra=()
  shift 4
  (($# == 0)) || shift
  [[ $mode == hybrid ]] && extra=(-t 2)
  rc=0
  mn_launch "$hosts" "$np" $cs run -k "$k" -m "$mode" "${extra[@]}" -s "$size" -r "$reps" --warmup 1 "$@" \
    -o "$out" -q >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
}

# The team-memory kernels' variants, one run each: critical with every sync a team of ranks has
# (sync=critical is OpenMP's, refused outside --mode openmp), farm's two schedules, convoy.
# critical's M is small: across nodes each update is a round trip or two over TCP.
team_variants() {
  local k
  for k in $kernels; do
    case $k in
      # mutex across nodes is a window lock per update (about 1 ms each over TCP, contended by
      # every thread of every rank): 50 updates per worker keep a 4-node hybrid run well inside
      # the launch's time limit on a loaded machine (200 ran past 120 s there).
      critical) echo "critical 50 -p sync=mutex"; for sync in atomic reduce none; do echo "critical 200 -p sync=$sync"; done ;;
      farm) echo "farm S -p schedule=static"; echo "farm S -p schedule=dynamic" ;;
      convoy) echo "convoy" ;;
    esac
  done
}

# run_team HOSTS NP MODE: every team variant; counts the runs in $expected, failures fail.
run_team() {
  local hosts=$1 np=$2 mode=$3 v
  while read -r -a v; do
    run_on "$hosts" "$np" "$mode" "${v[@]}"
    if [[ $rc -ne 0 ]]; then fail "$hosts: ${v[*]} $mode: exit $rc: $(head -c 600 "$WORK/err")"; else expected=$((expected + 1)); fi
  done < <(team_variants)
}

# check_race HOSTS NP MODE: critical sync=none across nodes loses updates (read back from the
# file) in at least one of 3 tries: MPI_Get, add, MPI_Put races like unsynchronised threads.
check_race() {
  local hosts=$1 np=$2 mode=$3 try lost
  local keep=$out
  for try in 1 2 3; do
    out=$WORK/race.h5
    rm -f "$out"
    run_on "$hosts" "$np" "$mode" critical 200 -p sync=none
    [[ $rc -eq 0 ]] || { fail "$hosts: critical sync=none $mode: exit $rc: $(head -c 600 "$WORK/err")"; break; }
    lost=$("$PYTHON" -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r"); print(int(f["runs"]["lost_updates"][0]), f["runs"]["team_memory"][0].decode())' "$out")
    echo "   critical sync=none $mode on $hosts, try $try: lost updates, team memory: $lost"
    if [[ ${lost%% *} -gt 0 ]]; then break; fi
  done
  out=$keep
  [[ ${lost%% *} -gt 0 ]] || fail "$hosts: critical sync=none $mode lost no update in 3 tries"
}

for n in ${CORESCOPE_MN_NODES:-2 4}; do
  start=$SECONDS
  mn_up "$n"
  hosts=$(mn_hosts "$n")
  out=$WORK/nodes$n.h5

  # The launcher reaches every node, and each says its own name.
  # (stdout only: Open MPI's rsh launcher may warn on stderr, e.g. "setpgid ... failed", a race
  # of its own with the child's exec that changes nothing)
  names=$(mn_launch "$hosts" "$n" hostname 2>"$WORK/hostname.err" | sort | xargs) || true
  want=$(for ((i = 1; i <= n; i++)); do echo n$i; done | xargs)
  [[ $names == "$want" ]] ||
    fail "$n nodes: the processes report hosts '$names', expected '$want': $(head -c 600 "$WORK/hostname.err")"

  expected=0
  for k in $kernels; do
    [[ $team_kernels == *" $k "* ]] && continue
    for mode in mpi hybrid; do
      run_on "$hosts" "$n" $mode "$k"
      if [[ $rc -ne 0 ]]; then fail "$n nodes: $k $mode: exit $rc: $(head -c 600 "$WORK/err")"; else expected=$((expected + 1)); fi
    done
  done
  ((expected == 0)) || check_file "$out" "$expected" "$n" || fail "$n nodes: the results file"

  # Team memory across nodes: one-sided communication to rank 0's window.
  out=$WORK/team_nodes$n.h5
  expected=0
  MN_LAUNCH_ARGS=("${rma_args[@]}")
  for mode in mpi hybrid; do
    run_team "$hosts" "$n" $mode
    check_race "$hosts" "$n" $mode
  done
  MN_LAUNCH_ARGS=()
  ((expected == 0)) || check_file "$out" "$expected" "$n" mpi-rma || fail "$n nodes: the team-memory results file"
  team_runs=$expected

  # On one node the same kernels use the node's shared-memory window.
  out=$WORK/one_node$n.h5
  expected=0
  run_team n1:2 2 mpi
  ((expected == 0)) || check_file "$out" "$expected" 2 mpi-shm || fail "1 node: the results file"
  ran=$expected

  # Where the MPI cannot do one-sided communication between the nodes without options (Open MPI
  # 4's default osc rdma over TCP; Open MPI 5's can, mn_rma_args gives it none), team memory is
  # refused: exit 2, one line, before anything is timed.
  if [[ $flavour == openmpi && ${#rma_args[@]} -gt 0 && $team_kernels == *" critical "* ]]; then
    run_on "$hosts" "$n" mpi critical 200
    lines=$(grep -c "one-sided communication" "$WORK/err" || true)
    if [[ $rc -ne 2 || $lines -ne 1 ]]; then
      fail "$n nodes: critical without one-sided options: exit $rc, refusal $lines times: $(head -c 600 "$WORK/err")"
    else
      echo "ok: $n nodes: without one-sided options: $(grep "one-sided communication" "$WORK/err")"
    fi
  fi

  # The one-process modes refuse to run as copies a launcher started: exit 2, said once.
  for mode in threads processes; do
    rc=0
    mn_launch "$hosts" "$n" $cs run -k triad -m $mode -w 2 -s S -r 1 -o "$WORK/copies.h5" -q \
      >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
    lines=$(grep -c "copies of it" "$WORK/err" || true)
    if [[ $rc -ne 2 || $lines -ne 1 || -e $WORK/copies.h5 ]]; then
      fail "$n nodes: $mode under the launcher: exit $rc, refusal $lines times: $(head -c 600 "$WORK/err")"
    else
      echo "ok: $n nodes: $mode refused: $(grep "copies of it" "$WORK/err")"
    fi
  done

  mn_down
  if ! left=$(mn_leftovers); then fail "$n nodes: left behind: $left"; fi
  echo "ok: $n nodes: runs across nodes verified ($team_runs of them on team memory), $ran team-memory runs on one node, cluster removed ($((SECONDS - start)) s)"
done
finish
