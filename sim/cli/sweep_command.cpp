#include "sweep_command.hpp"

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <tbb/info.h>

#include "interrupt.hpp"
#include "sweep.hpp"
#include "sweep_writer.hpp"
#include "text_file.hpp"
#include "version.hpp"

namespace fs = std::filesystem;

namespace restake {


CLI::App* add_sweep_command(CLI::App& app, SweepArgs& a) {
  CLI::App* cmd = app.add_subcommand("sweep", "Simulate every point of a parameter sweep into one HDF5 file");
  cmd->add_option("sweep", a.sweep, "Sweep file (TOML, docs/sweeps.md)")->required();
  cmd->add_option("-o,--output", a.output, "Sweep results file (default: results/<sweep>.h5)");
  cmd->add_option("--trials", a.trials, "Trials per point (overrides [sweep] trials and the scenario)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", a.seed, "Seed of every point (overrides [sweep] seed and the scenario)");
  cmd->add_option("--threads", a.threads, "Worker threads (default: all cores)")->check(CLI::PositiveNumber);
  cmd->add_option("--block", a.block, "Trials per block")->check(CLI::Range(1, 1 << 24));
  cmd->add_flag("--records", a.records, "Also store every point's per-trial records (and compute exact quantiles)");
  cmd->add_option("--compression", a.deflate, "Deflate level of per-trial datasets, 0-9")->check(CLI::Range(0, 9));
  return cmd;
}

int run_sweep_command(const SweepArgs& a) {
  const Sweep sw = parse_sweep(read_text_file(a.sweep, "sweep file"), a.sweep,
                               [](const std::string& path) { return read_text_file(path, "scenario file"); });
  Model first = sw.point_model(0);
  const std::uint64_t trials = a.trials ? *a.trials : sw.trials ? *sw.trials : first.simulation.trials;
  const std::uint64_t seed = a.seed ? *a.seed : sw.seed ? *sw.seed : first.simulation.seed;
  const std::string out = a.output.empty() ? (fs::path("results") / fs::path(a.sweep).stem()).string() + ".h5" : a.output;
  if (const fs::path dir = fs::path(out).parent_path(); !dir.empty()) fs::create_directories(dir);
  const int threads = a.threads > 0 ? a.threads : tbb::info::default_concurrency();
  const std::size_t P = sw.points.size();
  spdlog::info("sweep {} over \"{}\" ({}): {} {} points x {} trials, seed {} at every point, {} threads -> {}", a.sweep,
               first.simulation.name, sw.scenario_path, P, to_string(sw.mode), trials, seed, threads, out);

  SweepMeta meta{kVersion, kGitCommit, a.sweep, seed, trials};
  SweepWriterOptions wo;
  wo.records = a.records;
  wo.deflate_level = a.deflate;
  wo.quantile_relative_error = a.records ? 0.0 : 1e-4;
  SweepWriter writer(out, sw, first, meta, wo);

  catch_interrupts();
  PointRun run;
  run.run.trials = trials;
  run.run.seed = seed;  // the same seed everywhere: common random numbers across points
  run.run.block_trials = a.block;
  run.run.threads = threads;
  run.exact_quantiles = a.records;
  run.sketch_accuracy = 1e-4;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t p = 0; p < P; ++p) {
    Model m = p == 0 ? std::move(first) : sw.point_model(p);
    m.simulation.trials = trials;
    m.simulation.seed = seed;
    const RunInfo info{m.simulation.name, kVersion, kGitCommit, seed, trials, m.simulation.horizon_days};
    const RunSummary s = run_point(m, info, run, [&](const TrialBlock& b) {
      throw_if_interrupted();
      writer.append(p, b);
    });
    writer.add_point(p, m, s);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("point {}/{}: {} ({:.1f} s elapsed)", p + 1, P, sw.describe_point(p), seconds);
  }
  writer.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("{} points x {} trials in {:.2f} s; wrote {}", P, trials, seconds, out);
  return 0;
}

}  // namespace restake
