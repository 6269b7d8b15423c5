// The declared outputs (io/schema.hpp) against the files the program writes: every declared output
// present with its declared shape, unit and labelled axes, nothing undeclared, and the exports of
// the declaration (the Python reader's schema.json, the docs' tables) up to date.
#include "cli_support.hpp"
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <hdf5_hl.h>

#include "io/h5.hpp"
#include "io/outputs.hpp"
#include "io/schema.hpp"
#include "io/scenario.hpp"
#include "sweep/sweep.hpp"
#include "weighted_run.hpp"

using namespace restake;
using namespace restake::test;

namespace {

const std::string kDefault = RESTAKE_SOURCE_DIR "/scenarios/default.toml";

std::vector<std::string> datasets_in(const h5::File& f) {
  std::vector<std::string> out;
  H5Ovisit(
      f.id(), H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
        if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &out);
  return out;
}

// Checks one declared dataset of the file: shape, unit, axis labels, attached scales.
void check_output(const h5::File& f, const OutputSpec& o, const Extents& e, bool point_axis) {
  INFO("dataset /" << o.path);
  REQUIRE(f.exists(o.path));
  std::vector<Dim> dims(o.shape.dims().begin(), o.shape.dims().end());
  if (point_axis) dims.insert(dims.begin(), Dim::Point);
  CHECK(f.dims(o.path) == h5_dims(dims, e));
  CHECK(f.dataset_attr_string(o.path, "units") == o.unit);
  const h5::Handle ds(H5Dopen2(f.id(), o.path, H5P_DEFAULT), H5Dclose);
  for (unsigned axis = 0; axis < dims.size(); ++axis) {
    const DimSpec& d = dimension(dims[axis]);
    INFO("axis " << axis << " (" << d.name << ")");
    char label[64] = {};
    H5DSget_label(ds.id(), axis, label, sizeof label);
    CHECK(std::string(label) == d.name);
    if (*d.scale == '\0') {
      CHECK(H5DSget_num_scales(ds.id(), axis) == 0);
      continue;
    }
    const h5::Handle scale(H5Dopen2(f.id(), d.scale, H5P_DEFAULT), H5Dclose);
    CHECK(H5DSis_scale(scale.id()) > 0);
    CHECK(H5DSis_attached(ds.id(), scale.id(), axis) > 0);
    CHECK(f.dims(d.scale) == std::vector<hsize_t>{extent(dims[axis], e)});
  }
}

// Every declared output in the file, and every per-trial or summary dataset in it declared (or the
// scale of a declared dimension).
void check_file(const std::string& path, std::size_t trials, bool point_axis, bool records, bool weighted = false) {
  const h5::File f = h5::File::open_read_only(path);
  Extents e;
  e.points = point_axis ? f.dims("points/values").at(0) : 0;
  e.trials = trials;
  e.holders = f.dims("holders/names").at(0);
  e.avs = f.dims("avs/names").at(0);
  e.pools = f.dims("pools/names").at(0);
  // The market layer's axes exist only in files of runs that have them.
  const Presence present{weighted, f.exists("tokens/names"), f.exists("lending_markets/names")};
  e.tokens = present.tokens ? f.dims("tokens/names").at(0) : 0;
  e.lending = present.lending ? f.dims("lending_markets/names").at(0) : 0;
  CHECK(e.avs > 0);
  CHECK(e.pools > 0);
  for (const TrialRecordSpec& r : trial_records())
    if (records && r.out.present(present)) check_output(f, r.out, e, point_axis);
  CHECK(f.exists("trials") == records);
  for (const SummarySpec& s : summaries())
    if (s.out.present(present)) check_output(f, s.out, e, point_axis);
  // What only a weighted run has is absent from a plain run's file, which stays as it was.
  CHECK(f.has_attr("weighted") == weighted);
  CHECK(f.exists("tilt") == weighted);
  for (const TrialRecordSpec& r : trial_records())
    if (!r.out.present(present)) CHECK_FALSE(f.exists(r.out.path));
  for (const SummarySpec& s : summaries())
    if (!s.out.present(present)) CHECK_FALSE(f.exists(s.out.path));
  for (const std::string& d : datasets_in(f)) {
    if (d.rfind("trials/", 0) != 0 && d.rfind("summary/", 0) != 0) continue;
    const auto declared = [&](const auto& specs) {
      return std::any_of(specs.begin(), specs.end(), [&](const auto& s) { return d == s.out.path; });
    };
    const auto scale = [&] {
      const auto dims = dimensions();
      return std::any_of(dims.begin(), dims.end(), [&](const DimSpec& x) { return d == x.scale; });
    };
    INFO("dataset /" << d << " is not declared in sim/io/schema.cpp");
    CHECK((declared(trial_records()) || declared(summaries()) || scale()));
  }
}

}  // namespace

TEST_CASE("a results file holds every declared output with its shape, unit and labelled axes, and nothing undeclared") {
  TempDir dir;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 300 --no-progress -q", kDefault, dir / "r.h5"), dir) == 0);
  check_file(dir / "r.h5", 300, false, true);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 300 --no-records --no-progress -q", kDefault, dir / "n.h5"), dir) == 0);
  check_file(dir / "n.h5", 300, false, false);
}

TEST_CASE("a weighted results file holds the declared outputs of weighted runs too, with and without records") {
  TempDir dir;
  const Model m = parse_scenario(slurp(kDefault), kDefault);
  const RunSpec spec = tilted_run(m, 300, 5, 3.0, 0.2);
  write_results(dir / "w.h5", m, spec);
  check_file(dir / "w.h5", 300, false, true, true);
  write_results(dir / "wn.h5", m, spec, false);
  check_file(dir / "wn.h5", 300, false, false, true);
}

TEST_CASE("a sweep file holds every declared output with a leading point axis, labelled by the points' names") {
  TempDir dir;
  const std::string sweep = dir / "s.toml";
  std::ofstream(sweep) << fmt::format(
      "[sweep]\nscenario = \"{}\"\ntrials = 200\n[[sweep.parameter]]\npath = \"pool.lrt-coverage.balance_eth\"\n"
      "values = [0, 5000, 9000]\n",
      kDefault);
  REQUIRE(cli(fmt::format("sweep {} -o {} --records --threads 2", sweep, dir / "s.h5"), dir) == 0);
  check_file(dir / "s.h5", 200, true, true);
  const h5::File f = h5::File::open_read_only(dir / "s.h5");
  CHECK(f.read_strings("points/names") ==
        std::vector<std::string>{"pool.lrt-coverage.balance_eth = 0", "pool.lrt-coverage.balance_eth = 5000",
                                 "pool.lrt-coverage.balance_eth = 9000"});
}

TEST_CASE("summary_values and set_summary_values are inverse for every declared summary") {
  RunSummary s;
  s.holders.resize(2);
  s.avs.resize(3);
  s.pools.resize(1);
  for (auto& a : s.avs) a.holder_loss_mean.resize(2);
  // The outputs of runs with --threshold and --contributions, sized as read_summary sizes them.
  s.info.thresholds = {0.05, 0.1};
  s.contributions = true;
  s.operators = {"op-a", "op-b", "op-c", "op-d"};
  for (auto& h : s.holders) {
    h.loss.exceedance.resize(2);
    for (Contributions* c : {&h.contributions.es99, &h.contributions.var99}) {
      c->avs.resize(3);
      c->op.resize(4);
    }
  }
  RunSummary back = s;
  double x = 1.0;
  for (const SummarySpec& spec : summaries()) {
    std::vector<double> v = summary_values(spec, s);
    CHECK(v.size() == [&] {
      std::size_t n = 1;
      for (const std::size_t k : extents(spec.out.shape.dims(), Extents::of(s))) n *= k;
      return n;
    }());
    for (double& y : v) y = x++;  // distinct values: two outputs sharing a field would show
    set_summary_values(spec, v, s);
  }
  for (const SummarySpec& spec : summaries()) {
    INFO(spec.out.path);
    set_summary_values(spec, summary_values(spec, s), back);
    CHECK(summary_values(spec, back) == summary_values(spec, s));
  }
  std::vector<double> all;
  for (const SummarySpec& spec : summaries())
    for (const double y : summary_values(spec, s)) all.push_back(y);
  std::sort(all.begin(), all.end());
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
  CHECK(all.size() == static_cast<std::size_t>(x - 1));
}

TEST_CASE("the Python reader's schema.json and the docs' tables are the declaration as the program prints it") {
  TempDir dir;
  std::string json, markdown;
  REQUIRE(cli("schema --json", dir, &json) == 0);
  CHECK(json == schema_json());
  CHECK(json == slurp(RESTAKE_SOURCE_DIR "/analysis/restake_analysis/schema.json"));
  REQUIRE(cli("schema", dir, &markdown) == 0);
  INFO("regenerate with: restake-sim schema > (the table in docs/output-format.md)");
  CHECK(slurp(RESTAKE_SOURCE_DIR "/docs/output-format.md").find(markdown) != std::string::npos);
}
