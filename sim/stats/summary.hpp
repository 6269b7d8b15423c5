#pragma once
// The per-holder summary of a run: what `restake-sim run` prints and `/summary` stores.
#include <array>
#include <cstdint>
#include <functional>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "stats/concentration.hpp"
#include "stats/contributions.hpp"
#include "stats/statistics.hpp"
#include "stats/tally.hpp"

namespace restake {

// How an importance-sampled run drew its trials: each event source (SamplerPlan order) with its
// label and the factor on its rate, and the defensive share drawn at the model's own rates.
// No sources: plain Monte Carlo, every trial weighs 1.
struct TiltInfo {
  std::vector<std::string> sources;
  std::vector<double> rate_factor;
  std::vector<double> size_exponent;  // [source] 1: sizes at the model's law (Tilt::size_exponent)
  double defensive = 0.0;
  bool active() const { return !rate_factor.empty(); }
  static TiltInfo of(const Model& m, const Tilt& tilt);
};

struct RunInfo {
  std::string scenario_name;
  std::string program_version;
  std::string git_commit;
  std::uint64_t seed = 0;
  std::uint64_t trials = 0;
  double horizon_days = 0.0;
  TiltInfo tilt{};  // active: a weighted run
  std::optional<TailInfo> tail{};  // run --tail: its target
  std::vector<double> thresholds{};  // run --threshold: the losses x of P(loss >= x), ascending
  bool weighted() const { return tilt.active(); }
};

// A holder's loss valued at its token's market price (runs with tokens; for a holder without a
// token it is its loss at NAV).
struct MarketLossSummary {
  double mean = 0.0, var95 = 0.0, var99 = 0.0, es99 = 0.0;
};

struct HolderSummary {
  std::string name;
  std::string kind;
  std::string asset;     // "ETH", "BTC": the unit of value and of every amount below
  double value = 0.0;    // initial
  double usd_price = 0.0;  // per unit of the asset; 0 if the scenario gives none
  LossSummary loss;
  ReturnSummary net_return;
  double covered_mean = 0.0;
  std::array<double, kLossCauseCount> loss_by_cause_mean{};
  MarketLossSummary loss_at_market;  // only in runs with tokens
  Concentration concentration;       // of its book, from the scenario
  // When its losses come: the day of the first (mean over trials with a loss), and the largest
  // within any 7 days (mean and 0.99 quantile over all trials).
  struct Timing {
    double first_loss_day_mean = std::nan(""), loss_7d_mean = 0.0, loss_7d_var99 = 0.0;
  } timing;
  HolderContributions contributions;  // run --contributions (RunSummary::contributions)
};

// A [[token]]'s market over the trials; prices in ETH per token (1 at the start).
struct TokenSummary {
  std::string name;
  std::string holder;
  double min_price_mean = 1.0;
  double min_price_p05 = 1.0;  // the 0.05 quantile of the trial's lowest price
  double p_depeg = 0.0;        // share of trials with any depegged day
  double depeg_days_mean = 0.0;
  double sold_mean = 0.0;      // tokens
};

// A [[lending_market]] over the trials: collateral in tokens, debt in ETH.
struct LendingSummary {
  std::string name;
  std::string token;
  double debt_eth = 0.0;
  double usd_price = 0.0;  // of ETH; 0 if the scenario gives none
  double liquidated_mean = 0.0, liquidated_p95 = 0.0;
  double bad_debt_mean = 0.0, bad_debt_var95 = 0.0;  // var95: Gauntlet's value at risk
  double p_bad_debt = 0.0;       // P(bad debt > 0)
  double p_bad_debt_1pct = 0.0;  // P(bad debt > 1% of debt_eth): Credora's
  double accounts_liquidated_mean = 0.0;
};

struct CoveragePoolSummary {
  std::string name;
  std::string asset;
  double balance = 0.0;
  double drawdown_mean = 0.0;
  double p_exhausted = 0.0;  // share of trials in which the pool paid out its whole balance
};

struct AvsSummary {
  std::string name;
  std::string asset;
  double stake_lost_mean = 0.0;
  double p_slashed = 0.0;
  std::vector<double> holder_loss_mean;  // [holder] share of its initial value lost to this AVS's slashings (gross)
};

// The run's estimates at its tail target, each with its standard error (95% interval: +/- 1.96 se).
struct TailSummary {
  Moments exceedance;  // of w 1{loss >= info.tail->loss}: mean = P(loss >= x)
  // Quantile targets, with records: the loss quantile at the level over all trials, and its
  // standard error by batch means (kBatches consecutive batches, each its own quantile).
  double quantile = std::nan(""), quantile_stderr = std::nan("");
};

struct RunSummary {
  RunInfo info;
  std::optional<TailSummary> tail;  // when info.tail is set
  // Weighted runs: Kish's effective sample size of all the trials and the largest weight's share.
  WeightSpread weights;
  std::vector<HolderSummary> holders;
  std::vector<AvsSummary> avs;
  std::vector<CoveragePoolSummary> pools;
  std::vector<TokenSummary> tokens;     // empty without [[token]]
  std::vector<LendingSummary> lending;  // empty without [[lending_market]]
  // run --contributions: each holder's risk contributions, over these operators (the model's).
  bool contributions = false;
  std::vector<std::string> operators;
};

// Per-holder samples of loss and net return, one column of trials at a time (read back from the
// results file, or from memory in tests): exact quantiles need the whole sample.
struct QuantileSource {
  std::function<std::vector<double>(std::size_t holder)> loss_fraction, net_return;
  // The trials' weights in a weighted run (tally.hpp); unset: every trial weighs 1.
  std::function<std::vector<double>()> weight{};
  // Runs with markets: column i of the market record `field` (&TrialBlock::token_min_price, ...).
  std::function<std::vector<double>(std::vector<double> TrialBlock::*field, std::size_t i)> market{};
};

// Exact order statistics from the columns.
RunSummary summarize_run(const Model& m, const RunInfo& info, const Tally& tally, const QuantileSource& columns);
// Order statistics from the tally's sketches (within their relative accuracy).
RunSummary summarize_run(const Model& m, const RunInfo& info, const Tally& tally);

// [avs * holder]: each AVS's holder_loss_mean, row after row; and AVS a's row of such a table
// of `holders` columns (empty when the table is not A x holders, as in files written before it).
std::vector<double> avs_holder_loss_means(const RunSummary& s);
std::vector<double> avs_holder_row(const std::vector<double>& table, std::size_t avs_count, std::size_t holders, std::size_t a);

// The printed tables fit this many columns: a table with a column per holder is cut into several,
// each with as many holders as fit (at least one). 0: no limit, one table (--wide).
inline constexpr std::size_t kTableWidth = 120;

std::string format_summary_table(const RunSummary& s, std::size_t width = kTableWidth);
// The table without its first line (scenario, trials, seed, horizon, version): a sweep prints that
// once and this per point.
std::string format_summary_body(const RunSummary& s, std::size_t width = kTableWidth);
std::string format_summary_json(const RunSummary& s);
// The risk contributions (s.contributions) as tables: contributors as rows, holders as columns.
std::string format_contributions(const RunSummary& s, std::size_t width = kTableWidth);

// The holders [from, to) of each table of holder columns: a first column `first` wide, then a
// column of 1 + max(name, 9) characters per holder, within `width` (0: all in one).
std::vector<std::pair<std::size_t, std::size_t>> holder_groups(const RunSummary& s, std::size_t first, std::size_t width);

}  // namespace restake
