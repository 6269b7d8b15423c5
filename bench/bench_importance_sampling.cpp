// Importance sampling against plain Monte Carlo (not a test): work-normalised variance reduction for
// P(loss >= x) at p = 1e-4 and 1e-6, side by side in one run (docs/performance.md).
//
//     build/bin/bench_importance_sampling [trials] [scenario holder]...
//
// Per world and level p: the loss level x with P(loss >= x) about p is the importance-sampled
// (1 - p) quantile from cross-entropy pilots; then a tilt for "loss >= x" is searched and a run of
// `trials` trials estimates p. Plain Monte Carlo's variance per trial is exactly p (1 - p) for the
// indicator, so it need not be sampled 1/p times to be known; its time per trial is measured on a
// plain run of the same length. The reduction is
//     (p (1 - p) x plain seconds per trial) / (IS variance per trial x IS seconds per trial),
// the IS time including its pilot rounds. Both on one thread.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "io/scenario.hpp"
#include "stats/statistics.hpp"
#include "trial/cross_entropy.hpp"
#include "trial/engine.hpp"

using namespace restake;
using Clock = std::chrono::steady_clock;

namespace {

Model load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return parse_scenario(std::string(std::istreambuf_iterator<char>(in), {}), path);
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Estimate {
  double p = 0.0, variance = 0.0;  // mean and variance per trial of w 1{loss >= x}
  double seconds = 0.0;
};

Estimate run(const Model& m, std::size_t holder, double x, std::uint64_t trials, const Tilt& tilt) {
  RunSpec spec;
  spec.trials = trials;
  spec.seed = 1;
  spec.threads = 1;
  spec.tilt = tilt;
  RunningMoments hits;
  const auto start = Clock::now();
  run_trials(m, spec, [&](const TrialBlock& b) {
    const std::size_t H = b.shape.holders;
    for (std::size_t i = 0; i < b.count; ++i)
      hits.add(b.loss_fraction[i * H + holder] >= x ? (b.weight.empty() ? 1.0 : b.weight[i]) : 0.0);
  });
  Estimate e;
  e.seconds = seconds_since(start);
  const Moments r = hits.result();
  e.p = r.mean;
  e.variance = r.sd * r.sd;
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t trials = argc > 1 ? std::stoull(argv[1]) : 200'000;
  std::vector<std::pair<std::string, std::string>> worlds;
  for (int i = 2; i + 1 < argc; i += 2) worlds.emplace_back(argv[i], argv[i + 1]);
  if (worlds.empty()) {
    worlds = {{RESTAKE_SOURCE_DIR "/scenarios/default.toml", "rsETH-like"},
              {RESTAKE_SOURCE_DIR "/scenarios/ecosystem.toml", "ezETH"}};
  }
  fmt::print("{:<16} {:<18} {:>7} {:>10} {:>12} {:>9} {:>10} {:>10} {:>9} {:>12}\n", "scenario", "holder", "p", "loss x",
             "IS p", "rel se", "plain s/tr", "IS s/tr", "pilots", "reduction");
  for (const auto& [path, name] : worlds) {
    const Model m = load(path);
    std::size_t holder = m.holders.size();
    for (std::size_t h = 0; h < m.holders.size(); ++h)
      if (m.holders[h].name == name) holder = h;
    if (holder == m.holders.size()) throw std::runtime_error(fmt::format("{}: no holder {}", path, name));
    const Estimate plain = run(m, holder, 2.0, trials, {});  // the time of a plain trial (2.0: no hit)
    for (const double p : {1e-4, 1e-6}) {
      TailSearch search;
      search.target.holder = holder;
      search.target.quantile = 1.0 - p;
      const CrossEntropyResult level = find_tilt(m, search, 7);
      search.target = {holder, level.target_loss, 0.0};
      const auto pilots_start = Clock::now();
      const CrossEntropyResult tilt = find_tilt(m, search, 11);
      const double pilot_seconds = seconds_since(pilots_start);
      const Estimate is = run(m, holder, level.target_loss, trials, tilt.tilt);
      const double plain_per_trial = plain.seconds / static_cast<double>(trials);
      const double is_per_trial = (is.seconds + pilot_seconds) / static_cast<double>(trials);
      const double reduction = is.p * (1.0 - is.p) * plain_per_trial / (is.variance * is_per_trial);
      const std::string scenario = std::filesystem::path(path).stem().string();
      fmt::print("{:<16} {:<18} {:>7.0e} {:>10.4g} {:>12.4e} {:>9.4f} {:>10.3g} {:>10.3g} {:>9} {:>12.4g}\n", scenario, name, p,
                 level.target_loss, is.p, std::sqrt(is.variance / static_cast<double>(trials)) / is.p, plain_per_trial,
                 is_per_trial, tilt.pilot_trials, reduction);
      std::fflush(stdout);
    }
  }
  return 0;
}
