#include "mpi_sweep.hpp"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "interrupt.hpp"
#include "io/scenario.hpp"
#include "sweep/block_codec.hpp"
#include "sweep_driver.hpp"
#include "trial/engine.hpp"

namespace restake {

namespace {

// Worker -> rank 0: kReady (no payload: a request for a unit, sent one unit ahead so the worker
// never waits for work) or kResult (a computed block). Rank 0 -> worker: kWork {point, block index}
// or kStop (no unit left).
enum Tag : int { kReady = 1, kResult = 2, kWork = 3, kStop = 4 };

void broadcast_string(std::string& s, int rank) {
  std::uint64_t n = s.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (rank != 0) s.resize(static_cast<std::size_t>(n));
  if (n > 0) MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD);
}

// Rank 0's BlockSource: hands the units (point, block) of the expected points to the workers on
// request, and gives a point's blocks in trial order, keeping those that arrive early until their turn.
// It streams no point (stream_point stays false): a unit is a block computed on another rank and
// sent whole, which a rank's chunks of sums would replace only with a protocol of their own.
class WorkerBlocks final : public BlockSource {
 public:
  WorkerBlocks(const RunSpec& run, const RecordShape& shape, int workers) : run_(run), shape_(shape), workers_(workers) {}

  void expect(const std::vector<std::size_t>& points) override { points_ = points; }

  void for_each_block(std::size_t point, const Model&, const BlockFn& on_block) override {
    for (std::uint64_t k = 0; k < run_.block_count(); ++k) {
      auto it = waiting_.find({point, k});
      for (; it == waiting_.end(); it = waiting_.find({point, k})) receive();
      on_block(it->second);
      waiting_.erase(it);
    }
  }

  // After the last point: every worker's last request is answered with kStop.
  void stop_workers() {
    while (stopped_ < workers_) receive();
  }

 private:
  // One message: a request for a unit (answered) or a computed block (kept).
  void receive() {
    // MPI_Probe would spin on a core the workers need (OpenMPI busy-polls): poll and sleep instead,
    // which costs at most a fraction of a millisecond per block of tens of milliseconds.
    MPI_Status status;
    for (int arrived = 0;;) {
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &arrived, &status);
      if (arrived) break;
      throw_if_interrupted();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    bytes_.resize(static_cast<std::size_t>(count));
    MPI_Recv(bytes_.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (status.MPI_TAG == kReady) {
      if (next_point_ < points_.size()) {
        const std::uint64_t unit[2] = {points_[next_point_], next_block_};
        MPI_Send(unit, 2, MPI_UINT64_T, status.MPI_SOURCE, kWork, MPI_COMM_WORLD);
        if (++next_block_ == run_.block_count()) {
          ++next_point_;
          next_block_ = 0;
        }
      } else {
        MPI_Send(nullptr, 0, MPI_UINT64_T, status.MPI_SOURCE, kStop, MPI_COMM_WORLD);
        ++stopped_;
      }
      return;
    }
    if (status.MPI_TAG != kResult) throw std::runtime_error("MPI sweep: unexpected message");
    DecodedBlock d = decode_block(bytes_, shape_, run_.block_trials);
    waiting_.emplace(std::pair(static_cast<std::size_t>(d.point), d.index), std::move(d.block));
  }

  const RunSpec run_;
  const RecordShape shape_;  // every point's: a sweep never changes which entities exist
  const int workers_;
  int stopped_ = 0;
  std::vector<std::size_t> points_;  // to hand out, ascending
  std::size_t next_point_ = 0;       // the next unit to hand out: points_[next_point_], block next_block_
  std::uint64_t next_block_ = 0;
  std::map<std::pair<std::size_t, std::uint64_t>, TrialBlock> waiting_;  // arrived ahead of their turn
  std::vector<char> bytes_;
};

void coordinate(const SweepArgs& a, const Sweep& sw, const RunSpec& run, const std::string& out, int ranks) {
  WorkerBlocks workers(run, RecordShape::of(sw.point_model(0)), ranks - 1);
  const SweepTotals t = run_sweep_points(a, sw, run, out, std::nullopt, workers);
  workers.stop_workers();
  spdlog::info("{} points x {} trials in {:.2f} s on {} ranks ({} computing); wrote {}", t.points, run.trials, t.seconds,
               ranks, ranks - 1, out);
}

// Asks for a unit; false when none is left.
bool next_unit(std::uint64_t (&unit)[2]) {
  MPI_Status status;
  MPI_Recv(unit, 2, MPI_UINT64_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
  return status.MPI_TAG == kWork;
}

void work(const Sweep& sw, const RunSpec& run) {
  std::optional<std::pair<std::size_t, Model>> model;  // the model of the point last worked on
  std::vector<char> bytes, sending;                      // the block being computed, the one in flight
  MPI_Request in_flight = MPI_REQUEST_NULL;
  std::uint64_t unit[2] = {0, 0};
  MPI_Send(nullptr, 0, MPI_BYTE, 0, kReady, MPI_COMM_WORLD);
  bool more = next_unit(unit);
  while (more) {
    MPI_Send(nullptr, 0, MPI_BYTE, 0, kReady, MPI_COMM_WORLD);  // the next unit, while this one runs
    const std::size_t p = static_cast<std::size_t>(unit[0]);
    if (!model || model->first != p) model.emplace(p, sw.point_model(p));
    // One block through the engine itself: trial i draws from the streams of (seed, i) whatever the
    // block, so the block is the one a single process computes.
    run_trials(model->second, run.block(unit[1]), [&](const TrialBlock& b) { bytes = encode_block(unit[0], unit[1], b); });
    // The previous block has had a whole block's time to reach rank 0 (which pulls it).
    MPI_Wait(&in_flight, MPI_STATUS_IGNORE);
    sending.swap(bytes);
    MPI_Isend(sending.data(), static_cast<int>(sending.size()), MPI_BYTE, 0, kResult, MPI_COMM_WORLD, &in_flight);
    more = next_unit(unit);
  }
  MPI_Wait(&in_flight, MPI_STATUS_IGNORE);
}

}  // namespace

bool MpiSession::launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

MpiSession::MpiSession() {
  // Funneled: only the calling thread speaks MPI, the engine's threads compute (cli/mpi_run.cpp).
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

int run_sweep_mpi(const SweepArgs& a, const MpiSession& mpi) {
  const int rank = mpi.rank();
  if (rank != 0) spdlog::set_level(spdlog::level::warn);
  // A shard is a share of the points for a job without MPI; every rank sees the same options.
  if (!a.shard.empty()) {
    if (rank == 0) spdlog::error("--shard is for runs without MPI (this run has {} ranks): ranks share the points", mpi.size());
    return 2;
  }
  // Rank 0 reads and checks the sweep; the others parse the same texts (no shared file system needed).
  std::string sweep_text, scenario_text, out;
  RunSpec run;
  int code = 0;
  std::optional<Sweep> sw;
  if (rank == 0) {
    try {
      sw.emplace(read_sweep(a.sweep));
      run = sweep_run_spec(a, *sw);
      out = sweep_output(a, std::nullopt);
      sweep_text = sw->text;
      scenario_text = sw->scenario_text;
      spdlog::info("sweep {} over \"{}\" ({}): {} {} points x {} trials, seed {} at every point, {} ranks ({} computing, "
                   "{} threads each) -> {}",
                   a.sweep, sw->point_model(0).simulation.name, sw->scenario_path, sw->points.size(), to_string(sw->mode),
                   run.trials, run.seed, mpi.size(), mpi.size() - 1, a.run.threads ? fmt::format("{}", *a.run.threads) : "all", out);
    } catch (const ScenarioError& e) {
      spdlog::error("{}", e.what());
      code = 2;
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      code = 1;
    }
  }
  MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (code != 0) return code;
  broadcast_string(sweep_text, rank);
  broadcast_string(scenario_text, rank);

  try {
    if (rank == 0) {
      coordinate(a, *sw, run, out, mpi.size());
    } else {
      // Rank 0 checked every point; a worker builds the models of its units only.
      const Sweep mine = parse_sweep(sweep_text, a.sweep, [&](const std::string&) { return scenario_text; },
                                     {.every_point = false});
      // Rank 0's texts and options give rank 0's run; threads are this rank's own (its cores or
      // --threads).
      work(mine, sweep_run_spec(a, mine));
    }
  } catch (const Interrupted& e) {
    // --stop-after (or a signal that reached rank 0): finished points are in the progress folder;
    // the workers are still computing, so end the whole job.
    MPI_Abort(MPI_COMM_WORLD, e.exit_code());
  } catch (const std::exception& e) {
    // A rank that fails leaves the others waiting for it: end the whole job (rank 0's temporary
    // output file is removed by the writer's destructor before this point).
    spdlog::error("rank {}: {}", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return 0;
}

}  // namespace restake
