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

// Trials of a run re-run alone, one after another, after the run (a trial is a pure function of
// model, seed and index): for what a run does not keep, such as a market episode's price path or
// every booked loss. `m` must outlive it; it refers into its own plans, so it stays where it is.
class TrialRerun {
 public:
  TrialRerun(const Model& m, const RunSpec& run);
  TrialRerun(const TrialRerun&) = delete;
  TrialRerun& operator=(const TrialRerun&) = delete;
  // Runs trial `trial` (its index in the whole run, as the blocks number it). `ask` sets what the
  // caller wants kept (TrialRecord::price_paths, ::losses) before the trial runs. The record and
  // the AVS x holder losses it returns are valid until the next call.
  const TrialRecord& run(std::uint64_t trial, const std::function<void(TrialRecord&)>& ask = {});
  const std::vector<AvsHolderShare>& avs_shares() const { return shares_; }

 private:
  const Model& m_;
  std::uint64_t seed_;
  Plans plans_;
  Trial runner_;  // on plans_: declared after it
  TrialDraws draws_;
  TrialBlock block_;
  std::vector<AvsHolderShare> shares_;
  TrialRecord out_;
};

// Trials per block of a run with records unless asked otherwise: RunSpec's 32,768, fewer when a
// block would pass ~64 MiB (a 1,000-holder world writes ~100 kB per trial), since two blocks are
// in memory at once (one computed while the other is written). Never fewer than 64.
std::size_t block_trials_for(const RecordShape& shape);

// Thrown by run_trials when its `stop` hook asked it to stop.
struct RunStopped : std::runtime_error {
  RunStopped() : std::runtime_error("the run was stopped before its last trial") {}
};

// Runs the trials of `run` cut into chunks at the multiples of `chunk_trials` (trial indices, so
// the cuts fall at the same places whatever the threads), each chunk on one thread, handed out in
// trial order: a thread starts no chunk more than 4 per thread past the oldest still open, so at
// most that many finished chunks wait to be closed.
// `stop` as run_trials': once it returns true the open chunks are dropped, never closed, and
// stream_trials throws RunStopped.
// `share`: only every `of`-th chunk of the run from its `index`-th (counted from the run's first),
// for processes that split one run between them (cli/mpi_run.cpp); the sink sees those chunks
// opened and closed in trial order. The default is every chunk.
struct ChunkShare {
  std::uint64_t of = 1, index = 0;
};
void stream_trials(const Model& m, const RunSpec& run, std::uint64_t chunk_trials, ChunkSink& sink,
                   const std::function<bool()>& stop = {}, ChunkShare share = {});

// Calls `on_block` for each block of the run in trial order, from the calling thread.
// `stop`, if given, is called by the worker threads before each trial (keep it cheap and
// thread-safe); once it returns true the block in progress is dropped, never handed to
// `on_block`, and run_trials throws RunStopped. A block can take minutes: the caller (the
// command line, on a signal) need not wait for its end.
void run_trials(const Model& m, const RunSpec& run, const std::function<void(const TrialBlock&)>& on_block,
                const std::function<bool()>& stop = {});

}  // namespace restake
