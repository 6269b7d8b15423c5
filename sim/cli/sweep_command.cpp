#include "sweep_command.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#ifdef RESTAKE_MPI
#include "mpi_sweep.hpp"
#endif
#include "number_options.hpp"
#include "io/atomic_file.hpp"
#include "sweep/sweep_points.hpp"
#include "interrupt.hpp"
#include "sweep_driver.hpp"

namespace fs = std::filesystem;

namespace restake {

CLI::App* add_sweep_command(CLI::App& app, SweepArgs& a) {
  CLI::App* cmd = app.add_subcommand("sweep", "Simulate every point of a parameter sweep into one HDF5 file");
  cmd->add_option("sweep", a.sweep, "Sweep file (TOML, docs/sweeps.md)")->required();
  cmd->add_option("-o,--output", a.output, "Sweep results file (default: results/<sweep>.h5)");
  add_integer_option(*cmd, "--trials", a.run.trials, 1, kMaxTomlInteger, "Trials per point (overrides [sweep] trials and the scenario)");
  add_integer_option(*cmd, "--seed", a.run.seed, 0, kMaxTomlInteger, "Seed of every point (overrides [sweep] seed and the scenario)");
  add_integer_option(*cmd, "--threads", a.run.threads, 1, kMaxThreads,
                     fmt::format("Worker threads, at most {} (default: all cores)", kMaxThreads));
  add_integer_option(*cmd, "--block", a.run.block_trials, 1, 1 << 24, "Trials per block");
  cmd->add_flag("--records", a.records, "Also store every point's per-trial records (and compute exact quantiles)");
  add_integer_option(*cmd, "--compression", a.deflate, 0, 9, "Deflate level of per-trial datasets, 0-9");
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
  add_integer_option(*cmd, "--stop-after", a.stop_after, 1, static_cast<std::int64_t>(kMaxSweepPoints),
                     "Stop as if interrupted after simulating this many points (for tests and preemption drills)");
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
  const Sweep sw = read_sweep(a.sweep);
  const RunSpec run = sweep_run_spec(a, sw);  // the same seed everywhere: common random numbers across points
  const std::string out = sweep_output(a, shard);
  const std::size_t P = sw.points.size();
  spdlog::info("sweep {} over \"{}\" ({}): {} {} points{} x {} trials, seed {} at every point, {} threads -> {}", a.sweep,
               sw.point_model(0).simulation.name, sw.scenario_path, P, to_string(sw.mode),
               shard ? fmt::format(" (shard {}/{}: {} of them)", shard->index, shard->count,
                                   shard_points(P, *shard).size())
                     : "",
               run.trials, run.seed, run.threads, out);
  LocalBlocks here(run, interrupted);
  const SweepTotals t = run_sweep_points(a, sw, run, out, shard, here);
  spdlog::info("{} points x {} trials in {:.2f} s ({} simulated now); wrote {}", t.points, run.trials, t.seconds,
               t.simulated, out);
  return 0;
}

CLI::App* add_merge_command(CLI::App& app, MergeArgs& a) {
  CLI::App* cmd = app.add_subcommand("merge", "Merge the shard files of `sweep --shard i/N` into one sweep file");
  cmd->add_option("shards", a.shards, "Shard files (.h5), one per shard, in any order")->required();
  cmd->add_option("-o,--output", a.output, "Sweep results file")->required();
  return cmd;
}

int run_merge_command(const MergeArgs& a) {
  check_replaceable(a.output);
  if (const fs::path dir = fs::path(a.output).parent_path(); !dir.empty()) fs::create_directories(dir);
  const auto start = std::chrono::steady_clock::now();
  const std::size_t P = merge_shards(a.shards, a.output);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("merged {} shards ({} points) in {:.2f} s; wrote {}", a.shards.size(), P, seconds, a.output);
  return 0;
}

}  // namespace restake
