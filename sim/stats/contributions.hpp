#pragma once
// Risk contributions (Euler allocation): how much each loss cause, AVS and operator adds to a
// holder's ES 99% and VaR 99%. ES_p is a mean over the trials in the tail, so each contributor's
// share is the same mean of its own part of those trials' losses (Tasche 1999): the shares add up
// to the ES. VaR_p's is E[part | loss = VaR_p], estimated over a window of trials around the VaR's
// rank (or over the trials tied at it) and scaled to add up to it (Gourieroux, Laurent & Scaillet
// 2000).
//
// A trial's net loss splits three ways, each adding up to it: by cause (the gross loss of each
// cause, minus what coverage paid), by AVS (each AVS's slashings, the gross losses from no AVS,
// minus coverage) and by operator (the gross losses of the positions delegated to each operator,
// or run by it when not restaked, minus coverage). Records keep the causes but not the AVSs or
// operators of a trial, so the tail trials are re-run (a trial is a pure function of model, seed
// and index) with every loss kept; the re-run is checked against the records bit for bit. The
// re-runs share the run's threads; each trial's parts are summed as it is re-run and its losses
// dropped, in chunks of trials added in a fixed order (the same bits on any number of threads).
#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/model.hpp"
#include "trial/run_spec.hpp"
#include "trial/trial.hpp"

namespace restake {

inline constexpr double kContributionLevel = 0.99;

// What each contributor adds to one statistic of one holder, as shares of its initial value.
struct Contributions {
  std::array<double, kLossCauseCount> cause{};  // gross
  std::vector<double> avs;                      // [avs] gross
  double other = 0.0;                           // gross losses no AVS's slashing caused
  std::vector<double> op;                       // [operator] gross, of the positions delegated to it (or run by it)
  double coverage = 0.0;                        // minus what coverage pools paid back (<= 0)
  double total = 0.0;                           // the statistic: each view adds up to it
};

struct HolderContributions {
  Contributions es99, var99;
};

// The trials a holder's ES_p and VaR_p rest on, and what each weighs in them. Trials in order of
// loss, largest first, ties by trial index. ES: the upper tail's first n (1 - p) of weight, the
// last trial in part (expected_shortfall_sorted's Acerbi-Tasche estimator); with weights adding up
// to less than that, the rest on the trial of the smallest loss, as weighted_expected_shortfall_sorted
// puts it (so that trial may be listed twice). VaR: when several trials tie at the VaR (an atom), up
// to 2 h + 1 of them; else the trials within h ranks of the VaR's, h = round(sqrt(n (1 - p)) / 2) at
// least 1; each with its own weight. None when the VaR is 0.
struct TailTrials {
  std::vector<std::uint64_t> es_trial, var_trial;
  std::vector<double> es_weight, var_weight;
  double es_denominator = 0.0;  // n (1 - p)
  double var = 0.0;             // the VaR_p the window is around
};
TailTrials tail_trials(std::span<const double> loss, std::span<const double> w, double p);

// Every holder's contributions at kContributionLevel. `loss_column(h)` is holder h's loss_fraction
// record over the run's trials, `weight` the trials' weights (empty: plain Monte Carlo). Throws
// std::logic_error if a re-run trial's record differs from the run's.
std::vector<HolderContributions> risk_contributions(const Model& m, const RunSpec& run,
                                                    const std::function<std::vector<double>(std::size_t holder)>& loss_column,
                                                    const std::vector<double>& weight);

}  // namespace restake
