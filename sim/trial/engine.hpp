#pragma once
// Maps trials over threads in blocks. Each trial is a pure function of (model, seed, trial index),
// written to its own row, so a block's contents do not depend on the thread count; blocks are
// handed to the consumer in trial order.
#include <cstdint>
#include <functional>
#include <stdexcept>

#include "model/model.hpp"
#include "trial/mechanisms.hpp"
#include "trial/run_spec.hpp"
#include "trial/sampler.hpp"
#include "trial/trial.hpp"
#include "trial/trial_block.hpp"
#include "trial/world.hpp"

namespace restake {

// Everything derived from the model that every trial reads. Trials refer into it: it must stay
// where it is while they run.
struct Plans {
  SamplerPlan sampler;
  World world;
  MechanismTypes mechanisms;
  static Plans of(const Model& m, const Tilt& tilt = {}) {
    Plans p{make_sampler_plan(m, tilt), make_world(m), {}};
    p.mechanisms = make_mechanisms(m, p.world);
    return p;
  }
};

// One trial, end to end: the draws (path generation), then the event loop over them (the trial's
// losses and rewards). `runner` is a thread's Trial built on `plans`.
void simulate_trial(const Model& m, const Plans& plans, std::uint64_t seed, std::uint64_t trial, TrialDraws& draws,
                    Trial& runner, const TrialRecord& out);

// Thrown by run_trials when its `stop` hook asked it to stop.
struct RunStopped : std::runtime_error {
  RunStopped() : std::runtime_error("the run was stopped before its last trial") {}
};

// Calls `on_block` for each block of the run in trial order, from the calling thread.
// `stop`, if given, is called by the worker threads before each trial (keep it cheap and
// thread-safe); once it returns true the block in progress is dropped, never handed to
// `on_block`, and run_trials throws RunStopped. A block can take minutes: the caller (the
// command line, on a signal) need not wait for its end.
void run_trials(const Model& m, const RunSpec& run, const std::function<void(const TrialBlock&)>& on_block,
                const std::function<bool()>& stop = {});

}  // namespace restake
