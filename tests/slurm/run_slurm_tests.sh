#!/usr/bin/env bash
# Every jobs/slurm script on a real single-node Slurm, brought up here on localhost (munge +
# slurmctld + slurmd, every file in a temp dir, stopped by PID at the end, also on failure), at
# test size. Each job must end COMPLETED and leave its HDF5 file: rows present, every run ok and
# verified, its Slurm job id in slurm_job_id, and mpi cells started by srun with the --mpi plugin
# of this corescope's MPI (pmix for Open MPI, pmi2 for MPICH). The array job's shards are merged
# by array-merge.sbatch into one file holding every cell once.
#   run_slurm_tests.sh [SCRIPT.sbatch ...]   # default: every jobs/slurm/*.sbatch
#   run_slurm_tests.sh --mpi-only            # strong.sbatch's mpi and hybrid cells only (the MPICH build's test)
# Env: CORESCOPE (the binary), CORESCOPE_SOURCE (the checkout), CORESCOPE_SWEEP_ARGS (passed to
# the jobs). Exits 77 (ctest: skipped) where no test cluster can run: not root, no slurm-wlm.
source "$(dirname "$0")/../integration/common.sh"
source "$(dirname "$0")/local_slurm.sh"
src=${CORESCOPE_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
cs=$(readlink -f "$CORESCOPE")

why=$(slurm_unavailable)
if [[ -n $why ]]; then
  echo "skipped: no local Slurm test cluster here: $why"
  exit 77
fi
trap 'slurm_down; cleanup_work' EXIT
chmod 755 "$WORK"
slurm_up "$WORK/cluster" || { fail "the local Slurm did not start"; finish; }
echo "local slurm up: $(sinfo -h -o '%N %c CPUs %T'), srun --mpi: $(srun --mpi=list 2>&1 | awk 'NR>1 && !/specific/ {printf "%s ", $1}')"

cpus=$(nproc)
flavour=$("$cs" info 2>/dev/null | grep -io 'open mpi\|mpich' | head -n 1 || true)
has_isolate=0
"$cs" --help | grep -q '^ *isolate ' && has_isolate=1

scripts=("$@")
mpi_only=0
if [[ ${1:-} == --mpi-only ]]; then
  mpi_only=1
  scripts=(strong.sbatch)
  export CORESCOPE_SWEEP_ARGS="--modes mpi --hybrid 2x1,1x2"
fi
if ((${#scripts[@]} == 0)); then
  for f in "$src"/jobs/slurm/*.sbatch; do
    [[ $(basename "$f") == array-merge.sbatch ]] || scripts+=("$(basename "$f")")
  done
fi

# Every script parses (bash -n), whether or not this cluster can run it.
for f in "$src"/jobs/slurm/*.sbatch; do
  bash -n "$f" || fail "$(basename "$f"): bash -n"
done

declare -A job_of
jobs_dir=$WORK/jobs
mkdir -p "$jobs_dir"
for name in "${scripts[@]}"; do
  script=$src/jobs/slurm/$name
  study=${name%.sbatch}
  # The headers ask for a real node; this one has $cpus CPUs: ranks x 1 CPU, or 1 task x all CPUs.
  if grep -q '^#SBATCH --ntasks=1 *\($\|#\)' "$script"; then
    size=(--ntasks=1 --cpus-per-task="$cpus")
  elif grep -q '^#SBATCH --nodes=[2-9]' "$script"; then
    # A multi-node script on this one node: --nodes=1 overrides its header (docs/user/multinode.md).
    size=(--nodes=1 --ntasks-per-node="$cpus" --cpus-per-task=1)
  else
    size=(--ntasks="$cpus" --cpus-per-task=1)
  fi
  extra=()
  [[ $study == array ]] && extra=(--array=0-1)
  job_of[$study]=$(sbatch --parsable "${size[@]}" "${extra[@]}" --time=10 --chdir="$jobs_dir" \
    --export=ALL,CORESCOPE="$cs",CORESCOPE_TEST_SIZE=1,OUT="$jobs_dir/$study.h5",OUT_PREFIX="$jobs_dir/array" \
    "$script") || { fail "sbatch $name"; continue; }
  echo "submitted $name as job ${job_of[$study]}"
  if [[ $study == array ]]; then
    job_of[array-merge]=$(sbatch --parsable --dependency=afterany:"${job_of[array]}" --time=5 --chdir="$jobs_dir" \
      --export=ALL,CORESCOPE="$cs",OUT_PREFIX="$jobs_dir/array" "$src/jobs/slurm/array-merge.sbatch") ||
      fail "sbatch array-merge.sbatch"
    echo "submitted array-merge.sbatch as job ${job_of[array-merge]} (after array job ${job_of[array]})"
  fi
done

slurm_wait_jobs 540 "${job_of[@]}" || fail "jobs did not finish in time"

# check_file STUDY FILE FLAVOUR JOBIDS MPI_ONLY: the results file of one study.
check_file() {
  "$PYTHON" - "$@" <<'PY'
import sys, h5py, numpy as np
study, path, flavour, mpi_only = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[5] == "1"
job_ids = set(sys.argv[4].split(","))
with h5py.File(path, "r") as f:
    runs = f["runs"]
    text = lambda col: [x.decode() if isinstance(x, bytes) else str(x) for x in runs[col][...]]
    n = len(runs["run_id"])
    assert n > 0, "no runs"
    status, verified, cells = text("status"), runs["verified"][...], text("cell")
    bad = [cells[i] + ": " + status[i] + " " + text("error")[i] for i in range(n) if status[i] != "ok" or verified[i] != 1]
    assert not bad, f"runs not ok and verified: {bad}"
    ok_cells = [(c, r) for c, r, s in zip(cells, text("round"), status) if s == "ok"]
    assert len(set(ok_cells)) == len(ok_cells), f"a cell is in the file twice in one round: {sorted(ok_cells)}"
    jobs = set(text("slurm_job_id"))
    assert jobs <= job_ids and "" not in jobs, f"slurm_job_id {jobs}, expected among {job_ids}"
    assert all(x != "" for x in text("slurm_nodelist")), "slurm_nodelist missing"
    mpi = [i for i, m in enumerate(text("mode")) if m in ("mpi", "hybrid")]
    assert not mpi_only or (mpi and len(mpi) == n), f"expected only mpi/hybrid cells, got {text('mode')}"
    plugin = "pmi2" if flavour.lower() == "mpich" else "pmix"
    for i in mpi:
        assert text("launcher")[i] == "srun", f"{cells[i]}: launcher {text('launcher')[i]}"
        assert text("launch_command")[i].startswith(f"srun --mpi={plugin} "), text("launch_command")[i]
        assert runs["slurm_ntasks"][i] == runs["ranks"][i], f"{cells[i]}: slurm_ntasks {runs['slurm_ntasks'][i]} != ranks"
    flav = set(text("mpi_flavour")[i] for i in mpi)
    assert not mpi or flav == {"MPICH" if flavour.lower() == "mpich" else "OpenMPI"}, flav
    print(f"{study}: {n} runs, all ok and verified, {len(mpi)} mpi/hybrid cells via srun --mpi={plugin}, jobs {sorted(jobs)}")
PY
}

array_tasks() {  # job ids of the array's tasks (each task has its own SLURM_JOB_ID)
  scontrol show job "$1" 2>/dev/null | sed -n 's/^JobId=\([0-9]*\) .*/\1/p' | paste -sd, -
}

for study in "${!job_of[@]}"; do
  job=${job_of[$study]}
  state=$(slurm_job_state "$job")
  log=$(ls "$jobs_dir"/*-"$job".out "$jobs_dir"/*-"$job"_*.out 2>/dev/null | head -n 1 || true)
  if [[ $study == isolation && $has_isolate == 0 ]]; then
    if grep -q "has no 'isolate' command" "$jobs_dir"/corescope-isolation-"$job".out 2>/dev/null; then
      echo "isolation: skipped: this corescope has no 'isolate' command yet (the job said so and exited 3)"
    else
      fail "isolation: expected the job to report the missing 'isolate' command (state $state)"
    fi
    continue
  fi
  if [[ $study == array ]]; then
    for task in $(array_tasks "$job" | tr , ' '); do
      s=$(slurm_job_state "$task")
      [[ $s == COMPLETED ]] || fail "array task $task ended $s"
    done
    continue
  fi
  if [[ $state != COMPLETED ]]; then
    fail "$study: job $job ended $state"
    [[ -n $log ]] && tail -n 20 "$log" >&2
    continue
  fi
  case $study in
    isolation)
      "$PYTHON" - "$jobs_dir/isolation.h5" "$job" <<'PY' || fail "isolation: results file"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    iso = f["isolation"]
    n = len(iso["mode"])
    assert n > 0, "no trials"
    modes = sorted(set(x.decode() for x in iso["mode"][...]))
    if "slurm_job_id" in iso:
        assert set(x.decode() for x in iso["slurm_job_id"][...]) == {sys.argv[2]}, "slurm_job_id"
    print(f"isolation: {n} trials, modes {modes}")
PY
      ;;
    array-merge)
      check_file array "$jobs_dir/array.h5" "$flavour" "$(array_tasks "${job_of[array]}")" 0 || fail "array: merged file"
      # Each shard file holds its part; the merged file holds them all, once.
      "$PYTHON" - "$jobs_dir" <<'PY' || fail "array: shards and merge disagree"
import sys, glob, h5py
d = sys.argv[1]
cells = lambda p: [(x.decode(), int(r)) for x, r in zip(h5py.File(p, "r")["runs/cell"][...], h5py.File(p, "r")["runs/round"][...])]
parts = sorted(glob.glob(d + "/array-[0-9]*.h5"))
assert len(parts) == 2, parts
shard_cells = [c for p in parts for c in cells(p)]
merged = cells(d + "/array.h5")
assert all(cells(p) for p in parts), "an empty shard"
assert sorted(merged) == sorted(shard_cells) and len(set(merged)) == len(merged), (len(merged), len(shard_cells))
print(f"array: {len(parts)} shards of {[len(cells(p)) for p in parts]} cells merged into {len(merged)}, none twice")
PY
      ;;
    *)
      check_file "$study" "$jobs_dir/$study.h5" "$flavour" "$job" "$mpi_only" || fail "$study: results file"
      ;;
  esac
done

# The launcher check: ranks started by srun without this MPI's PMI plugin. MPICH then starts
# singletons (each rank 0 of a world of 1, all "succeeding"): corescope refuses them, once, with
# exit 2. Open MPI fails in MPI_Init by itself. Either way: nonzero, and no results file.
if "$cs" list | grep -q '^mpi  *yes'; then
  rc=0
  (cd "$jobs_dir" && timeout 120 srun --mpi=none --ntasks=2 "$cs" run -k triad -m mpi -s S -r 2 -o "$jobs_dir/singletons.h5" -q) \
    >"$WORK/singletons.log" 2>&1 || rc=$?
  refused=$(grep -c "each task is a singleton" "$WORK/singletons.log" || true)
  if [[ $rc == 0 || -e $jobs_dir/singletons.h5 ]] || [[ ${flavour,,} == mpich && $refused != 1 ]]; then
    fail "srun --mpi=none: exit $rc, refusals printed $refused times: $(tail -n 5 "$WORK/singletons.log")"
  else
    echo "srun --mpi=none: exit $rc, no file$( ((refused)) && echo ", refused: $(grep -o "srun started.*" "$WORK/singletons.log")")"
  fi
fi

if ((failures)); then
  echo "---- job outputs" >&2
  for f in "$jobs_dir"/*.out; do
    echo "== $f" >&2
    tail -n 15 "$f" >&2
  done
  slurm_logs
fi
finish
