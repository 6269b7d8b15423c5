#include "trial/run_spec.hpp"

#include <algorithm>

#include <tbb/info.h>

namespace restake {

std::uint64_t RunSpec::block_count() const { return (trials + block_trials - 1) / block_trials; }

RunSpec RunSpec::block(std::uint64_t k) const {
  RunSpec b = *this;
  b.first_trial = first_trial + k * block_trials;
  b.trials = std::min<std::uint64_t>(block_trials, trials - k * block_trials);
  b.block_trials = static_cast<std::size_t>(b.trials);
  return b;
}

RunSpec resolve_run_spec(const Simulation& scenario, const RunOverrides& sweep, const RunOverrides& command_line) {
  const auto pick = [&](auto RunOverrides::*field, auto fallback) {
    return (command_line.*field).value_or((sweep.*field).value_or(fallback));
  };
  RunSpec s;
  s.seed = pick(&RunOverrides::seed, scenario.seed);
  s.trials = pick(&RunOverrides::trials, scenario.trials);
  s.block_trials = pick(&RunOverrides::block_trials, s.block_trials);
  s.threads = pick(&RunOverrides::threads, tbb::info::default_concurrency());
  return s;
}

}  // namespace restake
