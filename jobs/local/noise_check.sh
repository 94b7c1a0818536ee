#!/usr/bin/env bash
# Do the numbers hold up on this machine? The figures issue #12 asks to see (printed, not
# asserted; nothing here is a timed test):
#  1. three independent runs of the README's main study (`corescope study`; by default only its
#     scaling-ep group, the cells ep's speedups come from, as the whole study runs them:
#     NOISE_STUDY=full runs all of it, ~5 min each): each mode's 2-worker speedup of ep (its own
#     1-worker time / its 2-worker time) with its 95 % bootstrap interval per study, what it was
#     computed from, max/min over the three, whether every interval holds the other studies'
#     point estimates, and the parallel capacity each study measured;
#  2. A/A: the same >= 20 cells measured into two files in alternating sweeps; how many cells
#     `corescope compare` calls different (ideally at most 1);
#  3. the 20 %-slower case: the second file again, one cell's runs replaced by runs of a build of
#     this source with a real code change that makes that cell slower, measured alternately with
#     the A/A runs; which cells compare flags (ideally that one). Done for two cells: ep serial
#     (ep draws one more random number for every second sample and keeps it out of the result:
#     its answer is the same, its work about 1.25x; CPU-bound, so what the VM's speed states let
#     compare resolve) and iowait serial (each of its 1 ms sleeps lasts 1.2 ms: 1.2x, whatever the
#     CPU's speed). The A/A set holds the unchanged iowait serial cell too. The build goes to
#     $OUT_DIR/slowed-build (Release; with ccache a minute, from cold a few).
#   bash jobs/local/noise_check.sh            # -> noise-check/ in the current directory
# Environment: CORESCOPE, OUT_DIR (default noise-check), NOISE_PARTS ("1 2": part 1, and parts 2
# and 3, which run together; "2" leaves the studies out), NOISE_SLOWED (a slowed corescope already
# built: skips the build), NOISE_STUDY (scaling-ep or full), NOISE_SIZE
# (M, the A/A cells), NOISE_AA_REPS (2 per A/A run), NOISE_AA_ALTERNATIONS (6), CORESCOPE_TEST_SIZE=1
# (a seconds-long version: the study's test budget, size S, fewer cells).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PYTHON=${PYTHON:-/usr/bin/python3}
dir=${OUT_DIR:-noise-check}
size=${NOISE_SIZE:-M}
study_args=()
[[ ${NOISE_STUDY:-scaling-ep} == full ]] || study_args=(--groups scaling-ep)
# A/A: 12 repetitions per cell and file, in 6 alternations of 2, so that the two files' runs of a
# cell meet the machine's slow and fast periods alike (with 3 of 4, the two files' runs of one
# cell had met different states: docs/dev/noise.md).
aa_kernels=ep,triad,reduce aa_reps=${NOISE_AA_REPS:-2} alternations=${NOISE_AA_ALTERNATIONS:-6}
if [[ ${CORESCOPE_TEST_SIZE:-0} == 1 ]]; then
  size=S aa_kernels=ep,triad aa_reps=2 alternations=2
  study_args+=(--budget test)
fi
mkdir -p "$dir"
rm -f "$dir"/*.h5
cs() { "$CORESCOPE" "$@"; }
built() { cs list | grep -q "^$1  *yes"; }
aa_modes=serial,threads
for m in openmp processes; do built "$m" && aa_modes+=",$m"; done

if [[ " ${NOISE_PARTS:-1 2} " == *" 1 "* ]]; then
echo "== 1. three independent sweeps of ep: corescope study ${study_args[*]}, one after the other"
for i in 1 2 3; do
  cs study -q "${study_args[@]}" --out "$dir/study$i.h5" || echo "study $i: a cell failed (see the file)"
done
PYTHONPATH="$jobs_root/analysis${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" - "$dir"/study{1,2,3}.h5 <<'PY'
# The report's own statistics (corescope_analysis.stats): disturbed repetitions left out as
# docs/dev/noise.md says, each speedup with its 95 % bootstrap interval: the stated speedup (from the
# repetitions of both cells in the same machine state where they have one), the one over all
# clean repetitions and the speed-normalised one (times divided by the critical worker's speed
# factor) beside it.
import sys
import numpy as np
from corescope_analysis import io, stats

studies = []
for i, path in enumerate(sys.argv[1:], 1):
    r = io.load(path)
    s = stats.summarize(r.runs, r.samples)
    studies.append(s)
    if r.capacity is not None and len(r.capacity):
        print(f"study {i}: parallel capacity per round: " + ", ".join(f"{c:.2f}" for c in r.capacity["capacity"]))
    print(f"study {i}: median speed factor per cell {s['speed_factor'].min():.2f}-{s['speed_factor'].max():.2f}")

def figure(s, mode, column):
    # ep's scaling cell (the study's largest ep size, not pinned, not an A/A twin)
    ep = s[(s["kernel"] == "ep") & (s["status"] == "ok") & (s["twin"].astype(str).isin(["0", "0.0", "nan", ""]))
           & (s["pin"].astype(str).isin(["none", ""]))]
    row = ep[(ep["mode"] == mode) & (ep["workers"] == 2) & (ep["size"] == ep["size"].max())]
    if row.empty or not np.isfinite(row[column].iloc[0]):
        return None
    row = row.iloc[0]
    if column == "speedup" and row["speedup_basis"].startswith("same state"):
        how = f"{row['matched_state']}, n {int(row['n_matched'])}"
    else:
        how = f"n {int(row['n'])}/{int(row['n_base'])}"
    return row[column], row[column + "_lo"], row[column + "_hi"], how

for column, title in (("speedup", "stated (the same-state speedup where there is one, docs/dev/noise.md)"),
                      ("speedup_all", "over all clean repetitions"), ("speedup_norm", "speed-normalised")):
    print(f"\n{title} 2-worker speedup of ep against its own 1-worker cell:")
    print(f"{'mode':10} " + "".join(f"{'study ' + str(i) + ' [95% CI], from':>42}" for i in (1, 2, 3)) +
          "   max/min  CIs hold the others' points")
    for mode in ("threads", "openmp", "processes", "mpi", "gil"):
        figures = [figure(s, mode, column) for s in studies]
        if any(f is None for f in figures):
            continue
        points = [f[0] for f in figures]
        holds = all(lo <= q <= hi for j, (_, lo, hi, _) in enumerate(figures) for k, q in enumerate(points) if j != k)
        print(f"{mode:10} " + "".join(f"{f'{p:.2f} [{lo:.2f}, {hi:.2f}] {n}':>42}" for p, lo, hi, n in figures) +
              f"   {max(points) / min(points):7.3f}  {'yes' if holds else 'no'}")
PY
fi

echo
# The slowed build: this source with changes to kernels/ep.cpp and kernels/iowait.cpp, built before the A/A runs so
# that its runs alternate with them. With ccache, CCACHE_BASEDIR makes the copy's objects (the
# same files and flags under another directory) hit the cache of this checkout's own build
# where that was made with a base directory too (.ci/build.sh).
build_slowed() {
  local tree=$1 cc=()
  rm -rf "$tree" && mkdir -p "$tree"
  (cd "$jobs_root" && tar -cf - CMakeLists.txt cmake src kernels python analysis) | tar -xf - -C "$tree" || return 1
  "$PYTHON" - "$tree/kernels" <<'PY' || return 1
import sys
kernels = sys.argv[1]
# ep: one more draw for every second sample, summed into a value that is multiplied by 0.0 before
# it joins the count (not foldable without -ffast-math), so the hits, the estimate of pi and its
# check are those of the unchanged kernel. iowait: every wait 1.2x as long as asked (its check,
# that each wait lasted at least wait_us, still holds).
edits = {"ep.cpp": [("      std::uint64_t hits = 0;\n", "      std::uint64_t hits = 0;\n      double extra = 0;\n"),
                    ("        hits += (x * x + y * y < 1.0) ? 1u : 0u;\n",
                     "        hits += (x * x + y * y < 1.0) ? 1u : 0u;\n        if ((i & 1) == 0) extra += uniform01(~key);\n"),
                    ("      local_hits += static_cast<double>(hits);\n",
                     "      local_hits += static_cast<double>(hits) + 0.0 * extra;\n")],
         "iowait.cpp": [("    wait_ns_ = p.get_int(\"wait_us\") * 1000;\n", "    wait_ns_ = p.get_int(\"wait_us\") * 1200;\n")]}
for name, changes in edits.items():
    path = f"{kernels}/{name}"
    text = open(path).read()
    for old, new in changes:
        if text.count(old) != 1:
            sys.exit(f"noise_check: kernels/{name} no longer has the line the slowed build changes: {old.strip()}")
        text = text.replace(old, new)
    open(path, "w").write(text)
PY
  command -v ccache >/dev/null && cc=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  CCACHE_BASEDIR=$tree cmake -S "$tree" -B "$tree/build" -DCMAKE_BUILD_TYPE=Release -DCORESCOPE_BUILD_TESTS=OFF \
    -DCORESCOPE_BUILD_BENCH=OFF "${cc[@]}" >"$tree.log" 2>&1 &&
    CCACHE_BASEDIR=$tree cmake --build "$tree/build" -j "$(nproc)" --target corescope >>"$tree.log" 2>&1
}
[[ " ${NOISE_PARTS:-1 2} " == *" 2 "* ]] || exit 0
echo
slowed=${NOISE_SLOWED:-}
if [[ -z $slowed ]]; then
  tree=$(cd "$dir" && pwd)/slowed-build
  echo "== building the slowed corescope for part 3 (ep: one more random draw per two samples; iowait: waits 1.2x as"
  echo "   long as asked) in $tree"
  t0=$SECONDS
  if ! build_slowed "$tree"; then
    echo "noise_check: the slowed build failed; its log: $tree.log" >&2
    tail -n 20 "$tree.log" >&2 2>/dev/null || true
    exit 1
  fi
  slowed=$tree/build/corescope
  echo "   built in $((SECONDS - t0)) s"
fi

echo
echo "== 2. A/A: kernels $aa_kernels x modes $aa_modes at 1, 2 workers and iowait serial, size $size, into two"
echo "   files in $alternations alternating sweeps (and, alternating with them, ep and iowait serial from the slowed"
echo "   build, for part 3)"
serial() {  # serial BINARY KERNEL FILE: one alternation's repetitions of the kernel's serial cell
  "$1" sweep -q --kernels "$2" --modes serial --size "$size" --reps "$aa_reps" --rounds 1 --out "$3" || true
}
# File B's ep and iowait serial cells go to files of their own: part 3 swaps each for the slowed
# build's.
for ((i = 1; i <= alternations; i++)); do
  cs sweep -q --kernels "$aa_kernels" --modes "$aa_modes" --workers 1,2 --size "$size" --reps "$aa_reps" --rounds 1 \
    --out "$dir/aa_a.h5" || true
  serial "$CORESCOPE" iowait "$dir/aa_a.h5"
  cs sweep -q --kernels "$aa_kernels" --modes "${aa_modes#serial,}" --workers 1,2 --size "$size" --reps "$aa_reps" \
    --rounds 1 --out "$dir/aa_b_rest.h5" || true
  cs sweep -q --kernels "${aa_kernels#ep,}" --modes serial --size "$size" --reps "$aa_reps" --rounds 1 \
    --out "$dir/aa_b_rest.h5" || true
  for kernel in ep iowait; do
    serial "$CORESCOPE" "$kernel" "$dir/aa_b_$kernel.h5"
    serial "$slowed" "$kernel" "$dir/slow_$kernel.h5"
  done
done
cs merge -q -o "$dir/aa_b.h5" "$dir/aa_b_rest.h5" "$dir/aa_b_ep.h5" "$dir/aa_b_iowait.h5"

echo
echo "== 3. the 20 %-slower case: aa_b.h5 with its ep serial, or its iowait serial, runs from the slowed build ($slowed)"
cs merge -q -o "$dir/aa_slow_ep.h5" "$dir/aa_b_rest.h5" "$dir/slow_ep.h5" "$dir/aa_b_iowait.h5"
cs merge -q -o "$dir/aa_slow_iowait.h5" "$dir/aa_b_rest.h5" "$dir/aa_b_ep.h5" "$dir/slow_iowait.h5"

if ! cs --help | grep -q '^ *compare '; then
  echo "this corescope has no 'compare' command: the A/A count and the slowed cell's verdict cannot be made here;"
  echo "the files are ready: corescope compare $dir/aa_a.h5 with $dir/aa_b.h5, $dir/aa_slow_ep.h5 or $dir/aa_slow_iowait.h5"
  exit 0
fi
verdicts() {  # verdicts NAME A B TABLE [COMPARE OPTIONS]: compare's table (TABLE=1), then a count of the cells it calls different
  local rc=0 name=$1 a=$2 b=$3 table=$4
  shift 4
  if [[ $table == 1 ]]; then cs compare "$@" "$a" "$b" || true; fi
  cs compare "$@" --format csv "$a" "$b" >"$dir/$name.csv" || rc=$?
  "$PYTHON" - "$dir/$name.csv" "$name" "$rc" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r.get("verdict")]
both = [r for r in rows if r.get("n_a", "0") != "0" and r.get("n_b", "0") != "0" and r.get("ratio", "")]
named = lambda r: "/".join(r.get(k, "") for k in ("kernel", "mode", "shape", "workers") if r.get(k, ""))
diff = [r for r in both if r["verdict"] not in ("same",)]
print(f"{sys.argv[2]}: {len(both)} cells in both files, {len(diff)} called different (compare exited {sys.argv[3]}): " +
      (", ".join(f"{named(r)} {r['verdict']} (B/A {float(r['ratio']):.3f} [{float(r['ratio_lo']):.3f}, {float(r['ratio_hi']):.3f}])" for r in diff) or "none"))
PY
}
# compare's default (a machine state both cells met where there is one; its tables printed),
# then over all clean repetitions whatever their state, then speed-normalised times.
for how in default all-states speed-normalised; do
  opts=() table=0
  [[ $how == default ]] && table=1
  [[ $how == all-states ]] && opts=(--all-states)
  [[ $how == speed-normalised ]] && opts=(--speed-normalised)
  echo
  echo "-- compare ${opts[*]:-(states as by default)}: A/A (aa_a.h5 vs aa_b.h5), then one cell slowed (expected: that"
  echo "   cell slower, nothing else)"
  verdicts "aa-$how" "$dir/aa_a.h5" "$dir/aa_b.h5" "$table" "${opts[@]}"
  for kernel in ep iowait; do
    verdicts "slowed-$kernel-$how" "$dir/aa_a.h5" "$dir/aa_slow_$kernel.h5" "$table" "${opts[@]}"
  done
done
