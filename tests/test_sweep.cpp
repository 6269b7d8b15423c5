// Parameter sweeps: the sweep file's forms and errors, common random numbers across points, and
// `restake-sim sweep` end to end.
#include "cli_support.hpp"
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "io/h5.hpp"
#include "io/output_helpers.hpp"
#include "io/results.hpp"
#include "stats/quantile_sketch.hpp"
#include "stats/tally.hpp"
#include "support.hpp"
#include "sweep/point_runner.hpp"
#include "sweep/sweep.hpp"
#include "sweep/sweep_points.hpp"
#include "sweep/sweep_summary.hpp"
#include "sweep/sweep_writer.hpp"
#include "sweep_support.hpp"
#include "trial/engine.hpp"
#include "trial/run_spec.hpp"
#include "weighted_run.hpp"

namespace fs = std::filesystem;
using namespace restake::test;
using namespace restake;

namespace {


// A world where one AVS condition slashes an LRT and a native restaker, and an LST stays out of it.
// No pool, so a holder's loss is exactly what its slashes take.
const std::string kWorld = R"(
[simulation]
name = "sweep-world"
trials = 1000
seed = 5

[ethereum]
total_active_stake_eth = 34_000_000

[[operator]]
name = "op-alpha"
validators = 1000
annual_fault_probability = 0.1
fault_fraction = { dist = "beta", alpha = 1, beta = 10 }

[[operator]]
name = "op-beta"
validators = 500
annual_fault_probability = 0.05
fault_fraction = 0.02

[[protocol]]
name = "proto"
slashing_mode = "shared"

[[avs]]
name = "oracle"
protocol = "proto"
operators = ["op-alpha", "op-beta"]
faulty_annual_probability = 0.01
faulty_fraction = 0.2
  [[avs.slashing]]
  name = "wrong-price"
  annual_probability = 0.05
  fraction = { dist = "uniform", min = 0.01, max = 0.3 }
  [avs.rewards]
  initial_apr = 0.02
  half_life_days = { dist = "uniform", min = 30, max = 300 }

[[lrt]]
name = "lrt-x"
protocol = "proto"
positions = [{ operator = "op-alpha", stake_eth = 16_000 }, { operator = "op-beta", stake_eth = 8_000 }]

[[native]]
name = "natives"
protocol = "proto"
positions = [{ operator = "op-beta", stake_eth = 4_000 }]

[[lst]]
name = "lst"
positions = [{ operator = "op-alpha", stake_eth = 8_000 }]
)";

// Sweeps read against kWorld, as if it were world.toml next to the sweep file.
Sweep sweep_of(const std::string& body) {
  const std::string text = "[sweep]\nscenario = \"world.toml\"\n" + body;
  return parse_sweep(text, "dir/s.toml", [](const std::string& path) {
    CHECK(path == "dir/world.toml");
    return kWorld;
  });
}

// The error a sweep raises (fails the test if it raises none).
SweepError sweep_error(const std::string& body) {
  try {
    sweep_of(body);
  } catch (const SweepError& e) {
    return e;
  }
  FAIL("expected a SweepError");
  return SweepError("", 0, 0, "", "");
}




}  // namespace

TEST_CASE("a list, a linspace and a logspace give exactly the values asked for") {
  const Sweep a = sweep_of("[[sweep.parameter]]\npath = \"avs.oracle.slashing.wrong-price.annual_probability\"\nvalues = [0, 0.1, 0.25]\n");
  CHECK(a.mode == SweepMode::Grid);
  REQUIRE(a.points.size() == 3);
  CHECK(a.points[2][0] == 0.25);
  CHECK(a.parameters[0].scenario_key == "avs[0].slashing[0].annual_probability");

  const Sweep b = sweep_of("[[sweep.parameter]]\npath = \"operator.op-alpha.annual_fault_probability\"\nlinspace = [0.0, 0.09, 10]\n");
  REQUIRE(b.points.size() == 10);
  CHECK(b.points[0][0] == 0.0);
  CHECK(b.points[1][0] == 0.01);
  CHECK(b.points[9][0] == 0.09);

  const Sweep c = sweep_of("[[sweep.parameter]]\npath = \"avs.oracle.faulty_annual_probability\"\nlogspace = [0.0001, 0.1, 4]\n");
  REQUIRE(c.points.size() == 4);
  CHECK(c.points[0][0] == 0.0001);
  CHECK(c.points[1][0] == doctest::Approx(0.001).epsilon(1e-12));
  CHECK(c.points[2][0] == doctest::Approx(0.01).epsilon(1e-12));
  CHECK(c.points[3][0] == 0.1);
}

TEST_CASE("a point is described with at most 12 significant digits while its scenario keeps every digit") {
  const Sweep b = sweep_of("[[sweep.parameter]]\npath = \"operator.op-alpha.annual_fault_probability\"\nlinspace = [0.0, 0.09, 10]\n"
                           "[[sweep.parameter]]\npath = \"avs.oracle.faulty_annual_probability\"\nlogspace = [0.0001, 0.1, 4]\n");
  // Point 3 x 4 + 1: (0.09 * 3 / 9, 0.0001 * 1000^(1/3)), neither the decimal it stands for.
  const std::size_t p = 3 * 4 + 1;
  REQUIRE(b.points[p][0] != 0.03);
  REQUIRE(b.points[p][1] != 0.001);
  CHECK(b.parameters[0].text(b.points[p][0]) == "0.030000000000000002");
  CHECK(b.parameters[1].text(b.points[p][1]) == "0.0009999999999999998");
  CHECK(b.point_scenario(p).find("annual_fault_probability = 0.030000000000000002") != std::string::npos);
  CHECK(b.describe_point(p) == "operator.op-alpha.annual_fault_probability = 0.03, avs.oracle.faulty_annual_probability = 0.001");
  CHECK(b.describe_point(p, true) ==
        "operator.op-alpha.annual_fault_probability = 0.030000000000000002, avs.oracle.faulty_annual_probability = 0.0009999999999999998");
  // 12 digits: a value that differs in its 12th digit still reads apart.
  CHECK(b.parameters[0].readable(0.0123456789012) == "0.0123456789012");
  CHECK(b.parameters[0].readable(1234567.891234567) == "1234567.89123");
}

TEST_CASE("a point's scenario is the original text with only the swept numbers replaced") {
  const Sweep s = sweep_of(
      "[[sweep.parameter]]\npath = \"avs.oracle.rewards.half_life_days.max\"\nvalues = [400.0]\n"
      "[[sweep.parameter]]\npath = \"operator.op-alpha.validators\"\nvalues = [2000]\n"
      "[[sweep.parameter]]\npath = \"lrt.lrt-x.positions[1].stake_eth\"\nvalues = [1.5e3]\n");
  std::string expected = kWorld;
  for (auto [from, to] : {std::pair{"max = 300 }", "max = 400 }"}, std::pair{"validators = 1000", "validators = 2000"},
                          std::pair{"stake_eth = 8_000 }]\n\n[[native]]", "stake_eth = 1500 }]\n\n[[native]]"}}) {
    REQUIRE(expected.find(from) != std::string::npos);
    expected.replace(expected.find(from), std::string(from).size(), to);
  }
  CHECK(s.point_scenario(0) == expected);
  const Model m = s.point_model(0);
  CHECK(m.operators[0].validators == 2000);
  CHECK(m.holders[0].value() == 17'500.0);
  CHECK(s.describe_point(0) ==
        "avs.oracle.rewards.half_life_days.max = 400, operator.op-alpha.validators = 2000, lrt.lrt-x.positions[1].stake_eth = 1500");
}

TEST_CASE("a grid has the product of the sizes with the last parameter fastest, a zip pairs values in order") {
  const std::string faulty = "[[sweep.parameter]]\npath = \"avs.oracle.faulty_fraction\"\nvalues = [0.1, 0.2]\n"
                                "[[sweep.parameter]]\npath = \"avs.oracle.faulty_annual_probability\"\nvalues = [0.0, 0.01]\n";
  const Sweep g = sweep_of(faulty);
  REQUIRE(g.points.size() == 4);
  CHECK(g.points == std::vector<std::vector<double>>{{0.1, 0.0}, {0.1, 0.01}, {0.2, 0.0}, {0.2, 0.01}});
  const Sweep z = sweep_of("mode = \"zip\"\n" + faulty);
  CHECK(z.points == std::vector<std::vector<double>>{{0.1, 0.0}, {0.2, 0.01}});
}

TEST_CASE("a Latin-hypercube sample puts each parameter's N values one in each of N equal strata") {
  const Sweep s = sweep_of(
      "mode = \"lhs\"\npoints = 50\nlhs_seed = 9\n"
      "[[sweep.parameter]]\npath = \"avs.oracle.faulty_annual_probability\"\nrange = [0.0, 0.1]\n"
      "[[sweep.parameter]]\npath = \"avs.oracle.slashing.wrong-price.annual_probability\"\nrange = [0.001, 0.1]\nscale = \"log\"\n");
  REQUIRE(s.points.size() == 50);
  std::set<long> lin, log;
  for (const auto& p : s.points) {
    lin.insert(static_cast<long>(std::floor(p[0] / 0.1 * 50)));
    log.insert(static_cast<long>(std::floor(std::log(p[1] / 0.001) / std::log(100.0) * 50)));
  }
  CHECK(lin.size() == 50);
  CHECK(*lin.begin() == 0);
  CHECK(*lin.rbegin() == 49);
  CHECK(log.size() == 50);
  CHECK(*log.rbegin() == 49);
  // Reproducible, and the seed matters.
  CHECK(latin_hypercube(20, 3, 9) == latin_hypercube(20, 3, 9));
  CHECK(latin_hypercube(20, 3, 9) != latin_hypercube(20, 3, 10));
}

TEST_CASE("an unknown path, entity name or key is an error at the path with the names that exist") {
  auto e = sweep_error("\n[[sweep.parameter]]\npath = \"avs.oracel.faulty_annual_probability\"\nvalues = [0.1]\n");
  CHECK(e.file == "dir/s.toml");
  CHECK(e.line == 5);
  CHECK(e.column == 8);
  CHECK(e.key == "sweep.parameter[0].path");
  contains(e.what(), "no element of 'avs' is named 'oracel' (names: oracle)");

  e = sweep_error("[[sweep.parameter]]\npath = \"operator.op-alpha.annual_fault_probabilty\"\nvalues = [0.1]\n");
  contains(e.what(), "'operator.op-alpha' has no key 'annual_fault_probabilty'");
  contains(e.what(), "annual_fault_probability");

  e = sweep_error("[[sweep.parameter]]\npath = \"ethereum.base_apr\"\nvalues = [0.04]\n");  // a default, not in the file
  contains(e.what(), "only values written in the scenario file can be swept");

  e = sweep_error("[[sweep.parameter]]\npath = \"lrt.lrt-x.positions.op-alpha.stake_eth\"\nvalues = [-1]\n");
  CHECK(e.key == "sweep.parameter[0].values[0]");  // positions go by their operator: the path is fine...
  contains(e.what(), "rejected by the scenario");   // ...the value is not
  e = sweep_error("[[sweep.parameter]]\npath = \"lrt.lrt-x.positions[7].stake_eth\"\nvalues = [1]\n");
  contains(e.what(), "index [7] is out of range");
  e = sweep_error("[[sweep.parameter]]\npath = \"avs..x\"\nvalues = [1]\n");
  contains(e.what(), "malformed path");
}

TEST_CASE("a path to a table, a value of another type or a fraction for an integer key is a type error") {
  auto e = sweep_error("[[sweep.parameter]]\npath = \"avs.oracle.slashing.wrong-price.fraction\"\nvalues = [0.1]\n");
  contains(e.what(), "is a table (a distribution?)");
  contains(e.what(), "fraction.max");
  e = sweep_error("[[sweep.parameter]]\npath = \"avs.oracle.protocol\"\nvalues = [0.1]\n");
  contains(e.what(), "expected a string (the scenario writes a string here), got a float");
  e = sweep_error("[[sweep.parameter]]\npath = \"avs.oracle.faulty_fraction\"\nvalues = [0.1, \"0.2\"]\n");
  CHECK(e.line == 5);
  CHECK(e.column == 16);
  CHECK(e.key == "sweep.parameter[0].values[1]");
  contains(e.what(), "expected a number, got a string");
  e = sweep_error("[[sweep.parameter]]\npath = \"operator.op-alpha.validators\"\nvalues = [1000, 1500.5]\n");
  CHECK(e.key == "sweep.parameter[0].values[1]");
  contains(e.what(), "point 1 of 2 (operator.op-alpha.validators = 1500.5) is rejected by the scenario");
  e = sweep_error("[[sweep.parameter]]\npath = \"operator.op-alpha.validators\"\nvalues = [1000]\nlinspce = [1, 2, 3]\n");
  CHECK(e.key == "sweep.parameter[0].linspce");
  contains(e.what(), "unknown key");
  e = sweep_error("mode = \"lattice\"\n[[sweep.parameter]]\npath = \"operator.op-alpha.validators\"\nvalues = [1000]\n");
  CHECK(e.key == "sweep.mode");
  contains(e.what(), "expected \"grid\", \"zip\" or \"lhs\", got \"lattice\"");
  e = sweep_error("mode = \"lhs\"\npoints = 4\n[[sweep.parameter]]\npath = \"avs.oracle.faulty_fraction\"\nrange = [0.1, 0.2]\n"
                  "scale = \"logarithmic\"\n");
  CHECK(e.key == "sweep.parameter[0].scale");
  contains(e.what(), "expected \"linear\" or \"log\", got \"logarithmic\"");
  // Of two unknown keys, the one written first is reported (as in a scenario), not the first alphabetically.
  e = sweep_error("[[sweep.parameter]]\npath = \"operator.op-alpha.validators\"\nvalues = [1000]\nvalue = [1]\nlinspce = [1, 2, 3]\n");
  CHECK(e.key == "sweep.parameter[0].value");
  CHECK(e.line == 6);
  CHECK(e.column == 1);
}

TEST_CASE("a point out of the scenario's range is an error at that value naming the point and the scenario's rule") {
  auto e = sweep_error("[[sweep.parameter]]\npath = \"avs.oracle.slashing.wrong-price.annual_probability\"\nvalues = [0.1, 0.5, 1.0]\n");
  CHECK(e.file == "dir/s.toml");
  CHECK(e.line == 5);
  CHECK(e.column == 21);
  CHECK(e.key == "sweep.parameter[0].values[2]");
  contains(e.what(), "point 2 of 3 (avs.oracle.slashing.wrong-price.annual_probability = 1.0) is rejected by the scenario");
  contains(e.what(), "dir/world.toml:34:24: avs \"oracle\" (avs[0]).slashing \"wrong-price\" (slashing[0]).annual_probability:");  // the scenario's own location
  // A world check (too much stake on op-beta) points at the position that tips the operator over:
  // here the swept value itself.
  e = sweep_error("[[sweep.parameter]]\npath = \"native.natives.positions[0].stake_eth\"\nlinspace = [4000, 12000, 3]\n");
  CHECK(e.key == "sweep.parameter[0].linspace");  // the scenario points at the swept value itself
  contains(e.what(), "point 2 of 3");
}

TEST_CASE("a point expecting more events per trial than the budget is refused before anything runs, at its value") {
  std::string world = kWorld;
  const std::string probability = "annual_fault_probability = 0.1\n";
  world.replace(world.find(probability), probability.size(), "fault_rate_per_year = 1\n");
  const std::string sweep =
      "[sweep]\nscenario = \"world.toml\"\n[[sweep.parameter]]\npath = \"operator.op-alpha.fault_rate_per_year\"\n"
      "values = [1, 9e4, 2e5]\n";
  try {
    parse_sweep(sweep, "dir/s.toml", [&](const std::string&) { return world; });
    FAIL("expected a SweepError");
  } catch (const SweepError& e) {
    CHECK(e.key == "sweep.parameter[0].values[2]");
    contains(e.what(), "point 2 of 3 (operator.op-alpha.fault_rate_per_year = 200000) is rejected by the scenario");
    contains(e.what(), "operator \"op-alpha\" expects 200000 events per trial");
  }
}

TEST_CASE("every point is checked before anything runs, with progress, but a sweep re-read from a checked run is not checked again") {
  const auto sweep = [](const std::string& values) {
    return "[sweep]\nscenario = \"world.toml\"\n[[sweep.parameter]]\npath = \"operator.op-alpha.validators\"\nvalues = " +
           values + "\n";
  };
  const auto world = [](const std::string&) { return kWorld; };
  std::vector<std::pair<std::size_t, std::size_t>> calls;
  const PointChecks checks{.progress = [&](std::size_t checked, std::size_t points) { calls.emplace_back(checked, points); }};
  parse_sweep(sweep("[1000, 1500, 2000]"), "dir/s.toml", world, checks);
  CHECK(calls == std::vector<std::pair<std::size_t, std::size_t>>{{1, 3}, {2, 3}, {3, 3}});

  calls.clear();
  CHECK_THROWS_AS(parse_sweep(sweep("[1000, 1500.5, 2000]"), "dir/s.toml", world, checks), SweepError);
  CHECK(calls == std::vector<std::pair<std::size_t, std::size_t>>{{1, 3}});  // the bad point stops the check

  // merge and MPI workers re-read the texts of a run that checked every point: a million points
  // would take minutes again. A point is still checked when its model is built.
  const Sweep unchecked = parse_sweep(sweep("[1000, 1500.5, 2000]"), "dir/s.toml", world, {.every_point = false});
  CHECK(unchecked.points.size() == 3);
  CHECK(unchecked.point_model(0).operators[0].validators == 1000);
  CHECK_THROWS_AS(unchecked.point_model(1), SweepError);
}

TEST_CASE("zip needs equal lengths and lhs needs points and ranges") {
  auto e = sweep_error("mode = \"zip\"\n[[sweep.parameter]]\npath = \"avs.oracle.faulty_fraction\"\nvalues = [0.1, 0.2]\n"
                       "[[sweep.parameter]]\npath = \"avs.oracle.faulty_annual_probability\"\nlinspace = [0, 0.1, 3]\n");
  CHECK(e.line == 9);
  CHECK(e.column == 12);
  CHECK(e.key == "sweep.parameter[1].linspace");
  contains(e.what(), "sweep.parameter[0] has 2, this one 3");
  e = sweep_error("mode = \"lhs\"\n[[sweep.parameter]]\npath = \"avs.oracle.faulty_fraction\"\nrange = [0.1, 0.2]\n");
  contains(e.what(), "needs points = N");
  e = sweep_error("mode = \"lhs\"\npoints = 4\n[[sweep.parameter]]\npath = \"avs.oracle.faulty_fraction\"\nvalues = [0.1]\n");
  CHECK(e.key == "sweep.parameter[0].values");
  e = sweep_error("points = 4\n[[sweep.parameter]]\npath = \"avs.oracle.faulty_fraction\"\nvalues = [0.1]\n");
  CHECK(e.key == "sweep.points");
  e = sweep_error("[[sweep.parameter]]\npath = \"avs.oracle.faulty_fraction\"\nvalues = [0.1]\n"
                  "[[sweep.parameter]]\npath = \"avs.oracle.faulty_fraction\"\nvalues = [0.2]\n");
  contains(e.what(), "the same scenario value as sweep.parameter[0]");
}

TEST_CASE("common random numbers: a higher slashing rate never lowers any trial's loss of the holders it slashes") {
  const Sweep s = sweep_of("[[sweep.parameter]]\npath = \"avs.oracle.slashing.wrong-price.annual_probability\"\n"
                           "values = [0.0, 0.02, 0.1, 0.3, 0.6]\n");
  std::vector<test::Records> runs;
  for (std::size_t p = 0; p < s.points.size(); ++p) runs.push_back(test::run_in_memory(s.point_model(p), 4000, 2, 1000, 17));
  for (std::size_t h : {0u, 2u}) {  // lrt-x, natives (holders are ordered lrt, lst, native)
    double previous_mean = -1.0;
    for (std::size_t p = 1; p < runs.size(); ++p) {
      std::size_t lower = 0;
      for (std::size_t t = 0; t < 4000; ++t) lower += runs[p].loss(t, h) < runs[p - 1].loss(t, h) - 1e-12;
      CHECK(lower == 0);
      const auto col = runs[p].loss_column(h);
      const double mean = std::accumulate(col.begin(), col.end(), 0.0) / 4000.0;
      CHECK(mean > previous_mean);
      previous_mean = mean;
    }
  }
  CHECK(runs.front().loss_column(1) == runs.back().loss_column(1));  // the LST is not restaked: not a single trial moves
}

TEST_CASE("run_point gives exact quantiles from its columns and sketched ones within their accuracy") {
  const Sweep s = sweep_of("[[sweep.parameter]]\npath = \"avs.oracle.faulty_annual_probability\"\nvalues = [0.2]\n");
  const Model m = s.point_model(0);
  PointRun o;
  o.run.trials = 3000;
  o.run.seed = 3;
  o.run.threads = 2;
  o.exact_quantiles = true;
  const RunSummary exact = run_point(m, {}, o);
  o.exact_quantiles = false;
  const RunSummary sketched = run_point(m, {}, o);
  const test::Records r = test::run_in_memory(m, 3000, 1, 500, 3);
  for (std::size_t h = 0; h < m.holders.size(); ++h) {
    const LossSummary direct = summarize_loss(r.loss_column(h));
    CHECK(exact.holders[h].loss.var99 == direct.var99);
    CHECK(exact.holders[h].loss.es99 == direct.es99);
    CHECK(exact.holders[h].loss.moments.mean == sketched.holders[h].loss.moments.mean);
    CHECK(sketched.holders[h].loss.var99 == doctest::Approx(direct.var99).epsilon(1e-4));
  }
}

TEST_CASE("restake-sim sweep writes one self-describing file with a leading point axis") {
  TempDir dir;
  std::ofstream(dir / "sweep.toml") << fmt::format(
      "[sweep]\nscenario = \"{}\"\ntrials = 3000\nseed = 4\n"
      "[[sweep.parameter]]\npath = \"avs.oracle.slashing.wrong-price.annual_probability\"\nvalues = [0.0, 0.05, 0.2]\n"
      "[[sweep.parameter]]\npath = \"pool.lrt-coverage.balance_eth\"\nvalues = [0, 5000]\n",
      kDefault);
  std::string err;
  REQUIRE(cli(fmt::format("sweep {} -o {} --records --threads 2", dir / "sweep.toml", dir / "out.h5"), dir, nullptr, &err) == 0);
  contains(err, "point 6/6");
  for (const auto& entry : fs::directory_iterator(dir.path)) CHECK(entry.path().string().find(".partial") == std::string::npos);

  const h5::File f = h5::File::open_read_only(dir / "out.h5");
  CHECK(f.attr_string("file_type") == kSweepFileType);
  CHECK(f.attr_int("format_version") == kSweepFormatVersion);
  CHECK(f.attr_int("complete") == 1);
  CHECK(f.attr_uint("seed") == 4);
  CHECK(f.attr_uint("trials") == 3000);
  CHECK(f.attr_uint("points") == 6);
  CHECK(f.attr_string("mode") == "grid");
  CHECK(f.attr_string("scenario_text") == slurp(kDefault));
  CHECK(f.attr_string("sweep_text") == slurp(dir / "sweep.toml"));
  const h5::Group pts = f.open_group("points");
  CHECK(pts.read_strings("parameters") ==
        std::vector<std::string>{"avs.oracle.slashing.wrong-price.annual_probability", "pool.lrt-coverage.balance_eth"});
  std::vector<hsize_t> dims;
  CHECK(pts.read_doubles("values", &dims) == std::vector<double>{0, 0, 0, 5000, 0.05, 0, 0.05, 5000, 0.2, 0, 0.2, 5000});
  CHECK(dims == std::vector<hsize_t>{6, 2});
  CHECK(f.open_group("pools").read_doubles("balance") == std::vector<double>{0, 5000, 0, 5000, 0, 5000});
  const h5::Group loss = f.open_group("summary").open_group("loss");
  CHECK(loss.dims("mean") == std::vector<hsize_t>{6, 3});
  CHECK(loss.dims("quantiles") == std::vector<hsize_t>{6, 3, 5});
  CHECK(f.open_group("summary").dims("loss_by_cause_mean") == std::vector<hsize_t>{6, 3, kLossCauseCount});
  CHECK(f.open_group("trials").dims("loss_fraction") == std::vector<hsize_t>{6, 3000, 3});

  // Each point's summary is that of `run` on the point's scenario with the same seed.
  const auto mean = loss.read_doubles("mean"), var99 = loss.read_doubles("var99");
  const auto records = f.open_group("trials").read_doubles("loss_fraction");
  const Sweep sw = parse_sweep(slurp(dir / "sweep.toml"), dir / "sweep.toml", [](const std::string& p) { return slurp(p); });
  for (std::size_t p : {1u, 4u}) {
    const test::Records r = test::run_in_memory(sw.point_model(p), 3000, 1, 700, 4);
    CHECK(std::equal(r.loss_fraction.begin(), r.loss_fraction.end(), records.begin() + static_cast<long>(p * 3000 * 3)));
    for (std::size_t h = 0; h < 3; ++h) {
      const LossSummary direct = summarize_loss(r.loss_column(h));
      CHECK(mean[p * 3 + h] == doctest::Approx(direct.moments.mean).epsilon(1e-12));
      CHECK(var99[p * 3 + h] == direct.var99);
    }
  }
  // The rsETH-like mean loss rises with the slashing rate at either pool size.
  for (std::size_t pool = 0; pool < 2; ++pool) {
    CHECK(mean[(0 * 2 + pool) * 3] < mean[(1 * 2 + pool) * 3]);
    CHECK(mean[(1 * 2 + pool) * 3] < mean[(2 * 2 + pool) * 3]);
  }
}

TEST_CASE("restake-sim sweep rejects a bad sweep with the sweep file location and writes nothing") {
  TempDir dir;
  std::ofstream(dir / "bad.toml") << fmt::format(
      "[sweep]\nscenario = \"{}\"\n[[sweep.parameter]]\npath = \"operator.op-zeta.annual_fault_probability\"\nvalues = [0.1]\n",
      kDefault);
  std::string err;
  CHECK(cli(fmt::format("sweep {} -o {}", dir / "bad.toml", dir / "out.h5"), dir, nullptr, &err) == 2);
  contains(err, "bad.toml:4:8: sweep.parameter[0].path:");
  contains(err, "no element of 'operator' is named 'op-zeta'");
  CHECK(!fs::exists(dir / "out.h5"));
}

TEST_CASE("every sweep file shipped in sweeps/ runs") {
  TempDir dir;
  for (const auto& entry : fs::directory_iterator(RESTAKE_SOURCE_DIR "/sweeps")) {
    if (entry.path().extension() != ".toml") continue;
    CAPTURE(entry.path().string());
    CHECK(cli(fmt::format("sweep {} -o {} --trials 500 --threads 2", entry.path().string(), dir / "s.h5"), dir) == 0);
  }
}

// --- strings and booleans -------------------------------------------------------------------------

TEST_CASE("a string is swept by label, and a label the world cannot take is rejected before anything runs") {
  const Sweep s = sweep_of(R"(
[[sweep.parameter]]
path = "ethereum.total_active_stake_eth"
values = [30_000_000, 34_000_000]
[[sweep.parameter]]
path = "protocol.proto.slashing_mode"
values = ["shared"]
)");
  REQUIRE(s.parameters[1].categorical());
  CHECK(s.parameters[1].labels == std::vector<std::string>{"\"shared\""});
  CHECK(s.points == std::vector<std::vector<double>>{{3e7, 0}, {3.4e7, 0}});
  CHECK(s.describe_point(1) == "ethereum.total_active_stake_eth = 34000000, protocol.proto.slashing_mode = \"shared\"");
  CHECK(s.point_scenario(1).find("slashing_mode = \"shared\"\n") != std::string::npos);
  // kWorld's AVS names its operators without allocations: unique mode is a world error, blamed on the sweep
  const SweepError e = sweep_error("[[sweep.parameter]]\npath = \"protocol.proto.slashing_mode\"\nvalues = [\"shared\", \"unique\"]\n");
  contains(e.what(), "point 1 of 2 (protocol.proto.slashing_mode = \"unique\") is rejected by the scenario");
  contains(e.what(), "unique slashing mode needs an allocation");
}

TEST_CASE("sweeping the fork and the inactivity-leak switch changes the model at each point") {
  std::string world = kWorld;
  world.replace(world.find("total_active_stake_eth = 34_000_000"), 35,
                "total_active_stake_eth = 34_000_000\nfork = 'bellatrix'\ninactivity_leak = false");
  const std::string text = R"([sweep]
scenario = "world.toml"
[[sweep.parameter]]
path = "ethereum.fork"
values = ["phase0", "electra"]
[[sweep.parameter]]
path = "ethereum.inactivity_leak"
values = [true, false]
)";
  const Sweep s = parse_sweep(text, "s.toml", [&](const std::string&) { return world; });
  REQUIRE(s.points.size() == 4);
  CHECK(s.parameters[1].labels == std::vector<std::string>{"true", "false"});
  const Model a = s.point_model(0), b = s.point_model(3);
  CHECK(a.ethereum.consensus.min_slashing_penalty_quotient == 128);  // phase0
  CHECK(a.ethereum.consensus.inactivity_leak);
  CHECK(b.ethereum.consensus.min_slashing_penalty_quotient == 4096);  // electra
  CHECK_FALSE(b.ethereum.consensus.inactivity_leak);
  // a literal string ('bellatrix') is replaced whole, quotes included
  CHECK(s.point_scenario(0).find("fork = \"phase0\"\ninactivity_leak = true\n") != std::string::npos);
}

TEST_CASE("categorical sweep values are checked against what the scenario writes") {
  contains(sweep_error("[[sweep.parameter]]\npath = \"protocol.proto.slashing_mode\"\nvalues = [\"shared\", 1]\n").what(),
           "sweep.parameter[0].values[1]: expected a string (the scenario writes a string here), got an integer");
  contains(sweep_error("[[sweep.parameter]]\npath = \"ethereum.total_active_stake_eth\"\nvalues = [\"many\"]\n").what(),
           "sweep.parameter[0].values[0]: expected a number, got a string");
  contains(sweep_error("[[sweep.parameter]]\npath = \"protocol.proto.slashing_mode\"\nlinspace = [0, 1, 2]\n").what(),
           "the scenario writes a string here: list them with values = [..]");
  contains(sweep_error("[[sweep.parameter]]\npath = \"protocol.proto.slashing_mode\"\nvalues = [\"shared\", \"shared\"]\n").what(),
           "\"shared\" is listed twice");
  contains(sweep_error("mode = \"lhs\"\npoints = 4\n[[sweep.parameter]]\npath = \"protocol.proto.slashing_mode\"\nrange = [0, 1]\n").what(),
           "mode = \"lhs\" samples numbers");
  // a value the scenario rejects is reported at that value, before anything runs
  contains(sweep_error("[[sweep.parameter]]\npath = \"protocol.proto.slashing_mode\"\nvalues = [\"shared\", \"sharded\"]\n").what(),
           "sweep.parameter[0].values[1]: point 1 of 2 (protocol.proto.slashing_mode = \"sharded\") is rejected by the scenario");
}

TEST_CASE("a categorical sweep file stores each point's labels and the parameters' kinds") {
  TempDir dir;
  std::ofstream(dir / "world.toml") << kWorld;
  std::ofstream(dir / "sweep.toml") << "[sweep]\nscenario = \"world.toml\"\ntrials = 200\n"
                                       "[[sweep.parameter]]\npath = \"protocol.proto.slashing_mode\"\nvalues = [\"shared\"]\n"
                                       "[[sweep.parameter]]\npath = \"avs.oracle.faulty_fraction\"\nvalues = [0.1, 0.2]\n";
  REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2", dir / "sweep.toml", dir / "out.h5"), dir) == 0);
  const h5::File f = h5::File::open_read_only(dir / "out.h5");
  CHECK(f.read_strings("points/labels") == std::vector<std::string>{"\"shared\"", "0.1", "\"shared\"", "0.2"});
  CHECK(f.read_strings("points/kinds") == std::vector<std::string>{"string", "number"});
  CHECK(f.attr_int("format_version") == kSweepFormatVersionCategorical);  // values are label indices
}

TEST_CASE("a swept string is written with TOML escapes and reads back as given") {
  std::string world = kWorld;
  world.replace(world.find("name = \"sweep-world\"\n"), 21, "name = \"sweep-world\"\ndescription = 'C:\\dir'\n");
  const std::string text = "[sweep]\nscenario = \"world.toml\"\n[[sweep.parameter]]\npath = \"simulation.description\"\n"
                           "values = [\"plain\", \"q\\\"uote b\\\\ack\\nline\\ttab\\u0001ctl \u00e9\"]\n";
  const Sweep s = parse_sweep(text, "s.toml", [&](const std::string&) { return world; });
  CHECK(s.parameters[0].labels[1] == "\"q\\\"uote b\\\\ack\\nline\\ttab\\u0001ctl \u00e9\"");
  CHECK(s.point_model(0).simulation.description == "plain");
  CHECK(s.point_model(1).simulation.description == "q\"uote b\\ack\nline\ttab\x01" "ctl \u00e9");
  CHECK(s.point_scenario(0).find("description = \"plain\"\n") != std::string::npos);  // the literal string replaced whole
}

TEST_CASE("names cannot be swept") {
  contains(sweep_error("[[sweep.parameter]]\npath = \"avs.oracle.name\"\nvalues = [\"oracle\", \"feed\"]\n").what(),
           "'avs.oracle.name' is a name: names cannot be swept");
  contains(sweep_error("[[sweep.parameter]]\npath = \"simulation.name\"\nvalues = [\"a\"]\n").what(), "is a name");
}

namespace {

// LocalBlocks that counts how it ran each point; with `streams` false it makes blocks only, as the
// MPI source does.
class CountingSource final : public BlockSource {
 public:
  CountingSource(const RunSpec& run, bool streams) : local_(run), streams_(streams) {}
  void for_each_block(std::size_t p, const Model& m, const BlockFn& on_block) override {
    ++blocked;
    local_.for_each_block(p, m, on_block);
  }
  bool stream_point(std::size_t p, const Model& m, ChunkSink& sink) override {
    if (!streams_) return false;
    ++streamed;
    return local_.stream_point(p, m, sink);
  }
  int blocked = 0, streamed = 0;

 private:
  LocalBlocks local_;
  bool streams_;
};

}  // namespace

TEST_CASE("a sweep point without rows to keep is streamed, and its file is the block path's bit for bit, plain or weighted, on 1 or 2 threads") {
  TempDir dir;
  std::ofstream(dir / "s.toml") << fmt::format(
      "[sweep]\nscenario = \"{}\"\ntrials = {}\nseed = 4\n"
      "[[sweep.parameter]]\npath = \"avs.oracle.slashing.wrong-price.annual_probability\"\nvalues = [0.05, 0.2]\n",
      kDefault, 2 * kTallyChunk + 777);
  const Sweep sw = parse_sweep(slurp(dir / "s.toml"), dir / "s.toml", [](const std::string& p) { return slurp(p); });
  const Model first = sw.point_model(0);
  for (const bool weighted : {false, true})
    for (const int threads : {1, 2}) {
      CAPTURE(weighted);
      CAPTURE(threads);
      PointRun o;
      o.run.trials = 2 * kTallyChunk + 777;  // the last chunk cut short
      o.run.seed = 4;
      o.run.threads = threads;
      o.run.block_trials = 3000;  // blocks across the chunks' bounds
      if (weighted) o.run.tilt = uniform_tilt(first, 3.0, 0.1);
      const SweepIdentity id{"v", "c", sw.text, sw.scenario_text, 4, o.run.trials, false, "s.toml", 1, TiltInfo::of(first, o.run.tilt)};
      o.sketch_accuracy = id.sketch_accuracy(first);
      const auto write = [&](const std::string& path, bool streams) {
        CountingSource source(o.run, streams);
        SweepWriter out(path, sw, first, id.meta(), id.writer_options(first));
        for (std::size_t p = 0; p < sw.points.size(); ++p) {
          const Model m = sw.point_model(p);
          const RunInfo info{m.simulation.name, "v", "c", 4, o.run.trials, m.simulation.horizon_days, TiltInfo::of(m, o.run.tilt)};
          out.add_point(p, m, run_point(m, info, o, source, p));
        }
        out.finish();
        CHECK(source.streamed == (streams ? 2 : 0));
        CHECK(source.blocked == (streams ? 0 : 2));
      };
      const std::string streamed = dir / fmt::format("streamed-{}-{}.h5", weighted, threads);
      const std::string blocks = dir / fmt::format("blocks-{}-{}.h5", weighted, threads);
      write(streamed, true);
      write(blocks, false);
      same_file(streamed, blocks);
    }

  // Rows asked for (records, exact quantiles): blocks, even from a source that streams.
  PointRun o;
  o.run.trials = 500;
  CountingSource source(o.run, true);
  run_point(first, {}, o, source, 0, [](const TrialBlock&) {});
  o.exact_quantiles = true;
  run_point(first, {}, o, source, 0);
  CHECK(source.blocked == 2);
  CHECK(source.streamed == 0);
}

TEST_CASE("a sweep point of more than 100 holders sketches as run --no-records does: the same accuracy, stored, and the same numbers") {
  TempDir dir;
  std::string world = kWorld;
  for (int i = 0; i < 150; ++i)
    world += fmt::format("\n[[native]]\nname = \"native-{}\"\nprotocol = \"proto\"\npositions = [{{ operator = \"{}\", stake_eth = {} }}]\n", i,
                         i % 2 ? "op-alpha" : "op-beta", 10 + i % 7);
  std::ofstream(dir / "world.toml") << world;
  // One point at the world's own value: the point's scenario is world.toml.
  std::ofstream(dir / "sweep.toml") << "[sweep]\nscenario = \"world.toml\"\ntrials = 3000\nseed = 6\n"
                                       "[[sweep.parameter]]\npath = \"avs.oracle.faulty_annual_probability\"\nvalues = [0.01]\n";
  std::string err;
  REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2", dir / "sweep.toml", dir / "sweep.h5"), dir, nullptr, &err) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --no-records --trials 3000 --seed 6 --threads 2 --no-progress -q", dir / "world.toml",
                          dir / "run.h5"),
              dir) == 0);
  const double accuracy = default_sketch_accuracy(153);
  CHECK(accuracy > 1e-4);
  contains(err, "153 holders: quantiles within 0.00015 relative error");
  CHECK(h5::File::open_read_only(dir / "sweep.h5").attr_double("quantile_relative_error") == accuracy);
  CHECK(h5::File::open_read_only(dir / "run.h5").attr_double("quantile_relative_error") == accuracy);
  const RunSummary run = read_summary(dir / "run.h5");
  const SweepSummary sweep = read_sweep_summary(dir / "sweep.h5");
  REQUIRE(sweep.points.size() == 1);
  REQUIRE(sweep.points[0].holders.size() == 153);
  REQUIRE(run.holders.size() == 153);
  for (std::size_t h = 0; h < 153; ++h) {
    CAPTURE(h);
    const HolderSummary &a = sweep.points[0].holders[h], &b = run.holders[h];
    CHECK(a.loss.quantiles == b.loss.quantiles);
    CHECK(a.loss.var99 == b.loss.var99);
    CHECK(a.loss.es99 == b.loss.es99);
    CHECK(a.net_return.quantiles == b.net_return.quantiles);
    CHECK(a.timing.loss_7d_var99 == b.timing.loss_7d_var99);
  }
}

namespace {

// The chunk dims of dataset `name` in the HDF5 file at `path`.
std::vector<hsize_t> chunk_dims(const std::string& path, const std::string& name) {
  const h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  const h5::Handle ds(H5Dopen2(file.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  const h5::Handle dcpl(H5Dget_create_plist(ds.id()), H5Pclose);
  std::vector<hsize_t> dims(8, 0);
  const int rank = H5Pget_chunk(dcpl.id(), static_cast<int>(dims.size()), dims.data());
  REQUIRE(rank > 0);
  dims.resize(static_cast<std::size_t>(rank));
  return dims;
}

// kWorld with `natives` more holders.
std::string world_with_holders(int natives) {
  std::string world = kWorld;
  for (int i = 0; i < natives; ++i)
    world += fmt::format("\n[[native]]\nname = \"native-{}\"\nprotocol = \"proto\"\npositions = [{{ operator = \"{}\", stake_eth = {} }}]\n", i,
                         i % 2 ? "op-alpha" : "op-beta", 10 + i % 7);
  return world;
}

// `restake-sim sweep --records` of one point of `world` with `trials` trials, into dir/sweep.h5.
std::string sweep_with_records(const TempDir& dir, const std::string& world, std::uint64_t trials) {
  std::ofstream(dir / "world.toml") << world;
  std::ofstream(dir / "sweep.toml") << fmt::format("[sweep]\nscenario = \"world.toml\"\ntrials = {}\nseed = 6\n"
                                                   "[[sweep.parameter]]\npath = \"avs.oracle.faulty_annual_probability\"\nvalues = [0.01]\n",
                                                   trials);
  REQUIRE(cli(fmt::format("sweep {} -o {} --records --threads 2 -q", dir / "sweep.toml", dir / "sweep.h5"), dir) == 0);
  return dir / "sweep.h5";
}

}  // namespace

TEST_CASE("a sweep file's record chunks of many holders hold at most ~4 MiB, as a run's, and the same trials in every record") {
  TempDir dir;
  const std::string world = world_with_holders(150);
  const RecordShape shape = RecordShape::of(model_from(world));
  const std::uint64_t chunk = sweep_chunk_trials(shape);
  const std::size_t row_bytes = shape.holders * kLossCauseCount * sizeof(double);  // loss_by_cause, the widest row
  CHECK(chunk < detail::kChunkTrials);
  CHECK(chunk * row_bytes <= (std::size_t{4} << 20));
  CHECK((chunk + 1) * row_bytes > (std::size_t{4} << 20));

  const std::string file = sweep_with_records(dir, world, 2 * chunk + 5);  // two whole chunks and part of a third
  CHECK(chunk_dims(file, "trials/loss_by_cause") == std::vector<hsize_t>{1, chunk, shape.holders, kLossCauseCount});
  CHECK(chunk_dims(file, "trials/loss_fraction") == std::vector<hsize_t>{1, chunk, shape.holders});
  CHECK(chunk_dims(file, "trials/pool_drawdown")[1] == chunk);
}

TEST_CASE("a sweep file's record chunks of a small world stay 16384 trials") {
  TempDir dir;
  const std::string world = world_with_holders(0);
  const RecordShape shape = RecordShape::of(model_from(world));
  CHECK(sweep_chunk_trials(shape) == detail::kChunkTrials);
  const std::string file = sweep_with_records(dir, world, detail::kChunkTrials + 100);
  CHECK(chunk_dims(file, "trials/loss_by_cause") == std::vector<hsize_t>{1, detail::kChunkTrials, shape.holders, kLossCauseCount});
  CHECK(chunk_dims(file, "trials/loss_fraction") == std::vector<hsize_t>{1, detail::kChunkTrials, shape.holders});
}

TEST_CASE("a sweep's blocks are whole chunks of its records, at most ~64 MiB of rows as a run's, and 32,768 trials of a small world") {
  const RecordShape small = RecordShape::of(model_from(world_with_holders(0)));
  CHECK(sweep_block_trials(small) == RunSpec{}.block_trials);
  for (const std::size_t holders : {153, 1000, 20000}) {
    CAPTURE(holders);
    RecordShape many = small;
    many.holders = holders;
    const std::size_t block = sweep_block_trials(many), chunk = sweep_chunk_trials(many);
    CHECK(block % chunk == 0);
    CHECK(block >= chunk);
    CHECK((block <= block_trials_for(many) || block == chunk));
    CHECK(block + chunk > block_trials_for(many));  // as many whole chunks as fit
  }
}
