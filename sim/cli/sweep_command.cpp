#include "sweep_command.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "interrupt.hpp"
#ifdef RESTAKE_MPI
#include "mpi_sweep.hpp"
#endif
#include "sweep/point_runner.hpp"
#include "sweep/sweep.hpp"
#include "sweep/sweep_points.hpp"
#include "sweep/sweep_writer.hpp"
#include "text_file.hpp"
#include "version.hpp"

namespace fs = std::filesystem;

namespace restake {

CLI::App* add_sweep_command(CLI::App& app, SweepArgs& a) {
  CLI::App* cmd = app.add_subcommand("sweep", "Simulate every point of a parameter sweep into one HDF5 file");
  cmd->add_option("sweep", a.sweep, "Sweep file (TOML, docs/sweeps.md)")->required();
  cmd->add_option("-o,--output", a.output, "Sweep results file (default: results/<sweep>.h5)");
  cmd->add_option("--trials", a.run.trials, "Trials per point (overrides [sweep] trials and the scenario)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", a.run.seed, "Seed of every point (overrides [sweep] seed and the scenario)");
  cmd->add_option("--threads", a.run.threads, "Worker threads (default: all cores)")->check(CLI::PositiveNumber);
  cmd->add_option("--block", a.run.block_trials, "Trials per block")->check(CLI::Range(1, 1 << 24));
  cmd->add_flag("--records", a.records, "Also store every point's per-trial records (and compute exact quantiles)");
  cmd->add_option("--compression", a.deflate, "Deflate level of per-trial datasets, 0-9")->check(CLI::Range(0, 9));
  cmd->add_option("--shard", a.shard, "Run only the points p with p % N == i, into a shard file for `merge` (i/N, 0 <= i < N)")
      ->check([](const std::string& text) {
        try {
          parse_shard(text);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
  cmd->add_flag("--resume", a.resume, "Reuse the points an interrupted run of this command finished");
  cmd->add_option("--stop-after", a.stop_after,
                  "Stop as if interrupted after simulating this many points (for tests and preemption drills)")
      ->check(CLI::PositiveNumber);
  return cmd;
}

int run_sweep_command(const SweepArgs& a) {
#ifdef RESTAKE_MPI
  // Under mpirun/srun the ranks share the sweep (docs/cluster.md, MPI); a single rank runs it as usual.
  std::optional<MpiSession> mpi;
  if (MpiSession::launched()) {
    mpi.emplace();
    if (mpi->size() > 1) return run_sweep_mpi(a, *mpi);
  }
#endif
  const std::optional<ShardSpec> shard = a.shard.empty() ? std::nullopt : std::optional(parse_shard(a.shard));
  const Sweep sw = parse_sweep(read_text_file(a.sweep, "sweep file"), a.sweep,
                               [](const std::string& path) { return read_text_file(path, "scenario file"); });
  const Model first = sw.point_model(0);
  // The same seed everywhere: common random numbers across points.
  const RunSpec spec = resolve_run_spec(first.simulation, {.seed = sw.seed, .trials = sw.trials}, a.run);
  const std::string stem = (fs::path("results") / fs::path(a.sweep).stem()).string();
  const std::string out = !a.output.empty() ? a.output
                          : shard           ? fmt::format("{}.shard-{}-of-{}.h5", stem, shard->index, shard->count)
                                            : stem + ".h5";
  if (const fs::path dir = fs::path(out).parent_path(); !dir.empty()) fs::create_directories(dir);
  const std::size_t P = sw.points.size();
  const std::vector<std::size_t> points = shard_points(P, shard.value_or(ShardSpec{}));
  spdlog::info("sweep {} over \"{}\" ({}): {} {} points{} x {} trials, seed {} at every point, {} threads -> {}", a.sweep,
               first.simulation.name, sw.scenario_path, P, to_string(sw.mode),
               shard ? fmt::format(" (shard {}/{}: {} of them)", shard->index, shard->count, points.size()) : "",
               spec.trials, spec.seed, spec.threads, out);

  const SweepIdentity id{kVersion, kGitCommit, sw.text, sw.scenario_text, spec.seed, spec.trials, a.records, a.sweep, a.deflate};
  // Finished points of an earlier, interrupted run of this command (docs/sweeps.md, resume).
  const std::string folder = progress_folder(out);
  std::map<std::size_t, SweepPartReader> done = open_progress(folder, id, a.resume, points);

  std::optional<SweepWriter> writer;  // a shard is assembled from the progress files at the end
  if (!shard) writer.emplace(out, sw, first, id.meta(), id.writer_options());

  catch_interrupts();
  PointRun run;
  run.run = spec;
  run.exact_quantiles = a.records;
  run.sketch_accuracy = 1e-4;
  const auto start = std::chrono::steady_clock::now();
  std::size_t simulated = 0, finished = done.size();
  try {
    for (std::size_t i = 0; i < points.size(); ++i) {
      const std::size_t p = points[i];
      if (const auto it = done.find(p); it != done.end()) {
        if (writer) {
          it->second.copy_records(p, *writer);
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
      const RunInfo info{m.simulation.name, kVersion, kGitCommit, spec.seed, spec.trials, m.simulation.horizon_days};
      PointFileWriter progress(folder, p, id, m);
      const RunSummary s = run_point(m, info, run, [&](const TrialBlock& b) {
        throw_if_interrupted();
        if (writer) writer->append(p, b);
        progress.append(b);
      });
      PointResult result = point_result(m, s);
      progress.commit(result);
      if (writer) writer->add_point(p, std::move(result));
      ++simulated;
      ++finished;
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      spdlog::info("point {}/{}: {} ({:.1f} s elapsed)", i + 1, points.size(), sw.describe_point(p), seconds);
    }
  } catch (const Interrupted&) {
    spdlog::warn("{} of {} points finished are kept in {}: run the same command with --resume to continue", finished,
                 points.size(), folder);
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
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("{} points x {} trials in {:.2f} s ({} simulated now); wrote {}", points.size(), spec.trials, seconds, simulated,
               out);
  return 0;
}

CLI::App* add_merge_command(CLI::App& app, MergeArgs& a) {
  CLI::App* cmd = app.add_subcommand("merge", "Merge the shard files of `sweep --shard i/N` into one sweep file");
  cmd->add_option("shards", a.shards, "Shard files (.h5), one per shard, in any order")->required();
  cmd->add_option("-o,--output", a.output, "Sweep results file")->required();
  return cmd;
}

int run_merge_command(const MergeArgs& a) {
  if (const fs::path dir = fs::path(a.output).parent_path(); !dir.empty()) fs::create_directories(dir);
  const auto start = std::chrono::steady_clock::now();
  const std::size_t P = merge_shards(a.shards, a.output);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("merged {} shards ({} points) in {:.2f} s; wrote {}", a.shards.size(), P, seconds, a.output);
  return 0;
}

}  // namespace restake
