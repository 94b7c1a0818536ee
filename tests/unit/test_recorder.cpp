// Tests of the HDF5 results file: TableBuilder, round trips, appends (growth, new and missing
// columns, link offsets), refusal of foreign files, crash safety under SIGKILL, concurrent
// writers, merge, and the compound /tables copy; plus a check with h5py/xarray/pandas/h5dump
// where Debian's Python packages are installed.
#include <fcntl.h>
#include <sys/file.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.hpp"
#include "record/h5.hpp"
#include "record/recorder.hpp"
#include "record/run_rows.hpp"
#include "sweep/sweep_lock.hpp"
#include "record/table.hpp"

namespace fs = std::filesystem;
using namespace corescope;
using namespace corescope::record;

namespace {

class Scratch : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "corescope-recorder-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A column's values by name. The name is a string_view, so that GCC 14 does not take the
// returned reference into the table for one into a temporary argument.
template <class T>
const std::vector<T>& column(const Table& t, std::string_view name) {
  const Column* c = t.find(std::string(name));
  if (!c) throw std::runtime_error("no column " + std::string(name));
  return std::get<std::vector<T>>(c->values);
}
const std::vector<Int>& ints(const Table& t, std::string_view name) { return column<Int>(t, name); }
const std::vector<double>& reals(const Table& t, std::string_view name) {
  return column<double>(t, name);
}
const std::vector<std::string>& texts(const Table& t, std::string_view name) {
  return column<std::string>(t, name);
}

// Equality where NaN equals NaN (missing doubles must survive as NaN).
bool same_values(const Values& a, const Values& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<std::vector<double>>(&a)) {
    const auto& y = std::get<std::vector<double>>(b);
    if (x->size() != y.size()) return false;
    for (std::size_t i = 0; i < x->size(); ++i)
      if (!((*x)[i] == y[i] || (std::isnan((*x)[i]) && std::isnan(y[i])))) return false;
    return true;
  }
  return a == b;
}

std::vector<std::string> names(const Table& t) {
  std::vector<std::string> out;
  for (const auto& c : t.columns) out.push_back(c.name);
  return out;
}

void expect_same_table(const Table& a, const Table& b) {
  ASSERT_EQ(names(a), names(b));
  for (std::size_t i = 0; i < a.columns.size(); ++i)
    EXPECT_TRUE(same_values(a.columns[i].values, b.columns[i].values))
        << "column " << a.columns[i].name;
}

// A batch of `count` runs with ids prefix0.., each with `reps` samples linked to it.
std::vector<GroupRows> batch(const std::string& prefix, int count, int reps = 2) {
  Table runs, samples;
  TableBuilder r(runs), s(samples);
  for (int i = 0; i < count; ++i) {
    const std::string id = prefix + std::to_string(i);
    r.row();
    r.str("run_id", id, "unique id of the run");
    r.str("kernel", i % 2 ? "stream_triad" : "dgemm", "kernel name");
    r.i64("workers", 1 + i, "", "team size");
    r.f64("wall_s_median", 0.5 * (i + 1), "s", "median wall time of one repetition");
    for (int rep = 0; rep < reps; ++rep) {
      s.row();
      s.i64("run", i, "", "row of /runs");
      s.i64("rep", rep);
      s.f64("wall_s", 0.25 * rep + i, "s", "wall time");
      s.str("owner", id);  // lets tests check that run still points at the right run
    }
  }
  r.finish();
  s.finish();
  return {GroupRows{"runs", "run", runs, "", ""},
          GroupRows{"samples", "sample", samples, "run", "runs"}};
}

// "t3-7-": run ids unique per writer and append.
std::string id_prefix(const char* tag, int writer, int append_index) {
  std::string prefix = tag;
  prefix += std::to_string(writer);
  prefix += '-';
  prefix += std::to_string(append_index);
  prefix += '-';
  return prefix;
}

Provenance provenance() {
  Provenance p;
  p.text = {{"host", "test-host"}, {"software_version", "9.9.9-test"}};
  p.integers = {{"cores", 2}};
  p.reals = {{"timer_resolution_s", 2.5e-8}};
  return p;
}

// Every sample must point at the run it was written with.
void expect_links_consistent(const std::string& file) {
  const Table runs = read_group(file, "runs");
  const Table samples = read_group(file, "samples");
  const auto& run = ints(samples, "run");
  const auto& owner = texts(samples, "owner");
  const auto& ids = texts(runs, "run_id");
  for (std::size_t i = 0; i < run.size(); ++i) {
    ASSERT_GE(run[i], 0);
    ASSERT_LT(static_cast<std::size_t>(run[i]), ids.size());
    EXPECT_EQ(ids[static_cast<std::size_t>(run[i])], owner[i]) << "sample " << i;
  }
}

std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp.") != std::string::npos || name.find(".probe.") != std::string::npos)
      out.push_back(name);
  }
  return out;
}

template <typename F>
std::string usage_error_of(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no exception";
}

}  // namespace

// ---------------------------------------------------------------- TableBuilder

TEST(TableBuilder, PadsGapsAndBackFillsNewColumns) {
  Table t;
  TableBuilder b(t);
  b.row();
  b.i64("a", 1, "B", "bytes");
  b.row();
  b.f64("x", 2.5, "s");
  b.str("name", "second");
  b.row();
  b.i64("a", 3);
  b.finish();
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(ints(t, "a"), (std::vector<Int>{1, kMissingInt, 3}));
  const auto& x = reals(t, "x");
  EXPECT_TRUE(std::isnan(x[0]));
  EXPECT_EQ(x[1], 2.5);
  EXPECT_TRUE(std::isnan(x[2]));
  EXPECT_EQ(texts(t, "name"), (std::vector<std::string>{"", "second", ""}));
  EXPECT_EQ(t.find("a")->units, "B");
  EXPECT_EQ(t.find("a")->long_name, "bytes");
  EXPECT_EQ(names(t), (std::vector<std::string>{"a", "x", "name"}));
}

TEST(Table, TypedCellReadersGiveMissingValuesForAbsentColumnsKindsAndRows) {
  Table t;
  TableBuilder b(t);
  b.row();
  b.str("mode", "gil");
  b.i64("workers", 4);
  b.f64("wall_s", 0.5);
  b.finish();
  EXPECT_EQ(t.text("mode", 0), "gil");
  EXPECT_EQ(t.integer("workers", 0), 4);
  EXPECT_EQ(t.number("workers", 0), 4.0);
  EXPECT_EQ(t.number("wall_s", 0), 0.5);
  EXPECT_EQ(t.text("nope", 0), "");
  EXPECT_EQ(t.text("workers", 0), "");  // not a text column
  EXPECT_EQ(t.text("mode", 1), "");     // no such row
  EXPECT_EQ(t.integer("wall_s", 0), kMissingInt);
  EXPECT_EQ(t.integer("workers", 7), kMissingInt);
  EXPECT_TRUE(std::isnan(t.number("mode", 0)));
  EXPECT_TRUE(std::isnan(t.number("wall_s", 1)));
}

TEST(TableBuilder, SecondValueInARowReplacesTheFirst) {
  Table t;
  TableBuilder b(t);
  b.row();
  b.i64("a", 1);
  b.i64("a", 7);
  b.finish();
  EXPECT_EQ(ints(t, "a"), (std::vector<Int>{7}));
}

TEST(TableBuilder, TypeConflictThrows) {
  Table t;
  TableBuilder b(t);
  b.row();
  b.i64("a", 1);
  EXPECT_THROW(b.f64("a", 1.0), RuntimeFailure);
}

TEST(TableBuilder, ContinuesAnExistingTable) {
  Table t;
  {
    TableBuilder b(t);
    b.row();
    b.i64("a", 1);
    b.finish();
  }
  TableBuilder b(t);
  b.row();
  b.str("s", "x");
  b.finish();
  EXPECT_EQ(ints(t, "a"), (std::vector<Int>{1, kMissingInt}));
  EXPECT_EQ(texts(t, "s"), (std::vector<std::string>{"", "x"}));
}

TEST(TableBuilderDeathTest, ValueBeforeFirstRowIsAnInvariantFailure) {
  Table t;
  TableBuilder b(t);
  EXPECT_DEATH(b.i64("a", 1), "internal error");
}

// ---------------------------------------------------------------- round trips and appends

TEST_F(Scratch, RoundTripOfIntsDoublesAndStrings) {
  const std::string file = path("out.h5");
  Table t;
  const std::vector<Int> i = {0, -1, std::numeric_limits<Int>::max(),
                              std::numeric_limits<Int>::min(), 42};
  const std::vector<double> d = {1.5, std::numeric_limits<double>::quiet_NaN(), -0.0, 1e-300,
                                 std::numeric_limits<double>::infinity()};
  const std::vector<std::string> s = {"", "plain", "ünïcødé ✓ 中文", std::string(1000, 'x'),
                                      "tab\tand \"quotes\""};
  // Not alphabetical: the file must keep declaration order.
  t.columns.push_back(Column{"zeta", "count", "some integers", i});
  t.columns.push_back(Column{"alpha", "s", "some doubles", d});
  t.columns.push_back(Column{"mid", "", "some text", s});
  append(file, provenance(), {GroupRows{"things", "thing", t, "", ""}});

  const Table back = read_group(file, "things");
  expect_same_table(t, back);
  EXPECT_EQ(back.find("zeta")->units, "count");
  EXPECT_EQ(back.find("alpha")->long_name, "some doubles");
  EXPECT_EQ(back.find("mid")->units, "");
  EXPECT_TRUE(std::signbit(reals(back, "alpha")[2]));
  EXPECT_TRUE(read_group(file, "absent").columns.empty());
}

TEST_F(Scratch, RootAttributesHoldSchemaAndProvenance) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("r", 1));
  const auto attrs = read_attributes(file);
  auto value = [&](const std::string& name) {
    for (const auto& [k, v] : attrs)
      if (k == name) return v;
    return std::string("<absent>");
  };
  EXPECT_EQ(value("schema"), "corescope");
  EXPECT_EQ(value("schema_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(value("software_version"), "9.9.9-test");
  EXPECT_EQ(value("host"), "test-host");
  EXPECT_EQ(value("cores"), "2");
  EXPECT_EQ(std::stod(value("timer_resolution_s")), 2.5e-8);
  const std::string created = value("created");
  ASSERT_EQ(created.size(), 20u) << created;  // 2024-01-02T03:04:05Z
  EXPECT_EQ(created[10], 'T');
  EXPECT_EQ(created.back(), 'Z');
  EXPECT_EQ(attrs[0].first, "schema");
}

TEST_F(Scratch, ProvenanceCannotOverrideTheSchema) {
  Provenance p;
  p.text = {{"schema", "other"}};
  EXPECT_THROW(append(path("out.h5"), p, batch("r", 1)), RuntimeFailure);
  EXPECT_FALSE(fs::exists(path("out.h5")));
}

TEST_F(Scratch, AppendingTwiceGrowsRowsAndKeepsOldOnes) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a", 2));
  const Table runs1 = read_group(file, "runs");
  const Table samples1 = read_group(file, "samples");
  append(file, provenance(), batch("b", 3));
  const Table runs2 = read_group(file, "runs");
  const Table samples2 = read_group(file, "samples");
  ASSERT_EQ(runs2.rows(), 5u);
  ASSERT_EQ(samples2.rows(), 10u);
  for (const auto& c : runs1.columns) {
    const Column* now = runs2.find(c.name);
    ASSERT_NE(now, nullptr);
    std::visit(
        [&](const auto& old) {
          const auto& cur = std::get<std::decay_t<decltype(old)>>(now->values);
          for (std::size_t r = 0; r < old.size(); ++r)
            EXPECT_EQ(old[r], cur[r]) << c.name << " row " << r;
        },
        c.values);
  }
  EXPECT_EQ(texts(runs2, "run_id"), (std::vector<std::string>{"a0", "a1", "b0", "b1", "b2"}));
  // Root attributes are written once, when the file is created.
  const auto attrs = read_attributes(file);
  EXPECT_EQ(
      std::count_if(attrs.begin(), attrs.end(), [](const auto& a) { return a.first == "created"; }),
      1);
}

TEST_F(Scratch, NewColumnIsBackFilledAndAbsentColumnGetsMissingValues) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a", 2));
  auto second = batch("b", 1);
  Table& runs = second[0].rows;
  runs.columns.push_back(Column{"gflops_per_s", "GFLOP/s", "rate", std::vector<double>{7.0}});
  runs.columns.push_back(Column{"ranks", "", "ranks", std::vector<Int>{4}});
  runs.columns.push_back(Column{"channel", "", "channel", std::vector<std::string>{"shm"}});
  // "kernel" is absent from this batch.
  runs.columns.erase(std::find_if(runs.columns.begin(), runs.columns.end(),
                                  [](const Column& c) { return c.name == "kernel"; }));
  append(file, provenance(), second);

  const Table back = read_group(file, "runs");
  ASSERT_EQ(back.rows(), 3u);
  const auto& g = reals(back, "gflops_per_s");
  EXPECT_TRUE(std::isnan(g[0]) && std::isnan(g[1]));
  EXPECT_EQ(g[2], 7.0);
  EXPECT_EQ(ints(back, "ranks"), (std::vector<Int>{-1, -1, 4}));
  EXPECT_EQ(texts(back, "channel"), (std::vector<std::string>{"", "", "shm"}));
  EXPECT_EQ(texts(back, "kernel"), (std::vector<std::string>{"dgemm", "stream_triad", ""}));
  EXPECT_EQ(back.find("gflops_per_s")->units, "GFLOP/s");
  // Existing columns keep their place; new ones follow.
  EXPECT_EQ(names(back), (std::vector<std::string>{"run_id", "kernel", "workers", "wall_s_median",
                                                   "gflops_per_s", "ranks", "channel"}));
}

TEST_F(Scratch, LinkColumnIsShiftedByExistingRows) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a", 3));
  auto second = batch("b", 2);
  // A negative link means "no run" and must stay negative.
  std::get<std::vector<Int>>(second[1].rows.find("run")->values).back() = -1;
  append(file, provenance(), second);
  const Table samples = read_group(file, "samples");
  EXPECT_EQ(ints(samples, "run"), (std::vector<Int>{0, 0, 1, 1, 2, 2, 3, 3, 4, -1}));
}

TEST_F(Scratch, RunWithoutSamplesIsRecorded) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a", 1));
  auto failed = batch("f", 1);
  failed[1].rows = Table{};  // a run that failed before any sample: no rows, no columns
  append(file, provenance(), failed);
  EXPECT_EQ(read_group(file, "runs").rows(), 2u);
  EXPECT_EQ(read_group(file, "samples").rows(), 2u);
  append(path("fresh.h5"), provenance(), failed);
  EXPECT_EQ(read_group(path("fresh.h5"), "runs").rows(), 1u);
  EXPECT_EQ(read_group(path("fresh.h5"), "samples").rows(), 0u);
  expect_same_table(read_group(path("fresh.h5"), "samples"),
                    read_compound(path("fresh.h5"), "samples"));
}

TEST_F(Scratch, LinkOutsideTheBatchIsRefused) {
  auto rows = batch("a", 1);
  std::get<std::vector<Int>>(rows[1].rows.find("run")->values)[0] = 5;
  EXPECT_THROW(append(path("out.h5"), provenance(), rows), RuntimeFailure);
  EXPECT_FALSE(fs::exists(path("out.h5")));
}

TEST_F(Scratch, ColumnTypeConflictIsRefusedAndFileUnchanged) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a", 1));
  const std::string before = bytes_of(file);
  auto second = batch("b", 1);
  second[0].rows.find("workers")->values = std::vector<double>{1.0};
  EXPECT_THROW(append(file, provenance(), second), RuntimeFailure);
  EXPECT_EQ(bytes_of(file), before);
  EXPECT_TRUE(temp_files(dir_).empty());
}

TEST_F(Scratch, ColumnsOfDifferentLengthAreRefused) {
  auto rows = batch("a", 2);
  std::get<std::vector<Int>>(rows[0].rows.find("workers")->values).push_back(9);
  EXPECT_THROW(append(path("out.h5"), provenance(), rows), RuntimeFailure);
  EXPECT_FALSE(fs::exists(path("out.h5")));
}

TEST_F(Scratch, EmptyGroupIsCreated) {
  const std::string file = path("out.h5");
  Table t;
  t.columns.push_back(Column{"x", "", "", std::vector<double>{}});
  append(file, provenance(), {GroupRows{"trials", "trial", t, "", ""}});
  const Table back = read_group(file, "trials");
  ASSERT_EQ(back.columns.size(), 1u);
  EXPECT_EQ(back.rows(), 0u);
  append(file, provenance(), {GroupRows{"trials", "trial", batch("a", 1)[0].rows, "", ""}});
  EXPECT_EQ(read_group(file, "trials").rows(), 1u);
}

TEST_F(Scratch, AppendThroughASymlinkKeepsTheLink) {
  fs::create_directory(dir_ / "real");
  const std::string target = path("real/out.h5");
  append(target, provenance(), batch("a", 1));
  fs::create_symlink(target, dir_ / "link.h5");
  append(path("link.h5"), provenance(), batch("b", 1));
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.h5"));
  EXPECT_EQ(read_group(target, "runs").rows(), 2u);
}

// ---------------------------------------------------------------- the compound copy

TEST_F(Scratch, CompoundTablesCopyHasTheSameRows) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a", 2));
  expect_same_table(read_group(file, "runs"), read_compound(file, "runs"));
  expect_same_table(read_group(file, "samples"), read_compound(file, "samples"));

  // Same layout: rows are appended in place.
  append(file, provenance(), batch("b", 2));
  expect_same_table(read_group(file, "runs"), read_compound(file, "runs"));
  expect_same_table(read_group(file, "samples"), read_compound(file, "samples"));

  // A much longer text value and a new column force the compound dataset to be rewritten.
  auto wide = batch(std::string(300, 'w') + "-", 1);
  wide[0].rows.columns.push_back(Column{"comment", "", "", std::vector<std::string>{"new column"}});
  append(file, provenance(), wide);
  const Table runs = read_group(file, "runs");
  ASSERT_EQ(runs.rows(), 5u);
  EXPECT_EQ(texts(runs, "run_id").back().size(), 302u);
  expect_same_table(runs, read_compound(file, "runs"));
  expect_same_table(read_group(file, "samples"), read_compound(file, "samples"));
}

// ---------------------------------------------------------------- refusing files and paths

TEST_F(Scratch, RefusesANonHdf5FileAndLeavesItUntouched) {
  const std::string file = path("notes.h5");
  write_text_file(file, "these are my notes, not HDF5\n");
  const std::string before = bytes_of(file);
  EXPECT_EQ(usage_error_of([&] { check_output(file); }), file + " is not an HDF5 file");
  EXPECT_EQ(usage_error_of([&] { append(file, provenance(), batch("a", 1)); }),
            file + " is not an HDF5 file");
  EXPECT_EQ(usage_error_of([&] { read_group(file, "runs"); }), file + " is not an HDF5 file");
  EXPECT_EQ(bytes_of(file), before);
  EXPECT_TRUE(temp_files(dir_).empty());
}

TEST_F(Scratch, RefusesAnEmptyFile) {
  const std::string file = path("empty.h5");
  write_text_file(file, "");
  EXPECT_EQ(usage_error_of([&] { check_output(file); }), file + " is not an HDF5 file");
  EXPECT_EQ(fs::file_size(file), 0u);
}

TEST_F(Scratch, RefusesAForeignHdf5FileAndLeavesItUntouched) {
  const std::string file = path("foreign.h5");
  {
    h5::QuietErrors quiet;
    h5::File f = h5::File::create(file);
    h5::set_attribute(f.handle(), "author", std::string("someone else"));
    f.root().create_group("data");
    f.close();
  }
  const std::string before = bytes_of(file);
  const std::string expected =
      file + " is an HDF5 file but not a corescope results file (no schema attribute)";
  EXPECT_EQ(usage_error_of([&] { check_output(file); }), expected);
  EXPECT_EQ(usage_error_of([&] { append(file, provenance(), batch("a", 1)); }), expected);
  EXPECT_EQ(bytes_of(file), before);

  const std::string other = path("other.h5");
  {
    h5::File f = h5::File::create(other);
    h5::set_attribute(f.handle(), "schema", std::string("netcdf-something"));
    f.close();
  }
  EXPECT_EQ(
      usage_error_of([&] { check_output(other); }),
      other + " is an HDF5 file but not a corescope results file (schema is \"netcdf-something\")");
}

TEST_F(Scratch, RefusesANewerSchemaVersionAndLeavesItUntouched) {
  const std::string file = path("newer.h5");
  append(file, provenance(), batch("a", 1));
  {
    h5::File f = h5::File::open(file, true);
    h5::set_attribute(f.handle(), "schema_version", std::int64_t{kSchemaVersion + 1});
    f.close();
  }
  const std::string before = bytes_of(file);
  const std::string expected = file + " has schema_version " + std::to_string(kSchemaVersion + 1) +
                               "; this corescope reads up to " + std::to_string(kSchemaVersion);
  EXPECT_EQ(usage_error_of([&] { check_output(file); }), expected);
  EXPECT_EQ(usage_error_of([&] { append(file, provenance(), batch("b", 1)); }), expected);
  EXPECT_EQ(usage_error_of([&] { read_group(file, "runs"); }), expected);
  EXPECT_EQ(usage_error_of([&] { merge(path("merged.h5"), {file}); }), expected);
  EXPECT_EQ(bytes_of(file), before);
  EXPECT_FALSE(fs::exists(path("merged.h5")));
}

TEST_F(Scratch, AcceptsANewPathAndAnExistingResultsFile) {
  EXPECT_NO_THROW(check_output(path("new.h5")));
  EXPECT_FALSE(fs::exists(path("new.h5")));
  append(path("new.h5"), provenance(), batch("a", 1));
  EXPECT_NO_THROW(check_output(path("new.h5")));
  EXPECT_TRUE(temp_files(dir_).empty());
}

TEST_F(Scratch, RefusesMissingDirectoriesAndDirectories) {
  const std::string missing = path("no/such/dir/out.h5");
  EXPECT_NE(usage_error_of([&] { check_output(missing); }).find("does not exist"),
            std::string::npos);
  EXPECT_NE(usage_error_of([&] {
              append(missing, provenance(), batch("a", 1));
            }).find(path("no/such/dir")),
            std::string::npos);
  EXPECT_NE(usage_error_of([&] { check_output(dir_.string()); }).find("is a directory"),
            std::string::npos);
  write_text_file(path("plain"), "x");
  EXPECT_NE(usage_error_of([&] { check_output(path("plain/out.h5")); }).find("not a directory"),
            std::string::npos);
}

TEST_F(Scratch, RefusesAnUnwritableDirectory) {
  const fs::path locked = dir_ / "locked";
  fs::create_directory(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);
  const std::string file = (locked / "out.h5").string();
  // root may write anywhere, so the refusal is checked in a child that drops to nobody.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    const std::string e1 = usage_error_of([&] { check_output(file); });
    const std::string e2 = usage_error_of([&] { append(file, provenance(), batch("a", 1)); });
    const bool ok = e1.find("not writable") != std::string::npos &&
                    e1.find(locked.string()) != std::string::npos &&
                    e2.find("not writable") != std::string::npos;
    if (!ok) std::fprintf(stderr, "check_output: %s\nappend: %s\n", e1.c_str(), e2.c_str());
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_TRUE(fs::is_empty(locked));

  // A directory no one can create files in, root included.
  if (fs::is_directory("/proc")) {
    EXPECT_NE(usage_error_of([] { check_output("/proc/corescope-test.h5"); }).find("not writable"),
              std::string::npos);
  }
}

// ---------------------------------------------------------------- crash safety and concurrency

TEST_F(Scratch, SigkillDuringAppendsLeavesACompleteFile) {
  const std::string file = path("out.h5");
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_us(0, 40000);
  int killed_mid_append = 0;
  for (int trial = 0; trial < 15; ++trial) {
    // The writer writes 's' before each append and 'e' after it: the kill waits for the end of
    // the first one (a loaded machine can take longer than the whole delay to start the child),
    // and the last byte says whether it landed inside an append.
    int progress[2];
    ASSERT_EQ(::pipe(progress), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(progress[0]);
      try {
        for (int i = 0;; ++i) {
          if (::write(progress[1], "s", 1) != 1) ::_exit(2);
          append(file, provenance(), batch(id_prefix("t", trial, i), 2, 3));
          if (::write(progress[1], "e", 1) != 1) ::_exit(2);
        }
      } catch (...) {
      }
      ::_exit(1);
    }
    ::close(progress[1]);
    bool started = false;  // false: the writer died before its first append ended
    for (char c; !started && ::read(progress[0], &c, 1) == 1;) started = c == 'e';
    if (started) ::usleep(static_cast<useconds_t>(delay_us(rng)));
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself: an append failed";
    char last = 0;
    for (char c; ::read(progress[0], &c, 1) == 1;) last = c;
    ::close(progress[0]);
    if (last == 's') ++killed_mid_append;
    if (!fs::exists(file)) continue;  // killed before the first rename
    // A finisher the kill left writing the file (journal.hpp) holds readers until it is done.
    const Table runs = read_group(file, "runs");
    const Table samples = read_group(file, "samples");
    ASSERT_EQ(runs.rows() % 2, 0u);
    ASSERT_EQ(samples.rows(), runs.rows() * 3);
    expect_links_consistent(file);
    expect_same_table(runs, read_compound(file, "runs"));
  }
  // The writer spends nearly all its time inside appends, so some kills must have hit one.
  EXPECT_GT(killed_mid_append, 0);
  // The next append works whatever the kills left behind, and cleans up dead writers' temps.
  const std::size_t before = fs::exists(file) ? read_group(file, "runs").rows() : 0;
  write_text_file(path(".out.h5.tmp.999999999"), "garbage from a dead writer");
  append(file, provenance(), batch("final-", 1));
  EXPECT_EQ(read_group(file, "runs").rows(), before + 1);
  EXPECT_TRUE(temp_files(dir_).empty());
}

// ---------------------------------------------------------------- appends in place (journal.hpp)

namespace {
ino_t inode_of(const std::string& file) {
  struct stat st {};
  return ::stat(file.c_str(), &st) == 0 ? st.st_ino : 0;
}
bool signature_whole(const std::string& file) {
  const std::string bytes = bytes_of(file);
  return bytes.compare(0, 8, std::string("\x89HDF\r\n\x1a\n", 8)) == 0;
}
// CORESCOPE_TEST_FINISHER for the scope (journal.cpp): "die" or "pause".
struct FinisherHook {
  explicit FinisherHook(const char* what) { ::setenv("CORESCOPE_TEST_FINISHER", what, 1); }
  ~FinisherHook() { ::unsetenv("CORESCOPE_TEST_FINISHER"); }
};
}  // namespace

TEST_F(Scratch, AnAppendWritesIntoTheFileAndLeavesOnlyASmallRecordBeside) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a-", 2));
  const ino_t inode = inode_of(file);
  for (int i = 0; i < 5; ++i) append(file, provenance(), batch(id_prefix("b", 0, i), 2));
  EXPECT_EQ(inode_of(file), inode) << "the append replaced the file instead of writing into it";
  EXPECT_EQ(read_group(file, "runs").rows(), 12u);
  std::uintmax_t beside = 0;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (name == "out.h5") continue;
    names.push_back(name);
    beside += fs::file_size(entry.path());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".out.h5.journal", ".out.h5.lock"}));
  EXPECT_LT(fs::file_size(path(".out.h5.journal")), 200u);  // a record, no pages
  EXPECT_LE(beside * 10, fs::file_size(file));
}

TEST_F(Scratch, AReaderHoldingTheFileOpenGetsItsOwnCopyAndTheNextAppendIsInPlace) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a-", 2));
  const ino_t first = inode_of(file);
  {
    // HDF5 holds a shared flock on a file it has open: the append writes a copy.
    const h5::File reader = h5::File::open(file, false);
    append(file, provenance(), batch("b-", 2));
    EXPECT_NE(inode_of(file), first);
    EXPECT_TRUE(reader.root().group("runs").has_dataset("run_id"));
  }
  const ino_t second = inode_of(file);
  append(file, provenance(), batch("c-", 2));
  EXPECT_EQ(inode_of(file), second);
  EXPECT_EQ(read_group(file, "runs").rows(), 6u);
}

TEST_F(Scratch, AnAppendWhoseFinisherDiedIsCompletedByTheNextReader) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a-", 2));
  {
    FinisherHook die("die");
    try {
      append(file, provenance(), batch("b-", 3));
      ADD_FAILURE() << "the append went through without its finisher";
    } catch (const RuntimeFailure& e) {
      EXPECT_NE(std::string(e.what()).find("the process writing it died"), std::string::npos)
          << e.what();
    }
  }
  // Half written: the signature is cleared, so that no reader takes it for a whole file.
  EXPECT_FALSE(signature_whole(file));
  EXPECT_GT(fs::file_size(path(".out.h5.journal")), 4096u);
  const Table runs = read_group(file, "runs");  // completes the append first
  EXPECT_EQ(runs.rows(), 5u);
  EXPECT_TRUE(signature_whole(file));
  EXPECT_LT(fs::file_size(path(".out.h5.journal")), 200u);
  expect_links_consistent(file);
  expect_same_table(runs, read_compound(file, "runs"));
}

TEST_F(Scratch, WithoutAFinisherTheWriterWritesThePagesItself) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a-", 2));
  {
    FinisherHook no_fork("nofork");  // as if fork() failed
    append(file, provenance(), batch("b-", 3));
  }
  EXPECT_TRUE(signature_whole(file));
  EXPECT_LT(fs::file_size(path(".out.h5.journal")), 200u);
  EXPECT_EQ(read_group(file, "runs").rows(), 5u);
  expect_links_consistent(file);
}

TEST_F(Scratch, AWriterKilledWhileItsFinisherWritesLosesNothing) {
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a-", 2));
  pid_t writer = -1;
  {
    FinisherHook pause("pause");
    writer = ::fork();
    ASSERT_GE(writer, 0);
    if (writer == 0) {
      try {
        append(file, provenance(), batch("b-", 3));
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(0);
    }
  }
  // Once the signature is cleared the finisher is writing (and pausing): kill the writer then.
  for (int i = 0; i < 2000 && signature_whole(file); ++i) ::usleep(1000);
  ASSERT_FALSE(signature_whole(file)) << "the finisher never began";
  ::kill(writer, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(writer, &status, 0), writer);
  ASSERT_TRUE(WIFSIGNALED(status));
  // A reader waits for the finisher (it holds the file's lock) and sees the whole append.
  const Table runs = read_group(file, "runs");
  EXPECT_EQ(runs.rows(), 5u);
  EXPECT_TRUE(signature_whole(file));
  expect_links_consistent(file);
}

TEST_F(Scratch, ConcurrentWritersLoseNoRows) {
  const std::string file = path("out.h5");
  constexpr int kWriters = 3, kAppends = 4;
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      try {
        for (int i = 0; i < kAppends; ++i)
          append(file, provenance(), batch(id_prefix("w", w, i), 2));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer %d: %s\n", w, e.what());
        ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(child);
  }
  for (const pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  const Table runs = read_group(file, "runs");
  ASSERT_EQ(runs.rows(), static_cast<std::size_t>(kWriters * kAppends * 2));
  const auto& ids = texts(runs, "run_id");
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  expect_links_consistent(file);
}

// ---------------------------------------------------------------- merge

TEST_F(Scratch, MergeSkipsRunsAlreadyPresentAndRemapsLinks) {
  const std::string a = path("a.h5"), b = path("b.h5"), out = path("merged.h5");
  append(a, provenance(), batch("a", 2));
  append(b, provenance(), batch("b", 2));
  // b also holds copies of a's runs (same run_ids), as when a file was copied and extended.
  auto dup = batch("a", 2);
  append(b, provenance(), dup);

  merge(out, {a, b});
  Table runs = read_group(out, "runs");
  EXPECT_EQ(texts(runs, "run_id"), (std::vector<std::string>{"a0", "a1", "b0", "b1"}));
  EXPECT_EQ(read_group(out, "samples").rows(), 8u);
  expect_links_consistent(out);
  expect_same_table(runs, read_compound(out, "runs"));

  // Merging again, or merging the output into itself, adds nothing and leaves the file alone.
  const std::string before = bytes_of(out);
  merge(out, {a, b, out});
  EXPECT_EQ(bytes_of(out), before);

  const std::string c = path("c.h5");
  append(c, provenance(), batch("c", 1));
  merge(out, {c, a});
  runs = read_group(out, "runs");
  EXPECT_EQ(texts(runs, "run_id"), (std::vector<std::string>{"a0", "a1", "b0", "b1", "c0"}));
  expect_links_consistent(out);

  const auto attrs = read_attributes(out);
  auto has = [&](const std::string& name) {
    return std::any_of(attrs.begin(), attrs.end(),
                       [&](const auto& kv) { return kv.first == name; });
  };
  EXPECT_TRUE(has("host"));         // shared by all inputs
  EXPECT_TRUE(has("merged_from"));  // says where the runs came from
}

TEST_F(Scratch, MergeKeepsUnlinkedGroupsWithoutDuplicates) {
  const std::string a = path("a.h5"), out = path("merged.h5");
  Table trials;
  trials.columns.push_back(
      Column{"trial_id", "", "", std::vector<Int>{1, 1, 2}});  // a genuine repeat
  auto rows = batch("a", 1);
  rows.push_back(GroupRows{"trials", "trial", trials, "", ""});
  append(a, provenance(), rows);
  merge(out, {a});
  merge(out, {a});
  merge(path("twice.h5"), {a, a});
  EXPECT_EQ(ints(read_group(out, "trials"), "trial_id"), (std::vector<Int>{1, 1, 2}));
  EXPECT_EQ(ints(read_group(path("twice.h5"), "trials"), "trial_id"), (std::vector<Int>{1, 1, 2}));
  EXPECT_EQ(read_group(path("twice.h5"), "runs").rows(), 1u);
}

TEST_F(Scratch, MergeRefusesForeignInputs) {
  const std::string notes = path("notes.txt");
  write_text_file(notes, "hello");
  append(path("a.h5"), provenance(), batch("a", 1));
  EXPECT_EQ(usage_error_of([&] {
              merge(path("out.h5"), {path("a.h5"), notes});
            }),
            notes + " is not an HDF5 file");
  EXPECT_NE(usage_error_of([&] { merge(path("out.h5"), {path("missing.h5")}); }).find("missing.h5"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(path("out.h5")));
}

// ---------------------------------------------------------------- schema versions

namespace {

// Runs of the given modes as a schema-1 writer wrote them: no memory_model column, and the file
// (when `file` is new) marked schema_version 1.
std::vector<GroupRows> runs_of_modes(const std::string& prefix,
                                     const std::vector<std::string>& modes,
                                     bool with_memory_model) {
  auto rows = batch(prefix, static_cast<int>(modes.size()));
  Table extra;
  TableBuilder e(extra);
  for (const auto& m : modes) {
    e.row();
    e.str("mode", m, "execution mode");
    if (with_memory_model)
      e.str("memory_model", m == "processes" ? "private" : "shared", "memory model");
  }
  e.finish();
  for (auto& c : extra.columns) rows[0].rows.columns.push_back(std::move(c));
  return rows;
}

void make_schema1(const std::string& file, const std::string& prefix,
                  const std::vector<std::string>& modes) {
  append(file, provenance(), runs_of_modes(prefix, modes, false));
  h5::File f = h5::File::open(file, true);
  h5::set_attribute(f.handle(), "schema_version", std::int64_t{1});
  f.close();
}

Int schema_version_of(const std::string& file) {
  for (const auto& [name, value] : read_attributes(file))
    if (name == "schema_version") return std::stoll(value);
  return -1;
}

}  // namespace

TEST_F(Scratch, Schema1FileIsReadWithMemoryModelAndUpgradedByAnAppend) {
  const std::string file = path("v1.h5");
  make_schema1(file, "old", {"threads", "processes", "hybrid", "no-such-mode", "mpi"});
  ASSERT_EQ(schema_version_of(file), 1);
  // Read as version 2: memory_model derived from mode.
  const std::vector<std::string> derived = {"shared", "private", "per-rank", "", "private"};
  EXPECT_EQ(texts(read_group(file, "runs"), "memory_model"), derived);
  EXPECT_NO_THROW(check_output(file));

  append(file, provenance(), runs_of_modes("new", {"openmp", "processes"}, true));
  EXPECT_EQ(schema_version_of(file), kSchemaVersion);
  const Table runs = read_group(file, "runs");
  EXPECT_EQ(texts(runs, "memory_model"),
            (std::vector<std::string>{"shared", "private", "per-rank", "", "private", "shared",
                                      "private"}));
  EXPECT_EQ(texts(runs, "run_id"),
            (std::vector<std::string>{"old0", "old1", "old2", "old3", "old4", "new0", "new1"}));
  expect_same_table(runs, read_compound(file, "runs"));
  expect_links_consistent(file);
  // Stored, not derived any more: the dataset is in the file.
  h5::File f = h5::File::open(file, false);
  EXPECT_TRUE(f.root().group("runs").has_dataset("memory_model"));
}

TEST_F(Scratch, Schema1FileIsUpgradedByAnAppendOfOtherRows) {
  const std::string file = path("v1.h5");
  make_schema1(file, "old", {"gil", "hybrid"});
  Table trials;
  trials.columns.push_back(Column{"trial_id", "", "", std::vector<Int>{7}});
  append(file, provenance(), {GroupRows{"trials", "trial", trials, "", ""}});
  EXPECT_EQ(schema_version_of(file), kSchemaVersion);
  const Table runs = read_group(file, "runs");
  EXPECT_EQ(texts(runs, "memory_model"), (std::vector<std::string>{"shared", "per-rank"}));
  expect_same_table(runs, read_compound(file, "runs"));
}

TEST_F(Scratch, MergeOfSchema1AndSchema2Files) {
  const std::string v1 = path("v1.h5"), v2 = path("v2.h5");
  make_schema1(v1, "old", {"serial", "processes"});
  append(v2, provenance(), runs_of_modes("new", {"threads"}, true));
  for (const auto& [out, inputs] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {path("new_out.h5"), {v1, v2}}, {path("reversed.h5"), {v2, v1}}}) {
    merge(out, inputs);
    EXPECT_EQ(schema_version_of(out), kSchemaVersion) << out;
    const Table runs = read_group(out, "runs");
    std::map<std::string, std::string> model;
    for (std::size_t i = 0; i < runs.rows(); ++i)
      model[texts(runs, "run_id")[i]] = texts(runs, "memory_model")[i];
    EXPECT_EQ(model, (std::map<std::string, std::string>{
                         {"old0", "shared"}, {"old1", "private"}, {"new0", "shared"}}));
    expect_links_consistent(out);
    expect_same_table(runs, read_compound(out, "runs"));
  }
  // Into an existing schema-1 file: it becomes version 2, its own rows back-filled.
  const std::string into = path("into.h5");
  make_schema1(into, "base", {"hybrid"});
  merge(into, {v2});
  EXPECT_EQ(schema_version_of(into), kSchemaVersion);
  EXPECT_EQ(texts(read_group(into, "runs"), "memory_model"),
            (std::vector<std::string>{"per-rank", "shared"}));
}

TEST_F(Scratch, KernelMetricColumnsCarryTheirRole) {
  RunResult r;
  r.run_id = "r0";
  r.spec.kernel = "ep";
  r.spec.mode = "threads";
  r.spec.memory_model = "shared";
  r.spec.switch_interval_s = std::numeric_limits<double>::quiet_NaN();
  r.spec.gil_release = "";
  r.spec.gil_policy = "";
  r.status = "ok";
  r.metrics = {{"ep_hits", 12.0, "1", "hits"}, {"pi_estimate", 3.14, "", "pi"}};
  const std::string file = path("roles.h5");
  append(file, file_provenance(), result_rows(r));
  // A mode name the row builder has never heard of still records the spec's GIL settings.
  r.run_id = "r1";
  r.spec.mode = "gil-like";
  r.spec.switch_interval_s = 0.002;
  r.spec.gil_release = "compute";
  r.spec.gil_policy = "fifo";
  append(file, file_provenance(), result_rows(r));

  const Table runs = read_group(file, "runs");
  for (const auto& c : runs.columns) {
    const bool metric = c.name == "ep_hits" || c.name == "pi_estimate";
    EXPECT_EQ(c.role, metric ? kRoleKernelMetric : "") << c.name;
  }
  EXPECT_EQ(texts(runs, "memory_model"), (std::vector<std::string>{"shared", "shared"}));
  EXPECT_TRUE(std::isnan(reals(runs, "switch_interval_s")[0]));
  EXPECT_EQ(reals(runs, "switch_interval_s")[1], 0.002);
  EXPECT_EQ(texts(runs, "gil_release"), (std::vector<std::string>{"", "compute"}));
  EXPECT_EQ(texts(runs, "gil_policy"), (std::vector<std::string>{"", "fifo"}));
  // The attribute itself, as other readers see it.
  h5::File f = h5::File::open(file, false);
  const h5::Group g = f.root().group("runs");
  const auto role = h5::attribute(g.dataset("ep_hits").handle(), kRoleAttribute);
  ASSERT_TRUE(role.has_value());
  EXPECT_EQ(h5::scalar_text(*role), "kernel_metric");
  EXPECT_FALSE(h5::has_attribute(g.dataset("wall_s_median").handle(), kRoleAttribute));
}

// ---------------------------------------------------------------- files beside the output

// Every file corescope creates beside an output, with a symbolic link planted in its place
// (to a victim file, then to a missing target): the victim is never touched and nothing appears
// at the target, whatever the writer does (refuse, or remove the link and go on).
TEST_F(Scratch, PlantedSymbolicLinksBesideTheOutputAreNeverFollowed) {
  const std::string pid = std::to_string(::getpid());
  const std::string out = path("r.h5");
  append(out, provenance(), batch("a", 1));
  const std::string victim = path("victim.txt");
  write_text_file(victim, "victim");
  for (const std::string& side :
       std::vector<std::string>{".lock", ".sweep", ".tmp." + pid, ".probe." + pid}) {
    for (const std::string& target : std::vector<std::string>{victim, path("nowhere") + side}) {
      const std::string link = path(".r.h5" + side);
      fs::remove(link);
      fs::create_symlink(target, link);
      const std::string what = side + " -> " + target;
      try {
        check_output(out);
        append(out, provenance(), batch("b" + side, 1));
        sweep::SweepLock lock(out, "sweep-1");
        EXPECT_TRUE(sweep::sweep_alive(out, "sweep-1")) << what;
      } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos)
            << what << ": " << e.what();
      }
      EXPECT_EQ(bytes_of(victim), "victim") << what;
      EXPECT_FALSE(fs::exists(path("nowhere") + side)) << what;
      EXPECT_NO_THROW(read_group(out, "runs")) << what;
      fs::remove(link);
    }
  }
  // The lock and the sweep lock refuse a link (nothing else can be safe; the append before the
  // sweep lock went through); temp and probe links of our own pid are removed and the append
  // goes on.
  EXPECT_EQ(texts(read_group(out, "runs"), "run_id"),
            (std::vector<std::string>{"a0", "b.sweep0", "b.sweep0", "b.tmp." + pid + "0",
                                      "b.tmp." + pid + "0", "b.probe." + pid + "0",
                                      "b.probe." + pid + "0"}));
  // Not a regular file where the lock goes: refused too.
  fs::remove(path(".r.h5.lock"));
  ASSERT_EQ(::mkfifo(path(".r.h5.lock").c_str(), 0600), 0);
  EXPECT_NE(
      usage_error_of([&] { append(out, provenance(), batch("c", 1)); }).find("not a regular file"),
      std::string::npos);
}

TEST_F(Scratch, LockFileModesAreSetExplicitly) {
  const mode_t old = ::umask(0077);
  append(path("r.h5"), provenance(), batch("a", 1));
  ::umask(old);
  EXPECT_EQ(fs::status(path("r.h5")).permissions(), static_cast<fs::perms>(0644));
  EXPECT_EQ(fs::status(path(".r.h5.lock")).permissions(), static_cast<fs::perms>(0644));
  // The holder is written into the lock file.
  EXPECT_NE(bytes_of(path(".r.h5.lock")).find("pid " + std::to_string(::getpid()) + " on "),
            std::string::npos);
}

TEST_F(Scratch, LongOutputNamesGetHashedSideFilesAndOverLongNamesAreBadInput) {
  const std::string long_name =
      std::string(250, 'x') + ".h5";  // 253 bytes: fits, ".NAME.lock" would not
  append(path(long_name), provenance(), batch("a", 1));
  append(path(long_name), provenance(), batch("b", 1));
  EXPECT_EQ(read_group(path(long_name), "runs").rows(), 2u);
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_LE(e.path().filename().string().size(), 255u);
  const std::string too_long = path(std::string(300, 'y') + ".h5");
  EXPECT_NE(usage_error_of([&] { check_output(too_long); }).find("longer than NAME_MAX"),
            std::string::npos);
  EXPECT_NE(usage_error_of([&] {
              append(too_long, provenance(), batch("c", 1));
            }).find("longer than NAME_MAX"),
            std::string::npos);
}

TEST_F(Scratch, AWriterWaitingForAHeldLockNamesTheHolderAndGivesUp) {
  const std::string out = path("r.h5");
  append(out, provenance(), batch("a", 1));
  const int fd = ::open(path(".r.h5.lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  const std::string holder = "pid 4242 on otherhost since 2026-01-01T00:00:00Z";
  ASSERT_EQ(::ftruncate(fd, 0), 0);
  ASSERT_EQ(::pwrite(fd, holder.data(), holder.size(), 0), static_cast<ssize_t>(holder.size()));
  set_lock_timeout(1.5);
  const auto start = std::chrono::steady_clock::now();
  testing::internal::CaptureStderr();
  std::string failure;
  try {
    append(out, provenance(), batch("b", 1));
  } catch (const RuntimeFailure& e) {
    failure = e.what();
  }
  const std::string waiting = testing::internal::GetCapturedStderr();
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  set_lock_timeout(300);
  ::close(fd);
  EXPECT_GE(waited, 1.5);
  EXPECT_LT(waited, 5.0);
  EXPECT_NE(waiting.find("held by " + holder), std::string::npos) << waiting;
  EXPECT_EQ(std::count(waiting.begin(), waiting.end(), '\n'), 1) << waiting;
  EXPECT_NE(failure.find("gave up after 1.5 s"), std::string::npos) << failure;
  EXPECT_NE(failure.find(holder), std::string::npos) << failure;
  EXPECT_EQ(read_group(out, "runs").rows(), 1u);
  EXPECT_TRUE(temp_files(dir_).empty());
}

// ---------------------------------------------------------------- other readers

// The format promises that h5py, xarray (h5netcdf), pandas (PyTables) and h5dump read the file.
TEST_F(Scratch, OpensInH5pyXarrayPandasAndH5dump) {
  if (std::system(
          "/usr/bin/python3 -c 'import h5py, xarray, h5netcdf, pandas, tables' >/dev/null 2>&1") !=
      0)
    GTEST_SKIP() << "Debian's python3-h5py/xarray/h5netcdf/pandas/tables are not installed";
  const std::string file = path("out.h5");
  append(file, provenance(), batch("a", 2));
  auto second = batch("b", 1);
  second[0].rows.columns.push_back(
      Column{"status", "", "run status", std::vector<std::string>{"ok"}});
  append(file, provenance(), second);

  const std::string script = path("check.py");
  write_text_file(script, R"(import sys, math, warnings
warnings.simplefilter("error", UserWarning)
import h5py, xarray as xr, pandas as pd
f = sys.argv[1]
with h5py.File(f, "r") as h:
    assert h.attrs["schema"] == "corescope", h.attrs["schema"]
    assert isinstance(h.attrs["host"], str)
    assert h.attrs["schema_version"] == 2
runs = xr.open_dataset(f, engine="h5netcdf", group="runs").load()
assert runs.sizes["run"] == 3, runs.sizes
assert list(runs["run_id"].values) == ["a0", "a1", "b0"], runs["run_id"].values
assert list(runs["status"].values) == ["", "", "ok"]
assert runs["workers"].dtype == "int64"
assert runs["wall_s_median"].attrs["units"] == "s"
samples = xr.open_dataset(f, engine="h5netcdf", group="samples").load()
assert list(samples["run"].values) == [0, 0, 1, 1, 2, 2], samples["run"].values
df = pd.read_hdf(f, "tables/runs")
assert list(df.columns) == list(runs.data_vars), (list(df.columns), list(runs.data_vars))
assert list(df["run_id"]) == ["a0", "a1", "b0"], list(df["run_id"])
assert len(pd.read_hdf(f, "tables/samples")) == 6
)");
  EXPECT_EQ(std::system(("/usr/bin/python3 " + script + " " + file).c_str()), 0);
  if (std::system("h5dump --version >/dev/null 2>&1") == 0) {
    EXPECT_EQ(std::system(("h5dump -d /runs/kernel " + file + " >/dev/null").c_str()), 0);
  }
}
