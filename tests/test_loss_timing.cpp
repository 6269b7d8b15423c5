// When losses come (TrialRecord::first_loss_day, loss_7d_max), worked out by hand, and their
// summaries against the records.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "stats/statistics.hpp"
#include "stats/summary.hpp"
#include "stats/tally.hpp"
#include "trial/engine.hpp"
#include "cli_support.hpp"
#include "support.hpp"
#include "weighted_run.hpp"

using namespace restake;
using namespace restake::test;

namespace {

// The two-AVS world (support.hpp) of 300 trials, seed 5: a1's trials lose 12% on day 10, a2's 8%,
// and the vault 10% of what is left on `contract_day`.
std::string world(double contract_day, double pool_balance) { return two_avs_world(300, 5, contract_day, pool_balance); }

struct Columns {
  std::vector<double> loss, first_day, week, covered;
};

Columns run(const Model& m) {
  RunSpec o;
  o.trials = 300;
  o.seed = 5;
  Columns c;
  run_trials(m, o, [&](const TrialBlock& b) {
    c.loss.insert(c.loss.end(), b.loss_fraction.begin(), b.loss_fraction.end());
    c.first_day.insert(c.first_day.end(), b.first_loss_day.begin(), b.first_loss_day.end());
    c.week.insert(c.week.end(), b.loss_7d_max.begin(), b.loss_7d_max.end());
    c.covered.insert(c.covered.end(), b.covered_fraction.begin(), b.covered_fraction.end());
  });
  return c;
}

// A run's records per holder ([holder][trial]), its weights (empty: plain Monte Carlo), and the
// summary of its tally and records, as `restake-sim run` makes it. For a world without markets.
struct Recorded {
  std::vector<std::vector<double>> loss, net_return, first_day, week;
  std::vector<double> weight;
  RunSummary summary;
};

Recorded record(const Model& m, const RunSpec& o) {
  const std::size_t H = m.holders.size();
  Recorded r;
  for (auto* col : {&r.loss, &r.net_return, &r.first_day, &r.week}) col->resize(H);
  Tally tally(m);
  run_trials(m, o, [&](const TrialBlock& b) {
    tally.add(b);
    for (std::size_t t = 0; t < b.count; ++t)
      for (std::size_t h = 0; h < H; ++h) {
        r.loss[h].push_back(b.loss_fraction[t * H + h]);
        r.net_return[h].push_back(b.net_return[t * H + h]);
        r.first_day[h].push_back(b.first_loss_day[t * H + h]);
        r.week[h].push_back(b.loss_7d_max[t * H + h]);
      }
    r.weight.insert(r.weight.end(), b.weight.begin(), b.weight.end());
  });
  QuantileSource cols;
  cols.loss_fraction = [&](std::size_t h) { return r.loss[h]; };
  cols.net_return = [&](std::size_t h) { return r.net_return[h]; };
  if (!r.weight.empty()) cols.weight = [&] { return r.weight; };
  cols.market = [&](std::vector<double> TrialBlock::*field, std::size_t h) {
    if (field != &TrialBlock::loss_7d_max) throw std::logic_error("record: a world without markets has only loss_7d_max");
    return r.week[h];
  };
  r.summary = summarize_run(m, RunInfo{}, tally, cols);
  return r;
}

}  // namespace

TEST_CASE("the first loss's day and the largest loss within 7 days, by hand") {
  // Day 10 and day 100: the worst week is the larger of the two losses.
  Columns far = run(model_from(world(100, 0)));
  std::size_t a1 = 0;
  for (std::size_t t = 0; t < far.loss.size(); ++t) {
    CHECK(far.first_day[t] == 10.0);
    const bool first = far.loss[t] > 0.2;  // a1's trial: 20.8%; a2's: 17.2%
    a1 += first;
    CHECK(far.week[t] == doctest::Approx(first ? 0.12 : 0.092).epsilon(1e-12));
  }
  CHECK(a1 > 0);
  CHECK(a1 < far.loss.size());
  // Day 10 and day 16.9: one window holds both, and the week's loss is the trial's, bit for bit.
  // Day 17 is 7 days on: a window [t, t + 7) does not hold both.
  const Columns near = run(model_from(world(16.9, 0))), apart = run(model_from(world(17, 0)));
  for (std::size_t t = 0; t < near.loss.size(); ++t) {
    CHECK(near.week[t] == near.loss[t]);
    CHECK(apart.week[t] < apart.loss[t]);
  }
}

TEST_CASE("a loss coverage pays in full has no day, even before the first loss borne, and the summaries are the records' means and quantile") {
  // The pool pays the contract loss of day 5 in full: only the AVS's slash on day 10 is borne.
  const Model m = model_from(world(5, 1e9 / 10));
  const Columns c = run(m);
  for (std::size_t t = 0; t < c.loss.size(); ++t) {
    CHECK(c.covered[t] == doctest::Approx(0.1).epsilon(1e-12));  // the covered loss came, on day 5
    CHECK(c.loss[t] > 0.0);
    CHECK(c.first_day[t] == 10.0);
    CHECK(c.week[t] == c.loss[t]);  // one net loss
  }
  // The summary's timing from the tally and the records, against the records' own mean and quantile.
  RunSpec spec;
  spec.trials = 300;
  spec.seed = 5;
  const Recorded r = record(m, spec);
  const HolderSummary::Timing& timing = r.summary.holders[0].timing;
  CHECK(timing.first_loss_day_mean == 10.0);
  CHECK(timing.loss_7d_mean == doctest::Approx(std::accumulate(c.week.begin(), c.week.end(), 0.0) / 300.0).epsilon(1e-14));
  std::vector<double> sorted = c.week;
  std::sort(sorted.begin(), sorted.end());
  CHECK(timing.loss_7d_var99 == quantile_sorted(sorted, 0.99));

  // No loss at all: NaN, and the mean over trials with a loss is NaN too.
  const Model quiet = model_from(R"(
[simulation]
name = "quiet"
trials = 50
seed = 1
horizon_days = 365
[ethereum]
total_active_stake_eth = 34_000_000
base_apr = 0.0
[[operator]]
name = "op"
stake_eth = 32_000
[[lst]]
name = "lst"
positions = [{ operator = "op", stake_eth = 32_000 }]
)");
  RunSpec o;
  o.trials = 50;
  o.seed = 1;
  Tally tally(quiet, 1e-4);
  bool all_nan = true;
  run_trials(quiet, o, [&](const TrialBlock& b) {
    tally.add(b);
    for (const double d : b.first_loss_day) all_nan = all_nan && std::isnan(d);
  });
  CHECK(all_nan);
  const RunSummary s = summarize_run(quiet, RunInfo{}, tally);
  CHECK(std::isnan(s.holders[0].timing.first_loss_day_mean));
  CHECK(s.holders[0].timing.loss_7d_mean == 0.0);
}

TEST_CASE("the timing summaries against the records: loss_7d_var99 their quantile, and with weights the mean first-loss day sum w day / sum w") {
  const char* path = RESTAKE_SOURCE_DIR "/scenarios/ecosystem.toml";
  const Model m = parse_scenario(slurp(path), path);
  REQUIRE(m.tokens.empty());
  REQUIRE(m.lending_markets.empty());
  RunSpec plain;
  plain.trials = 4000;
  plain.seed = 3;
  plain.threads = 2;
  const Recorded p = record(m, plain), w = record(m, tilted_run(m, 4000, 3, 3.0, 0.1));
  REQUIRE(w.weight.size() == 4000);
  bool inner = false, weights_matter = false;
  for (std::size_t h = 0; h < m.holders.size(); ++h) {
    CAPTURE(m.holders[h].name);
    // Plain: the 0.99 quantile of the records' 7-day losses.
    std::vector<double> sorted = p.week[h];
    std::sort(sorted.begin(), sorted.end());
    CHECK(p.summary.holders[h].timing.loss_7d_var99 == quantile_sorted(sorted, 0.99));
    inner = inner || (sorted[3960] > 0.0 && sorted[3960] < sorted.back());
    // Weighted: the weighted quantile, the weighted mean of the week, and of the first day over the
    // trials with a loss.
    std::vector<std::size_t> up(4000);
    std::iota(up.begin(), up.end(), std::size_t{0});
    std::stable_sort(up.begin(), up.end(), [&](std::size_t a, std::size_t b) { return w.week[h][a] < w.week[h][b]; });
    std::vector<double> x, xw;
    for (const std::size_t i : up) {
      x.push_back(w.week[h][i]);
      xw.push_back(w.weight[i]);
    }
    const HolderSummary::Timing& timing = w.summary.holders[h].timing;
    CHECK(timing.loss_7d_var99 == weighted_quantile_sorted(x, xw, 0.99));
    double w_day = 0.0, w_lost = 0.0, w_week = 0.0, day = 0.0, lost = 0.0;
    for (std::size_t t = 0; t < 4000; ++t) {
      w_week += w.weight[t] * w.week[h][t];
      if (!(w.loss[h][t] > 0.0)) continue;
      w_day += w.weight[t] * w.first_day[h][t];
      w_lost += w.weight[t];
      day += w.first_day[h][t];
      lost += 1.0;
    }
    CHECK(timing.loss_7d_mean == doctest::Approx(w_week / 4000.0).epsilon(1e-12));
    REQUIRE(w_lost > 0.0);
    CHECK(timing.first_loss_day_mean == doctest::Approx(w_day / w_lost).epsilon(1e-12));
    weights_matter = weights_matter || std::abs(w_day / w_lost - day / lost) > 1.0;  // not the plain mean of the days
  }
  CHECK(inner);  // some holder's quantile lies between 0 and the largest: the check can fail
  CHECK(weights_matter);
}
