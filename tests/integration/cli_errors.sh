#!/usr/bin/env bash
# Bad input to the CLI: every mistake gets exit code 2 and one line on stderr, and files that
# are not ours are left untouched.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
out=$WORK/r.h5

expect_usage_error "unknown kernel" $cs run -k nope -o "$out"
grep -q "valid kernels: .*triad" "$WORK/err" || fail "unknown kernel message lists the valid ones"
expect_usage_error "unknown mode" $cs run -k ep -m nope -o "$out"
grep -q "valid modes: .*serial" "$WORK/err" || fail "unknown mode message lists the valid ones"
expect_usage_error "workers 0" $cs run -k ep -m threads -w 0 -o "$out"
expect_usage_error "workers negative" $cs run -k ep -m threads -w -3 -o "$out"
expect_usage_error "workers absurd" $cs run -k ep -m threads -w 1000000 -o "$out"
expect_usage_error "serial with 2 workers" $cs run -k ep -m serial -w 2 -o "$out"
expect_usage_error "size junk" $cs run -k triad -s 12Q -o "$out"
expect_usage_error "size too big for memory" $cs run -k triad -s 900G -o "$out"
grep -q "needs .* available" "$WORK/err" || fail "memory message says what it needs and what there is"
expect_usage_error "size absurd" $cs run -k triad -s 99999999999999999999G -o "$out"
expect_usage_error "threads with non-hybrid mode" $cs run -k ep -m threads -t 2 -o "$out"
expect_usage_error "gil option with threads mode" $cs run -k ep -m threads --switch-interval 0.001 -o "$out"
expect_usage_error "gil release with serial mode" $cs run -k ep -m serial --gil-release compute -o "$out"
for bad in 0 -0.001 10.5 nan; do
  expect_usage_error "switch interval $bad" $cs run -k ep -m gil -s S --switch-interval "$bad" -o "$out"
done
expect_usage_error "unknown gil policy" $cs run -k ep -m gil -s S --gil-policy python2 -o "$out"
grep -q "valid policies: cpython, fifo" "$WORK/err" || fail "unknown policy message lists the valid ones"
expect_usage_error "unknown gil release" $cs run -k ep -m gil -s S --gil-release all -o "$out"
grep -q "valid values: none, io, compute" "$WORK/err" || fail "unknown release message lists the valid ones"
expect_usage_error "unknown param" $cs run -k ep -p nope=1 -o "$out"
expect_usage_error "param without value" $cs run -k ep -p seed -o "$out"
expect_usage_error "unknown variant value" $cs run -k critical -m threads -w 2 -s S -p sync=sometimes -o "$out"
grep -q "valid values: none, mutex, atomic, critical, reduce" "$WORK/err" || fail "unknown variant lists the valid ones"
expect_usage_error "critical section outside openmp" $cs run -k critical -m threads -w 2 -s S -p sync=critical -o "$out"
expect_usage_error "critical M = 0" $cs run -k critical -m threads -w 2 -s 0 -o "$out"
expect_usage_error "critical M negative" $cs run -k critical -m threads -w 2 -s -5 -o "$out"
expect_usage_error "stencil grid smaller than the team" $cs run -k stencil -m threads -w 3 -s 2 -o "$out"
grep -q "fewer rows than the 3 workers" "$WORK/err" || fail "stencil says the grid has fewer rows than workers"
expect_usage_error "farm tail without a mean" $cs run -k farm -m threads -w 2 -s S -p alpha=0.9 -o "$out"
expect_usage_error "dgemm size 0" $cs run -k dgemm -m serial -s 0 -o "$out"
expect_usage_error "reps 0" $cs run -k ep -r 0 -o "$out"
expect_usage_error "mpi without launcher" $cs run -k ep -m mpi -o "$out"
expect_usage_error "unwritable directory" $cs run -k ep -s S -o /nonexistent-dir/r.h5
expect_usage_error "missing option value" $cs run -k
expect_usage_error "no subcommand" $cs
expect_usage_error "summary of a missing file" $cs summary "$WORK/missing.h5"
[[ ! -e "$out" ]] || fail "failed runs must not create the results file"

# Files that are not corescope's are refused and left byte-identical.
echo "my precious notes" >"$WORK/notes.h5"
sum_before=$(md5sum <"$WORK/notes.h5")
expect_usage_error "existing non-HDF5 file" $cs run -k ep -s S -o "$WORK/notes.h5"
[[ $(md5sum <"$WORK/notes.h5") == "$sum_before" ]] || fail "non-HDF5 file was modified"

"$PYTHON" - "$WORK/foreign.h5" "$WORK/newer.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "w") as f:
    f["data"] = [1, 2, 3]
with h5py.File(sys.argv[2], "w") as f:
    f.attrs["schema"] = "corescope"
    f.attrs["schema_version"] = 99
PY
for f in foreign newer; do
  sum_before=$(md5sum <"$WORK/$f.h5")
  expect_usage_error "existing $f HDF5 file" $cs run -k ep -s S -o "$WORK/$f.h5"
  [[ $(md5sum <"$WORK/$f.h5") == "$sum_before" ]] || fail "$f file was modified"
done
grep -q "schema_version 99" "$WORK/err" || fail "newer schema message names the version"
expect_usage_error "summary of a foreign file" $cs summary "$WORK/foreign.h5"

vout=$WORK/vocabulary.h5
# One vocabulary: the singular and the plural flag, and the short flags, in every command.
# expect_line "what" "text" cmd...: a usage error whose one line contains `text`.
expect_line() {
  local what=$1 text=$2
  shift 2
  expect_usage_error "$what" "$@"
  grep -qF -- "$text" "$WORK/err" || fail "$what: expected '$text' in: $(cat "$WORK/err")"
}
expect_line "run: several kernels" "run takes one kernel; to run several: corescope sweep -k triad,ep ..." \
  $cs run -k triad,ep -o "$vout"
expect_line "run: a kernel twice" "run takes one kernel" $cs run -k triad --kernels ep -o "$vout"
expect_line "run: several modes" "run takes one mode; to run several: corescope sweep -m serial,threads" \
  $cs run -k ep -m serial,threads -o "$vout"
expect_line "run: several team sizes" "run takes one worker count; to run several: corescope sweep -w 1,2" \
  $cs run -k ep -m threads -w 1,2 -o "$vout"
expect_line "run: several channels" "run takes one channel; to run several: corescope sweep --channels shm,pipe" \
  $cs run -k pingpong -m processes --channel shm,pipe -o "$vout"
expect_line "run: several values of a parameter" "to run several: corescope sweep -p sync=none,mutex" \
  $cs run -k critical -m threads -p sync=none,mutex -o "$vout"
expect_line "isolate: several kernels" "isolate takes one kernel" $cs isolate -k triad,dgemm -f crash -o "$vout"
expect_line "isolate: several sizes" "isolate takes one size" $cs isolate -k triad -f crash -s S,M -o "$vout"

# The same mistake, the same line, in every command that takes it.
same_line() {  # same_line "what" "text" -- cmd... -- cmd...: each command prints `text`
  local what=$1 text=$2 cmd=()
  shift 3
  for word in "$@" --; do
    if [[ $word == -- ]]; then
      expect_line "${cmd[1]}: $what" "$text" "${cmd[@]}"
      cmd=()
    else
      cmd+=("$word")
    fi
  done
}
same_line "workers 0" "corescope: error: --workers: 0 is not a positive count" -- \
  $cs run -k triad -w 0 -o "$vout" -- $cs sweep -k triad -w 0 --dry-run -o "$vout" -- \
  $cs isolate -k triad -f crash -w 0 -o "$vout"
same_line "workers too many" "--workers: 5000 is more than 4096" -- \
  $cs run -k triad -w 5000 -o "$vout" -- $cs sweep -k triad -w 5000 --dry-run -o "$vout" -- \
  $cs isolate -k triad -f crash -w 5000 -o "$vout"
same_line "bad size" "--size: '12Q' is not a size" -- \
  $cs run -k triad -s 12Q -o "$vout" -- $cs sweep -k triad -s 12Q --dry-run -o "$vout" -- \
  $cs isolate -k triad -f crash -s 12Q -o "$vout"
same_line "unknown kernel" "unknown kernel 'triadd'; did you mean 'triad'? valid kernels: triad, " -- \
  $cs run -k triadd -o "$vout" -- $cs sweep --kernel triadd --dry-run -o "$vout" -- \
  $cs isolate -k triadd -f crash -o "$vout" -- $cs summary -k triadd "$WORK/missing.h5" -- \
  $cs compare --kernels triadd "$WORK/missing.h5" "$WORK/missing.h5"
same_line "unknown mode" "unknown mode 'thread'; did you mean 'threads'? valid modes: serial, " -- \
  $cs run -k triad -m thread -o "$vout" -- $cs sweep -k triad --mode thread --dry-run -o "$vout" -- \
  $cs isolate -k triad -f crash -m thread -o "$vout" -- $cs summary --modes thread "$WORK/missing.h5" -- \
  $cs compare -m thread "$WORK/missing.h5" "$WORK/missing.h5"
same_line "unknown channel" "mode threads has no channel 'evnt'; did you mean 'event'? its channels: atomic, event" -- \
  $cs run -k pingpong -m threads -w 2 --channel evnt -o "$vout" -- \
  $cs sweep -k pingpong -m threads -w 2 --channel evnt --dry-run -o "$vout"
same_line "unknown parameter" "kernel ep: unknown parameter 'sed'; did you mean 'seed'? valid parameters: seed" -- \
  $cs run -k ep -p sed=1 -o "$vout" -- $cs sweep -k ep -m serial --params sed=1 --dry-run -o "$vout"
same_line "unknown parameter value" "--param sync=mutx is not valid; did you mean sync=mutex?" -- \
  $cs run -k critical -m threads -w 2 -p sync=mutx -o "$vout" -- \
  $cs sweep -k critical -m threads -w 2 -p sync=mutx --dry-run -o "$vout"

# Did-you-mean for commands and options.
expect_line "misspelt command" "corescope: error: unknown command 'runn'; did you mean 'run'? valid commands: run," $cs runn
expect_line "misspelt command, no guess" "unknown command 'frobnicate'; valid commands: run," $cs frobnicate
expect_line "help for no command" "unknown command 'sweeep'; did you mean 'sweep'?" $cs help sweeep
$cs isolate-trial --help >/dev/null || fail "isolate's hidden isolate-trial is a command, not a misspelling"
$cs help >"$WORK/help" || fail "corescope help"
grep -q "Subcommands:" "$WORK/help" || fail "corescope help prints the commands"
$cs help sweep >"$WORK/help" || fail "corescope help sweep"
grep -q -- "--dry-run" "$WORK/help" || fail "corescope help sweep prints sweep's options"
for sub in "run -k triad" "sweep -k triad" "isolate -k triad -f crash"; do
  expect_line "${sub%% *}: misspelt option" "unknown option --wokers; did you mean --workers? (see corescope ${sub%% *} --help)" \
    $cs $sub --wokers 2 -o "$vout"
done
expect_line "an option before any command" \
  "unknown option --versoin; did you mean --version? (a command's options follow the command; see corescope --help)" \
  $cs --versoin
expect_line "an unknown option before any command" "unknown option --wat (a command's options follow the command" $cs --wat
expect_line "run: misspelt option with =" "unknown option --reeps; did you mean --reps?" $cs run -k triad --reeps=3 -o "$vout"
expect_line "study: misspelt option" "unknown option --dryrun; did you mean --dry-run?" $cs study --dryrun
expect_line "summary: misspelt option" "unknown option --fromat; did you mean --format?" $cs summary --fromat csv x.h5
expect_line "compare: misspelt option" "unknown option --threshhold; did you mean --threshold?" \
  $cs compare --threshhold 5% a.h5 b.h5
expect_line "compare: unknown option, no guess" "unknown option --frobnicate (see corescope compare --help)" \
  $cs compare --frobnicate a.h5 b.h5
expect_line "summary: stray argument" "unexpected argument 'b.h5' (see corescope summary --help)" $cs summary a.h5 b.h5
[[ ! -e "$vout" ]] || fail "refused commands must not create the results file"

# ... and every command takes both forms (sweep --kernel, run --kernels, -p in run and sweep).
$cs sweep --kernel triad --mode serial --worker 1 --sizes S --dry-run -o "$vout" >"$WORK/cells" ||
  fail "sweep takes --kernel, --mode, --worker, --sizes"
grep -q "triad/serial/1/strong/S" "$WORK/cells" || fail "sweep --kernel: the cell is listed ($(head -3 "$WORK/cells"))"
$cs sweep -k critical -m threads -w 2 -s S -p sync=none,mutex --dry-run -o "$vout" >"$WORK/cells" ||
  fail "sweep -p NAME=V1,V2"
grep -q "sync=none" "$WORK/cells" && grep -q "sync=mutex" "$WORK/cells" || fail "sweep -p: one cell per value"
$cs sweep -k farm -m threads -w 2 -s S -p schedule=static,dynamic -p grain=1,2 --dry-run -o "$vout" >"$WORK/cells" ||
  fail "sweep -p twice"
[[ $(grep -c "schedule=.*grain=" "$WORK/cells") -ge 4 ]] || fail "sweep -p twice: 2 x 2 cells"
$cs run --kernels ep --modes threads --worker 2 --sizes S --params seed=3 -r 2 -o "$vout" -q ||
  fail "run takes --kernels, --modes, --worker, --sizes, --params"
$cs run -k ep -m threads --workers 2 -s S -p seed=4 -r 2 -o "$vout" -q || fail "run takes the short flags"

# A good run still works after all that, and help works for every subcommand.
$cs run -k ep -m threads -w 2 -s S -r 2 -o "$out" -q || fail "a good run failed"
for sub in "" run list info summary compare sweep study isolate merge compact; do
  $cs $sub --help >"$WORK/help" || fail "$sub --help"
  wide=$(grep -v '^Usage:' "$WORK/help" | awk 'length > 100' | head -1)
  [[ -z $wide ]] || fail "corescope $sub --help is wider than 100 columns: $wide"
done
finish
