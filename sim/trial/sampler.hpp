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
  enum class Kind { OperatorFault, GroupShock, AvsCondition, AvsFaulty, ContractFailure, Outage, AvsKeyCompromise, OperatorKeyCompromise } kind;
  std::size_t entity = 0;     // operator, group, AVS, contract or outage; key compromises: AVS or operator
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
  // Its events' sizes (fractions, losses given failure) under a size tilt: each drawn by inversion
  // at the upper-tail probability q = 1 - u, q of density b q^(b - 1) on (0, 1) (a Beta(b, 1));
  // b < 1 makes large sizes more likely (b = 1: the model's own law), and the draw multiplies the
  // ratio by 1 / (b q^(b - 1)). For sizes with an exponential tail in -log q this is the
  // exponential tilt of compound sums, and one large size is as easy to reach as many moderate ones.
  bool inverted = false;
  double size_exponent = 1.0;  // b
};

// Importance sampling (Glasserman & Li 2005): draw each event source at its rate times a factor,
// and weigh every trial by its likelihood ratio, exact for Poisson sources: with means mu (the
// model's) and mu' (tilted) over the horizon and N events drawn, exp(mu' - mu) (mu / mu')^N,
// multiplied over the sources. `defensive` > 0 draws that share of the trials at the model's own
// rates (a mixture, Hesterberg 1995): each trial then weighs 1 / (defensive + (1 - defensive) / L),
// L its ratio above, at most 1 / defensive.
struct Tilt {
  std::vector<double> rate_factor;  // [event source of SamplerPlan::sources]; empty: no tilt
  // [event source]: the exponent b of each source's event sizes (EventSource::size_exponent; 1:
  // their own law, drawn by inversion); empty: sizes drawn as in a plain run. Only sources whose
  // sizes are random and set how much is lost take one: operator faults, group shocks, AVS
  // slashings (conditions and faulty), contract and bridge failures; not outages.
  std::vector<double> size_exponent;
  double defensive = 0.0;  // in [0, 1)
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
// each finite and > 0; size exponents likewise, for sources that take one; defensive in [0, 1)).
SamplerPlan make_sampler_plan(const Model& m, const Tilt& tilt = {});
// A source as a reader names it: "operator op-a: faults", "avs eigenda: condition liveness on operator op-a".
std::string source_label(const Model& m, const EventSource& s);

// Whether a thief with operator `op`'s key can reach any stake: some token position (a liquid
// staking token, on other operators' validators) is delegated to it through a protocol whose
// operator sets may redistribute (ELIP-006 does not redistribute native ETH).
bool operator_key_reaches_stake(const Model& m, std::size_t op);

// Whether source s's event sizes can be tilted (Tilt::size_exponent): random, and not an outage's.
bool takes_size_tilt(const Model& m, const EventSource& s);

// Events a firing of source s makes (a group shock hits each member, an outage each operator).
std::size_t events_per_firing(const Model& m, const EventSource& s);
// Events a trial of this plan expects, at its tilted rates (the budget kMaxExpectedEventsPerTrial).
double expected_events(const Model& m, const SamplerPlan& p);


struct TrialDraws {
  double base_apr = 0.0;
  std::vector<double> subsidy_days;  // per AVS: drawn half-life or cliff day
  struct Withdrawal {
    double share = 0.0;           // of the balance still staked at the request
    double day = 0.0;             // the request's day, or days after the first fault reaching the holder
    double exit_queue_eth = 0.0;  // ETH ahead in the beacon exit queue
  };
  std::vector<Withdrawal> withdrawals;  // per [[withdrawal]] entry
  std::vector<double> allocation_change_days;  // per [[allocation_change]]: its day, or days after the first fault
  struct Sellers {
    double share = 0.0;    // of the token's supply
    double trigger = 0.0;  // the fall that sets them selling
  };
  std::vector<Sellers> sellers;      // per [[token]]
  std::vector<Event> events;         // in no particular order
  double weight = 1.0;               // likelihood ratio (1 unless the plan is tilted)
  struct Fired {
    std::uint32_t source, events;  // index in SamplerPlan::sources, events it drew
    std::uint32_t sizes = 0;       // sizes drawn by inversion (EventSource::inverted)
    double log_q = 0.0;            // the sum of the logs of their upper-tail probabilities
  };
  std::vector<Fired> fired;  // the random sources that fired, in source order
};

// Pure function of (model, seed, trial); `out` is reused to avoid allocations.
void sample_trial(const Model& m, const SamplerPlan& plan, std::uint64_t seed, std::uint64_t trial, TrialDraws& out);

// Smallest n with P(N <= n) >= u for N ~ Poisson(mean): monotone in mean for a fixed u.
std::uint32_t poisson_inverse(double mean, double u);

}  // namespace restake
