// When losses come (TrialRecord::first_loss_day, loss_7d_max), worked out by hand, and their
// summaries against the records.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "io/scenario.hpp"
#include "stats/summary.hpp"
#include "stats/tally.hpp"
#include "trial/engine.hpp"
#include "support.hpp"

using namespace restake;
using namespace restake::test;

namespace {

// The two-AVS world (support.hpp) of 300 trials, seed 5: a1's trials lose 12% on day 10, a2's 8%,
// and the vault 10% of what is left on `contract_day`.
std::string world(double contract_day, double pool_balance) { return two_avs_world(300, 5, contract_day, pool_balance); }

struct Columns {
  std::vector<double> loss, first_day, week;
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
  });
  return c;
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

TEST_CASE("a loss coverage pays in full has no day, and the summaries are the records' means and quantile") {
  // The pool pays every contract loss: only the AVS's slash on day 10 is borne.
  const Model m = model_from(world(100, 1e9 / 10));
  const Columns c = run(m);
  for (std::size_t t = 0; t < c.loss.size(); ++t) {
    CHECK(c.first_day[t] == 10.0);
    CHECK(c.week[t] == c.loss[t]);  // one net loss
  }
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
