#include "sweep_driver.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "interrupt.hpp"
#include "io/atomic_file.hpp"
#include "trial/cross_entropy.hpp"
#include "trial/engine.hpp"
#include "sweep/sweep_writer.hpp"
#include "text_file.hpp"
#include "version.hpp"

namespace fs = std::filesystem;

namespace restake {

Sweep read_sweep(const std::string& path) {
  // Checking a million points against the scenario takes minutes: after a few seconds, say how far it got.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  Clock::time_point next_report = start + std::chrono::seconds(3);
  bool reported = false;
  const auto progress = [&](std::size_t checked, std::size_t points) {
    const Clock::time_point now = Clock::now();
    if (now < next_report && checked < points) return;
    const double seconds = std::chrono::duration<double>(now - start).count();
    if (checked < points) {
      spdlog::info("{}: checked {} of {} points against the scenario ({:.0f}%, {:.0f} s)", path, checked, points,
                   100.0 * static_cast<double>(checked) / static_cast<double>(points), seconds);
      next_report = now + std::chrono::seconds(10);
      reported = true;
    } else if (reported) {
      spdlog::info("{}: checked all {} points against the scenario in {:.0f} s", path, points, seconds);
    }
  };
  return parse_sweep(read_text_file(path, "sweep file"), path,
                     [](const std::string& scenario) { return read_text_file(scenario, "scenario file"); },
                     {.progress = progress});
}

RunSpec sweep_run_spec(const SweepArgs& a, const Sweep& sw) {
  const Model first = sw.point_model(0);
  RunSpec run = resolve_run_spec(first.simulation, {.seed = sw.seed, .trials = sw.trials}, a.run);
  // The scenario's [tail]: one tilt for every point (docs/sweeps.md), found by the pilots on point 0.
  // The search is a pure function of (model, seed), so every MPI rank that calls this finds the same.
  if (first.tail) {
    const CrossEntropyResult r = find_tilt(first, *first.tail, run);
    spdlog::info("importance sampling: one tilt for every point, towards loss >= {:.6g} for holder \"{}\" on point 0 "
                 "({} pilot trials{})", r.target_loss, first.holders[first.tail->target.holder].name, r.pilot_trials,
                 r.reached ? "" : ", short of the target");
    run.tilt = r.tilt;
  }
  // Blocks of whole chunks of the records, bounded in bytes like run's; the same on every MPI rank.
  if (!a.run.block_trials) run.block_trials = sweep_block_trials(RecordShape::of(first));
  return run;
}

std::string sweep_output(const SweepArgs& a, const std::optional<ShardSpec>& shard) {
  const std::string stem = (fs::path("results") / fs::path(a.sweep).stem()).string();
  const std::string out = !a.output.empty() ? a.output
                          : shard           ? fmt::format("{}.shard-{}-of-{}.h5", stem, shard->index, shard->count)
                                            : stem + ".h5";
  check_replaceable(out);  // a shard file is written only at the end: check before the points run
  if (const fs::path dir = fs::path(out).parent_path(); !dir.empty()) fs::create_directories(dir);
  return out;
}

SweepTotals run_sweep_points(const SweepArgs& a, const Sweep& sw, const RunSpec& run, const std::string& out,
                             const std::optional<ShardSpec>& shard, BlockSource& source) {
  const Model first = sw.point_model(0);
  const std::vector<std::size_t> points = shard_points(sw.points.size(), shard.value_or(ShardSpec{}));
  // A weighted sweep draws every point with the one tilt (docs/sweeps.md): the factors multiply each
  // point's own rates, and the points keep common random numbers.
  const SweepIdentity id{kVersion, kGitCommit, sw.text, sw.scenario_text, run.seed, run.trials, a.records, a.sweep,
                         a.deflate, TiltInfo::of(first, run.tilt)};
  // Finished points of an earlier, interrupted run of this command, with or without MPI
  // (docs/sweeps.md, resume).
  const std::string folder = progress_folder(out);
  const OutputLock lock(out);  // before the folder is read or removed: it may be another sweep's
  std::map<std::size_t, SweepPartReader> done = open_progress(folder, id, a.resume, points, first);
  std::vector<std::size_t> to_simulate;
  for (const std::size_t p : points)
    if (!done.count(p)) to_simulate.push_back(p);
  source.expect(to_simulate);

  std::optional<SweepWriter> writer;  // a shard is assembled from the progress files at the end
  if (!shard) writer.emplace(out, sw, first, id.meta(), id.writer_options(first));

  catch_interrupts();  // SIGINT/SIGTERM (mpirun forwards one, Slurm sends one at the time limit)
  const PointRun point_run{run, a.records, id.sketch_accuracy(first)};
  if (!a.records && point_run.sketch_accuracy != 1e-4)
    spdlog::info("{} holders: quantiles within {:.2g} relative error", first.holders.size(), point_run.sketch_accuracy);
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  std::size_t simulated = 0;
  try {
    for (std::size_t i = 0; i < points.size(); ++i) {
      const std::size_t p = points[i];
      if (const auto it = done.find(p); it != done.end()) {
        if (writer) {
          it->second.copy_records(p, first, *writer);
          writer->add_point(p, it->second.result(p, first));
        }
        spdlog::debug("point {}/{}: {} (finished earlier)", i + 1, points.size(), sw.describe_point(p));
        continue;
      }
      if (a.stop_after > 0 && simulated == a.stop_after) {
        spdlog::warn("--stop-after {}: stopping as if interrupted", a.stop_after);
        throw Interrupted();
      }
      const Model m = sw.point_model(p);
      const RunInfo info{m.simulation.name, kVersion, kGitCommit, run.seed, run.trials, m.simulation.horizon_days,
                         TiltInfo::of(m, run.tilt)};
      PointFileWriter progress(folder, p, id, m);
      // Only records need the blocks: without them the point streams (LocalBlocks), its memory
      // that of `run --no-records` (a signal stops it through the source's stop hook).
      BlockFn on_block;
      if (a.records)
        on_block = [&](const TrialBlock& b) {
          throw_if_interrupted();
          if (writer) writer->append(p, b);
          progress.append(b);
        };
      RunSummary s;
      try {
        s = run_point(m, info, point_run, source, p, on_block);
      } catch (const RunStopped&) {
        throw_if_interrupted();  // our stop hook said stop: a signal arrived
        throw;
      }
      PointResult result = point_result(m, s);
      progress.commit(result);
      if (writer) writer->add_point(p, std::move(result));
      ++simulated;
      spdlog::info("point {}/{}: {} ({:.1f} s elapsed)", i + 1, points.size(), sw.describe_point(p), elapsed());
    }
  } catch (const Interrupted&) {
    spdlog::warn("{} of {} points finished are kept in {}: run the same command with --resume to continue",
                 done.size() + simulated, points.size(), folder);
    throw;
  }
  if (writer) {
    writer->finish();
  } else {
    std::vector<SweepPartReader> parts;
    for (const std::string& file : progress_files(folder, id)) parts.emplace_back(file);
    write_shard(out, sw, id, *shard, parts);
  }
  done.clear();  // closes the progress files before their folder goes
  fs::remove_all(folder);
  return {points.size(), simulated, elapsed()};
}

}  // namespace restake
