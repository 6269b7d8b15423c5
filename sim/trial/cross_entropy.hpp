#pragma once
// Finds an importance-sampling tilt (sampler.hpp) for a tail target by the cross-entropy method
// (Rubinstein 1999; de Boer, Kroese, Mannor & Rubinstein 2005): a few small pilot runs, each
// tilting the event rates towards the trials that came closest to the target. For Poisson sources
// the update is closed form: a source's tilted mean is the weighted mean of its event count over
// the pilot's elite trials (those with a loss at or above the round's level).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/model.hpp"
#include "trial/sampler.hpp"

namespace restake {

// The event: a holder's loss (a share of its initial value, net of coverage) at least `loss`.
struct TailTarget {
  std::size_t holder = 0;
  double loss = 0.0;  // in (0, 1]
};

struct CrossEntropyOptions {
  std::uint64_t seed = 0;
  std::uint64_t pilot_trials = 10'000;  // per round
  int max_rounds = 8;
  double elite_share = 0.1;  // rho: each round's level is the pilot's (1 - rho) quantile, at most the target
  double smoothing = 0.7;    // factor = smoothing x update + (1 - smoothing) x previous factor
  double defensive = 0.1;    // of the tilt returned (a mixture bounds every weight by 1 / defensive)
};

struct CrossEntropyResult {
  Tilt tilt;
  std::vector<double> levels;  // each round's elite level; the last reached the target if `reached`
  bool reached = false;
};

// Pilot trials take indices from 2^62 up, those of no run shorter than 2^62 trials, so they share
// no draw with the run that uses the tilt. Sources are never tilted below their model rate: every way
// to the target stays sampled. Throws std::runtime_error when no pilot trial has any loss.
CrossEntropyResult find_tilt(const Model& m, const TailTarget& target, const CrossEntropyOptions& options);

}  // namespace restake
