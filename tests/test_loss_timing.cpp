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

// Restakers with 60,000 ETH on op-a (AVS a1) and 40,000 on op-b (a2). On day 10 one of the AVSs
// slashes 20% (a1: 12% of the book; a2: 8%); on day CONTRACT_DAY the vault loses 10% of what is
// left (8.8% or 9.2%). A pool of `pool_balance` ETH, if any, covers contract losses.
std::string world(double contract_day, double pool_balance) {
  return R"(
[simulation]
name = "timing"
trials = 300
seed = 5
horizon_days = 365
[ethereum]
total_active_stake_eth = 34_000_000
base_apr = 0.0
[[operator]]
name = "op-a"
stake_eth = 60_000
[[operator]]
name = "op-b"
stake_eth = 40_000
[[contract]]
name = "vault"
[[protocol]]
name = "restaking"
slashing_mode = "shared"
[[avs]]
name = "a1"
protocol = "restaking"
operators = [{ operator = "op-a" }]
[[avs]]
name = "a2"
protocol = "restaking"
operators = [{ operator = "op-b" }]
[[native]]
name = "restakers"
protocol = "restaking"
contracts = ["vault"]
positions = [{ operator = "op-a", stake_eth = 60_000 }, { operator = "op-b", stake_eth = 40_000 }]
)" + (pool_balance > 0 ? "[[pool]]\nname = \"cover\"\nbalance_eth = " + std::to_string(pool_balance) +
                             "\ncovers = [\"contract\"]\nholders = [\"restakers\"]\n"
                       : std::string()) +
         R"(
[stress]
random_events = false
  [[stress.avs_failures]]
  avs = ["a1", "a2"]
  count = 1
  day = 10
  fraction = 0.2
  [[stress.contract_failure]]
  contract = "vault"
  day = )" + std::to_string(contract_day) + R"(
  loss = 0.1
)";
}

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
