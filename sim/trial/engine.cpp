#include "trial/engine.hpp"

#include <algorithm>
#include <array>
#include <future>
#include <optional>

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

namespace restake {

void simulate_trial(const Model& m, const Plans& plans, std::uint64_t seed, std::uint64_t trial, TrialDraws& draws,
                    Trial& runner, const TrialRecord& out) {
  sample_trial(m, plans.sampler, seed, trial, draws);
  runner.run(draws, out);
}

namespace {
struct Workspace {
  TrialDraws draws;
  std::optional<Trial> trial;  // built on the run's plans by the thread that first uses it
  std::vector<FixedSum> avs_holder_loss;  // this thread's share of the block's sum
};
}  // namespace

void run_trials(const Model& m, const RunSpec& o, const std::function<void(const TrialBlock&)>& on_block) {
  const Plans plans = Plans::of(m);
  const RecordShape shape = RecordShape::of(m);
  tbb::task_arena arena(o.threads > 0 ? o.threads : tbb::task_arena::automatic);
  tbb::enumerable_thread_specific<Workspace> workspaces;

  auto compute = [&](TrialBlock& block, std::uint64_t done) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(o.block_trials, o.trials - done));
    const std::uint64_t first = o.first_trial + done;
    block.reset(shape, first, n);
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 256), [&](const tbb::blocked_range<std::size_t>& r) {
        Workspace& w = workspaces.local();
        if (!w.trial) w.trial.emplace(m, plans.world, plans.mechanisms);
        w.avs_holder_loss.resize(block.avs_holder_loss.size(), 0);
        for (std::size_t i = r.begin(); i != r.end(); ++i) {
          TrialRecord row = block.row(i);
          row.avs_holder_loss = w.avs_holder_loss;
          simulate_trial(m, plans, o.seed, first + i, w.draws, *w.trial, row);
        }
      });
    });
    // Exact integer sums: the same total whichever thread computed which trials.
    for (Workspace& w : workspaces)
      for (std::size_t k = 0; k < w.avs_holder_loss.size(); ++k) {
        block.avs_holder_loss[k] += w.avs_holder_loss[k];
        w.avs_holder_loss[k] = 0;
      }
  };

  // Double buffering: the next block is computed while the consumer (typically compressing and
  // writing to HDF5, which is single-threaded) handles the current one.
  std::array<TrialBlock, 2> blocks;
  if (o.trials == 0) return;
  compute(blocks[0], 0);
  std::uint64_t done = blocks[0].count;
  for (std::size_t k = 0;; ++k) {
    TrialBlock& current = blocks[k % 2];
    TrialBlock& next = blocks[(k + 1) % 2];
    const bool more = done < o.trials;
    std::future<void> ahead;
    if (more) ahead = std::async(std::launch::async, [&, done] { compute(next, done); });
    try {
      on_block(current);
    } catch (...) {
      if (ahead.valid()) ahead.wait();  // never leave a computation running on freed memory
      throw;
    }
    if (!more) break;
    ahead.get();
    done += next.count;
  }
}

}  // namespace restake
