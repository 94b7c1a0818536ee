#!/usr/bin/env bash
# Damaged results files: a corpus of truncations, flipped bytes, columns of the wrong type,
# missing columns, columns of the wrong length, a 2-D column and the damaged files of past
# failures (tests/data/damaged) is given to every command that reads a results file: summary,
# merge (as input and as --out), run appending to it, compact, sweep --resume onto it. Each must
# end without a signal, without a traceback or abort, leave no temp file, and either succeed
# quietly (the damage missed everything that is read) or print exactly one line and exit 2
# ("... is damaged: ...").
#
# The flipped bytes (offsets and values) are drawn from a seed, printed; the same seed gives
# the same corpus: the flips go into a committed file (tests/data/damaged-base.h5.gz), whose
# bytes do not vary, and a few into a file written by this run, whose layout does (that part
# is replayed from the damaged file kept on failure). A failing damaged file is copied to
# $CORESCOPE_DAMAGED_KEEP (default: damaged-failures/ in the build directory, else /tmp).
#
#   damaged_files.sh              two fresh random seeds (what ctest runs)
#   CORESCOPE_DAMAGED_SEED=N damaged_files.sh    replays seed N alone
#   damaged_files.sh --soak K     K fresh random seeds (docs/results-format.md, "Damaged files")
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
data=$(cd "$(dirname "$0")/../data" && pwd)
seeds=()
if [[ ${1:-} == --soak ]]; then
  [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [--soak SEEDS]" >&2; exit 2; }
  count=$2
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--soak SEEDS]" >&2; exit 2
else
  count=2
fi
if [[ -n ${CORESCOPE_DAMAGED_SEED:-} ]]; then
  [[ $CORESCOPE_DAMAGED_SEED =~ ^[0-9]+$ ]] || { echo "CORESCOPE_DAMAGED_SEED must be a number" >&2; exit 2; }
  seeds=("$CORESCOPE_DAMAGED_SEED")
else
  for ((i = 0; i < count; i++)); do seeds+=("$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"); done
fi
keep=${CORESCOPE_DAMAGED_KEEP:-${CORESCOPE_BUILD:-/tmp}/damaged-failures}
echo "seeds: ${seeds[*]} (replay one with CORESCOPE_DAMAGED_SEED=N $0)"

base=$WORK/base.h5
gzip -dc "$data/damaged-base.h5.gz" >"$base"
fresh=$WORK/fresh.h5
$cs run -k triad -m serial -s 1000 -r 2 --warmup 0 -o "$fresh" -q
$cs run -k ep -m threads -w 2 -s 1000 -r 2 --warmup 0 -o "$fresh" -q
$cs run -k triad -m serial -s 1000 -r 1 --warmup 0 -o "$WORK/other.h5" -q
fixed=$WORK/fixed
mkdir -p "$fixed"
for f in "$data"/damaged/*.h5.gz; do gzip -dc "$f" >"$fixed/regression-$(basename "$f" .gz)"; done
"$PYTHON" "$(dirname "$0")/damaged_corpus.py" fixed "$base" "$fixed"

signals=0 aborts=0 leftovers=0 bad_lines=0 bad_codes=0 damaged=0 ok=0 runs=0 files=0 kept=0
# keep_input TAG FILE: a damaged file that failed a check, copied where it outlives $WORK.
keep_input() {
  local to=$keep/$1-$(basename "$2")
  [[ -e $to ]] && return 0
  if mkdir -p "$keep" && cp "$2" "$to"; then
    kept=$((kept + 1)); echo "kept the damaged file: $to" >&2
  else
    echo "could not keep the damaged file $(basename "$2") in $keep" >&2
  fi
}
check() {  # check LABEL DIR TAG INPUT: the last command's $rc and $WORK/err
  local label=$1 dir=$2 before=$failures lines
  runs=$((runs + 1))
  lines=$(wc -l <"$WORK/err")
  if ((rc > 128)); then signals=$((signals + 1)); fail "$label: signal $((rc - 128)): $(head -c 300 "$WORK/err")"; fi
  if grep -qiE "traceback|abort|terminate called|HDF5-DIAG|core dumped" "$WORK/err"; then
    aborts=$((aborts + 1)); fail "$label: $(head -c 300 "$WORK/err")"
  fi
  if find "$dir" -maxdepth 1 -name '.*.tmp.*' | grep -q .; then leftovers=$((leftovers + 1)); fail "$label: temp file left"; fi
  if ((rc == 0)); then
    ok=$((ok + 1))
    ((lines == 0)) || { bad_lines=$((bad_lines + 1)); fail "$label: exit 0 with stderr: $(head -c 300 "$WORK/err")"; }
  else
    ((lines == 1)) || { bad_lines=$((bad_lines + 1)); fail "$label: $lines stderr lines: $(head -c 400 "$WORK/err")"; }
    if ((rc == 2)) && grep -q "is damaged: \|is not an HDF5 file\|not a corescope results file\|schema_version" "$WORK/err"; then
      damaged=$((damaged + 1))
    else
      bad_codes=$((bad_codes + 1)); fail "$label: exit $rc: $(head -c 300 "$WORK/err")"
    fi
  fi
  ((failures == before)) || keep_input "$3" "$4"
}
# The cases live in a directory with a long name: the path is part of the command line /runs
# records, so an append onto a file written from a shorter one cannot keep /tables/runs and
# rewrites it (deleting the old copy), which is where tests/data/damaged/flip-333117 failed.
d=$WORK/case-in-a-directory-whose-long-name-widens-the-recorded-command-line
run_commands() {  # run_commands TAG FILE: every command on one damaged file
  local tag=$1 f=$2 name
  name="$tag $(basename "$2")"
  files=$((files + 1))
  rm -rf "$d"; mkdir -p "$d"
  cp "$f" "$d/in.h5"
  rc=0; $cs summary "$d/in.h5" >/dev/null 2>"$WORK/err" || rc=$?; check "summary $name" "$d" "$tag" "$f"
  rc=0; $cs merge -q -o "$d/merged.h5" "$WORK/other.h5" "$d/in.h5" >/dev/null 2>"$WORK/err" || rc=$?
  check "merge from $name" "$d" "$tag" "$f"
  cp "$f" "$d/out.h5"
  rc=0; $cs merge -q -o "$d/out.h5" "$WORK/other.h5" >/dev/null 2>"$WORK/err" || rc=$?; check "merge into $name" "$d" "$tag" "$f"
  cp "$f" "$d/run.h5"
  rc=0; $cs run -k triad -m serial -s 1000 -r 1 --warmup 0 -q -o "$d/run.h5" >/dev/null 2>"$WORK/err" || rc=$?
  check "run onto $name" "$d" "$tag" "$f"
  cp "$f" "$d/compact.h5"
  rc=0; $cs compact -q "$d/compact.h5" >/dev/null 2>"$WORK/err" || rc=$?; check "compact of $name" "$d" "$tag" "$f"
  cp "$f" "$d/sweep.h5"
  rc=0; $cs sweep --kernels triad --modes serial --size 1000 --reps 1 --warmup 0 -q --resume --out "$d/sweep.h5" \
    >/dev/null 2>"$WORK/err" || rc=$?
  check "sweep --resume onto $name" "$d" "$tag" "$f"
}
for f in "$fixed"/*.h5; do run_commands fixed "$f"; done
for seed in "${seeds[@]}"; do
  corpus=$WORK/seed-$seed
  mkdir -p "$corpus"
  "$PYTHON" "$(dirname "$0")/damaged_corpus.py" flips "$base" "$fresh" "$corpus" "$seed"
  before=$failures
  for f in "$corpus"/*.h5; do run_commands "seed-$seed" "$f"; done
  echo "seed $seed: $((failures - before)) failure(s)"
done
echo "$runs commands on $files damaged files: $ok succeeded, $damaged refused with one line (exit 2);" \
  "signals $signals, aborts/tracebacks $aborts, temp files left $leftovers, wrong line counts $bad_lines, other exits $bad_codes"
((kept == 0)) || echo "$kept failing damaged file(s) kept in $keep (seed-N-base-*: replay with CORESCOPE_DAMAGED_SEED=N)" >&2

# /dev/zero as a plan: refused at once (plans are regular files of bounded size).
rc=0
timeout 20 $cs sweep --plan /dev/zero --dry-run >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$WORK/err") -eq 1 ]] || fail "--plan /dev/zero: exit $rc: $(head -c 200 "$WORK/err")"
head -c 3000000 /dev/zero | tr '\0' '#' >"$WORK/big.plan"
rc=0
timeout 20 $cs sweep --plan "$WORK/big.plan" --dry-run >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$WORK/err") -eq 1 ]] || fail "a 3 MB plan: exit $rc: $(head -c 200 "$WORK/err")"
rc=0
head -c 3000000 /dev/zero | timeout 20 $cs sweep --plan - --dry-run >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$WORK/err") -eq 1 ]] || fail "3 MB of NULs on stdin as a plan: exit $rc: $(head -c 200 "$WORK/err")"
finish
