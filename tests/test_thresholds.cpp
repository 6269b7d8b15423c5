// P(loss >= x) at the thresholds a user names (run --threshold, summary --threshold): the
// estimate and its interval against hand-worked numbers, the tally against the records, and the
// file and the command line end to end.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "io/h5.hpp"
#include "io/results.hpp"
#include "io/scenario.hpp"
#include "stats/summary.hpp"
#include "stats/tally.hpp"
#include "trial/engine.hpp"
#include "cli_support.hpp"
#include "support.hpp"
#include "weighted_run.hpp"

using namespace restake;
using namespace restake::test;

namespace {

const char* kEtherfi = RESTAKE_SOURCE_DIR "/scenarios/etherfi.toml";

}  // namespace

TEST_CASE("P(loss >= x): Wilson's interval in plain Monte Carlo and the normal one with weights, by hand") {
  // 5 of 100 trials: p = 0.05, Wilson's 95% interval [0.02154, 0.11175] (centre 0.069208 / 1.038415,
  // half-width 1.959964 / 1.038415 x sqrt(0.000475 + 0.0000960))).
  const Exceedance five = exceedance_estimate(5.0, 5.0, 100.0, false);
  CHECK(five.p == 0.05);
  CHECK(five.stderr_p == doctest::Approx(std::sqrt(0.05 * 0.95 * 100.0 / 99.0 / 100.0)).epsilon(1e-12));
  CHECK(five.ci_low == doctest::Approx(0.021544).epsilon(1e-4));
  CHECK(five.ci_high == doctest::Approx(0.111752).epsilon(1e-4));
  // None of 100: the interval is not empty; its top is z^2 / (n + z^2).
  const Exceedance none = exceedance_estimate(0.0, 0.0, 100.0, false);
  CHECK(none.p == 0.0);
  CHECK(none.ci_low == 0.0);
  CHECK(none.ci_high == doctest::Approx(3.841459 / 103.841459).epsilon(1e-6));
  // Weights 2, 0, 1, 1 on losses 0.2, 0.3, 0, 0.1; x = 0.1: sum w = 3, sum w^2 = 5 over 4 trials, so
  // p = 0.75 and se = sqrt((5 - 4 x 0.75^2) / 3 / 4) = 0.478714; the normal interval's low end is 0.
  const std::vector<double> x = {0.2, 0.3, 0.0, 0.1}, w = {2.0, 0.0, 1.0, 1.0};
  const std::vector<double> levels = {0.1};
  const Exceedance weighted = exceedances(x, w, levels).at(0);
  CHECK(weighted.p == 0.75);
  CHECK(weighted.stderr_p == doctest::Approx(0.478714).epsilon(1e-5));
  CHECK(weighted.ci_low == 0.0);
  CHECK(weighted.ci_high == doctest::Approx(0.75 + 1.959964 * 0.478714).epsilon(1e-5));
  // Unweighted, from a sample: a loss equal to the threshold counts.
  const std::vector<double> levels2 = {0.1, 0.25};
  const std::vector<Exceedance> plain = exceedances(x, {}, levels2);
  CHECK(plain[0].p == 0.75);
  CHECK(plain[1].p == 0.25);  // 0.3 only
}

TEST_CASE("the tally's P(loss >= x) is the records' count, for any threads and blocks") {
  const Model m = parse_scenario(slurp(kEtherfi), kEtherfi);
  const std::vector<double> levels = {0.01, 0.05, 0.1};
  std::vector<double> loss;  // holder 0's column
  RunSpec o;
  o.trials = 20000;
  o.seed = 11;
  const auto run = [&](int threads, std::size_t block, bool keep) {
    o.threads = threads;
    o.block_trials = block;
    Tally t(m, 0.0, {}, levels);
    run_trials(m, o, [&](const TrialBlock& b) {
      t.add(b);
      if (keep)
        for (std::size_t i = 0; i < b.count; ++i) loss.push_back(b.loss_fraction[i * b.shape.holders]);
    });
    return t.totals();
  };
  const TallyTotals a = run(1, 20000, true), b = run(2, 777, false);
  CHECK(a.threshold_w == b.threshold_w);
  CHECK(a.threshold_w2 == b.threshold_w2);
  const std::vector<Exceedance> from_records = exceedances(loss, {}, levels);
  REQUIRE(a.threshold_w.size() == m.holders.size() * levels.size());
  for (std::size_t k = 0; k < levels.size(); ++k) {
    CHECK(a.threshold_w[k] == doctest::Approx(from_records[k].p * 20000.0).epsilon(1e-15));
    CHECK(a.threshold_w[k] > 0.0);  // the scenario crosses every level: the check can fail
  }
  CHECK(a.threshold_w[0] > a.threshold_w[1]);
}

TEST_CASE("a weighted tally's P(loss >= x) sums w and w^2 over the trials at or above x, by hand") {
  Model m = model_from(slurp(RESTAKE_SOURCE_DIR "/scenarios/default.toml"));
  m.tokens.clear();  // the holders' tally alone (test_market_outputs has the markets')
  m.lending_markets.clear();
  const std::size_t H = m.holders.size();
  REQUIRE(H >= 2);
  // Holder 0 loses 0, 0.2 and 0.5 in trials of weight 2, 0.5 and 1.5.
  TrialBlock b;
  b.reset(RecordShape::of(m), 0, 3);
  b.loss_fraction[1 * H] = 0.2;
  b.loss_fraction[2 * H] = 0.5;
  b.weight = {2.0, 0.5, 1.5};
  const std::vector<double> levels = {0.1, 0.2, 0.3};
  Tally t(m, 0.0, {}, levels);
  t.add(b);
  const TallyTotals s = t.totals();
  REQUIRE(s.weighted);
  // x = 0.1 and 0.2 (a loss at x counts): 0.5 + 1.5 and 0.25 + 2.25; x = 0.3: 1.5 and 2.25.
  CHECK(s.threshold_w[0] == 2.0);
  CHECK(s.threshold_w2[0] == 2.5);
  CHECK(s.threshold_w[1] == 2.0);
  CHECK(s.threshold_w2[1] == 2.5);
  CHECK(s.threshold_w[2] == 1.5);
  CHECK(s.threshold_w2[2] == 2.25);
  CHECK(s.threshold_w[3] == 0.0);  // holder 1 lost nothing
  // The summary's estimate: p = 2 / 3, se = sqrt((2.5 - 3 (2/3)^2) / 2 / 3) = sqrt(7 / 36), and the
  // normal interval; the same as from the records (at x = 0.3: p = 0.5 and se = sqrt((2.25 - 3 x
  // 0.25) / 2 / 3) = 0.5).
  QuantileSource cols;
  cols.loss_fraction = [&](std::size_t h) { return std::vector<double>{b.loss_fraction[h], b.loss_fraction[H + h], b.loss_fraction[2 * H + h]}; };
  cols.net_return = [](std::size_t) { return std::vector<double>(3, 0.0); };
  cols.weight = [&] { return b.weight; };
  cols.market = [](std::vector<double> TrialBlock::*, std::size_t) { return std::vector<double>(3, 0.0); };
  RunInfo info;
  info.thresholds = levels;
  const RunSummary r = summarize_run(m, info, t, cols);
  const Exceedance& e = r.holders[0].loss.exceedance.at(0);
  CHECK(e.p == doctest::Approx(2.0 / 3.0).epsilon(1e-15));
  CHECK(e.stderr_p == doctest::Approx(std::sqrt(7.0 / 36.0)).epsilon(1e-14));
  CHECK(e.ci_low == 0.0);  // 2/3 - 1.96 x 0.441 < 0: cut at 0
  CHECK(e.ci_high == doctest::Approx(2.0 / 3.0 + 1.959964 * std::sqrt(7.0 / 36.0)).epsilon(1e-6));
  const std::vector<double> loss0 = {0.0, 0.2, 0.5};
  const Exceedance from_records = exceedances(loss0, b.weight, levels).at(2);
  CHECK(from_records.p == 0.5);
  CHECK(from_records.stderr_p == doctest::Approx(0.5).epsilon(1e-14));
  CHECK(r.holders[0].loss.exceedance.at(2).p == from_records.p);
  CHECK(r.holders[0].loss.exceedance.at(2).stderr_p == from_records.stderr_p);
}

TEST_CASE("a weighted run's P(loss >= x) sums are the same bits for any threads and blocks, and the records' sums") {
  const Model m = parse_scenario(slurp(kEtherfi), kEtherfi);
  const std::vector<double> levels = {0.01, 0.05, 0.1};
  std::vector<double> loss, weight;  // holder 0's column, and the trials' weights
  RunSpec o = tilted_run(m, 20000, 11, 3.0, 0.1);
  const auto run = [&](int threads, std::size_t block, bool keep) {
    o.threads = threads;
    o.block_trials = block;
    Tally t(m, 0.0, {}, levels);
    run_trials(m, o, [&](const TrialBlock& b) {
      t.add(b);
      if (!keep) return;
      for (std::size_t i = 0; i < b.count; ++i) loss.push_back(b.loss_fraction[i * b.shape.holders]);
      weight.insert(weight.end(), b.weight.begin(), b.weight.end());
    });
    return t.totals();
  };
  const TallyTotals a = run(1, 20000, true), b = run(2, 777, false);
  REQUIRE(a.weighted);
  CHECK(a.threshold_w == b.threshold_w);  // sums of unequal weights: their order shows in the last bits
  CHECK(a.threshold_w2 == b.threshold_w2);
  for (std::size_t k = 0; k < levels.size(); ++k) {
    double w = 0.0, w2 = 0.0;
    for (std::size_t i = 0; i < loss.size(); ++i)
      if (loss[i] >= levels[k]) {
        w += weight[i];
        w2 += weight[i] * weight[i];
      }
    CHECK(w > 0.0);
    CHECK(w != std::round(w));  // weights, not counts
    CHECK(a.threshold_w[k] == doctest::Approx(w).epsilon(1e-12));
    CHECK(a.threshold_w2[k] == doctest::Approx(w2).epsilon(1e-12));
  }
}

TEST_CASE("run --threshold stores P(loss >= x) with its axis, and summary --threshold recomputes it from the records") {
  TempDir dir;
  const std::string out = dir / "t.h5";
  REQUIRE(cli(fmt::format("run {} -o {} --trials 5000 --threshold 10%,1%,0.05 --no-progress -q --price-paths 0", kEtherfi, out), dir) == 0);
  const h5::File f = h5::File::open_read_only(out);
  CHECK(f.read_doubles("summary/loss/thresholds") == std::vector<double>{0.01, 0.05, 0.1});  // ascending
  std::vector<hsize_t> dims;
  const std::vector<double> p = f.read_doubles("summary/loss/p_exceed", &dims);
  CHECK(dims == std::vector<hsize_t>{1, 3});
  // The share of trials, counted here from the records.
  const std::vector<double> loss = f.read_column("trials/loss_fraction", 0);
  for (std::size_t k = 0; k < 3; ++k) {
    const double x = std::vector<double>{0.01, 0.05, 0.1}[k];
    double crossed = 0;
    for (const double l : loss) crossed += l >= x ? 1.0 : 0.0;
    CHECK(p[k] == crossed / 5000.0);
  }
  RunSummary stored = read_summary(out);
  REQUIRE(stored.holders.at(0).loss.exceedance.size() == 3);
  RunSummary again = read_summary(out);
  set_thresholds_from_records(out, {0.01, 0.05, 0.1}, again);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(again.holders[0].loss.exceedance[k].p == stored.holders[0].loss.exceedance[k].p);
    CHECK(again.holders[0].loss.exceedance[k].ci_high == stored.holders[0].loss.exceedance[k].ci_high);
  }
  std::string json, table;
  REQUIRE(cli(fmt::format("summary {} --json --threshold 25%", out), dir, &json) == 0);
  CHECK(json.find("\"p_exceed\": [{\"threshold\": 0.25, ") != std::string::npos);
  CHECK(json.find("\"loss_amount\": {\"mean\": ") != std::string::npos);
  REQUIRE(cli(fmt::format("summary {}", out), dir, &table) == 0);
  CHECK(table.find("P(loss >= x)") != std::string::npos);
  CHECK(table.find("x = 5%") != std::string::npos);
  // Without --threshold, a file from a run without it prints no such table or key.
  REQUIRE(cli(fmt::format("run {} -o {} --trials 100 --no-progress -q --price-paths 0", kEtherfi, dir / "plain.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("summary {} --json", dir / "plain.h5"), dir, &json) == 0);
  CHECK(json.find("p_exceed") == std::string::npos);
  CHECK(!h5::File::open_read_only(dir / "plain.h5").exists("summary/loss/thresholds"));
}

TEST_CASE("--threshold refuses losses not above 0 or above 100%, repeats and words, and a file without records") {
  TempDir dir;
  std::string err;
  for (const char* bad : {"0", "0%", "101%", "1.5", "5%,5%", "0.05,5%", "five", "5%,", "-1%", "nan"}) {
    CAPTURE(bad);
    CHECK(cli(fmt::format("run {} -o {} --threshold {} --no-progress -q", kEtherfi, dir / "x.h5", bad), dir, nullptr, &err) != 0);
    CHECK(err.find("--threshold") != std::string::npos);
    CHECK(!std::filesystem::exists(dir / "x.h5"));
  }
  REQUIRE(cli(fmt::format("run {} -o {} --trials 100 --no-records --no-progress -q --price-paths 0", kEtherfi, dir / "n.h5"), dir) == 0);
  CHECK(cli(fmt::format("summary {} --threshold 5%", dir / "n.h5"), dir, nullptr, &err) != 0);
  CHECK(err.find("no per-trial records") != std::string::npos);
}
