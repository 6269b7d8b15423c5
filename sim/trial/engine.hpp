#pragma once
// Maps trials over threads in blocks. Each trial is a pure function of (model, seed, trial index),
// written to its own row, so a block's contents do not depend on the thread count; blocks are
// handed to the consumer in trial order.
#include <cstdint>
#include <functional>

#include "model/model.hpp"
#include "trial/propagation.hpp"
#include "trial/run_spec.hpp"
#include "trial/sampler.hpp"
#include "trial/trial_block.hpp"

namespace restake {

// Everything derived from the model that every trial reads.
struct Plans {
  SamplerPlan sampler;
  PropagationPlan propagation;
  static Plans of(const Model& m) { return {make_sampler_plan(m), make_propagation_plan(m)}; }
};

// One trial, end to end: draws then propagation.
void simulate_trial(const Model& m, const Plans& plans, std::uint64_t seed, std::uint64_t trial, TrialDraws& draws,
                    TrialWorkspace& scratch, const TrialRecord& out);

// Calls `on_block` for each block of the run in trial order, from the calling thread.
void run_trials(const Model& m, const RunSpec& run, const std::function<void(const TrialBlock&)>& on_block);

}  // namespace restake
