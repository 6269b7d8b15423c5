// Risk contributions (stats/contributions.hpp): the tail trials' selection by hand, a world whose
// contributions are worked out by hand, every view adding up to the ES and VaR of the summary, and
// the file and the command line end to end.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "io/h5.hpp"
#include "io/results.hpp"
#include "io/scenario.hpp"
#include "stats/contributions.hpp"
#include "stats/statistics.hpp"
#include "trial/engine.hpp"
#include "cli_support.hpp"
#include "support.hpp"
#include "weighted_run.hpp"

using namespace restake;
using namespace restake::test;

namespace {

// The two-AVS world (support.hpp), 400 trials of seed 9, the vault failing on day 100: a1's trials
// lose 12% + 10% of 88% = 20.8%; a2's 8% + 9.2% = 17.2%.
const std::string kTwoAvs = two_avs_world(400, 9);

// Every trial of the run in memory: holder h's loss column.
std::vector<std::vector<double>> loss_columns(const Model& m, const RunSpec& run) {
  std::vector<std::vector<double>> cols(m.holders.size());
  run_trials(m, run, [&](const TrialBlock& b) {
    for (std::size_t i = 0; i < b.count; ++i)
      for (std::size_t h = 0; h < m.holders.size(); ++h) cols[h].push_back(b.loss_fraction[i * m.holders.size() + h]);
  });
  return cols;
}

// The trials' weights of a tilted run, in trial order (empty for plain Monte Carlo).
std::vector<double> run_weights(const Model& m, const RunSpec& run) {
  std::vector<double> w;
  run_trials(m, run, [&](const TrialBlock& b) { w.insert(w.end(), b.weight.begin(), b.weight.end()); });
  return w;
}

// Losses ascending, each with its weight: the summary's sorted sample.
std::pair<std::vector<double>, std::vector<double>> sorted_with_weights(const std::vector<double>& loss, const std::vector<double>& w) {
  std::vector<std::size_t> up(loss.size());
  std::iota(up.begin(), up.end(), std::size_t{0});
  std::stable_sort(up.begin(), up.end(), [&](std::size_t a, std::size_t b) { return loss[a] < loss[b]; });
  std::pair<std::vector<double>, std::vector<double>> out;
  for (const std::size_t i : up) {
    out.first.push_back(loss[i]);
    out.second.push_back(w[i]);
  }
  return out;
}

double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

// Every view of `x` adds up to its total.
void check_views_add_up(const Contributions& x) {
  CHECK(std::accumulate(x.cause.begin(), x.cause.end(), 0.0) + x.coverage == doctest::Approx(x.total).epsilon(1e-9));
  CHECK(sum(x.avs) + x.other + x.coverage == doctest::Approx(x.total).epsilon(1e-9));
  CHECK(sum(x.op) + x.coverage == doctest::Approx(x.total).epsilon(1e-9));
}

}  // namespace

TEST_CASE("tail trials: the largest losses first, ties by trial index, the boundary trial in part") {
  const std::vector<double> loss = {0.1, 0.5, 0.3, 0.5, 0.0};
  // n (1 - p) = 2: the two trials of 0.5.
  TailTrials t = tail_trials(loss, {}, 0.6);
  CHECK(t.es_trial == std::vector<std::uint64_t>{1, 3});
  CHECK(t.es_weight == std::vector<double>{1.0, 1.0});
  CHECK(t.var == 0.3);  // x_(ceil(0.6 x 5)) = x_(3) of 0, 0.1, 0.3, 0.5, 0.5
  // n (1 - p) = 1.5: trial 1 whole, trial 3 half (Acerbi-Tasche); the window is one rank either side of the VaR's.
  t = tail_trials(loss, {}, 0.7);
  CHECK(t.es_trial == std::vector<std::uint64_t>{1, 3});
  CHECK(t.es_weight[1] == doctest::Approx(0.5));
  CHECK(t.var == 0.5);
  CHECK(t.var_trial == std::vector<std::uint64_t>{1, 3});  // 0.5 first reached at rank 0: ranks 0 and 1
  // VaR 0.3 is no atom: the window is one rank either side of its own (0.5, 0.3, 0.1).
  t = tail_trials(loss, {}, 0.6);
  CHECK(t.var_trial == std::vector<std::uint64_t>{3, 2, 0});
  // Weights: trial 3 weighs 0 and is skipped; n (1 - p) = 2 is then trial 1 (weight 1.5) and half of trial 2.
  const std::vector<double> w = {1.0, 1.5, 1.0, 0.0, 1.5};
  t = tail_trials(loss, w, 0.6);
  CHECK(t.es_trial == std::vector<std::uint64_t>{1, 2});
  CHECK(t.es_weight == std::vector<double>{1.5, 0.5});
}

TEST_CASE("tail trials with weights: the VaR window by hand, and weights short of n (1 - p) leave the rest at the smallest loss") {
  const std::vector<double> loss = {0.1, 0.5, 0.3, 0.4, 0.2}, w = {1.0, 0.5, 1.5, 0.5, 2.0};
  // n (1 - p) = 2 at p = 0.6. From the top, 0.5 and 0.4 weigh 1 and 0.3 brings it to 2.5 > 2: the
  // VaR is 0.3, and the ES takes 0.5, 0.4 and 1 of 0.3's 1.5.
  TailTrials t = tail_trials(loss, w, 0.6);
  CHECK(t.var == 0.3);
  CHECK(t.var == weighted_quantile_sorted(std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5}, std::vector<double>{1.0, 2.0, 1.5, 0.5, 0.5}, 0.6));
  CHECK(t.es_trial == std::vector<std::uint64_t>{1, 3, 2});
  CHECK(t.es_weight == std::vector<double>{0.5, 0.5, 1.0});
  // 0.3 is no atom: h = max(1, round(sqrt(2) / 2)) = 1 rank either side of its own (0.4, 0.3, 0.2),
  // each trial with its own weight.
  CHECK(t.var_trial == std::vector<std::uint64_t>{3, 2, 4});
  CHECK(t.var_weight == std::vector<double>{0.5, 1.5, 2.0});

  // Weights of 0.4 in all against n (1 - p) = 1.5: every trial whole, and the 1.1 left at the
  // smallest loss (trial 0), as the summary's ES puts it: (0.2 x 0.5 + 0.1 x 0.3 + 0.1 x 0.1 + 1.1 x
  // 0.1) / 1.5 = 1/6.
  const std::vector<double> few = {0.1, 0.5, 0.3}, light = {0.1, 0.2, 0.1};
  t = tail_trials(few, light, 0.5);
  CHECK(t.es_trial == std::vector<std::uint64_t>{1, 2, 0, 0});
  REQUIRE(t.es_weight.size() == 4);
  CHECK(t.es_weight[3] == doctest::Approx(1.1).epsilon(1e-15));
  double es = 0.0;
  for (std::size_t k = 0; k < t.es_trial.size(); ++k) es += t.es_weight[k] * few[t.es_trial[k]];
  es /= t.es_denominator;
  CHECK(es == doctest::Approx(1.0 / 6.0).epsilon(1e-15));
  CHECK(es == doctest::Approx(weighted_expected_shortfall_sorted(std::vector<double>{0.1, 0.3, 0.5}, std::vector<double>{0.1, 0.1, 0.2}, 0.5))
                  .epsilon(1e-15));
}

TEST_CASE("a VaR on an atom below the largest loss rests on the trials tied at it, none above, and a VaR of 0 on none") {
  // 985 trials lose nothing, 10 lose 0.172 and 5 lose 0.208: VaR 99% = x_(990) = 0.172, an atom. A
  // window around its rank would reach the 0.208s; E[part | loss = VaR] is the 0.172s' alone.
  std::vector<double> loss(1000, 0.0);
  for (std::size_t i = 0; i < 10; ++i) loss[100 + 37 * i] = 0.172;
  for (std::size_t i = 0; i < 5; ++i) loss[50 + 101 * i] = 0.208;
  const TailTrials t = tail_trials(loss, {}, 0.99);
  CHECK(t.var == 0.172);
  REQUIRE(t.var_trial.size() == 5);  // 2 h + 1, h = round(sqrt(10) / 2) = 2
  for (const std::uint64_t i : t.var_trial) CHECK(loss[i] == 0.172);
  CHECK(t.var_trial.front() == 100);  // the tied trials in trial order
  // ES: the five 0.208s and five of the 0.172s, n (1 - p) = 10 of weight (to its rounding: 1 - 0.99
  // is not 0.01, and a last trial may carry the 1e-14 left over).
  REQUIRE(t.es_trial.size() >= 10);
  CHECK(std::accumulate(t.es_weight.begin(), t.es_weight.begin() + 10, 0.0) == doctest::Approx(10.0).epsilon(1e-12));
  for (std::size_t k = 0; k < 5; ++k) CHECK(loss[t.es_trial[k]] == 0.208);
  CHECK(tail_trials(loss, {}, 0.5).var_trial.empty());  // VaR 50% = 0
}

TEST_CASE("contributions of a world worked out by hand: the AVS, the cause and the operator of each part") {
  const Model m = parse_scenario(kTwoAvs, "two-avs.toml");
  RunSpec run;
  run.trials = 400;
  run.seed = 9;
  const auto cols = loss_columns(m, run);
  std::size_t a1_trials = 0;
  for (const double l : cols[0]) {
    CHECK((l == doctest::Approx(0.208).epsilon(1e-12) || l == doctest::Approx(0.172).epsilon(1e-12)));
    a1_trials += l > 0.2 ? 1 : 0;
  }
  REQUIRE(a1_trials > 100);  // both kinds of trial happen: the tail is a1's
  REQUIRE(a1_trials < 300);
  const std::vector<HolderContributions> c = risk_contributions(m, run, [&](std::size_t h) { return cols[h]; }, {});
  REQUIRE(c.size() == 1);
  for (const Contributions* x : {&c[0].es99, &c[0].var99}) {
    CHECK(x->total == doctest::Approx(0.208).epsilon(1e-12));
    CHECK(x->cause[static_cast<std::size_t>(LossCause::AvsFaultySlashing)] == doctest::Approx(0.12).epsilon(1e-12));
    CHECK(x->cause[static_cast<std::size_t>(LossCause::Contract)] == doctest::Approx(0.088).epsilon(1e-12));
    CHECK(x->avs[0] == doctest::Approx(0.12).epsilon(1e-12));  // a1
    CHECK(x->avs[1] == 0.0);                                   // a2 never slashes in the tail
    CHECK(x->other == doctest::Approx(0.088).epsilon(1e-12));  // the vault
    CHECK(x->op[0] == doctest::Approx(0.12 + 0.048).epsilon(1e-12));  // op-a: its slash, and 10% of its 48,000 left
    CHECK(x->op[1] == doctest::Approx(0.04).epsilon(1e-12));          // op-b: 10% of its 40,000
    CHECK(x->coverage == 0.0);
  }
}

TEST_CASE("every view of the contributions adds up to the summary's ES 99% and VaR 99%, coverage included (plain Monte Carlo)") {
  // The ecosystem world has coverage pools (negative parts), BTC holders and every cause.
  const char* path = RESTAKE_SOURCE_DIR "/scenarios/ecosystem.toml";
  const Model m = parse_scenario(slurp(path), path);
  RunSpec run;
  run.trials = 30000;
  run.seed = 4;
  const auto cols = loss_columns(m, run);
  const std::vector<HolderContributions> c = risk_contributions(m, run, [&](std::size_t h) { return cols[h]; }, {});
  bool some_coverage = false;
  for (std::size_t h = 0; h < m.holders.size(); ++h) {
    CAPTURE(m.holders[h].name);
    std::vector<double> sorted = cols[h];
    std::sort(sorted.begin(), sorted.end());
    CHECK(c[h].es99.total == doctest::Approx(expected_shortfall_sorted(sorted, 0.99)).epsilon(1e-12));
    CHECK(c[h].var99.total == quantile_sorted(sorted, 0.99));
    for (const Contributions* x : {&c[h].es99, &c[h].var99}) {
      check_views_add_up(*x);
      some_coverage = some_coverage || x->coverage < 0.0;
    }
  }
  CHECK(some_coverage);
}

TEST_CASE("with weights (a tilted run) the contributions add up to the summary's weighted ES 99% and VaR 99%, the same bits on 1 thread and 2") {
  const char* path = RESTAKE_SOURCE_DIR "/scenarios/ecosystem.toml";
  const Model m = parse_scenario(slurp(path), path);
  RunSpec run = tilted_run(m, 20000, 4, 3.0, 0.1);
  const auto cols = loss_columns(m, run);
  const std::vector<double> w = run_weights(m, run);
  REQUIRE(w.size() == run.trials);
  const std::vector<HolderContributions> c = risk_contributions(m, run, [&](std::size_t h) { return cols[h]; }, w);
  bool light_tail = false;  // tail trials weighing well below 1: the weights matter
  for (std::size_t h = 0; h < m.holders.size(); ++h) {
    CAPTURE(m.holders[h].name);
    const auto up = sorted_with_weights(cols[h], w);  // no structured binding: doctest's checks are lambdas to clang 14
    const std::vector<double>& sorted = up.first;
    const std::vector<double>& sorted_w = up.second;
    CHECK(c[h].es99.total == doctest::Approx(weighted_expected_shortfall_sorted(sorted, sorted_w, 0.99)).epsilon(1e-12));
    CHECK(c[h].var99.total == weighted_quantile_sorted(sorted, sorted_w, 0.99));
    CHECK(c[h].es99.total > 0.0);
    check_views_add_up(c[h].es99);
    check_views_add_up(c[h].var99);
    const TailTrials t = tail_trials(cols[h], w, kContributionLevel);
    light_tail = light_tail || *std::min_element(t.es_weight.begin(), t.es_weight.end()) < 0.5;
  }
  CHECK(light_tail);
  // The re-runs' sums are chunked and added in chunk order: a thread count changes no bit.
  run.threads = 1;
  const std::vector<HolderContributions> one = risk_contributions(m, run, [&](std::size_t h) { return cols[h]; }, w);
  for (std::size_t h = 0; h < m.holders.size(); ++h)
    for (const auto stat : {&HolderContributions::es99, &HolderContributions::var99}) {
      const Contributions &a = c[h].*stat, &b = one[h].*stat;
      CHECK(a.total == b.total);
      CHECK(a.cause == b.cause);
      CHECK(a.avs == b.avs);
      CHECK(a.op == b.op);
      CHECK(a.other == b.other);
      CHECK(a.coverage == b.coverage);
    }
}

TEST_CASE("run --contributions stores them on the operator axis, summary --contributions prints them, and refuses a file without") {
  TempDir dir;
  const std::string scenario = dir / "two-avs.toml", out = dir / "c.h5";
  { std::ofstream(scenario) << kTwoAvs; }
  std::string table;
  REQUIRE(cli(fmt::format("run {} -o {} --contributions --no-progress -q", scenario, out), dir, &table) == 0);
  CHECK(table.find("Risk contributions to ES 99%") != std::string::npos);
  const h5::File f = h5::File::open_read_only(out);
  CHECK(f.read_strings("operators/names") == std::vector<std::string>{"op-a", "op-b"});
  std::vector<hsize_t> dims;
  const std::vector<double> by_op = f.read_doubles("summary/contributions/es99/operator", &dims);
  CHECK(dims == std::vector<hsize_t>{1, 2});
  CHECK(by_op[0] == doctest::Approx(0.168).epsilon(1e-12));
  const RunSummary s = read_summary(out);
  REQUIRE(s.contributions);
  CHECK(s.holders[0].contributions.var99.avs[0] == doctest::Approx(0.12).epsilon(1e-12));
  REQUIRE(cli(fmt::format("summary {} --contributions", out), dir, &table) == 0);
  CHECK(table.find("  a1 ") != std::string::npos);
  CHECK(table.find("total (VaR 99%)") != std::string::npos);
  std::string json;
  REQUIRE(cli(fmt::format("summary {} --json", out), dir, &json) == 0);
  CHECK(json.find("\"contributions\": {\"es99\": {\"total\": ") != std::string::npos);

  std::string err;
  REQUIRE(cli(fmt::format("run {} -o {} --no-progress -q", scenario, dir / "plain.h5"), dir) == 0);
  CHECK(!h5::File::open_read_only(dir / "plain.h5").exists("operators"));
  CHECK(cli(fmt::format("summary {} --contributions", dir / "plain.h5"), dir, nullptr, &err) != 0);
  CHECK(err.find("no risk contributions") != std::string::npos);
  CHECK(cli(fmt::format("run {} -o {} --contributions --no-records --no-progress -q", scenario, dir / "x.h5"), dir, nullptr, &err) != 0);
  CHECK(!std::filesystem::exists(dir / "x.h5"));
}
