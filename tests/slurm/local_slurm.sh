# A throw-away single-node Slurm cluster on localhost, for tests (sourced, not run).
#
#   source tests/slurm/local_slurm.sh
#   slurm_up DIR        # munged + slurmctld + slurmd; every file under DIR; exports SLURM_CONF
#   ...sbatch / squeue / srun...
#   slurm_down          # stops the three daemons by PID (also called from an EXIT trap)
#
# No systemd and no /etc changes: munged gets its own key and socket, slurmctld runs as user
# slurm (it drops to SlurmUser itself when started as root), slurmd as root. Ports are picked
# free at start, so two test runs on one host do not meet. Needs root, slurm-wlm and munge.

slurm_pids=()

# Prints a TCP port nobody listens on (asks the kernel for one, then releases it).
_slurm_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Why this machine cannot host the test cluster, or nothing.
slurm_unavailable() {
  [[ $(id -u) -eq 0 ]] || { echo "needs root (slurmd runs as root)"; return; }
  local tool
  for tool in munged mungekey slurmctld slurmd sbatch squeue srun scontrol; do
    command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || { echo "$tool not installed (apt-get install slurm-wlm munge)"; return; }
  done
  id slurm >/dev/null 2>&1 || echo "no user 'slurm' (installed by slurm-wlm)"
}

_slurm_wait_for() {  # _slurm_wait_for SECONDS what cmd...: retries cmd until it succeeds
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      echo "local slurm: $what did not come up within ${limit}s" >&2
      return 1
    fi
    sleep 0.2
  done
}

slurm_up() {
  local dir=$1
  mkdir -p "$dir"
  chmod 755 "$dir"  # slurmctld (user slurm) must reach the munge socket and its state dir
  SLURM_DIR=$dir
  local sbin=/usr/sbin
  local node
  node=$(hostname -s)

  # munge: private key, socket and logs.
  mkdir -p "$dir/munge"
  chmod 755 "$dir/munge"
  "$sbin/mungekey" --create --keyfile="$dir/munge/munge.key" --force >/dev/null 2>&1 ||
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  "$sbin/munged" --foreground --force --socket="$dir/munge/munge.sock" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munge.seed" \
    >"$dir/munge/munged.stdout" 2>&1 &
  slurm_pids+=($!)
  _slurm_wait_for 10 munged test -S "$dir/munge/munge.sock" || return 1

  mkdir -p "$dir/ctld" "$dir/slurmd" "$dir/tmp" "$dir/log"
  chown slurm: "$dir/ctld" "$dir/log"
  chmod 777 "$dir/log"
  chmod 1777 "$dir/tmp"
  : >"$dir/plugstack.conf"  # no site SPANK plugins
  local hw
  hw=$("$sbin/slurmd" -C | head -n 1)
  cat >"$dir/slurm.conf" <<EOF
ClusterName=corescope-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(_slurm_free_port)
SlurmdPort=$(_slurm_free_port)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/slurmd
SlurmctldPidFile=$dir/ctld/slurmctld.pid
SlurmdPidFile=$dir/slurmd/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
TmpFS=$dir/tmp
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
SchedulerType=sched/builtin
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=600
$hw NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  export SLURM_CONF=$dir/slurm.conf
  "$sbin/slurmctld" -D -c -f "$SLURM_CONF" >"$dir/log/slurmctld.stdout" 2>&1 &
  slurm_pids+=($!)
  _slurm_wait_for 30 slurmctld scontrol ping || { slurm_logs; return 1; }
  "$sbin/slurmd" -D -f "$SLURM_CONF" >"$dir/log/slurmd.stdout" 2>&1 &
  slurm_pids+=($!)
  _slurm_wait_for 30 "node $node" bash -c "sinfo -h -N -o '%T' | grep -qE '^(idle|mixed|allocated)'" ||
    { slurm_logs; return 1; }
}

# The daemons' logs, for a failing test.
slurm_logs() {
  local f
  for f in "$SLURM_DIR"/log/*.log "$SLURM_DIR"/munge/munged.log; do
    [[ -f $f ]] || continue
    echo "---- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
}

# Stops the daemons we started, newest first, by PID; waits for each to be gone.
slurm_down() {
  local i pid
  # Jobs first (a failed test may leave some), so slurmd can end their steps while it still runs.
  if ((${#slurm_pids[@]})) && [[ -n ${SLURM_CONF:-} ]]; then
    squeue -h -o '%A' 2>/dev/null | xargs -r scancel 2>/dev/null || true
    for _ in $(seq 1 50); do
      [[ -z $(squeue -h -o '%A' 2>/dev/null) ]] && break
      sleep 0.1
    done
  fi
  for ((i = ${#slurm_pids[@]} - 1; i >= 0; i--)); do
    pid=${slurm_pids[i]}
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  slurm_pids=()
}

# Waits until every job id given has left the queue (polling squeue: sbatch --wait polls slowly).
slurm_wait_jobs() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit)) left
  while :; do
    left=$(squeue -h -j "$(IFS=,; echo "$*")" -o '%i' 2>/dev/null | wc -l)
    ((left == 0)) && return 0
    if ((SECONDS >= deadline)); then
      echo "local slurm: jobs $* still queued or running after ${limit}s" >&2
      squeue >&2
      return 1
    fi
    sleep 0.5
  done
}

# Final state of a finished job (COMPLETED, FAILED, TIMEOUT, ...), from slurmctld's memory
# (MinJobAge keeps finished jobs visible; there is no accounting database here).
slurm_job_state() {
  scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1
}
