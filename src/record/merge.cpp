// Merging results files: the runs of many files appended to one, without duplicate runs, their
// linked rows renumbered (record::merge in recorder.hpp; docs/user/results-format.md "Merging
// files").
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "core/errors.hpp"
#include "record/atomic_file.hpp"
#include "record/file_rows.hpp"
#include "record/h5.hpp"
#include "record/recorder.hpp"

namespace corescope::record {

using namespace detail;

namespace {

// One row as text over all columns, to recognise a row that is already there.
std::string row_key(const Table& t, std::size_t row) {
  std::vector<const Column*> columns;
  for (const auto& c : t.columns) columns.push_back(&c);
  std::sort(columns.begin(), columns.end(),
            [](const Column* a, const Column* b) { return a->name < b->name; });
  std::string key;
  for (const Column* c : columns)
    key +=
        c->name + '\x1f' + std::to_string(c->values.index()) + value_text(c->values, row) + '\x1e';
  return key;
}

std::string run_key(const Column& run_id, std::size_t row) {
  return std::to_string(run_id.values.index()) + ":" + value_text(run_id.values, row);
}

Provenance shared_attributes(const std::vector<ResultsFile>& inputs) {
  std::optional<std::vector<std::pair<std::string, h5::Scalar>>> shared;
  for (const auto& in : inputs) {
    h5::QuietErrors quiet;
    const ReaderLock lock(in.file);
    const h5::File f = h5::File::open(in.file, false);
    const h5::Group root = f.root();
    std::vector<std::pair<std::string, h5::Scalar>> attrs;
    for (const auto& name : h5::attribute_names(root.handle()))
      if (const auto value = h5::attribute(root.handle(), name)) attrs.emplace_back(name, *value);
    if (!shared) {
      shared = std::move(attrs);
      continue;
    }
    std::erase_if(*shared, [&](const auto& a) {
      return std::find(attrs.begin(), attrs.end(), a) == attrs.end();
    });
  }
  Provenance p;
  std::string merged_from;
  for (const auto& in : inputs) merged_from += (merged_from.empty() ? "" : "\n") + in.shown;
  for (const auto& [name, value] : *shared) {
    if (name == "schema" || name == "schema_version" || name == "created" ||
        name == "software_version" || name == "merged_from")
      continue;
    if (const auto* s = std::get_if<std::string>(&value))
      p.text.emplace_back(name, *s);
    else if (const auto* i = std::get_if<std::int64_t>(&value))
      p.integers.emplace_back(name, *i);
    else
      p.reals.emplace_back(name, std::get<double>(value));
  }
  p.text.emplace_back("merged_from", merged_from);
  return p;
}

}  // namespace

void merge(const std::string& out, const std::vector<std::string>& inputs) {
  if (inputs.empty()) throw UsageError("merge needs at least one input file");
  std::vector<ResultsFile> files;
  for (const auto& in : inputs) files.push_back(require_results_file(in));
  const Target target = locate(out);
  struct stat st {};
  const bool out_exists = ::stat(target.file.c_str(), &st) == 0;
  std::optional<ResultsFile> existing;
  if (out_exists) existing = require_results_file(out);
  // Inputs of older schema versions are read as the current one (read_rows derives what they
  // lack), and the merged file is of the current version (append upgrades an older `out`).

  std::set<std::string> seen_runs;
  // group -> row keys, for groups without `run`
  std::map<std::string, std::set<std::string>> seen_rows;
  auto has_run_link = [](const Table& t) {
    const Column* c = t.find("run");
    return c && kind_of(c->values) == h5::Kind::Int64;
  };
  auto remember = [&](const std::string& group, const Table& t, bool runs) {
    if (runs) {
      if (const Column* id = t.find("run_id"))
        for (std::size_t r = 0; r < t.rows(); ++r) seen_runs.insert(run_key(*id, r));
    } else if (!has_run_link(t)) {
      for (std::size_t r = 0; r < t.rows(); ++r) seen_rows[group].insert(row_key(t, r));
    }
  };
  if (existing) {
    h5::QuietErrors quiet;
    const ReaderLock lock(existing->file);
    const h5::File f = h5::File::open(existing->file, false);
    const h5::Group root = f.root();
    for (const auto& group : data_groups(root))
      remember(group, read_rows(root, group, out), group == "runs");
  }

  std::vector<GroupRows> batch;
  auto batch_group = [&](const std::string& group, const std::string& dimension) -> GroupRows& {
    for (auto& g : batch)
      if (g.group == group) return g;
    batch.push_back(GroupRows{group, dimension, {}, "", ""});
    return batch.back();
  };
  std::size_t new_rows = 0;

  for (const auto& in : files) {
    h5::QuietErrors quiet;
    const ReaderLock lock(in.file);
    const h5::File f = h5::File::open(in.file, false);
    const h5::Group root = f.root();
    const auto groups = data_groups(root);
    std::map<std::string, std::pair<std::string, Table>> tables;  // group -> (dimension, rows)
    for (const auto& group : groups) {
      const h5::Group g = root.group(group);
      const auto dimension = dimension_of(g);
      if (!dimension) throw UsageError(in.shown + ": /" + group + " has no dimension scale");
      tables[group] = {*dimension, read_rows(root, group, in.shown)};
    }

    // Runs first: which rows are new decides which linked rows follow them.
    std::vector<Int> new_index;  // input run row -> row in the batch's runs, -1 when skipped
    if (tables.count("runs")) {
      const auto& [dimension, runs] = tables["runs"];
      const Column* id = runs.find("run_id");
      if (!id)
        throw UsageError(in.shown +
                         ": /runs has no run_id column, so its runs cannot be merged safely");
      GroupRows& into = batch_group("runs", dimension);
      std::vector<std::size_t> keep;
      for (std::size_t r = 0; r < runs.rows(); ++r) {
        if (seen_runs.insert(run_key(*id, r)).second) {
          new_index.push_back(static_cast<Int>(into.rows.rows() + keep.size()));
          keep.push_back(r);
        } else {
          new_index.push_back(-1);
        }
      }
      concat(into.rows, pick_rows(runs, keep), in.shown + " /runs");
      new_rows += keep.size();
    }

    for (const auto& group : groups) {
      if (group == "runs") continue;
      const auto& [dimension, rows] = tables[group];
      GroupRows& into = batch_group(group, dimension);
      if (into.dimension != dimension)
        throw UsageError(in.shown + ": /" + group + " has dimension " + in_quotes(dimension) +
                         " but an earlier file has " + in_quotes(into.dimension));
      std::vector<std::size_t> keep;
      if (has_run_link(rows)) {
        Table picked;
        const auto& run = std::get<std::vector<Int>>(rows.find("run")->values);
        std::vector<Int> remapped;
        for (std::size_t r = 0; r < rows.rows(); ++r) {
          const Int old = run[r];
          if (old >= static_cast<Int>(new_index.size()))
            throw UsageError(in.shown + ": /" + group + "/run = " + std::to_string(old) +
                             " points past the " + std::to_string(new_index.size()) +
                             " rows of /runs");
          if (old >= 0 && new_index[static_cast<std::size_t>(old)] < 0)
            continue;  // its run is already merged
          keep.push_back(r);
          remapped.push_back(old < 0 ? old : new_index[static_cast<std::size_t>(old)]);
        }
        picked = pick_rows(rows, keep);
        std::get<std::vector<Int>>(picked.find("run")->values) = std::move(remapped);
        into.link_column = "run";
        into.link_group = "runs";
        concat(into.rows, picked, in.shown + " /" + group);
      } else {
        auto& seen = seen_rows[group];
        std::set<std::string> this_file;
        for (std::size_t r = 0; r < rows.rows(); ++r) {
          const std::string key = row_key(rows, r);
          // Identical rows within one input are genuine repeats; only earlier files count.
          if (!seen.count(key)) keep.push_back(r);
          this_file.insert(key);
        }
        seen.insert(this_file.begin(), this_file.end());
        concat(into.rows, pick_rows(rows, keep), in.shown + " /" + group);
      }
      new_rows += keep.size();
    }
  }

  if (out_exists && new_rows == 0) return;  // nothing new: leave the file as it is
  // A linked group whose runs were all skipped points into a runs group that may be absent.
  for (auto& g : batch)
    if (!g.link_group.empty() && std::none_of(batch.begin(), batch.end(), [&](const GroupRows& o) {
          return o.group == g.link_group;
        })) {
      g.link_column.clear();
      g.link_group.clear();
    }
  append(out, shared_attributes(files), batch);
}

}  // namespace corescope::record
