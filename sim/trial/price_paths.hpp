#pragma once
// The price paths of a run's worst trials (by each token's lowest market price, stats/worst_trials):
// the trials re-run alone after the run, with their market episodes' paths kept. A trial is a pure
// function of (model, seed, trial index), so the re-run is the trial the run computed; the re-run's
// lowest price is checked against the tallied one bit for bit, a guard on that determinism.
#include <cstddef>
#include <vector>

#include "model/model.hpp"
#include "stats/worst_trials.hpp"
#include "trial/run_spec.hpp"
#include "trial/trial.hpp"

namespace restake {

// One of a token's worst trials: its rank's trial and low, and the token's episodes in it (none
// when nothing moved the token: its low is then 1).
struct WorstTrialPaths {
  RankedTrial ranked;
  std::vector<EpisodePath> episodes;  // the token's, in time order
};

struct PricePaths {
  std::vector<std::vector<WorstTrialPaths>> of_token;  // [token][rank], worst first
  std::size_t points() const;                          // over every token, trial and episode
};

// Re-runs every trial `worst` lists (once, whichever tokens list it) with `run`'s seed and tilt,
// keeping its market paths. Throws std::logic_error naming the trial and token if a re-run's
// token_min_price differs from the tallied one, or its path's low (capped at 1) from either.
PricePaths price_paths_of(const Model& m, const RunSpec& run, const WorstTrials& worst);

}  // namespace restake
