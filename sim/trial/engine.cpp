#include "trial/engine.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

namespace restake {

void simulate_trial(const Model& m, const Plans& plans, std::uint64_t seed, std::uint64_t trial, TrialDraws& draws,
                    Trial& runner, const TrialRecord& out) {
  sample_trial(m, plans.sampler, seed, trial, draws);
  runner.run(draws, out);
}

TrialRerun::TrialRerun(const Model& m, const RunSpec& run)
    : m_(m), seed_(run.seed), plans_(Plans::of(m, run.tilt)), runner_(m, plans_.world, plans_.mechanisms) {}

const TrialRecord& TrialRerun::run(std::uint64_t trial, const std::function<void(TrialRecord&)>& ask) {
  block_.reset(RecordShape::of(m_), trial, 1);
  shares_.clear();
  out_ = block_.row(0, shares_);
  if (ask) ask(out_);
  simulate_trial(m_, plans_, seed_, trial, draws_, runner_, out_);
  return out_;
}

namespace {

struct Workspace {
  TrialDraws draws;
  std::optional<Trial> trial;  // built on the run's plans by the thread that first uses it
  // AVS x holder losses of the trials this thread ran in the block, and where each trial's end.
  std::vector<AvsHolderShare> shares;
  std::vector<std::pair<std::size_t, std::size_t>> ends;  // {trial in the block, end in `shares`}
};

// Moves each thread's AVS x holder losses into the block, in trial order. A trial's losses are
// together in the list of the thread that ran it.
void gather_avs_shares(TrialBlock& block, tbb::enumerable_thread_specific<Workspace>& workspaces) {
  std::vector<std::uint64_t>& end = block.avs_shares_end;  // the counts first, then their running sum
  for (const Workspace& w : workspaces)
    for (std::size_t k = 0, from = 0; k < w.ends.size(); from = w.ends[k++].second) end[w.ends[k].first] = w.ends[k].second - from;
  std::partial_sum(end.begin(), end.end(), end.begin());
  block.avs_shares.resize(end.empty() ? 0 : end.back());
  for (Workspace& w : workspaces) {
    for (std::size_t k = 0, from = 0; k < w.ends.size(); from = w.ends[k++].second) {
      const auto [trial, to] = w.ends[k];
      std::copy(w.shares.begin() + static_cast<std::ptrdiff_t>(from), w.shares.begin() + static_cast<std::ptrdiff_t>(to),
                block.avs_shares.begin() + static_cast<std::ptrdiff_t>(end[trial] - (to - from)));
    }
    w.shares.clear();
    w.ends.clear();
  }
}

}  // namespace

void run_trials(const Model& m, const RunSpec& o, const std::function<void(const TrialBlock&)>& on_block,
                const std::function<bool()>& stop) {
  const Plans plans = Plans::of(m, o.tilt);
  const RecordShape shape = RecordShape::of(m);
  tbb::task_arena arena(o.threads > 0 ? o.threads : tbb::task_arena::automatic);
  // The consumer's stages (the tally) run in parallel from the calling thread: the run's thread
  // count holds for them too.
  std::optional<tbb::global_control> limit;
  if (o.threads > 0) limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(o.threads));
  tbb::enumerable_thread_specific<Workspace> workspaces;
  std::atomic<bool> stopped{false};  // once set, the remaining trials of the block are skipped
  const auto should_stop = [&] {
    if (!stop) return false;
    if (!stopped.load(std::memory_order_relaxed) && stop()) stopped = true;
    return stopped.load(std::memory_order_relaxed);
  };

  auto compute = [&](TrialBlock& block, std::uint64_t done) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(o.block_trials, o.trials - done));
    const std::uint64_t first = o.first_trial + done;
    block.reset(shape, first, n);
    if (plans.sampler.tilted) block.weight.assign(n, 0.0);
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 256), [&](const tbb::blocked_range<std::size_t>& r) {
        Workspace& w = workspaces.local();
        if (!w.trial) w.trial.emplace(m, plans.world, plans.mechanisms);
        for (std::size_t i = r.begin(); i != r.end(); ++i) {
          if (should_stop()) return;
          const std::size_t before = w.shares.size();
          simulate_trial(m, plans, o.seed, first + i, w.draws, *w.trial, block.row(i, w.shares));
          if (plans.sampler.tilted) block.weight[i] = w.draws.weight;
          if (w.shares.size() > before) w.ends.emplace_back(i, w.shares.size());
        }
      });
    });
    if (stopped) throw RunStopped();  // the block lacks trials: drop it (the shares go with the workspaces)
    gather_avs_shares(block, workspaces);
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

namespace {

// Rows of a streamed run held at once by a thread: enough to amortise the consumer's call, few
// enough to stay in cache (a trial of a 1,000-holder world writes ~100 kB).
std::size_t rows_per_piece(const RecordShape& s) {
  constexpr std::size_t kPieceBytes = std::size_t{1} << 16;
  return std::clamp<std::size_t>(kPieceBytes / (s.doubles_per_trial() * sizeof(double)), 1, 256);
}

}  // namespace

std::size_t block_trials_for(const RecordShape& shape) {
  constexpr std::size_t kBlockBytes = std::size_t{64} << 20;
  return std::clamp<std::size_t>(kBlockBytes / (shape.doubles_per_trial() * sizeof(double)), 64, RunSpec{}.block_trials);
}

void stream_trials(const Model& m, const RunSpec& o, std::uint64_t chunk_trials, ChunkSink& sink, const std::function<bool()>& stop,
                   ChunkShare share) {
  if (chunk_trials == 0) throw std::invalid_argument("stream_trials: chunks of 0 trials");
  if (share.of == 0 || share.index >= share.of)
    throw std::invalid_argument(fmt::format("stream_trials: share {} of {} chunks", share.index, share.of));
  if (o.trials == 0) return;
  const Plans plans = Plans::of(m, o.tilt);
  const RecordShape shape = RecordShape::of(m);
  const std::size_t rows = rows_per_piece(shape);
  const std::uint64_t first = o.first_trial, end = o.first_trial + o.trials;
  const std::uint64_t first_chunk = first / chunk_trials, chunks = (end - 1) / chunk_trials + 1 - first_chunk;
  tbb::task_arena arena(o.threads > 0 ? o.threads : tbb::task_arena::automatic);
  const int lanes = arena.max_concurrency();

  std::atomic<std::uint64_t> next{0};  // the next of this share's chunks to hand out (k = index + next x of)
  std::atomic<bool> stopped{false}, failed{false};  // failed: a lane threw; the others stop too
  const auto should_stop = [&] {
    if (failed.load(std::memory_order_relaxed)) return true;
    if (!stop) return false;
    if (!stopped.load(std::memory_order_relaxed) && stop()) stopped = true;
    return stopped.load(std::memory_order_relaxed);
  };
  // Chunks run, waiting for the ones before them to be closed. A lane does not start a chunk more
  // than `window` past the oldest one still open, so a slow chunk (a trial of many events) holds
  // back the others rather than letting finished chunks pile up behind it.
  std::mutex closing;
  std::condition_variable closed;
  std::map<std::uint64_t, std::unique_ptr<ChunkSink::Chunk>> waiting;
  std::uint64_t next_to_close = 0;
  const std::uint64_t window = 4 * static_cast<std::uint64_t>(lanes);
  // Under the lock, so that a lane about to wait sees the flags or gets the notification.
  const auto wake_all = [&] {
    { const std::lock_guard lock(closing); }
    closed.notify_all();
  };

  // A lane takes the next chunk until there is none: chunks go out in trial order.
  const auto lane = [&] {
    TrialDraws draws;
    Trial runner(m, plans.world, plans.mechanisms);
    TrialBlock piece;
    for (std::uint64_t j; (j = next.fetch_add(1)) < (chunks + share.of - 1 - share.index) / share.of;) {
      {
        std::unique_lock lock(closing);
        closed.wait(lock, [&] { return j < next_to_close + window || failed || stopped; });
      }
      const std::uint64_t k = share.index + j * share.of;  // the chunk of the run
      const std::uint64_t from = std::max(first, (first_chunk + k) * chunk_trials);
      const std::uint64_t to = std::min(end, (first_chunk + k + 1) * chunk_trials);
      std::unique_ptr<ChunkSink::Chunk> chunk = sink.open(from, to);
      for (std::uint64_t t = from; t < to; t += piece.count) {
        piece.reset(shape, t, static_cast<std::size_t>(std::min<std::uint64_t>(rows, to - t)));
        if (plans.sampler.tilted) piece.weight.assign(piece.count, 0.0);
        for (std::size_t i = 0; i < piece.count; ++i) {
          if (should_stop()) return;
          simulate_trial(m, plans, o.seed, t + i, draws, runner, piece.row(i));
          if (plans.sampler.tilted) piece.weight[i] = draws.weight;
          piece.end_row(i);
        }
        sink.add(*chunk, piece);
      }
      const std::lock_guard lock(closing);
      waiting.emplace(j, std::move(chunk));
      // Out of the map before it is closed: a close that throws leaves no empty entry for another
      // lane to close after it (and once a lane failed, nothing more is closed).
      while (!failed && !waiting.empty() && waiting.begin()->first == next_to_close) {
        auto next_chunk = waiting.extract(waiting.begin());
        ++next_to_close;
        try {
          sink.close(std::move(next_chunk.mapped()));
        } catch (...) {
          failed = true;  // under the lock: no other lane closes a chunk after this one
          throw;
        }
      }
      closed.notify_all();
    }
  };
  arena.execute([&] {
    tbb::parallel_for(
        0, lanes,
        [&](int) {
          try {
            lane();
          } catch (...) {
            failed = true;
            wake_all();
            throw;
          }
          wake_all();  // a lane that stopped: the others may be waiting for its chunk
        },
        tbb::simple_partitioner());
  });
  if (stopped) throw RunStopped();
}

}  // namespace restake
