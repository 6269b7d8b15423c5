#include "io/schema.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/json.hpp"
#include "io/output_helpers.hpp"

namespace restake {

namespace {

constexpr const char* kFraction = "fraction of initial value";
constexpr const char* kProbability = "probability";
constexpr const char* kOwnAsset = detail::kOwnAsset;
constexpr const char* kLikelihoodRatio = "likelihood ratio";
constexpr const char* kTrials = "trials";
constexpr const char* kShareOfWeight = "share of the total weight";
constexpr const char* kEthPerToken = "ETH per token";
constexpr const char* kTokens = "tokens";
constexpr const char* kEth = "ETH";
constexpr const char* kDays = "days";
constexpr const char* kOfNav = "fraction of NAV";
constexpr const char* kShareOfAccounts = "share of accounts";
constexpr Needs kTokensOnly = Needs::Tokens;
constexpr Needs kLendingOnly = Needs::LendingMarkets;

using std::size_t;

constexpr std::array kDims = {
    DimSpec{Dim::Point, "point", "points/names", "a point of the sweep (sweep files only); /points/values holds its parameters"},
    DimSpec{Dim::Trial, "trial", "", "a trial, in trial order from 0"},
    DimSpec{Dim::Holder, "holder", "holders/names", "a holder (LRT, LST or native restakers)"},
    DimSpec{Dim::Cause, "cause", "loss_causes", "a cause of loss"},
    DimSpec{Dim::Avs, "avs", "avs/names", "an AVS"},
    DimSpec{Dim::Pool, "pool", "pools/names", "a coverage pool"},
    DimSpec{Dim::Asset, "asset", "assets/names", "an asset (ETH, BTC)"},
    DimSpec{Dim::LossQuantile, "loss_quantile", "summary/loss/quantile_levels", "a level of the loss quantiles"},
    DimSpec{Dim::ReturnQuantile, "return_quantile", "summary/net_return/quantile_levels", "a level of the net-return quantiles"},
    DimSpec{Dim::Token, "token", "tokens/names", "a token traded in the market layer ([[token]])"},
    DimSpec{Dim::Lending, "lending_market", "lending_markets/names", "a lending market ([[lending_market]])"},
    DimSpec{Dim::Worst, "worst", "", "one of a token's worst trials by its lowest price, worst first (run --price-paths)"},
    DimSpec{Dim::PathPoint, "path_point", "", "a point of the worst trials' price paths: a step of a market episode"},
    DimSpec{Dim::Operator, "operator", "operators/names", "an operator (in files with risk contributions: run --contributions)"},
    DimSpec{Dim::Threshold, "threshold", "summary/loss/thresholds", "a loss x of P(loss >= x), as a fraction of initial value (run --threshold)"},
};

constexpr std::array kTrialRecords = {
    TrialRecordSpec{{"trials/loss_fraction", {Dim::Trial, Dim::Holder}, kFraction,
                     "loss net of coverage: (gross loss - covered) / initial value, in [0, 1]"},
                    &TrialBlock::loss_fraction},
    TrialRecordSpec{{"trials/net_return", {Dim::Trial, Dim::Holder}, kFraction,
                     "((1 - reward_fee) x rewards - net loss) / initial value; rewards are base staking plus AVS rewards, "
                     "simple interest over the horizon"},
                    &TrialBlock::net_return},
    TrialRecordSpec{{"trials/covered_fraction", {Dim::Trial, Dim::Holder}, kFraction, "part of the gross loss paid by coverage pools"},
                    &TrialBlock::covered_fraction},
    TrialRecordSpec{{"trials/loss_by_cause", {Dim::Trial, Dim::Holder, Dim::Cause}, kFraction,
                     "gross loss (before coverage) by cause; summed over causes it is loss_fraction + covered_fraction "
                     "(up to rounding)"},
                    &TrialBlock::loss_by_cause},
    TrialRecordSpec{{"trials/avs_stake_lost", {Dim::Trial, Dim::Avs}, kOwnAsset,
                     "holders' stake removed by each AVS's slashings (conditions and faulty events), gross, in the AVS's "
                     "asset; stake of an operator no holder delegated is not counted"},
                    &TrialBlock::avs_stake_lost},
    TrialRecordSpec{{"trials/pool_drawdown", {Dim::Trial, Dim::Pool}, kOwnAsset,
                     "amount each pool paid out, in the pool's asset; at most its balance"},
                    &TrialBlock::pool_drawdown},
    TrialRecordSpec{{"trials/weight", {Dim::Trial}, kLikelihoodRatio,
                     "the trial's weight in every estimate: its likelihood ratio, the original distribution's density over "
                     "the tilted one's (/tilt; docs/statistics.md)",
                     Needs::Weights},
                    &TrialBlock::weight},
    TrialRecordSpec{{"trials/token_min_price", {Dim::Trial, Dim::Token}, kEthPerToken,
                     "the token's lowest market price in its pool (a token unit is worth 1 ETH at the start; 1 when nothing "
                     "happened)",
                     kTokensOnly},
                    &TrialBlock::token_min_price},
    TrialRecordSpec{{"trials/token_max_discount", {Dim::Trial, Dim::Token}, kOfNav,
                     "the largest discount of the market price to NAV, 1 - price / NAV", kTokensOnly},
                    &TrialBlock::token_max_discount},
    TrialRecordSpec{{"trials/token_depeg_days", {Dim::Trial, Dim::Token}, kDays,
                     "days the price spent below (1 - depeg_threshold) x NAV ([market])", kTokensOnly},
                    &TrialBlock::token_depeg_days},
    TrialRecordSpec{{"trials/token_sold", {Dim::Trial, Dim::Token}, kTokens,
                     "tokens sold into the pool by the sellers and the liquidators (not by holders repricing it down to NAV)", kTokensOnly},
                    &TrialBlock::token_sold},
    TrialRecordSpec{{"trials/lending_liquidated", {Dim::Trial, Dim::Lending}, kTokens, "collateral seized by liquidations",
                     kLendingOnly},
                    &TrialBlock::lending_liquidated},
    TrialRecordSpec{{"trials/lending_bad_debt", {Dim::Trial, Dim::Lending}, kEth,
                     "debt left without collateral to cover it, after the market's reserve", kLendingOnly},
                    &TrialBlock::lending_bad_debt},
    TrialRecordSpec{{"trials/lending_accounts_liquidated", {Dim::Trial, Dim::Lending}, kShareOfAccounts,
                     "share of the market's accounts (debt buckets) liquidated, in [0, 1]", kLendingOnly},
                    &TrialBlock::lending_accounts_liquidated},
    TrialRecordSpec{{"trials/loss_at_market", {Dim::Trial, Dim::Holder}, kFraction,
                     "loss valued at the token's lowest market price rather than at NAV, share of initial value (for "
                     "holders without a token, loss_fraction)",
                     kTokensOnly},
                    &TrialBlock::loss_at_market},
    TrialRecordSpec{{"trials/first_loss_day", {Dim::Trial, Dim::Holder}, kDays,
                     "the day of the holder's first loss net of coverage, from the trial's start (NaN: no loss)"},
                    &TrialBlock::first_loss_day},
    TrialRecordSpec{{"trials/loss_7d_max", {Dim::Trial, Dim::Holder}, kFraction,
                     "the largest loss net of coverage within any 7 days, [t, t + 7), share of initial value; equals "
                     "loss_fraction when every loss of the trial falls within 7 days"},
                    &TrialBlock::loss_7d_max},
};

constexpr Needs kPathsOnly = Needs::PricePaths;
constexpr std::array kPricePaths = {
    OutputSpec{"price_paths/trial", {Dim::Token, Dim::Worst}, kIndexUnit,
               "each token's worst trials by token_min_price, worst first (ties: the lower trial index first): their "
               "trial indices (uint64), min(K, trials) of them",
               kPathsOnly},
    OutputSpec{"price_paths/min_price", {Dim::Token, Dim::Worst}, kEthPerToken,
               "the ranking metric: the trial's token_min_price, which its re-run with paths kept reproduced bit for bit",
               kPathsOnly},
    OutputSpec{"price_paths/token", {Dim::PathPoint}, kIndexUnit, "the point's token, an index on the token axis (uint64)",
               kPathsOnly},
    OutputSpec{"price_paths/rank", {Dim::PathPoint}, kIndexUnit,
               "the point's trial, an index on the worst axis (uint64; 0: the token's worst trial)", kPathsOnly},
    OutputSpec{"price_paths/episode", {Dim::PathPoint}, kIndexUnit,
               "the point's market episode among the token's episodes in the trial, in time order from 0 (uint64)", kPathsOnly},
    OutputSpec{"price_paths/day", {Dim::PathPoint}, kDays,
               "the start of the episode's step, in days from the trial's start (the [market] grid)", kPathsOnly},
    OutputSpec{"price_paths/price", {Dim::PathPoint}, kEthPerToken, "the token's pool price at the end of the step",
               kPathsOnly},
    OutputSpec{"price_paths/nav", {Dim::PathPoint}, kEthPerToken,
               "the token's NAV per token during the step (after the losses booked up to its start)", kPathsOnly},
};

// The accessors: one generic lambda each, giving the element (i, j) of the output.
constexpr std::array kSummaries = {
    SummarySpec{{"summary/loss/mean", {Dim::Holder}, kFraction, "sample mean of loss_fraction"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.moments.mean; }},
    SummarySpec{{"summary/loss/stderr", {Dim::Holder}, kFraction, "standard error of the mean, sd / sqrt(n)"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.moments.stderr_mean; }},
    SummarySpec{{"summary/loss/sd", {Dim::Holder}, kFraction, "sample standard deviation, divisor n - 1 (0 if n = 1)"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.moments.sd; }},
    SummarySpec{{"summary/loss/p_loss", {Dim::Holder}, kProbability, "share of trials with loss > 0"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.p_loss; }},
    SummarySpec{{"summary/loss/var95", {Dim::Holder}, kFraction, "value at risk: the 0.95 quantile of the loss"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.var95; }},
    SummarySpec{{"summary/loss/var99", {Dim::Holder}, kFraction, "value at risk: the 0.99 quantile of the loss"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.var99; }},
    SummarySpec{{"summary/loss/es95", {Dim::Holder}, kFraction, "expected shortfall at 0.95: mean of the worst 5% of trials"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.es95; }},
    SummarySpec{{"summary/loss/es99", {Dim::Holder}, kFraction, "expected shortfall at 0.99: mean of the worst 1% of trials"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.es99; }},
    SummarySpec{{"summary/loss/quantiles", {Dim::Holder, Dim::LossQuantile}, kFraction, "loss quantiles at the loss_quantile levels"},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].loss.quantiles[j]; }},
    SummarySpec{{"summary/loss/tail_ess95", {Dim::Holder}, kTrials,
                 "effective sample size (sum w)^2 / sum w^2 of the trials with a loss above var95, the trials the 95% tail "
                 "estimates rest on (0: none; NaN without records)",
                 Needs::Weights},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.beyond_var95.effective_sample_size; }},
    SummarySpec{{"summary/loss/tail_max_weight_share95", {Dim::Holder}, kShareOfWeight,
                 "the largest weight among the trials with a loss above var95, over their total weight (NaN: none, or no records)",
                 Needs::Weights},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.beyond_var95.max_weight_share; }},
    SummarySpec{{"summary/loss/tail_ess99", {Dim::Holder}, kTrials,
                 "effective sample size of the trials with a loss above var99 (0: none; NaN without records)", Needs::Weights},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.beyond_var99.effective_sample_size; }},
    SummarySpec{{"summary/loss/tail_max_weight_share99", {Dim::Holder}, kShareOfWeight,
                 "the largest weight among the trials with a loss above var99, over their total weight (NaN: none, or no records)",
                 Needs::Weights},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.beyond_var99.max_weight_share; }},
    SummarySpec{{"summary/loss/var99_stderr", {Dim::Holder}, kFraction,
                 "standard error of var99 by batch means: the trials cut into 20 consecutive batches (as numpy.array_split), "
                 "sd of the batches' own var99 / sqrt(20) (NaN: no records)",
                 Needs::Weights},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.var99_stderr; }},
    SummarySpec{{"summary/loss/es99_stderr", {Dim::Holder}, kFraction,
                 "standard error of es99 by batch means, as var99_stderr (NaN: no records)", Needs::Weights},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss.es99_stderr; }},
    SummarySpec{{"summary/loss/p_exceed", {Dim::Holder, Dim::Threshold}, kProbability,
                 "P(loss_fraction >= x) at each threshold x: the share of trials (weighted: (1/n) sum w) at or above it",
                 Needs::Thresholds},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].loss.exceedance[j].p; }},
    SummarySpec{{"summary/loss/p_exceed_stderr", {Dim::Holder, Dim::Threshold}, kProbability,
                 "standard error of p_exceed: sd of w 1{loss >= x} (divisor n - 1) / sqrt(n)", Needs::Thresholds},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].loss.exceedance[j].stderr_p; }},
    SummarySpec{{"summary/loss/p_exceed_ci_low", {Dim::Holder, Dim::Threshold}, kProbability,
                 "lower end of p_exceed's 95% interval: Wilson's score interval, or p - 1.96 se (at least 0) in a weighted run",
                 Needs::Thresholds},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].loss.exceedance[j].ci_low; }},
    SummarySpec{{"summary/loss/p_exceed_ci_high", {Dim::Holder, Dim::Threshold}, kProbability,
                 "upper end of p_exceed's 95% interval: Wilson's, or p + 1.96 se in a weighted run", Needs::Thresholds},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].loss.exceedance[j].ci_high; }},
    SummarySpec{{"summary/contributions/es99/total", {Dim::Holder}, kFraction,
                 "the ES 99% the contributions below add up to (each view: causes + coverage, AVSs + avs_other + coverage, "
                 "operators + coverage)", Needs::Contributions},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].contributions.es99.total; }},
    SummarySpec{{"summary/contributions/es99/cause", {Dim::Holder, Dim::Cause}, kFraction,
                 "each cause's gross loss's contribution to the ES 99% (Euler allocation; docs/statistics.md)", Needs::Contributions},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].contributions.es99.cause[j]; }},
    SummarySpec{{"summary/contributions/es99/avs", {Dim::Holder, Dim::Avs}, kFraction,
                 "each AVS's slashings' contribution to the ES 99%, gross", Needs::Contributions},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].contributions.es99.avs[j]; }},
    SummarySpec{{"summary/contributions/es99/avs_other", {Dim::Holder}, kFraction,
                 "the contribution to the ES 99% of the gross losses no AVS's slashing caused (beacon chain, contracts, ...)",
                 Needs::Contributions},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].contributions.es99.other; }},
    SummarySpec{{"summary/contributions/es99/operator", {Dim::Holder, Dim::Operator}, kFraction,
                 "the contribution to the ES 99% of the gross losses of the holder's positions delegated to each operator "
                 "(run by it, when not restaked)",
                 Needs::Contributions},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].contributions.es99.op[j]; }},
    SummarySpec{{"summary/contributions/es99/coverage", {Dim::Holder}, kFraction,
                 "minus what coverage pools paid back, in the ES 99%'s trials (<= 0)", Needs::Contributions},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].contributions.es99.coverage; }},
    SummarySpec{{"summary/contributions/var99/total", {Dim::Holder}, kFraction,
                 "the VaR 99% the contributions below add up to (each view: causes + coverage, AVSs + avs_other + coverage, "
                 "operators + coverage)", Needs::Contributions},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].contributions.var99.total; }},
    SummarySpec{{"summary/contributions/var99/cause", {Dim::Holder, Dim::Cause}, kFraction,
                 "each cause's gross loss's contribution to the VaR 99% (Euler allocation; docs/statistics.md)", Needs::Contributions},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].contributions.var99.cause[j]; }},
    SummarySpec{{"summary/contributions/var99/avs", {Dim::Holder, Dim::Avs}, kFraction,
                 "each AVS's slashings' contribution to the VaR 99%, gross", Needs::Contributions},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].contributions.var99.avs[j]; }},
    SummarySpec{{"summary/contributions/var99/avs_other", {Dim::Holder}, kFraction,
                 "the contribution to the VaR 99% of the gross losses no AVS's slashing caused (beacon chain, contracts, ...)",
                 Needs::Contributions},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].contributions.var99.other; }},
    SummarySpec{{"summary/contributions/var99/operator", {Dim::Holder, Dim::Operator}, kFraction,
                 "the contribution to the VaR 99% of the gross losses of the holder's positions delegated to each operator "
                 "(run by it, when not restaked)",
                 Needs::Contributions},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].contributions.var99.op[j]; }},
    SummarySpec{{"summary/contributions/var99/coverage", {Dim::Holder}, kFraction,
                 "minus what coverage pools paid back, in the VaR 99%'s trials (<= 0)", Needs::Contributions},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].contributions.var99.coverage; }},
    SummarySpec{{"summary/concentration/hhi_operators", {Dim::Holder}, "index in [0, 1]",
                 "Herfindahl index of the holder's stake over operators (the one it delegated to when restaked, else the one "
                 "running its validators): sum of squared shares; 1/k for k equal shares; 0 for a holder without positions"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].concentration.hhi_operators; }},
    SummarySpec{{"summary/concentration/hhi_avs", {Dim::Holder}, "index in [0, 1]",
                 "Herfindahl index of the holder's exposure over AVSs, exposure = stake x the magnitude allocated to the AVS (1 "
                 "in shared mode); 0 when no AVS can slash it"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].concentration.hhi_avs; }},
    SummarySpec{{"summary/concentration/restaked_share", {Dim::Holder}, kFraction, "restaked stake / initial value"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].concentration.restaked_share; }},
    SummarySpec{{"summary/concentration/restaking_ratio", {Dim::Holder}, "times initial value",
                 "exposure summed over AVSs / initial value: the stake x the magnitude allocated to each AVS (1 in shared "
                 "mode), summed"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].concentration.restaking_ratio; }},
    SummarySpec{{"summary/timing/first_loss_day_mean", {Dim::Holder}, kDays,
                 "mean of first_loss_day over the trials with a loss (weighted: sum w day / sum w); NaN: no trial lost"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].timing.first_loss_day_mean; }},
    SummarySpec{{"summary/timing/loss_7d_mean", {Dim::Holder}, kFraction, "mean of loss_7d_max"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].timing.loss_7d_mean; }},
    SummarySpec{{"summary/timing/loss_7d_var99", {Dim::Holder}, kFraction, "the 0.99 quantile of loss_7d_max"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].timing.loss_7d_var99; }},
    SummarySpec{{"summary/net_return/mean", {Dim::Holder}, kFraction, "sample mean of net_return"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].net_return.moments.mean; }},
    SummarySpec{{"summary/net_return/stderr", {Dim::Holder}, kFraction, "standard error of the mean, sd / sqrt(n)"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].net_return.moments.stderr_mean; }},
    SummarySpec{{"summary/net_return/sd", {Dim::Holder}, kFraction, "sample standard deviation, divisor n - 1 (0 if n = 1)"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].net_return.moments.sd; }},
    SummarySpec{{"summary/net_return/p_negative", {Dim::Holder}, kProbability, "share of trials with net return < 0"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].net_return.p_negative; }},
    SummarySpec{{"summary/net_return/quantiles", {Dim::Holder, Dim::ReturnQuantile}, kFraction,
                 "net-return quantiles at the return_quantile levels (low levels are the bad tail)"},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].net_return.quantiles[j]; }},
    SummarySpec{{"summary/covered_mean", {Dim::Holder}, kFraction, "mean of covered_fraction"},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].covered_mean; }},
    SummarySpec{{"summary/loss_by_cause_mean", {Dim::Holder, Dim::Cause}, kFraction, "mean of loss_by_cause (gross)"},
                [](auto& s, size_t i, size_t j) -> auto& { return s.holders[i].loss_by_cause_mean[j]; }},
    SummarySpec{{"summary/avs_stake_lost_mean", {Dim::Avs}, kOwnAsset, "mean of avs_stake_lost (each AVS's asset)"},
                [](auto& s, size_t i, size_t) -> auto& { return s.avs[i].stake_lost_mean; }},
    SummarySpec{{"summary/avs_p_slashed", {Dim::Avs}, kProbability,
                 "share of trials with avs_stake_lost > 0 (a slash that removed no holder stake does not count)"},
                [](auto& s, size_t i, size_t) -> auto& { return s.avs[i].p_slashed; }},
    SummarySpec{{"summary/avs_holder_loss_mean", {Dim::Avs, Dim::Holder}, kFraction,
                 "mean share of each holder's initial value taken by each AVS's slashings (conditions and faulty), gross; "
                 "summed in 128-bit fixed point, so the same for any threads, blocks or ranks"},
                [](auto& s, size_t i, size_t j) -> auto& { return s.avs[i].holder_loss_mean.at(j); }},
    SummarySpec{{"summary/pool_drawdown_mean", {Dim::Pool}, kOwnAsset, "mean of pool_drawdown (each pool's asset)"},
                [](auto& s, size_t i, size_t) -> auto& { return s.pools[i].drawdown_mean; }},
    SummarySpec{{"summary/pool_p_exhausted", {Dim::Pool}, kProbability,
                 "share of trials in which the pool paid out its whole balance (drawdown >= balance x (1 - 1e-12))"},
                [](auto& s, size_t i, size_t) -> auto& { return s.pools[i].p_exhausted; }},
    SummarySpec{{"summary/weights/effective_sample_size", {}, kTrials,
                 "Kish's effective sample size of the run, (sum w)^2 / sum w^2 over all its trials: what the weighted trials "
                 "are worth in plain trials of equal weight",
                 Needs::Weights},
                [](auto& s, size_t, size_t) -> auto& { return s.weights.effective_sample_size; }},
    SummarySpec{{"summary/weights/max_weight_share", {}, kShareOfWeight,
                 "the largest single trial weight over the sum of all the run's weights", Needs::Weights},
                [](auto& s, size_t, size_t) -> auto& { return s.weights.max_weight_share; }},
    SummarySpec{{"summary/token/min_price_mean", {Dim::Token}, kEthPerToken, "mean of token_min_price", kTokensOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.tokens[i].min_price_mean; }},
    SummarySpec{{"summary/token/min_price_p05", {Dim::Token}, kEthPerToken,
                 "the 0.05 quantile of token_min_price: the low price of one trial in 20", kTokensOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.tokens[i].min_price_p05; }},
    SummarySpec{{"summary/token/p_depeg", {Dim::Token}, kProbability, "share of trials with token_depeg_days > 0", kTokensOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.tokens[i].p_depeg; }},
    SummarySpec{{"summary/token/depeg_days_mean", {Dim::Token}, kDays, "mean of token_depeg_days (over all trials)", kTokensOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.tokens[i].depeg_days_mean; }},
    SummarySpec{{"summary/token/sold_mean", {Dim::Token}, kTokens, "mean of token_sold", kTokensOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.tokens[i].sold_mean; }},
    SummarySpec{{"summary/lending/liquidated_mean", {Dim::Lending}, kTokens, "mean of lending_liquidated", kLendingOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.lending[i].liquidated_mean; }},
    SummarySpec{{"summary/lending/liquidated_p95", {Dim::Lending}, kTokens, "the 0.95 quantile of lending_liquidated",
                 kLendingOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.lending[i].liquidated_p95; }},
    SummarySpec{{"summary/lending/bad_debt_mean", {Dim::Lending}, kEth, "mean of lending_bad_debt", kLendingOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.lending[i].bad_debt_mean; }},
    SummarySpec{{"summary/lending/bad_debt_var95", {Dim::Lending}, kEth,
                 "value at risk of the lenders: the 0.95 quantile of lending_bad_debt", kLendingOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.lending[i].bad_debt_var95; }},
    SummarySpec{{"summary/lending/p_bad_debt", {Dim::Lending}, kProbability, "share of trials with lending_bad_debt > 0",
                 kLendingOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.lending[i].p_bad_debt; }},
    SummarySpec{{"summary/lending/p_bad_debt_1pct", {Dim::Lending}, kProbability,
                 "share of trials with lending_bad_debt > 1% of the market's debt_eth", kLendingOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.lending[i].p_bad_debt_1pct; }},
    SummarySpec{{"summary/lending/accounts_liquidated_mean", {Dim::Lending}, kShareOfAccounts,
                 "mean of lending_accounts_liquidated", kLendingOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.lending[i].accounts_liquidated_mean; }},
    SummarySpec{{"summary/loss_at_market/mean", {Dim::Holder}, kFraction, "mean of loss_at_market", kTokensOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss_at_market.mean; }},
    SummarySpec{{"summary/loss_at_market/var95", {Dim::Holder}, kFraction, "the 0.95 quantile of loss_at_market",
                 kTokensOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss_at_market.var95; }},
    SummarySpec{{"summary/loss_at_market/var99", {Dim::Holder}, kFraction, "the 0.99 quantile of loss_at_market",
                 kTokensOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss_at_market.var99; }},
    SummarySpec{{"summary/loss_at_market/es99", {Dim::Holder}, kFraction,
                 "expected shortfall of loss_at_market at 0.99: mean of the worst 1% of trials", kTokensOnly},
                [](auto& s, size_t i, size_t) -> auto& { return s.holders[i].loss_at_market.es99; }},
};

// Calls f(i, j) over the first two axes of `dims` in row-major order (j = 0 for one axis; once, (0, 0), for none).
template <class F>
void for_each_element(std::span<const Dim> dims, const Extents& e, F&& f) {
  if (dims.size() > 2) throw std::logic_error("a summary has at most two axes");
  const size_t n = dims.empty() ? 1 : extent(dims[0], e), m = dims.size() > 1 ? extent(dims[1], e) : 1;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < m; ++j) f(i, j);
}

std::string shape_text(std::span<const Dim> dims) {
  std::vector<std::string> names;
  for (const Dim d : dims) names.emplace_back(dimension(d).name);
  return fmt::format("[{}]", fmt::join(names, ", "));
}

}  // namespace

std::span<const DimSpec> dimensions() { return kDims; }

const DimSpec& dimension(Dim d) {
  for (const DimSpec& s : kDims)
    if (s.dim == d) return s;
  throw std::logic_error("dimension: undeclared Dim");
}

std::span<const TrialRecordSpec> trial_records() { return kTrialRecords; }
std::span<const SummarySpec> summaries() { return kSummaries; }
std::span<const OutputSpec> price_path_outputs() { return kPricePaths; }

const OutputSpec& price_path_output(std::string_view path) {
  for (const OutputSpec& o : kPricePaths)
    if (o.path == path) return o;
  throw std::logic_error(fmt::format("price_path_output: undeclared {}", path));
}

Presence Presence::of(const RunSummary& s) {
  Presence p{s.info.weighted(), !s.tokens.empty(), !s.lending.empty()};
  p.thresholds = !s.info.thresholds.empty();
  p.contributions = s.contributions;
  return p;
}
Presence Presence::of(const RecordShape& r, bool weighted) { return {weighted, r.tokens > 0, r.lending > 0}; }

std::vector<const TrialRecordSpec*> trial_records(const Presence& p) {
  std::vector<const TrialRecordSpec*> out;
  for (const TrialRecordSpec& r : kTrialRecords)
    if (r.out.present(p)) out.push_back(&r);
  return out;
}

std::vector<const SummarySpec*> summaries(const Presence& p) {
  std::vector<const SummarySpec*> out;
  for (const SummarySpec& s : kSummaries)
    if (s.out.present(p)) out.push_back(&s);
  return out;
}

const char* needs_name(Needs n) {
  switch (n) {
    case Needs::Nothing: return "";
    case Needs::Weights: return "weights";
    case Needs::Tokens: return "tokens";
    case Needs::LendingMarkets: return "lending_markets";
    case Needs::PricePaths: return "price_paths";
    case Needs::Thresholds: return "thresholds";
    case Needs::Contributions: return "contributions";
  }
  throw std::logic_error("needs_name: undeclared Needs");
}

const TrialRecordSpec& trial_record(std::vector<double> TrialBlock::*field) {
  for (const TrialRecordSpec& r : kTrialRecords)
    if (r.field == field) return r;
  throw std::logic_error("trial_record: undeclared TrialBlock field");
}

Extents Extents::of(const RunSummary& s) {
  Extents e{0, s.info.trials, s.holders.size(), s.avs.size(), s.pools.size(), s.tokens.size(), s.lending.size()};
  e.thresholds = s.info.thresholds.size();
  e.operators = s.operators.size();
  return e;
}
Extents Extents::of(const RecordShape& r, size_t trials) { return {0, trials, r.holders, r.avs, r.pools, r.tokens, r.lending}; }

size_t extent(Dim d, const Extents& e) {
  switch (d) {
    case Dim::Point: return e.points;
    case Dim::Trial: return e.trials;
    case Dim::Holder: return e.holders;
    case Dim::Cause: return kLossCauseCount;
    case Dim::Avs: return e.avs;
    case Dim::Pool: return e.pools;
    case Dim::Asset: return kAssetCount;
    case Dim::LossQuantile: return kLossQuantileLevels.size();
    case Dim::ReturnQuantile: return kReturnQuantileLevels.size();
    case Dim::Token: return e.tokens;
    case Dim::Lending: return e.lending;
    case Dim::Worst: return e.worst;
    case Dim::PathPoint: return e.path_points;
    case Dim::Threshold: return e.thresholds;
    case Dim::Operator: return e.operators;
  }
  throw std::logic_error("extent: undeclared Dim");
}

std::vector<size_t> extents(std::span<const Dim> dims, const Extents& e) {
  std::vector<size_t> out;
  for (const Dim d : dims) out.push_back(extent(d, e));
  return out;
}

std::vector<double> summary_values(const SummarySpec& spec, const RunSummary& s) {
  std::vector<double> out;
  for_each_element(spec.out.shape.dims(), Extents::of(s), [&](size_t i, size_t j) { out.push_back(spec.field.get(s, i, j)); });
  return out;
}

void set_summary_values(const SummarySpec& spec, std::span<const double> values, RunSummary& s) {
  size_t k = 0;
  for_each_element(spec.out.shape.dims(), Extents::of(s), [&](size_t i, size_t j) {
    if (k == values.size()) throw std::logic_error(fmt::format("{}: too few values", spec.out.path));
    spec.field.set(s, i, j) = values[k++];
  });
  if (k != values.size()) throw std::logic_error(fmt::format("{}: too many values", spec.out.path));
}

std::string schema_json() {
  auto output = [](const OutputSpec& o) {
    std::vector<std::string> dims;
    for (const Dim d : o.shape.dims()) dims.push_back(json_string(dimension(d).name));
    // weighted_only: as readers before `needs` existed knew it.
    return fmt::format("    {{\"path\": {}, \"dims\": [{}], \"unit\": {}, \"description\": {}, \"weighted_only\": {}, "
                       "\"needs\": {}}}",
                       json_string(o.path), fmt::join(dims, ", "), json_string(o.unit), json_string(o.description),
                       o.needs == Needs::Weights ? "true" : "false",
                       o.needs == Needs::Nothing ? std::string("null") : json_string(needs_name(o.needs)));
  };
  std::vector<std::string> dims, records, sums, paths;
  for (const DimSpec& d : kDims)
    dims.push_back(fmt::format("    {{\"name\": {}, \"scale\": {}, \"description\": {}}}", json_string(d.name),
                               json_string(d.scale), json_string(d.description)));
  for (const TrialRecordSpec& r : kTrialRecords) records.push_back(output(r.out));
  for (const SummarySpec& s : kSummaries) sums.push_back(output(s.out));
  for (const OutputSpec& o : kPricePaths) paths.push_back(output(o));
  return fmt::format("{{\n  \"dimensions\": [\n{}\n  ],\n  \"trial_records\": [\n{}\n  ],\n  \"summaries\": [\n{}\n  ],\n"
                     "  \"price_paths\": [\n{}\n  ]\n}}\n",
                     fmt::join(dims, ",\n"), fmt::join(records, ",\n"), fmt::join(sums, ",\n"), fmt::join(paths, ",\n"));
}

std::string schema_markdown() {
  std::string out = "| dimension | scale | meaning |\n|---|---|---|\n";
  for (const DimSpec& d : kDims)
    out += fmt::format("| `{}` | {} | {} |\n", d.name, *d.scale ? fmt::format("`/{}`", d.scale) : "—", d.description);
  out += "\n| dataset | shape | units | meaning |\n|---|---|---|---|\n";
  auto row = [&](const OutputSpec& o) {
    const char* only = o.needs == Needs::Weights          ? " (weighted runs only)"
                       : o.needs == Needs::Tokens         ? " (runs with a [[token]] only)"
                       : o.needs == Needs::LendingMarkets ? " (runs with a [[lending_market]] only)"
                       : o.needs == Needs::PricePaths     ? " (results files of runs with a [[token]] and --price-paths above 0 only)"
                       : o.needs == Needs::Thresholds     ? " (results files of runs with --threshold only)"
                       : o.needs == Needs::Contributions  ? " (results files of runs with --contributions only)"
                                                          : "";
    out += fmt::format("| `/{}` | {} | {} | {}{} |\n", o.path, shape_text(o.shape.dims()), o.unit, o.description, only);
  };
  for (const TrialRecordSpec& r : kTrialRecords) row(r.out);
  for (const SummarySpec& s : kSummaries) row(s.out);
  for (const OutputSpec& o : kPricePaths) row(o);
  return out;
}

}  // namespace restake
