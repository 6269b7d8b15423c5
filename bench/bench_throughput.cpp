// Throughput of the engine (not a test): trials per second on the default scenario with 1 thread
// and all threads, with and without writing the HDF5 file, per-trial cost as the world grows 10x and
// 100x in operators, and the cost of outages (the inactivity leak is followed epoch by epoch).
// Run: build/bin/bench_throughput [trials]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>
#include <tbb/info.h>

#include "trial/engine.hpp"
#include "io/results.hpp"
#include "io/scenario.hpp"

using namespace restake;
using Clock = std::chrono::steady_clock;

namespace {

Model load_default() {
  const std::string path = RESTAKE_SOURCE_DIR "/scenarios/default.toml";
  std::ifstream in(path);
  return parse_scenario(std::string(std::istreambuf_iterator<char>(in), {}), path);
}

// The default world with every operator copied `factor` times: groups, AVS operator sets and
// holders' positions spread over the copies, so stakes and rates per operator stay the same.
Model scaled(const Model& base, std::size_t factor) {
  Model m = base;
  const std::size_t n = base.operators.size();
  for (std::size_t k = 1; k < factor; ++k)
    for (std::size_t o = 0; o < n; ++o) {
      Operator copy = base.operators[o];
      copy.name += fmt::format("-{}", k);
      m.operators.push_back(copy);
    }
  for (auto& g : m.groups) {
    const auto members = g.members;
    for (std::size_t k = 1; k < factor; ++k)
      for (std::size_t o : members) g.members.push_back(o + k * n);
  }
  for (auto& o : m.outages) {
    const auto members = o.operators;
    for (std::size_t k = 1; k < factor; ++k)
      for (std::size_t op : members) o.operators.push_back(op + k * n);
  }
  for (auto& a : m.avs) {
    const auto allocations = a.allocations;
    for (std::size_t k = 1; k < factor; ++k)
      for (Allocation al : allocations) {
        al.op += k * n;
        a.allocations.push_back(al);
      }
  }
  for (auto& h : m.holders) {
    const auto positions = h.positions;
    h.positions.clear();
    for (std::size_t k = 0; k < factor; ++k)
      for (Position p : positions) {
        p.op += k * n;
        p.stake /= static_cast<double>(factor);
        h.positions.push_back(p);
      }
  }
  return m;
}

double trials_per_second(const Model& m, std::uint64_t trials, int threads, const std::string& h5_path = "",
                         int deflate = 1) {
  RunSpec o;
  o.trials = trials;
  o.seed = 1;
  o.threads = threads;
  const auto start = Clock::now();
  if (h5_path.empty()) {
    run_trials(m, o, [](const TrialBlock&) {});
  } else {
    ResultsMeta meta;
    meta.info = {m.simulation.name, "bench", "bench", 1, trials, m.simulation.horizon_days};
    WriterOptions wo;
    wo.deflate_level = deflate;
    ResultsWriter w(h5_path, m, meta, wo);
    Tally tally(m);
    run_trials(m, o, [&](const TrialBlock& b) {
      w.append(b);
      tally.add(b);
    });
    w.finish(summarize_run(m, meta.info, tally, w.record_columns()));
  }
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(trials) / s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t trials = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  const int cores = tbb::info::default_concurrency();
  const Model m = load_default();
  const std::string h5 = (std::filesystem::temp_directory_path() / "restake-bench.h5").string();

  fmt::print("restake-sim throughput, default scenario, {} trials, {} cores\n", trials, cores);
  const double one = trials_per_second(m, trials, 1);
  const double all = trials_per_second(m, trials, cores);
  const double one_io = trials_per_second(m, trials, 1, h5);
  const double all_io = trials_per_second(m, trials, cores, h5);
  const double one_raw = trials_per_second(m, trials, 1, h5, 0);
  const double all_raw = trials_per_second(m, trials, cores, h5, 0);
  std::filesystem::remove(h5);
  fmt::print("{:<34} {:>14} {:>14}\n", "", "1 thread", fmt::format("{} threads", cores));
  fmt::print("{:<34} {:>14.0f} {:>14.0f}   (x{:.2f})\n", "engine only, trials/s", one, all, all / one);
  fmt::print("{:<34} {:>14.0f} {:>14.0f}   (x{:.2f})\n", "HDF5 records, deflate 1, trials/s", one_io, all_io, all_io / one_io);
  fmt::print("{:<34} {:>14.0f} {:>14.0f}   (x{:.2f})\n", "HDF5 records, uncompressed, trials/s", one_raw, all_raw, all_raw / one_raw);

  fmt::print("\nper-trial cost as the world grows (1 thread, engine only)\n");
  fmt::print("{:<10} {:>10} {:>14} {:>16} {:>10}\n", "operators", "sources", "trials/s", "us per trial", "cost x");
  double base_cost = 0.0;
  for (std::size_t factor : {1, 10, 100}) {
    const Model big = scaled(m, factor);
    const std::uint64_t n = std::max<std::uint64_t>(trials / factor, 10'000);
    const double rate = trials_per_second(big, n, 1);
    const double us = 1e6 / rate;
    if (factor == 1) base_cost = us;
    fmt::print("{:<10} {:>10} {:>14.0f} {:>16.2f} {:>10.1f}\n", big.operators.size(), make_sampler_plan(big).sources.size(),
               rate, us, us / base_cost);
  }

  // The default world's outage at higher rates; its network share is uniform on [0.2, 0.5], so
  // about 55% of outages stop finality and are followed through their leak epoch by epoch.
  fmt::print("\noutages (default world, 1 thread, engine only)\n");
  fmt::print("{:<22} {:>14} {:>16} {:>10}\n", "outages per year", "trials/s", "us per trial", "cost x");
  double quiet_cost = 0.0;
  for (double rate : {0.0, 0.01, 1.0, 10.0}) {
    Model o = m;
    for (auto& outage : o.outages) outage.rate_per_year = rate;
    const std::uint64_t n = std::max<std::uint64_t>(trials / (rate >= 1.0 ? 20 : 1), 10'000);
    const double us = 1e6 / trials_per_second(o, n, 1);
    if (rate == 0.0) quiet_cost = us;
    fmt::print("{:<22} {:>14.0f} {:>16.2f} {:>10.1f}\n", rate, 1e6 / us, us, us / quiet_cost);
  }
  return 0;
}
