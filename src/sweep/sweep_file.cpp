// Reading back a sweep's results file for its runner (sweep_file.hpp).
#include "sweep/sweep_file.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <utility>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "record/cells.hpp"
#include "record/recorder.hpp"
#include "sweep/sweep_lock.hpp"

namespace corescope::sweep {

namespace fs = std::filesystem;

CellOutcome find_run(const std::string& out, const std::string& run_id) {
  CellOutcome o;
  if (!fs::exists(out)) return o;
  const record::Table runs =
      record::read_group(out, "runs", {"run_id", "status", "verified", "error", "wall_s_median"});
  for (std::size_t r = runs.rows(); r-- > 0;) {
    if (runs.text("run_id", r) != run_id) continue;
    o.found = true;
    o.ok = runs.text("status", r) == "ok";
    o.verified = runs.integer("verified", r) == 1;
    o.error = runs.text("error", r);
    o.wall_s_median = runs.number("wall_s_median", r);
    break;
  }
  return o;
}

CellOutcome reported_outcome(const std::string& output, const std::string& run_id) {
  CellOutcome o;
  for (const auto& line : split(output, '\n')) {
    const std::vector<std::string> f = split(line, '\t');
    if (f.size() < 6 || f[0] != kRunOutcomeTag || f[1] != run_id) continue;
    o.found = true;
    o.ok = f[2] == "ok";
    o.verified = f[3] == "1";
    char* end = nullptr;
    o.wall_s_median = std::strtod(f[4].c_str(), &end);
    if (end == f[4].c_str()) o.wall_s_median = NAN;
    o.error = f[5];
    for (std::size_t i = 6; i < f.size(); ++i) o.error += " " + f[i];
  }
  return o;
}

Done completed_runs(const std::string& out, const std::string& shown, const std::string& plan,
                    int rounds) {
  Done done;
  done.rounds = rounds;
  if (!fs::exists(out)) return done;
  const record::Table runs = record::read_group(
      out, "runs", {"sweep_plan", "round", "round_seed", "rounds", "status", "cell", "twin"});
  std::set<std::string> other_plans;
  bool this_plan = false;
  for (std::size_t r = 0; r < runs.rows(); ++r) {
    const std::string p = runs.text("sweep_plan", r);
    if (p.empty()) continue;
    if (p != plan) {
      other_plans.insert(p);
      continue;
    }
    this_plan = true;
    const std::int64_t round = runs.integer("round", r);
    if (done.seed < 0) done.seed = runs.integer("round_seed", r);
    // back to the sweep's numbering: a cell recorded with k x R rounds ran k runs a round
    const std::int64_t recorded = std::max<std::int64_t>(runs.integer("rounds", r), rounds);
    const std::int64_t per = std::max<std::int64_t>(1, recorded / rounds);
    done.last_round =
        std::max(done.last_round, round < recorded ? round / per : round - (recorded - rounds));
    if (runs.text("status", r) == "ok")
      done.runs.insert({runs.text("cell", r), round, runs.integer("twin", r) == 1});
  }
  if (!this_plan && !other_plans.empty())
    throw UsageError(
        "--resume: " + shown + " was written by a different sweep plan (" + *other_plans.begin() +
        ", this plan is " + plan +
        "): kernels, modes, workers, sizes, scaling, pin, reps, warm-up "
        "or rounds differ; use another --out, or leave out --resume to add these cells to it");
  return done;
}

std::vector<UnitSoFar> units_so_far(const std::string& out, const std::string& plan,
                                    const std::vector<Unit>& units) {
  std::map<std::pair<std::string, bool>, std::size_t> index;
  for (std::size_t i = 0; i < units.size(); ++i)
    if (units[i].slot == 0) index[{units[i].cell->cell.key, units[i].twin}] = i;
  const record::Table runs = record::read_group(out, "runs");
  const record::Table samples = record::read_group(out, "samples");
  std::vector<UnitSoFar> so_far(units.size());
  for (const auto& cell : record::group_cells(runs, samples))
    for (const std::size_t r : cell.runs) {
      if (runs.text("sweep_plan", r) != plan) continue;
      if (const auto it = index.find({runs.text("cell", r), runs.integer("twin", r) == 1});
          it != index.end()) {
        UnitSoFar& u = so_far[it->second];
        u.times = cell.times;
        u.undisturbed = static_cast<std::size_t>(std::count_if(
            cell.repetitions.begin(), cell.repetitions.end(),
            [](const record::Repetition& x) { return x.disturbed_bits == 0 && !x.slow_run; }));
        break;
      }
    }
  return so_far;
}

}  // namespace corescope::sweep
