#!/bin/sh
# The "remote shell" of the namespace cluster (tests/multinode/cluster.sh), used by Open MPI's
# mpirun (--mca plm_rsh_agent) and MPICH's hydra (-launcher ssh -launcher-exec) in place of ssh:
#   agent.sh [ssh-style options] NODE COMMAND...
# runs COMMAND, joined by spaces and read by sh as ssh's remote shell would, in NODE's network
# namespace (CORESCOPE_MN_PREFIX + NODE) under a UTS namespace of its own whose hostname is NODE.
while [ $# -gt 0 ]; do
  case $1 in
    -*) shift ;;  # ssh options a launcher adds (-x, -q, ...): nothing to forward here
    *) break ;;
  esac
done
if [ $# -lt 2 ]; then
  echo "agent.sh: usage: agent.sh [options] NODE COMMAND..." >&2
  exit 255
fi
node=$1
shift
exec ip netns exec "${CORESCOPE_MN_PREFIX:-csmn-}$node" \
  unshare --uts sh -c 'hostname "$1" && shift && exec sh -c "$*"' agent "$node" "$@"
