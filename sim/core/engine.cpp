#include "engine.hpp"

#include <algorithm>

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

namespace restake {

void simulate_trial(const Model& m, const Plans& plans, std::uint64_t seed, std::uint64_t trial, TrialDraws& draws,
                    TrialScratch& scratch, const TrialRecord& out) {
  sample_trial(m, plans.sampler, seed, trial, draws);
  propagate(m, plans.propagation, draws, scratch, out);
}

namespace {
struct Workspace {
  TrialDraws draws;
  TrialScratch scratch;
};
}  // namespace

void run_trials(const Model& m, const RunOptions& o, const std::function<void(const TrialBlock&)>& on_block) {
  const Plans plans = Plans::of(m);
  const RecordShape shape = RecordShape::of(m);
  tbb::task_arena arena(o.threads > 0 ? o.threads : tbb::task_arena::automatic);
  tbb::enumerable_thread_specific<Workspace> workspaces;
  TrialBlock block;
  for (std::uint64_t done = 0; done < o.trials;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(o.block_trials, o.trials - done));
    const std::uint64_t first = o.first_trial + done;
    block.reset(shape, first, n);
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 256), [&](const tbb::blocked_range<std::size_t>& r) {
        Workspace& w = workspaces.local();
        for (std::size_t i = r.begin(); i != r.end(); ++i)
          simulate_trial(m, plans, o.seed, first + i, w.draws, w.scratch, block.row(i));
      });
    });
    on_block(block);
    done += n;
  }
}

}  // namespace restake
