#include "mpi_sweep.hpp"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <tbb/info.h>

#include "trial/engine.hpp"
#include "interrupt.hpp"
#include "io/scenario.hpp"
#include "io/schema.hpp"
#include "stats/summary.hpp"
#include "sweep/sweep.hpp"
#include "sweep/sweep_points.hpp"
#include "sweep/sweep_writer.hpp"
#include "stats/tally.hpp"
#include "text_file.hpp"
#include "version.hpp"

namespace fs = std::filesystem;

namespace restake {

namespace {

// Worker -> rank 0: kReady (no payload: a request for a unit, sent one unit ahead so the worker
// never waits for work) or kResult (a computed block). Rank 0 -> worker: kWork {point, block index}
// or kStop (no unit left).
enum Tag : int { kReady = 1, kResult = 2, kWork = 3, kStop = 4 };

// Vectors of a TrialBlock, in the order they travel: the declared per-trial records (io/schema.hpp).
template <class Block>
auto block_vectors(Block& b) {
  std::vector<decltype(&b.loss_fraction)> out;
  for (const TrialRecordSpec& r : trial_records()) out.push_back(&(b.*r.field));
  return out;
}

// {point, block index, trials in the block} then the block's doubles, vector by vector, then its
// AVS x holder sums (16-byte integers).
std::vector<char> encode(std::uint64_t point, std::uint64_t index, const TrialBlock& b) {
  std::size_t doubles = 0;
  for (const auto* v : block_vectors(b)) doubles += v->size();
  const std::size_t sums = b.avs_holder_loss.size() * sizeof(FixedSum);
  std::vector<char> bytes(3 * sizeof(std::uint64_t) + doubles * sizeof(double) + sums);
  const std::uint64_t header[3] = {point, index, b.count};
  std::memcpy(bytes.data(), header, sizeof header);
  char* at = bytes.data() + sizeof header;
  for (const auto* v : block_vectors(b)) {
    if (v->empty()) continue;
    std::memcpy(at, v->data(), v->size() * sizeof(double));
    at += v->size() * sizeof(double);
  }
  if (sums > 0) std::memcpy(at, b.avs_holder_loss.data(), sums);
  return bytes;
}

struct Decoded {
  std::uint64_t point = 0, index = 0;
  TrialBlock block;
};

Decoded decode(const std::vector<char>& bytes, const RecordShape& shape, std::uint64_t block_trials) {
  Decoded d;
  std::uint64_t header[3];
  if (bytes.size() < sizeof header) throw std::runtime_error("MPI sweep: a result message is too short");
  std::memcpy(header, bytes.data(), sizeof header);
  d.point = header[0];
  d.index = header[1];
  d.block.reset(shape, header[1] * block_trials, static_cast<std::size_t>(header[2]));
  const char* at = bytes.data() + sizeof header;
  std::size_t doubles = 0;
  for (const auto* v : block_vectors(d.block)) doubles += v->size();
  const std::size_t sums = d.block.avs_holder_loss.size() * sizeof(FixedSum);
  if (bytes.size() != sizeof header + doubles * sizeof(double) + sums)
    throw std::runtime_error("MPI sweep: a result message has the wrong size");
  for (auto* v : block_vectors(d.block)) {
    if (v->empty()) continue;
    std::memcpy(v->data(), at, v->size() * sizeof(double));
    at += v->size() * sizeof(double);
  }
  if (sums > 0) std::memcpy(d.block.avs_holder_loss.data(), at, sums);
  return d;
}

void broadcast_string(std::string& s, int rank) {
  std::uint64_t n = s.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (rank != 0) s.resize(static_cast<std::size_t>(n));
  if (n > 0) MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD);
}

// What every rank needs to know about the run; rank 0 decides it.
struct Plan {
  std::uint64_t trials = 0, seed = 0, block = 0;
  int threads = 0;
};

// One point being assembled on rank 0, fed its blocks in trial order, and its progress file.
struct PointState {
  std::size_t point = 0;
  Model model;
  PointTally tally;  // refers to `model`: PointState is built in place and never moved
  PointFileWriter progress;
  PointState(std::size_t p, Model m, bool exact, std::uint64_t trials, const std::string& folder, const SweepIdentity& id)
      : point(p), model(std::move(m)), tally(model, exact, 1e-4, trials), progress(folder, p, id, model) {}
  PointState(const PointState&) = delete;
  PointState& operator=(const PointState&) = delete;
};

Model point_model(const Sweep& sw, std::size_t p, const Plan& plan) {
  Model m = sw.point_model(p);
  m.simulation.trials = plan.trials;
  m.simulation.seed = plan.seed;
  return m;
}

void coordinate(const SweepArgs& a, const Sweep& sw, const Plan& plan, const std::string& out, int ranks) {
  const Model first = point_model(sw, 0, plan);
  const RecordShape shape = RecordShape::of(first);
  const SweepIdentity id{kVersion, kGitCommit, sw.text, sw.scenario_text, plan.seed, plan.trials, a.records, a.sweep,
                         a.deflate};
  // Finished points of an earlier, interrupted run (this one or a run without MPI: the same files).
  const std::string folder = progress_folder(out);
  const std::vector<std::size_t> all = shard_points(sw.points.size(), ShardSpec{});
  std::map<std::size_t, SweepPartReader> done = open_progress(folder, id, a.resume, all);
  SweepWriter writer(out, sw, first, id.meta(), id.writer_options());

  const std::size_t P = sw.points.size();
  const std::uint64_t blocks = (plan.trials + plan.block - 1) / plan.block;  // per point
  std::size_t next_point = 0;                                               // next unit to hand out
  std::uint64_t next_block = 0;
  std::size_t done_point = 0;  // next block to feed to the tally, in (point, block) order
  std::uint64_t done_block = 0;
  std::map<std::pair<std::size_t, std::uint64_t>, TrialBlock> waiting;  // arrived ahead of their turn
  std::optional<PointState> state;
  std::size_t simulated = 0;
  const auto start = std::chrono::steady_clock::now();

  // Points finished earlier are handed to no one and written from their progress files in turn.
  const auto skip_done = [&](std::size_t& p) {
    while (p < P && done.count(p)) ++p;
  };
  const auto write_done = [&] {
    for (; done_point < P && done.count(done_point); ++done_point) {
      done.at(done_point).copy_records(done_point, writer);
      writer.add_point(done_point, done.at(done_point).result(done_point, first));
    }
  };
  skip_done(next_point);
  write_done();

  const auto feed = [&](const TrialBlock& b) {
    if (!state) state.emplace(done_point, point_model(sw, done_point, plan), a.records, plan.trials, folder, id);
    writer.append(done_point, b);
    state->progress.append(b);
    state->tally.add(b);
    if (++done_block < blocks) return;
    const Model& m = state->model;
    const RunInfo info{m.simulation.name, kVersion, kGitCommit, plan.seed, plan.trials, m.simulation.horizon_days};
    PointResult result = point_result(m, state->tally.summarize(info));
    state->progress.commit(result);
    writer.add_point(done_point, std::move(result));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("point {}/{}: {} ({:.1f} s elapsed)", done_point + 1, P, sw.describe_point(done_point), seconds);
    state.reset();
    ++done_point;
    done_block = 0;
    if (++simulated == a.stop_after) {
      spdlog::warn("--stop-after {}: stopping as if interrupted", a.stop_after);
      throw Interrupted();
    }
    write_done();
  };

  int stopped = 0;
  std::vector<char> bytes;
  catch_interrupts();  // SIGINT/SIGTERM (mpirun forwards one, Slurm sends one at the time limit)
  try {
    while (stopped < ranks - 1 || done_point < P) {
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
      bytes.resize(static_cast<std::size_t>(count));
      MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (status.MPI_TAG == kReady) {
        if (next_point < P) {
          const std::uint64_t unit[2] = {next_point, next_block};
          MPI_Send(unit, 2, MPI_UINT64_T, status.MPI_SOURCE, kWork, MPI_COMM_WORLD);
          if (++next_block == blocks) {
            ++next_point;
            skip_done(next_point);
            next_block = 0;
          }
        } else {
          MPI_Send(nullptr, 0, MPI_UINT64_T, status.MPI_SOURCE, kStop, MPI_COMM_WORLD);
          ++stopped;
        }
        continue;
      }
      if (status.MPI_TAG != kResult) throw std::runtime_error("MPI sweep: unexpected message");
      Decoded d = decode(bytes, shape, plan.block);
      waiting.emplace(std::pair(static_cast<std::size_t>(d.point), d.index), std::move(d.block));
      for (auto it = waiting.find({done_point, done_block}); it != waiting.end();
           it = waiting.find({done_point, done_block})) {
        feed(it->second);
        waiting.erase(it);
      }
    }
  } catch (const Interrupted&) {
    spdlog::warn("{} of {} points finished are kept in {}: run the same command with --resume to continue",
                 simulated + done.size(), P, folder);
    throw;
  }
  if (done_point != P) throw std::runtime_error(fmt::format("MPI sweep: only {} of {} points arrived", done_point, P));
  writer.finish();
  done.clear();  // closes the progress files before their folder goes
  fs::remove_all(folder);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("{} points x {} trials in {:.2f} s on {} ranks ({} computing); wrote {}", P, plan.trials, seconds, ranks,
               ranks - 1, out);
}

// Asks for a unit; false when none is left.
bool next_unit(std::uint64_t (&unit)[2]) {
  MPI_Status status;
  MPI_Recv(unit, 2, MPI_UINT64_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
  return status.MPI_TAG == kWork;
}

void work(const Sweep& sw, const Plan& plan) {
  std::optional<std::pair<std::size_t, Model>> model;  // the model of the point last worked on
  std::vector<char> bytes, sending;                      // the block being computed, the one in flight
  MPI_Request in_flight = MPI_REQUEST_NULL;
  std::uint64_t unit[2] = {0, 0};
  MPI_Send(nullptr, 0, MPI_BYTE, 0, kReady, MPI_COMM_WORLD);
  bool more = next_unit(unit);
  while (more) {
    MPI_Send(nullptr, 0, MPI_BYTE, 0, kReady, MPI_COMM_WORLD);  // the next unit, while this one runs
    const std::size_t p = static_cast<std::size_t>(unit[0]);
    if (!model || model->first != p) model.emplace(p, point_model(sw, p, plan));
    // One block through the engine itself: trial i draws from the streams of (seed, i) whatever the
    // block, so the block is the one a single process computes.
    RunOptions o;
    o.first_trial = unit[1] * plan.block;
    o.trials = std::min(plan.block, plan.trials - o.first_trial);
    o.block_trials = static_cast<std::size_t>(o.trials);
    o.seed = plan.seed;
    o.threads = plan.threads;
    run_trials(model->second, o, [&](const TrialBlock& b) { bytes = encode(unit[0], unit[1], b); });
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
  MPI_Init(nullptr, nullptr);
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
  std::string sweep_text, scenario_text, out, error;
  Plan plan;
  int code = 0;
  std::optional<Sweep> sw;
  if (rank == 0) {
    try {
      sw.emplace(parse_sweep(read_text_file(a.sweep, "sweep file"), a.sweep,
                             [](const std::string& path) { return read_text_file(path, "scenario file"); }));
      const Model first = sw->point_model(0);
      plan.trials = a.trials ? *a.trials : sw->trials ? *sw->trials : first.simulation.trials;
      plan.seed = a.seed ? *a.seed : sw->seed ? *sw->seed : first.simulation.seed;
      plan.block = a.block;
      plan.threads = a.threads > 0 ? a.threads : tbb::info::default_concurrency();
      out = !a.output.empty() ? a.output : (fs::path("results") / fs::path(a.sweep).stem()).string() + ".h5";
      if (const fs::path dir = fs::path(out).parent_path(); !dir.empty()) fs::create_directories(dir);
      sweep_text = sw->text;
      scenario_text = sw->scenario_text;
      spdlog::info("sweep {} over \"{}\" ({}): {} {} points x {} trials, seed {} at every point, {} ranks ({} computing, "
                   "{} threads each) -> {}",
                   a.sweep, first.simulation.name, sw->scenario_path, sw->points.size(), to_string(sw->mode), plan.trials,
                   plan.seed, mpi.size(), mpi.size() - 1, a.threads > 0 ? fmt::format("{}", a.threads) : "all", out);
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
  std::uint64_t numbers[3] = {plan.trials, plan.seed, plan.block};
  MPI_Bcast(numbers, 3, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  plan.trials = numbers[0];
  plan.seed = numbers[1];
  plan.block = numbers[2];
  // Threads are each rank's own: its cores (or --threads).
  plan.threads = a.threads > 0 ? a.threads : tbb::info::default_concurrency();

  try {
    if (rank == 0) {
      coordinate(a, *sw, plan, out, mpi.size());
    } else {
      const Sweep mine = parse_sweep(sweep_text, a.sweep, [&](const std::string&) { return scenario_text; });
      work(mine, plan);
    }
  } catch (const Interrupted&) {
    // --stop-after (or a signal that reached rank 0): finished points are in the progress folder;
    // the workers are still computing, so end the whole job.
    MPI_Abort(MPI_COMM_WORLD, 130);
  } catch (const std::exception& e) {
    // A rank that fails leaves the others waiting for it: end the whole job (rank 0's temporary
    // output file is removed by the writer's destructor before this point).
    spdlog::error("rank {}: {}", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return 0;
}

}  // namespace restake
