#pragma once
// What a run is besides its model: which trials, from which seed (these decide every number), and
// how they are computed (threads and block size never change a number). Resolved once from the
// scenario, a sweep file and the command line; the engine, the writers' metadata and the MPI sweep
// all take it from here.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "model/model.hpp"
#include "trial/sampler.hpp"

namespace restake {

struct RunSpec {
  std::uint64_t seed = 0;
  std::uint64_t trials = 0;
  std::uint64_t first_trial = 0;  // trial indices first_trial .. first_trial + trials - 1
  std::size_t block_trials = 1 << 15;
  int threads = 0;  // 0: all cores
  Tilt tilt;        // importance sampling (sampler.hpp); inactive: plain Monte Carlo

  std::uint64_t block_count() const;
  // Block k of this run as a run of its own (one block): the trials a single run computes there.
  RunSpec block(std::uint64_t k) const;
};

// What one source (a sweep file's [sweep], the command line) says about the run; unset values
// leave the decision to the sources below it.
struct RunOverrides {
  std::optional<std::uint64_t> seed{}, trials{};  // {}: a designated initializer may leave them out
  std::optional<int> threads{};
  std::optional<std::size_t> block_trials{};
};

// The one place of the precedence rule: the command line over [sweep] over the scenario's
// [simulation]. Threads not given are all cores, as a number (for the log).
RunSpec resolve_run_spec(const Simulation& scenario, const RunOverrides& sweep, const RunOverrides& command_line);

}  // namespace restake
