#pragma once
// Draws one trial's random inputs: the base APR, each AVS's subsidy decay, and every event
// (operator faults, group shocks, AVS slashings, contract failures) with its time and size.
// Knows nothing of balances: the trial's event loop (trial.hpp) turns these draws into losses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "trial/event.hpp"

namespace restake {

// Something that fires as a Poisson process over the horizon.
struct EventSource {
  enum class Kind { OperatorFault, GroupShock, AvsCondition, AvsFaulty, ContractFailure, Outage } kind;
  std::size_t entity = 0;     // operator, group, AVS, contract or outage
  std::size_t condition = 0;  // AvsCondition: index into Avs::conditions
  std::size_t member = 0;     // AvsCondition: index into Avs::allocations (the operator slashed)
  double rate_per_year = 0.0;
  double mean_events = 0.0;  // over the horizon
  double p_none = 1.0;       // exp(-mean_events): probability it stays silent in a trial
  // Importance sampling: events are drawn at the tilted mean; each one drawn multiplies the
  // trial's likelihood ratio by exp(log_ratio) = mean_events / tilted_mean.
  double tilted_mean = 0.0;
  double tilted_p_none = 1.0;
  double log_ratio = 0.0;
};

// Importance sampling (Glasserman & Li 2005): draw each event source at its rate times a factor,
// and weigh every trial by its likelihood ratio, exact for Poisson sources: with means mu (the
// model's) and mu' (tilted) over the horizon and N events drawn, exp(mu' - mu) (mu / mu')^N,
// multiplied over the sources. `defensive` > 0 draws that share of the trials at the model's own
// rates (a mixture, Hesterberg 1995): each trial then weighs 1 / (defensive + (1 - defensive) / L),
// L its ratio above, at most 1 / defensive.
struct Tilt {
  std::vector<double> rate_factor;  // [event source of SamplerPlan::sources]; empty: no tilt
  double defensive = 0.0;           // in [0, 1)
  bool active() const { return !rate_factor.empty(); }
};

// Built once per model: the event sources in a fixed order.
struct SamplerPlan {
  std::vector<EventSource> sources;
  double horizon_days = 0.0;
  bool tilted = false;
  double defensive = 0.0;
  double log_ratio_base = 0.0;  // sum over the sources of tilted_mean - mean_events
};
// Throws std::invalid_argument for a tilt that does not fit the model (one factor per source,
// each finite and > 0; defensive in [0, 1)).
SamplerPlan make_sampler_plan(const Model& m, const Tilt& tilt = {});
// A source as a reader names it: "operator op-a: faults", "avs eigenda: condition liveness on operator op-a".
std::string source_label(const Model& m, const EventSource& s);


struct TrialDraws {
  double base_apr = 0.0;
  std::vector<double> subsidy_days;  // per AVS: drawn half-life or cliff day
  std::vector<Event> events;         // in no particular order
  double weight = 1.0;               // likelihood ratio (1 unless the plan is tilted)
  struct Fired {
    std::uint32_t source, events;  // index in SamplerPlan::sources, events it drew
  };
  std::vector<Fired> fired;  // the random sources that fired, in source order
};

// Pure function of (model, seed, trial); `out` is reused to avoid allocations.
void sample_trial(const Model& m, const SamplerPlan& plan, std::uint64_t seed, std::uint64_t trial, TrialDraws& out);

// Smallest n with P(N <= n) >= u for N ~ Poisson(mean): monotone in mean for a fixed u.
std::uint32_t poisson_inverse(double mean, double u);

}  // namespace restake
