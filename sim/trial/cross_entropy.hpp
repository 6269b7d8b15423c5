#pragma once
// Finds an importance-sampling tilt (sampler.hpp) for a tail target by the cross-entropy method
// (Rubinstein 1999; de Boer, Kroese, Mannor & Rubinstein 2005): a few small pilot runs, each
// tilting the event rates towards the trials that came closest to the target. For Poisson sources
// the update is closed form: a source's tilted mean is the weighted mean of its event count over
// the pilot's elite trials (those with a loss at or above the round's level).
#include <cstdint>
#include <vector>

#include "model/model.hpp"  // TailTarget, TailSearch
#include "trial/run_spec.hpp"
#include "trial/sampler.hpp"

namespace restake {

struct CrossEntropyResult {
  Tilt tilt;
  std::vector<double> levels;  // each round's elite level; the last reached the target if `reached`
  // The loss level the tilt aims at: the target's loss, or the last round's importance-sampling
  // estimate of the target quantile.
  double target_loss = 0.0;
  bool reached = false;
  std::uint64_t pilot_trials = 0;  // in all rounds
};

// Pilot trials take indices from 2^62 up, those of no run shorter than 2^62 trials, so they share
// no draw with the run that uses the tilt. Sources are never tilted below their model rate: every way
// to the target stays sampled. Throws std::invalid_argument for a target or options out of range,
// std::runtime_error when no pilot trial has any loss, when the elite trials' likelihood ratios
// degenerate, or when the tilted rates would expect more than kMaxExpectedEventsPerTrial events.
CrossEntropyResult find_tilt(const Model& m, const TailSearch& search, std::uint64_t seed);
// The tilt for a run (its seed), refused with std::invalid_argument when the run's trial indices
// would reach the pilots' (2^62 and up): `run --tail` and sweeps over a [tail] scenario call this.
CrossEntropyResult find_tilt(const Model& m, const TailSearch& search, const RunSpec& run);

}  // namespace restake
