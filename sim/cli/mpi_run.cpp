#include "mpi_run.hpp"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <tbb/info.h>

#include "interrupt.hpp"
#include "io/toml_reader.hpp"
#include "stats/tally_codec.hpp"
#include "stats/tally_sink.hpp"
#include "sweep/block_codec.hpp"

namespace restake {

namespace {

// Rank r -> rank 0: kChunk (chunks' ordered sums, the rank's chunks in trial order) or kBlock (a
// block of records, the rank's in trial order). Rank r -> r - step at the end of a streamed run:
// kFinal (the order-free sums and worst trials of r and the ranks it took them from).
// Rank 0 -> rank r: kCredit (how many chunks rank 0 has closed, once per round of `ranks` chunks).
enum Tag : int { kChunk = 11, kFinal = 12, kBlock = 13, kCredit = 14 };

// OpenMPI's blocking waits busy-poll a core the computing threads need: poll and sleep instead,
// at most a fraction of a millisecond per chunk of tens of milliseconds.
void nap() { std::this_thread::sleep_for(std::chrono::microseconds(200)); }

int byte_count(const std::vector<char>& bytes, const char* what) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    throw std::runtime_error(fmt::format("MPI run: {} of {} bytes, more than one MPI message carries", what, bytes.size()));
  return static_cast<int>(bytes.size());
}

void send(const std::vector<char>& bytes, int to, int tag, const char* what) {
  MPI_Request r;
  MPI_Isend(bytes.data(), byte_count(bytes, what), MPI_BYTE, to, tag, MPI_COMM_WORLD, &r);
  for (int done = 0; MPI_Test(&r, &done, MPI_STATUS_IGNORE), !done;) nap();
}

// The message with `tag` from `source` (MPI_ANY_SOURCE: any), if one has arrived.
std::optional<std::pair<int, std::vector<char>>> try_receive(int source, int tag) {
  MPI_Status status;
  int arrived = 0;
  MPI_Iprobe(source, tag, MPI_COMM_WORLD, &arrived, &status);
  if (!arrived) return std::nullopt;
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::vector<char> bytes(static_cast<std::size_t>(count));
  MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return std::pair(status.MPI_SOURCE, std::move(bytes));
}

std::vector<char> receive(int source, int tag) {
  for (;;) {
    if (auto got = try_receive(source, tag)) return std::move(got->second);
    throw_if_interrupted();
    nap();
  }
}

// How far a rank's chunks may run ahead of rank 0's merge, so that the chunks waiting on rank 0
// stay bounded (docs/cluster.md): a rank hands on chunk k only once rank 0 has closed more than
// k - window chunks. Two rounds of the rank's threads, as stream_trials lets a process's threads
// run a few chunks each past its oldest open one: a rank keeping up is never held back.
struct Credit {
  std::uint64_t closed = 0;  // chunks rank 0 has closed, as last heard (under the run's lock)
  std::uint64_t window = 0;

  // Chunk k's turn to be handed on, waiting with `g` held; RunStopped once `give_up` says so.
  void await(std::unique_lock<std::mutex>& g, std::condition_variable& wake, std::uint64_t k,
             const std::function<bool()>& give_up) const {
    while (k >= closed + window) {
      if (give_up()) throw RunStopped();
      wake.wait_for(g, std::chrono::milliseconds(1));
    }
  }
};

// Credits rank 0 sends each other rank in a run of `chunks`: after every `ranks` chunks it closes,
// but the last.
std::uint64_t credit_messages(std::uint64_t chunks, std::uint64_t ranks) { return (chunks - 1) / ranks; }

// The rank's share of the stream on a thread of its own, so that the calling thread alone speaks
// MPI. The sink's hand-over takes `lock` and notifies `wake`; so does the end of the thread.
struct ShareThread {
  std::mutex& lock;
  std::condition_variable& wake;
  bool finished = false;       // under `lock`
  std::exception_ptr error;    // under `lock`: why it ended early
  std::atomic<bool>& abandoned;  // set when the calling thread failed: stop at the next trial
  std::thread thread;

  ShareThread(std::mutex& lock, std::condition_variable& wake, std::atomic<bool>& abandoned, const Model& m, const RunSpec& spec,
              TallySink& sink, const std::function<bool()>& stop, ChunkShare share)
      : lock(lock), wake(wake), abandoned(abandoned) {
    thread = std::thread([this, &m, spec, &sink, stop, share] {
      std::exception_ptr failed;
      try {
        stream_trials(m, spec, kTallyChunk, sink, [this, &stop] { return this->abandoned.load(std::memory_order_relaxed) || (stop && stop()); },
                      share);
      } catch (...) {
        failed = std::current_exception();
      }
      const std::lock_guard g(this->lock);
      finished = true;
      error = failed;
      this->wake.notify_all();
    });
  }
  // Never leaves it running on what the caller frees; a caller that failed does not wait for the
  // rest of its trials.
  ~ShareThread() {
    abandoned = true;
    thread.join();
  }
  // Call with `lock` held: rethrows the thread's exception, if it ended with one.
  void rethrow() const {
    if (error) std::rethrow_exception(error);
  }
};

// Every rank's order-free sums (fixed-point sums, sketches, max weight) and worst trials into rank
// 0's, up a binomial tree: rank r takes those of r + 1, r + 2, r + 4, ... while r is a multiple of
// twice the step, then sends its own (and theirs) to r - step. Merges are exact in any order, so the
// tree gives rank 0 what one process has; rank 0 receives log2(ranks) messages, not ranks - 1.
void reduce_exact(Tally& tally, WorstTrials& worst, const RecordShape& shape, double sketch_accuracy, const MpiSession& mpi) {
  const int rank = mpi.rank(), ranks = mpi.size();
  for (int step = 1; step < ranks; step *= 2) {
    if (rank % (2 * step) == step) {
      ByteWriter out;
      const TallyTotals t = tally.totals();
      save(out, static_cast<const ExactSums&>(t));
      save(out, worst);
      send(out.bytes, rank - step, kFinal, "a rank's quantile sketches and exact sums");
      return;
    }
    if (rank + step >= ranks) continue;
    const std::vector<char> bytes = receive(rank + step, kFinal);
    ByteReader in{bytes.data(), bytes.data() + bytes.size(), "MPI run: a rank's exact sums"};
    ExactSums e(shape, sketch_accuracy);
    load(in, e);
    WorstTrials w(worst.tokens(), worst.k());
    load(in, w);
    if (!in.done()) throw std::runtime_error("MPI run: a rank's exact sums: bytes left over");
    tally.merge_exact(e);
    worst.merge(w);
  }
}

}  // namespace

void stream_run_mpi(const Model& m, const RunSpec& run, Tally& tally, WorstTrials& worst,
                    const std::function<void(std::uint64_t)>& closed, const std::function<bool()>& stop, const MpiSession& mpi) {
  const auto ranks = static_cast<std::uint64_t>(mpi.size()), rank = static_cast<std::uint64_t>(mpi.rank());
  if (run.trials == 0) return;
  // Chunks numbered from the run's first, as stream_trials numbers them for its ChunkShare.
  const std::uint64_t first_chunk = run.first_trial / kTallyChunk;
  const std::uint64_t chunks = (run.first_trial + run.trials - 1) / kTallyChunk + 1 - first_chunk;
  const RecordShape shape = RecordShape::of(m);
  const TallyTotals options = tally.totals();  // nothing yet: the run's thresholds and sketch accuracy
  const double sketch_accuracy = options.loss_sketch.empty() ? 0.0 : options.loss_sketch.front().relative_accuracy();
  std::mutex lock;
  std::condition_variable wake;
  std::atomic<bool> abandoned{false};  // ShareThread's: the sink's waits for credit give up too
  const auto lanes = static_cast<std::uint64_t>(run.threads > 0 ? run.threads : tbb::info::default_concurrency());
  Credit credit{0, 2 * ranks * lanes};  // under `lock`
  const auto give_up = [&] { return abandoned.load(std::memory_order_relaxed) || (stop && stop()); };
  const auto own_chunk = [&](const TallyChunk& c) { return c.first / kTallyChunk - first_chunk; };

  if (rank != 0) {
    // The chunks closed since the last message, in trial order: while a message is on its way the
    // next ones gather, so a rank 0 slow to receive gets fewer, longer messages.
    std::uint64_t pending = 0;
    ByteWriter batch;
    TallySink sink(tally, worst, [&](std::unique_ptr<TallyChunk> c) {
      std::unique_lock g(lock);
      credit.await(g, wake, own_chunk(*c), give_up);
      save(batch, *c);
      ++pending;
      wake.notify_all();
    });
    std::uint64_t credits = 0;
    const auto take_credits = [&] {
      while (auto got = try_receive(0, kCredit)) {
        ByteReader in{got->second.data(), got->second.data() + got->second.size(), "MPI run: a credit"};
        const auto closed_by_0 = in.get<std::uint64_t>();
        if (!in.done()) throw std::runtime_error("MPI run: a credit: bytes left over");
        ++credits;
        const std::lock_guard g(lock);
        credit.closed = std::max(credit.closed, closed_by_0);
        wake.notify_all();
      }
    };
    ShareThread thread(lock, wake, abandoned, m, run, sink, stop, {ranks, rank});
    for (;;) {
      take_credits();
      ByteWriter message;
      {
        std::unique_lock g(lock);
        wake.wait_for(g, std::chrono::microseconds(200), [&] { return thread.finished || pending > 0; });
        thread.rethrow();
        if (pending == 0 && !thread.finished) continue;
        if (pending == 0) break;  // and finished
        message.put<std::uint64_t>(pending);
        message.bytes.insert(message.bytes.end(), batch.bytes.begin(), batch.bytes.end());
        batch.bytes.clear();
        pending = 0;
      }
      send(message.bytes, 0, kChunk, "chunks' sums");
    }
    // Every credit rank 0 sends is received, though the last ones come after this rank's last chunk.
    for (const std::uint64_t expected = credit_messages(chunks, ranks); credits < expected;) {
      take_credits();
      if (credits == expected) break;
      throw_if_interrupted();
      nap();
    }
    reduce_exact(tally, worst, shape, sketch_accuracy, mpi);
    return;
  }

  // Rank 0: its own chunks from its thread, the others' from their messages; closed in chunk order.
  std::map<std::uint64_t, std::unique_ptr<TallyChunk>> ready;  // by chunk: its own, from its thread, under `lock`
  TallySink sink(tally, worst, [&](std::unique_ptr<TallyChunk> c) {
    const std::uint64_t k = own_chunk(*c);
    std::unique_lock g(lock);
    credit.await(g, wake, k, give_up);
    ready.emplace(k, std::move(c));
    wake.notify_all();
  });
  ShareThread thread(lock, wake, abandoned, m, run, sink, stop, {ranks, 0});
  std::map<std::uint64_t, std::unique_ptr<TallyChunk>> arrived;  // other ranks', ahead of their turn
  std::uint64_t messages = 0, received = 0, received_bytes = 0, most_waiting = 0;  // for the log
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration merging{};
  for (std::uint64_t k = 0; k < chunks; ++k) {
    std::unique_ptr<TallyChunk> chunk;
    const bool own = k % ranks == 0;
    while (!chunk) {
      {
        std::unique_lock g(lock);
        thread.rethrow();
        auto& from = own ? ready : arrived;
        if (auto it = from.find(k); it != from.end()) {
          chunk = std::move(it->second);
          from.erase(it);
          break;
        }
        if (own && thread.finished) throw std::logic_error(fmt::format("MPI run: rank 0 finished without chunk {}", k));
      }
      // Another rank's chunks (this one or later ones): kept for their turn.
      if (auto got = try_receive(MPI_ANY_SOURCE, kChunk)) {
        ByteReader in{got->second.data(), got->second.data() + got->second.size(), "MPI run: chunks' sums"};
        const auto count = in.get<std::uint64_t>();
        for (std::uint64_t i = 0; i < count; ++i) {
          auto c = std::make_unique<TallyChunk>(shape, options.thresholds.size(), 0, 0);
          load(in, *c);
          const std::uint64_t at = c->first / kTallyChunk - first_chunk;
          if (at >= chunks || at % ranks != static_cast<std::uint64_t>(got->first) || at < k || arrived.contains(at))
            throw std::runtime_error(fmt::format("MPI run: rank {} sent the sums of chunk {}", got->first, at));
          arrived.emplace(at, std::move(c));
        }
        if (!in.done()) throw std::runtime_error("MPI run: chunks' sums: bytes left over");
        ++messages;
        received += count;
        received_bytes += got->second.size();
        most_waiting = std::max<std::uint64_t>(most_waiting, arrived.size());
        continue;
      }
      throw_if_interrupted();
      std::unique_lock g(lock);
      wake.wait_for(g, std::chrono::microseconds(200));
    }
    const std::uint64_t trials = chunk->end - chunk->first;
    const auto merge_start = std::chrono::steady_clock::now();
    tally.close(std::move(chunk));
    merging += std::chrono::steady_clock::now() - merge_start;
    if (closed) closed(trials);
    {
      const std::lock_guard g(lock);
      credit.closed = k + 1;
      wake.notify_all();
    }
    if ((k + 1) % ranks == 0 && k + 1 < chunks) {
      ByteWriter out;
      out.put<std::uint64_t>(k + 1);
      for (int to = 1; to < mpi.size(); ++to) send(out.bytes, to, kCredit, "a credit");
    }
  }
  {
    const std::lock_guard g(lock);
    thread.rethrow();
  }
  const auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  spdlog::debug("MPI run: {} chunks' sums from the other ranks in {} messages, {} bytes a chunk ({} in all), at most {} "
                "waiting; {} chunks closed in {:.3f} s of the trials' {:.3f} s", received, messages,
                received ? (received_bytes - 8 * messages) / received : 0, received_bytes, most_waiting, chunks, seconds(merging),
                seconds(std::chrono::steady_clock::now() - start));
  const auto reduce_start = std::chrono::steady_clock::now();
  reduce_exact(tally, worst, shape, sketch_accuracy, mpi);
  spdlog::debug("MPI run: the other ranks' sketches and exact sums merged in {:.3f} s", seconds(std::chrono::steady_clock::now() - reduce_start));
}

void record_run_mpi(const Model& m, const RunSpec& run, const std::function<void(const TrialBlock&)>& on_block,
                    const std::function<bool()>& stop, const MpiSession& mpi) {
  const auto ranks = static_cast<std::uint64_t>(mpi.size()), rank = static_cast<std::uint64_t>(mpi.rank());
  const std::uint64_t blocks = run.block_count();
  if (rank != 0) {
    // One block computed while the previous one travels (rank 0 pulls it).
    std::vector<char> bytes, sending;
    MPI_Request in_flight = MPI_REQUEST_NULL;
    for (std::uint64_t k = rank; k < blocks; k += ranks) {
      // A block through the engine itself: trial i draws from the streams of (seed, i) whatever the
      // block, so the block is the one a single process computes.
      run_trials(m, run.block(k), [&](const TrialBlock& b) { bytes = encode_block(0, k, b); }, stop);
      for (int done = 0; MPI_Test(&in_flight, &done, MPI_STATUS_IGNORE), !done;) nap();
      sending.swap(bytes);
      MPI_Isend(sending.data(), byte_count(sending, "a block of records"), MPI_BYTE, 0, kBlock, MPI_COMM_WORLD, &in_flight);
    }
    for (int done = 0; MPI_Test(&in_flight, &done, MPI_STATUS_IGNORE), !done;) nap();
    return;
  }
  const RecordShape shape = RecordShape::of(m);
  for (std::uint64_t k = 0; k < blocks; ++k) {
    const auto owner = static_cast<int>(k % ranks);
    if (owner == 0) {
      run_trials(m, run.block(k), on_block, stop);
      continue;
    }
    // A rank's blocks arrive in the order it sent them (MPI keeps the order of one sender's messages).
    DecodedBlock d =
        decode_block(receive(owner, kBlock), shape, run.block_trials, fmt::format("MPI run: block {} from rank {}", k, owner));
    if (d.index != k) throw std::runtime_error(fmt::format("MPI run: rank {} sent block {} for block {}", owner, d.index, k));
    d.block.first_trial += run.first_trial;
    on_block(d.block);
  }
}

int run_on_ranks(const MpiSession& mpi, const std::function<int()>& body) {
  const int rank = mpi.rank();
  if (rank != 0) spdlog::set_level(spdlog::level::warn);
  int code = 0;
  try {
    code = body();
  } catch (const ScenarioErrors& e) {
    for (const ScenarioError& each : e.errors) spdlog::error("{}", each.what());
    code = 2;
  } catch (const ScenarioError& e) {
    spdlog::error("{}", e.what());
    code = 2;
  } catch (const Interrupted& e) {
    spdlog::error("rank {}: {}", rank, e.what());
    code = e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("rank {}: {}", rank, e.what());
    code = 1;
  }
  if (code != 0) MPI_Abort(MPI_COMM_WORLD, code);  // the others may be waiting for this rank
  // Rank 0 says it is done; the others wait (without spinning: rank 0 may still be re-running
  // trials for price paths) so that the job ends when the file is complete, or aborts.
  MPI_Request r;
  MPI_Ibcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD, &r);
  for (int done = 0; MPI_Test(&r, &done, MPI_STATUS_IGNORE), !done;) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return code;
}

}  // namespace restake
