#!/usr/bin/env bash
# After its launcher dies (mpirun killed with SIGKILL mid-run), a rank does not append: the file
# keeps the rows it had, and the ranks end. Open MPI's ranks die with their mpirun; a launcher
# whose processes outlive it (a process-manager proxy) is stood in for by a shell that sets the
# PMI environment and is killed: its run ends with one line and no row. Needs mpirun (Open MPI)
# for the first part; skipped with exit 77 otherwise.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
command -v mpirun >/dev/null || { echo "no mpirun: skipped"; exit 77; }
# The MPICH build's MPI tests run with mpiexec.mpich; this test drives Open MPI's mpirun.
[[ ${MPIEXEC:-mpirun} == *mpich* ]] && { echo "skipped: written for Open MPI's mpirun, this build uses $MPIEXEC"; exit 77; }
out=$WORK/r.h5
$cs run -k ep -m serial -s 1000 -r 1 --warmup 0 -q -o "$out"
rows() { "$PYTHON" -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['runs/run_id']))" "$out"; }
# The control: under a live mpirun the same command appends.
mpirun --oversubscribe -np 2 $cs run -k ep -m mpi -s 1000 -r 1 --warmup 0 -q -o "$out" || fail "mpi run under a live mpirun"
[[ $(rows) == 2 ]] || fail "a run under a live mpirun did not append ($(rows) rows)"
setsid mpirun --oversubscribe -np 2 $cs run -k ep -m mpi -s 20M -r 200 --warmup 0 -q -o "$out" 2>"$WORK/err" &
launcher=$!
ranks=""
for _ in $(seq 1 100); do
  ranks=$(pgrep -P "$launcher" -f "corescope run" | tr '\n' ' ' || true)
  [[ $(wc -w <<<"$ranks") -ge 2 ]] && break
  sleep 0.1
done
[[ -n $ranks ]] || fail "the ranks did not start"
sleep 1
kill -9 "$launcher"
wait "$launcher" 2>/dev/null || true
gone=0
for _ in $(seq 1 600); do
  alive=0
  for p in $ranks; do kill -0 "$p" 2>/dev/null && alive=1; done
  ((alive)) || { gone=1; break; }
  sleep 0.1
done
if ((!gone)); then
  fail "ranks $ranks still running 60 s after their launcher died"
  for p in $ranks; do kill -9 "$p" 2>/dev/null || true; done
fi
[[ $(rows) == 2 ]] || fail "a rank appended after its launcher died ($(rows) rows)"
echo "after mpirun was killed: $(rows) rows; ranks ended: $gone"

# A launcher that dies while its process goes on (PMI environment, as mpiexec's proxies give).
setsid bash -c 'PMI_RANK=0 PMI_SIZE=1 "$0" run -k ep -m serial -s 20M -r 40 --warmup 0 -q -o "$1" 2>"$2" & wait' \
  "$cs" "$out" "$WORK/err2" &
stand_in=$!
run=""
for _ in $(seq 1 100); do run=$(pgrep -P "$stand_in" || true); [[ -n $run ]] && break; sleep 0.05; done
[[ -n $run ]] || fail "the stand-in launcher's run did not start"
sleep 0.5
kill -9 "$stand_in"
wait "$stand_in" 2>/dev/null || true
for _ in $(seq 1 600); do kill -0 "$run" 2>/dev/null || break; sleep 0.1; done
kill -0 "$run" 2>/dev/null && { fail "the run outlived its launcher by 60 s"; kill -9 "$run"; }
[[ $(rows) == 2 ]] || fail "the run appended after its launcher died ($(rows) rows)"
[[ $(wc -l <"$WORK/err2") -eq 1 ]] && grep -q "the launcher that started this process (mpiexec, pid [0-9]*) has ended; the result is not recorded" "$WORK/err2" ||
  fail "the run's message: $(cat "$WORK/err2")"
echo "after the stand-in launcher was killed: $(rows) rows; $(cat "$WORK/err2")"
finish
