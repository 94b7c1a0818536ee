#!/usr/bin/env bash
# Every kernel under mpirun (mpi: 2 ranks and an oversubscribed 3; hybrid: 2 ranks x 2 threads),
# read back from the file; one rank's usage error is printed once and ends the job.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
MPIEXEC=${MPIEXEC:-mpirun}
out=$WORK/mpi.h5
kernels=$($cs list | awk '/^Kernels/{k=1;next} /^$/{k=0} k && NR>2 && /^[a-z]/ {print $1}')
kernels=${CORESCOPE_MPI_KERNELS:-triad ep reduce stencil dgemm critical farm}

flavour_flags=()
if $MPIEXEC --version 2>&1 | grep -q "Open MPI"; then flavour_flags=(--oversubscribe --bind-to none); fi

expected=0
for k in $kernels; do
  timeout 300 $MPIEXEC -n 2 "${flavour_flags[@]}" $cs run -k $k -m mpi -s S -r 3 -o "$out" -q || fail "mpi $k"
  timeout 300 $MPIEXEC -n 2 "${flavour_flags[@]}" $cs run -k $k -m hybrid -t 2 -s S -r 3 -o "$out" -q || fail "hybrid $k"
  expected=$((expected + 2))
done
timeout 300 $MPIEXEC -n 3 "${flavour_flags[@]}" $cs run -k ep -m mpi -s S -r 3 -o "$out" -q || fail "mpi -n 3"
expected=$((expected + 1))

"$PYTHON" - "$out" "$expected" <<'PY' || fail "file contents"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
runs, samples = f["runs"], f["samples"]
n = len(runs["run_id"])
assert n == int(sys.argv[2]), f"{n} runs, expected {sys.argv[2]}"
text = lambda col: [x.decode() if isinstance(x, bytes) else x for x in runs[col][...]]
modes, launcher = text("mode"), text("launcher")
run_of = samples["run"][...]
for i in range(n):
    assert runs["verified"][i] == 1, f"run {i} not verified"
    assert launcher[i] == "mpirun" or launcher[i] == "mpiexec", launcher[i]
    w, r = int(runs["workers"][i]), int(runs["reps"][i])
    assert np.sum(run_of == i) == w * r, f"run {i}: {np.sum(run_of == i)} samples, expected {w}x{r}"
    workers = sorted(set(samples["worker"][...][run_of == i].tolist()))
    assert workers == list(range(w)), workers
    if modes[i] == "hybrid":
        assert w == 4 and runs["ranks"][i] == 2 and runs["threads_per_rank"][i] == 2
        assert text("mpi_thread_level")[i].startswith("MPI_THREAD"), text("mpi_thread_level")[i]
        ranks = set(samples["rank"][...][run_of == i].tolist())
        assert ranks == {0, 1}, ranks
assert runs["workers"][n - 1] == 3 and runs["oversubscribed"][n - 1] == 1
print(f"{n} runs read back, all verified, samples complete")
PY

# A usage error common to all ranks: printed once, the job ends with exit code 2.
rc=0
timeout 120 $MPIEXEC -n 2 "${flavour_flags[@]}" $cs run -k ep -m mpi -w 3 -s S -o "$out" -q >"$WORK/o" 2>"$WORK/e" || rc=$?
[[ $rc -ne 0 && $rc -ne 124 ]] || fail "mismatched --workers: exit $rc"
[[ $(grep -c "disagrees" "$WORK/e") -eq 1 ]] || fail "mismatched --workers error printed $(grep -c disagrees "$WORK/e") times"
finish
