// Results files of weighted (importance-sampled) runs: the per-trial weights and the tilt are
// stored, read back and checked; a plain run's file has none of it.
#include <doctest/doctest.h>

#include <hdf5.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

#include "cli_support.hpp"
#include "io/h5.hpp"
#include "io/outputs.hpp"
#include "io/schema.hpp"
#include "support.hpp"
#include "weighted_run.hpp"

using namespace restake;
using namespace restake::test;

namespace {

// Equal to the last bit, NaN included.
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](double x, double y) {
           return std::bit_cast<std::uint64_t>(x) == std::bit_cast<std::uint64_t>(y);
         });
}

RunSpec tilted_spec(const Model& m, std::uint64_t trials = 2000) {
  RunSpec o = tilted_run(m, trials, 11, 4.0, 0.1);
  o.block_trials = 700;  // blocks cut across the tally's chunks
  return o;
}

std::vector<double> weights_in_memory(const Model& m, const RunSpec& spec) {
  std::vector<double> w;
  run_trials(m, spec, [&](const TrialBlock& b) { w.insert(w.end(), b.weight.begin(), b.weight.end()); });
  return w;
}

// Replaces dataset `path` of a file by one of the given shape and values (a damaged or hostile file).
void replace_dataset(const std::string& file, const std::string& path, const std::vector<hsize_t>& dims,
                     const std::vector<double>& values) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(f >= 0);
  if (H5Lexists(f, path.c_str(), H5P_DEFAULT) > 0) REQUIRE(H5Ldelete(f, path.c_str(), H5P_DEFAULT) >= 0);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t ds = H5Dcreate2(f, path.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(ds >= 0);
  if (!values.empty()) REQUIRE(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  H5Dclose(ds);
  H5Sclose(space);
  H5Fclose(f);
}

void remove_link(const std::string& file, const std::string& path) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(f >= 0);
  REQUIRE(H5Ldelete(f, path.c_str(), H5P_DEFAULT) >= 0);
  H5Fclose(f);
}

}  // namespace

TEST_CASE("a weighted run's file holds each trial's weight, says it is weighted and how its trials were drawn") {
  TempDir dir;
  const Model m = model_from(shared_avs_world(0.7, 0.2));
  const RunSpec spec = tilted_spec(m);
  const RunSummary written = write_results(dir / "w.h5", m, spec);

  const h5::File f = h5::File::open_read_only(dir / "w.h5");
  CHECK(f.attr_int("weighted") == 1);
  CHECK(f.read_doubles("trials/weight") == weights_in_memory(m, spec));  // the engine's weights, as they are
  CHECK(f.dataset_attr_string("trials/weight", "units") == "likelihood ratio");
  CHECK(f.read_strings("tilt/sources") == std::vector<std::string>{"operator op: faults", "avs avs: condition fault on operator op",
                                                                   "avs avs: faulty slashings"});
  CHECK(f.read_doubles("tilt/rate_factor") == spec.tilt.rate_factor);
  CHECK(f.open_group("tilt").attr_double("defensive") == 0.1);
  CHECK(read_weights(f, spec.trials, true) == f.read_doubles("trials/weight"));

  const RunSummary back = read_summary(dir / "w.h5");
  CHECK(back.info.weighted());
  CHECK(back.info.tilt.sources == written.info.tilt.sources);
  CHECK(back.info.tilt.rate_factor == spec.tilt.rate_factor);
  CHECK(back.info.tilt.defensive == 0.1);
  for (const SummarySpec* s : summaries(Presence{true, false, false})) {
    INFO(s->out.path);
    CHECK(same_bits(summary_values(*s, back), summary_values(*s, written)));
  }
}

TEST_CASE("a plain run's file has no weight, no tilt and no weighted attribute") {
  TempDir dir;
  const Model m = model_from(shared_avs_world(0.7, 0.2));
  RunSpec spec = tilted_spec(m, 500);
  spec.tilt = {};
  write_results(dir / "p.h5", m, spec);
  const h5::File f = h5::File::open_read_only(dir / "p.h5");
  CHECK_FALSE(f.has_attr("weighted"));
  CHECK_FALSE(f.exists("tilt"));
  CHECK_FALSE(f.exists("trials/weight"));
  CHECK(read_weights(f, spec.trials, false).empty());
  CHECK_FALSE(read_summary(dir / "p.h5").info.weighted());
}

TEST_CASE("a weighted file whose weights or tilt are damaged is refused, naming the dataset") {
  TempDir dir;
  const Model m = model_from(shared_avs_world(0.7, 0.2));
  const RunSpec spec = tilted_spec(m, 300);
  write_results(dir / "w.h5", m, spec);
  const std::string file = dir / "w.h5";
  const auto copy = [&](const std::string& name) {
    std::filesystem::copy_file(file, dir / name);
    return dir / name;
  };

  const std::string shape = copy("shape.h5");
  replace_dataset(shape, "trials/weight", {300, 2}, std::vector<double>(600, 1.0));
  CHECK_THROWS_WITH_AS(read_summary(shape), doctest::Contains("/trials/weight has shape [300, 2], expected [300]"), std::runtime_error);
  replace_dataset(shape, "trials/weight", {299}, std::vector<double>(299, 1.0));
  CHECK_THROWS_WITH_AS(read_summary(shape), doctest::Contains("/trials/weight has shape [299], expected [300]"), std::runtime_error);

  for (const double bad : {-0.5, std::nan(""), double{INFINITY}}) {
    const std::string values = copy(fmt::format("values{}.h5", std::rand()));
    std::vector<double> w(300, 1.0);
    w[123] = bad;
    replace_dataset(values, "trials/weight", {300}, w);
    const h5::File f = h5::File::open_read_only(values);
    CHECK_THROWS_WITH_AS(read_weights(f, 300, true), doctest::Contains("/trials/weight: trial 123 weighs"), h5::Error);
  }

  const std::string missing = copy("missing.h5");
  remove_link(missing, "trials/weight");
  CHECK_THROWS_WITH_AS(read_summary(missing), doctest::Contains("no /trials/weight"), std::runtime_error);

  const std::string no_tilt = copy("no_tilt.h5");
  remove_link(no_tilt, "tilt");
  CHECK_THROWS_WITH_AS(read_summary(no_tilt), doctest::Contains("weighted = 1 but no /tilt"), std::runtime_error);

  const std::string factors = copy("factors.h5");
  replace_dataset(factors, "tilt/rate_factor", {3}, {1.0, -2.0, 1.0});
  CHECK_THROWS_WITH_AS(read_summary(factors), doctest::Contains("/tilt/rate_factor[1]"), std::runtime_error);
  replace_dataset(factors, "tilt/rate_factor", {2}, {1.0, 2.0});
  CHECK_THROWS_WITH_AS(read_summary(factors), doctest::Contains("/tilt/rate_factor has 2 values for 3 sources"), std::runtime_error);
  const std::string exponents = copy("exponents.h5");
  replace_dataset(exponents, "tilt/size_exponent", {3}, {1.0, 1.0, 0.0});
  CHECK_THROWS_WITH_AS(read_summary(exponents), doctest::Contains("/tilt/size_exponent[2]"), std::runtime_error);

  // A plain file with a weight dataset is not silently read as plain.
  RunSpec plain = spec;
  plain.tilt = {};
  write_results(dir / "p.h5", m, plain);
  replace_dataset(dir / "p.h5", "trials/weight", {300}, std::vector<double>(300, 1.0));
  CHECK_THROWS_WITH_AS(read_summary(dir / "p.h5"), doctest::Contains("/trials/weight in the file of a plain run"), std::runtime_error);
}

TEST_CASE("a writer refuses blocks of the other kind: plain into a weighted file, weighted into a plain one") {
  TempDir dir;
  const Model m = model_from(shared_avs_world(0.7, 0.2));
  ResultsMeta meta;
  meta.info.trials = 1;
  ResultsWriter plain(dir / "p.h5", m, meta);
  TrialBlock b;
  b.reset(RecordShape::of(m), 0, 1);
  b.weight = {2.0};
  CHECK_THROWS_WITH_AS(plain.append(b), doctest::Contains("a weighted block for the file of a plain run"), std::logic_error);
  meta.info.tilt = TiltInfo::of(m, uniform_tilt(m, 2.0));
  ResultsWriter weighted(dir / "w.h5", m, meta);
  b.weight.clear();
  CHECK_THROWS_WITH_AS(weighted.append(b), doctest::Contains("a plain block for the file of a weighted run"), std::logic_error);
}

TEST_CASE("the effective sample size of trials is (sum w)^2 / sum w^2, with the largest weight's share of their weight") {
  const std::vector<double> x = {0.0, 0.1, 0.2, 0.5}, w = {1.0, 1.0, 2.0, 1.0};
  const WeightSpread above = weight_spread_above(x, w, 0.1);  // 0.2 and 0.5: weights 2 and 1
  CHECK(above.effective_sample_size == 9.0 / 5.0);
  CHECK(above.max_weight_share == 2.0 / 3.0);
  const WeightSpread all = weight_spread_above(x, w, -1.0);
  CHECK(all.effective_sample_size == 25.0 / 7.0);
  CHECK(all.max_weight_share == 2.0 / 5.0);
  const std::vector<double> equal(4, 0.25);
  CHECK(weight_spread_above(x, equal, -1.0).effective_sample_size == 4.0);  // equal weights: every trial counts
  CHECK(weight_spread_above(x, equal, -1.0).max_weight_share == 0.25);
  const WeightSpread none = weight_spread_above(x, w, 0.5);
  CHECK(none.effective_sample_size == 0.0);
  CHECK(std::isnan(none.max_weight_share));
}

TEST_CASE("a weighted run's summary holds its effective sample size and what each tail rests on, stored and read back") {
  TempDir dir;
  const Model m = model_from(shared_avs_world(0.7, 0.2));
  const RunSpec spec = tilted_spec(m, 5000);
  const RunSummary s = write_results(dir / "w.h5", m, spec);
  const std::vector<double> w = weights_in_memory(m, spec);
  double sum = 0.0, squares = 0.0, largest = 0.0;
  for (const double v : w) {
    sum += v;
    squares += v * v;
    largest = std::max(largest, v);
  }
  CHECK(s.weights.effective_sample_size == doctest::Approx(sum * sum / squares).epsilon(1e-12));
  CHECK(s.weights.max_weight_share == doctest::Approx(largest / sum).epsilon(1e-12));
  CHECK(s.weights.effective_sample_size < 5000.0);
  CHECK(s.weights.effective_sample_size > 500.0);

  // The tails: the trials above each VaR, from the records.
  const h5::File f = h5::File::open_read_only(dir / "w.h5");
  const std::vector<double> loss = f.read_column("trials/loss_fraction", 0);
  for (const auto& [var, spread] : {std::pair{s.holders[0].loss.var95, s.holders[0].loss.beyond_var95},
                                    std::pair{s.holders[0].loss.var99, s.holders[0].loss.beyond_var99}}) {
    double tail = 0.0, tail_squares = 0.0, tail_largest = 0.0;
    for (std::size_t i = 0; i < loss.size(); ++i)
      if (loss[i] > var) {
        tail += w[i];
        tail_squares += w[i] * w[i];
        tail_largest = std::max(tail_largest, w[i]);
      }
    REQUIRE(tail > 0.0);
    CHECK(spread.effective_sample_size == doctest::Approx(tail * tail / tail_squares).epsilon(1e-12));
    CHECK(spread.max_weight_share == doctest::Approx(tail_largest / tail).epsilon(1e-12));
  }

  const RunSummary back = read_summary(dir / "w.h5");
  for (const SummarySpec* spec_of : summaries(Presence{true, false, false})) {
    INFO(spec_of->out.path);
    CHECK(same_bits(summary_values(*spec_of, back), summary_values(*spec_of, s)));
  }
  const std::string table = format_summary_table(back), json = format_summary_json(back);
  CHECK(table.find("estimator: importance sampling - 5000 trials weighted by their likelihood ratios, effective sample size") !=
        std::string::npos);
  CHECK(table.find("1 of 3 event sources tilted, defensive share 0.1") != std::string::npos);
  CHECK(table.find("Trials beyond each VaR (importance sampling)") != std::string::npos);
  CHECK(json.find("\"estimator\": \"importance sampling\"") != std::string::npos);
  CHECK(json.find("\"tilted_sources\": {\"avs avs: condition fault on operator op\": {\"rate_factor\": 4, \"size_exponent\": 1}}") != std::string::npos);
  CHECK(json.find("\"beyond_var99\": {\"effective_sample_size\": ") != std::string::npos);

  // A plain run's summary says nothing of weights: its output is as it always was.
  RunSpec plain = spec;
  plain.tilt = {};
  const RunSummary p = write_results(dir / "p.h5", m, plain);
  CHECK(format_summary_table(p).find("estimator") == std::string::npos);
  CHECK(format_summary_json(p).find("estimator") == std::string::npos);
  CHECK(format_summary_json(p).find("beyond_var") == std::string::npos);
}

TEST_CASE("without records a weighted run has the same effective sample size, and no tail figures (NaN, n/a)") {
  TempDir dir;
  const Model m = model_from(shared_avs_world(0.7, 0.2));
  const RunSpec spec = tilted_spec(m, 3000);
  const RunSummary with = write_results(dir / "r.h5", m, spec);
  const RunSummary without = write_results(dir / "n.h5", m, spec, false);
  CHECK(without.weights.effective_sample_size == with.weights.effective_sample_size);
  CHECK(without.weights.max_weight_share == with.weights.max_weight_share);
  CHECK(std::isnan(without.holders[0].loss.beyond_var99.effective_sample_size));
  CHECK(std::isnan(read_summary(dir / "n.h5").holders[0].loss.beyond_var95.max_weight_share));
  CHECK(format_summary_table(without).find("n/a") != std::string::npos);
}

TEST_CASE("compare weighs a weighted file's trials and says which figures are weighted estimates") {
  TempDir dir;
  const std::string default_path = RESTAKE_SOURCE_DIR "/scenarios/default.toml", steth = RESTAKE_SOURCE_DIR "/scenarios/steth.toml";
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3000 --no-progress -q", steth, dir / "steth.h5"), dir) == 0);
  const Model m = parse_scenario(slurp(default_path), default_path);
  const RunSpec spec = tilted_run(m, 3000, 9, 3.0, 0.1);
  const RunSummary s = write_results(dir / "w.h5", m, spec);
  std::string out;
  REQUIRE(cli(fmt::format("compare {} {}", dir / "steth.h5", dir / "w.h5"), dir, &out) == 0);
  CHECK(out.find(dir / "w.h5" + ": importance sampling - 3000 trials weighted by their likelihood ratios (effective sample size") !=
        std::string::npos);
  // P(loss > premium earned) of rsETH-like: the sum of the weights of the trials above it, over n.
  const RunSummary base = read_summary(dir / "steth.h5");
  const auto gross = [](const HolderSummary& h) { return h.net_return.moments.mean + h.loss.moments.mean; };
  const double earned = gross(s.holders[0]) - gross(base.holders[0]);
  REQUIRE(earned > 0.0);
  const h5::File f = h5::File::open_read_only(dir / "w.h5");
  const std::vector<double> loss = f.read_column("trials/loss_fraction", 0), w = f.read_doubles("trials/weight");
  double above = 0.0;
  for (std::size_t i = 0; i < loss.size(); ++i)
    if (loss[i] > earned) above += w[i];
  CHECK(out.find(fmt::format("{:.3f}%", 100.0 * above / 3000.0)) != std::string::npos);
  // The CSV has no notes below it: each row names its estimator, a weighted file's with its
  // effective sample size.
  std::string csv;
  REQUIRE(cli(fmt::format("compare {} {} --csv", dir / "steth.h5", dir / "w.h5"), dir, &csv) == 0);
  CHECK(csv.find(",estimator,effective_sample_size,") != std::string::npos);
  CHECK(csv.find(fmt::format(",importance_sampling,{},", s.weights.effective_sample_size)) != std::string::npos);
  CHECK(csv.find(",monte_carlo,,") != std::string::npos);  // steth.h5's row: plain, no effective sample size
  // A plain comparison says nothing of estimators.
  REQUIRE(cli(fmt::format("compare {} {}", dir / "steth.h5", dir / "steth.h5"), dir, &out) == 0);
  CHECK(out.find("importance sampling") == std::string::npos);
  // Bad weights are refused, naming the dataset.
  std::filesystem::copy_file(dir / "w.h5", dir / "bad.h5");
  std::vector<double> bad = w;
  bad[5] = -1.0;
  replace_dataset(dir / "bad.h5", "trials/weight", {3000}, bad);
  std::string err;
  CHECK(cli(fmt::format("compare {} {}", dir / "steth.h5", dir / "bad.h5"), dir, nullptr, &err) == 1);
  CHECK(err.find("/trials/weight: trial 5 weighs -1") != std::string::npos);
}
