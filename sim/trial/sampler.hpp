#pragma once
// Draws one trial's random inputs: the base APR, each AVS's subsidy decay, and every event
// (operator faults, group shocks, AVS slashings, contract failures) with its time and size.
// Knows nothing of balances: the trial's event loop (trial.hpp) turns these draws into losses.
#include <cstddef>
#include <cstdint>
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
};

// Built once per model: the event sources in a fixed order.
struct SamplerPlan {
  std::vector<EventSource> sources;
  double horizon_days = 0.0;
};
SamplerPlan make_sampler_plan(const Model& m);


struct TrialDraws {
  double base_apr = 0.0;
  std::vector<double> subsidy_days;  // per AVS: drawn half-life or cliff day
  std::vector<Event> events;         // in no particular order
};

// Pure function of (model, seed, trial); `out` is reused to avoid allocations.
void sample_trial(const Model& m, const SamplerPlan& plan, std::uint64_t seed, std::uint64_t trial, TrialDraws& out);

// Smallest n with P(N <= n) >= u for N ~ Poisson(mean): monotone in mean for a fixed u.
std::uint32_t poisson_inverse(double mean, double u);

}  // namespace restake
