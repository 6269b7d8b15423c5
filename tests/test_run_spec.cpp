// The run specification: the one precedence rule (command line > [sweep] > scenario) and blocks.
#include <doctest/doctest.h>

#include <tbb/info.h>

#include "support.hpp"
#include "trial/engine.hpp"
#include "trial/run_spec.hpp"

using namespace restake;
using namespace restake::test;

TEST_CASE("a run's seed and trials come from the command line, else [sweep], else the scenario") {
  Simulation scenario;
  scenario.seed = 1;
  scenario.trials = 100;
  const RunSpec from_scenario = resolve_run_spec(scenario, {}, {});
  CHECK(from_scenario.seed == 1);
  CHECK(from_scenario.trials == 100);
  CHECK(from_scenario.first_trial == 0);
  CHECK(from_scenario.block_trials == RunSpec{}.block_trials);
  CHECK(from_scenario.threads == tbb::info::default_concurrency());

  const RunSpec from_sweep = resolve_run_spec(scenario, {.seed = 2, .trials = 200}, {});
  CHECK(from_sweep.seed == 2);
  CHECK(from_sweep.trials == 200);

  const RunSpec mixed = resolve_run_spec(scenario, {.seed = 2, .trials = 200}, {.seed = 3, .threads = 4, .block_trials = 50});
  CHECK(mixed.seed == 3);       // the command line over [sweep]
  CHECK(mixed.trials == 200);   // [sweep] where the command line says nothing
  CHECK(mixed.threads == 4);
  CHECK(mixed.block_trials == 50);

  CHECK(resolve_run_spec(scenario, {}, {.trials = 300}).trials == 300);
}

TEST_CASE("the blocks of a run cover its trials once, in order, the last one short") {
  RunSpec run;
  run.trials = 2500;
  run.first_trial = 10;
  run.block_trials = 1000;
  REQUIRE(run.block_count() == 3);
  std::uint64_t next = run.first_trial;
  for (std::uint64_t k = 0; k < run.block_count(); ++k) {
    const RunSpec b = run.block(k);
    CHECK(b.first_trial == next);
    CHECK(b.block_trials == b.trials);
    CHECK(b.seed == run.seed);
    next += b.trials;
  }
  CHECK(run.block(2).trials == 500);
  CHECK(next == run.first_trial + run.trials);
}

TEST_CASE("blocks hold at most ~64 MiB of rows: 32,768 trials of a small world, fewer of a world with many holders") {
  const RecordShape small = RecordShape::of(model_from(two_avs_world(10, 1)));
  CHECK(block_trials_for(small) == RunSpec{}.block_trials);
  RecordShape many = small;
  many.holders = 1000;
  const std::size_t trials = block_trials_for(many);
  CHECK(trials < RunSpec{}.block_trials);
  CHECK(trials * many.doubles_per_trial() * sizeof(double) <= (std::size_t{64} << 20));
  CHECK((trials + 1) * many.doubles_per_trial() * sizeof(double) > (std::size_t{64} << 20));
}
