# A cluster of N nodes on this one machine, for multi-node MPI tests (sourced; needs root).
#
# Node i is a network namespace ${MN_PREFIX}n$i whose end of a veth pair ("eth0", 10.77.0.i/24)
# is joined to the other nodes' by a bridge in the root namespace, which holds 10.77.0.254: the
# launcher (mpirun, mpiexec.mpich) runs there and reaches every node over the bridge, so every
# node is remote to it and all MPI traffic between nodes is TCP over the veths. agent.sh is the
# launcher's remote shell: it enters the node's namespace and a UTS namespace named after the
# node. /etc/hosts gets one line per node (marked, removed again by mn_down).
#
#   mn_available          prints why a cluster cannot be built here; false then
#   mn_up N               builds nodes n1..nN (takes a lock once, held until the script exits,
#                         so two clusters never overlap)
#   mn_launch HOSTS NP .. runs `corescope ...` (or any command) with NP processes on HOSTS
#                         ("n1:1,n2:1", slots per node) through $MPIEXEC (Open MPI or MPICH)
#   mn_rma_args           launcher options for one-sided communication between nodes
#   mn_down               kills what runs in the nodes, removes namespaces, links, hosts lines
#   mn_leftovers          prints what of a cluster is left; false if anything is
MN_PREFIX=${CORESCOPE_MN_PREFIX:-csmn-}
export CORESCOPE_MN_PREFIX=$MN_PREFIX  # agent.sh finds the namespaces by it
MN_NET=10.77.0
MN_BRIDGE=${MN_PREFIX}br
MN_MARK="# corescope-multinode ${MN_PREFIX}"
MN_AGENT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/agent.sh
MN_LOCK=${CORESCOPE_MN_LOCK:-/run/lock/corescope-multinode.lock}
MN_LAUNCH_ARGS=()

mn_available() {
  if [[ $EUID -ne 0 ]]; then echo "needs root (network namespaces)"; return 1; fi
  local tool
  for tool in ip unshare flock; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed"; return 1; }
  done
  local probe=${MN_PREFIX}probe$$
  if ! ip netns add "$probe" 2>/dev/null; then echo "ip netns add fails here"; return 1; fi
  local why=""
  if ! ip link add "${MN_PREFIX}pb$$" type veth peer name eth0 netns "$probe" 2>/dev/null; then
    why="veth pairs into a namespace cannot be made here"
  elif ! ip netns exec "$probe" unshare --uts hostname n0 2>/dev/null; then
    why="unshare --uts inside a namespace fails here"
  fi
  ip netns del "$probe"  # takes the veth pair with it
  [[ -z $why ]] || { echo "$why"; return 1; }
}

# mn_test_start CORESCOPE: for a test script (after integration/common.sh): skipped (exit 77)
# without a cluster or an MPI build; on exit the cluster comes down and $WORK goes.
mn_test_start() {
  local why
  if ! why=$(mn_available); then
    echo "skipped: $why"
    exit 77
  fi
  if ! "$1" list | grep -qE '^mpi +yes'; then
    echo "skipped: this corescope is built without MPI"
    exit 77
  fi
  trap 'mn_down; cleanup_work' EXIT
  trap 'exit 130' INT TERM
}

mn_down() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${MN_PREFIX}" || true); do
    # Whatever a launcher left running in the node (orted, hydra_pmi_proxy, ranks) dies with it.
    for pid in $(ip netns pids "$ns" 2>/dev/null || true); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true  # also removes the node's veth pair
  done
  local link
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^${MN_PREFIX}" || true); do
    ip link del "$link" 2>/dev/null || true
  done
  if grep -qF "$MN_MARK" /etc/hosts 2>/dev/null; then
    # Rewritten in place (not renamed over): /etc/hosts may be a bind mount.
    local kept
    kept=$(grep -vF "$MN_MARK" /etc/hosts || true)
    printf '%s\n' "$kept" >/etc/hosts
  fi
}

mn_leftovers() {
  local left
  left=$( {
    ip netns list 2>/dev/null | awk '{print "namespace " $1}' | grep " ${MN_PREFIX}" || true
    ip -o link show 2>/dev/null | awk -F': ' '{print "link " $2}' | grep " ${MN_PREFIX}" || true
    grep -F "$MN_MARK" /etc/hosts | sed 's/^/hosts line: /' || true
  })
  [[ -z $left ]] && return 0
  echo "$left"
  return 1
}

mn_up() {
  local n=$1 i ns
  # Taken once per script and held until it exits: a second lock on a new descriptor would wait
  # for this script's own first one (flock locks belong to the open file, not the process).
  if [[ -z ${MN_LOCK_FD:-} ]]; then
    exec {MN_LOCK_FD}>"$MN_LOCK"
    flock -w 900 "$MN_LOCK_FD" || { echo "another namespace cluster holds $MN_LOCK" >&2; return 1; }
  fi
  mn_down  # what a killed earlier run of this prefix left
  ip link add "$MN_BRIDGE" type bridge
  ip addr add "$MN_NET.254/24" dev "$MN_BRIDGE"
  ip link set "$MN_BRIDGE" up
  for ((i = 1; i <= n; i++)); do
    ns=${MN_PREFIX}n$i
    ip netns add "$ns"
    ip link add "${MN_PREFIX}v$i" type veth peer name eth0 netns "$ns"
    ip link set "${MN_PREFIX}v$i" master "$MN_BRIDGE" up
    ip -n "$ns" addr add "$MN_NET.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    echo "$MN_NET.$i n$i $MN_MARK" >>/etc/hosts
  done
  MN_NODES=$n
}

# mn_hosts N [SLOTS]: "n1:SLOTS,...,nN:SLOTS"
mn_hosts() {
  local n=$1 slots=${2:-1} i out=""
  for ((i = 1; i <= n; i++)); do out+=${out:+,}n$i:$slots; done
  echo "$out"
}

# Launcher options under which MPI one-sided communication works between nodes (team memory
# across nodes, docs/user/multinode.md): Open MPI 4.1's default osc rdma cannot create a window over
# TCP and osc pt2pt refuses MPI_THREAD_MULTIPLE, so UCX carries it. UCX_TLS keeps UCX on TCP:
# left alone, UCX finds that the "nodes" share this machine's memory and uses its shared-memory
# transports between them, which no real cluster could. Open MPI 5's osc rdma carries windows over
# its TCP transport itself, and there UCX's one-sided path aborts (ucs_async_check_owner_thread)
# when an OpenMP thread of a hybrid rank drives it: 5 gets no options. MPICH needs nothing here;
# its UCX transports are set for every launch (mn_launcher_args).
mn_rma_args() {
  if [[ $(mn_flavour) == openmpi ]] && ! "${MPIEXEC:-mpirun}" --version 2>&1 | grep -qE "Open MPI\) [5-9]\."; then
    echo "--mca pml ucx --mca osc ucx,sm --mca pml_ucx_tls any --mca pml_ucx_devices any -x UCX_NET_DEVICES=eth0 -x UCX_TLS=tcp,self"
  fi
}

mn_flavour() {
  if "${MPIEXEC:-mpirun}" --version 2>&1 | grep -qE "Open MPI|OpenRTE"; then echo openmpi; else echo mpich; fi
}

# mn_launcher_args: the launcher words that reach the nodes ($MPIEXEC's flavour), one line,
# separated by spaces (also what `corescope sweep --launcher-args` takes).
mn_launcher_args() {
  if [[ $(mn_flavour) == openmpi ]]; then
    # No tree spawn: mpirun starts every node's daemon itself through the agent. vader (shared
    # memory) is used only between ranks on one node, as on a real cluster.
    echo "--mca plm_rsh_agent $MN_AGENT --mca plm_rsh_no_tree_spawn 1 --mca btl tcp,vader,self" \
      "--mca btl_tcp_if_include $MN_NET.0/24 --mca oob_tcp_if_include $MN_NET.0/24"
  else
    # Hydra's proxies call back to -localhost. UCX (MPICH's device) is kept off TCP: MPICH 4.0's
    # MPI_Finalize over UCX's TCP transport hangs when a rank that has closed its connections
    # waits in PMI's barrier while a peer still needs its acknowledgement to close its own
    # (fixed in MPICH 4.2; docs/user/multinode.md, "MPICH"). Between the namespaces of this machine
    # UCX's shared-memory transports reach every rank.
    echo "-launcher ssh -launcher-exec $MN_AGENT -localhost $MN_NET.254 -genv UCX_TLS self,sm"
  fi
}

# mn_launch HOSTS NP COMMAND...: NP processes placed on HOSTS in order, each node filled to its
# slots first. Every process reaches the others over 10.77.0.0/24 only. Killed after MN_TIMEOUT
# seconds (120; exit 124). Words in the array MN_LAUNCH_ARGS go to the launcher before COMMAND.
mn_launch() {
  local hosts=$1 np=$2
  shift 2
  local args
  read -r -a args <<<"$(mn_launcher_args)"
  if [[ $(mn_flavour) == openmpi ]]; then
    timeout -k 5 "${MN_TIMEOUT:-120}" "${MPIEXEC:-mpirun}" --host "$hosts" -np "$np" --bind-to none "${args[@]}" \
      "${MN_LAUNCH_ARGS[@]}" "$@"
  else
    timeout -k 5 "${MN_TIMEOUT:-120}" "${MPIEXEC:-mpiexec.mpich}" "${args[@]}" -hosts "$hosts" -n "$np" \
      "${MN_LAUNCH_ARGS[@]}" "$@"
  fi
}
