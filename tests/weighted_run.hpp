#pragma once
// A results file written as `restake-sim run` writes it (engine -> writer and tally -> summary),
// from a RunSpec that may carry an importance-sampling tilt: the tests' way to weighted files until
// the command line has a switch for them.
#include <string>

#include "io/results.hpp"
#include "stats/summary.hpp"
#include "stats/tally.hpp"
#include "trial/engine.hpp"

namespace restake::test {

// Every source with a rate drawn at `factor` times it; `defensive` of the trials at the model's rates.
inline Tilt uniform_tilt(const Model& m, double factor, double defensive = 0.0) {
  Tilt t;
  t.defensive = defensive;
  for (const EventSource& s : make_sampler_plan(m).sources) t.rate_factor.push_back(s.rate_per_year > 0.0 ? factor : 1.0);
  return t;
}

// A run of `trials` from `seed` on two threads, every source's rate times `factor`.
inline RunSpec tilted_run(const Model& m, std::uint64_t trials, std::uint64_t seed, double factor, double defensive) {
  RunSpec o;
  o.trials = trials;
  o.seed = seed;
  o.threads = 2;
  o.tilt = uniform_tilt(m, factor, defensive);
  return o;
}

inline RunSummary write_results(const std::string& path, const Model& m, const RunSpec& spec, bool records = true,
                                const std::string& scenario_text = "") {
  ResultsMeta meta;
  meta.info = {m.simulation.name, "test", "test", spec.seed, spec.trials, m.simulation.horizon_days, TiltInfo::of(m, spec.tilt)};
  meta.scenario_path = "test.toml";
  meta.scenario_text = scenario_text;
  WriterOptions wo;
  wo.records = records;
  ResultsWriter writer(path, m, meta, wo);
  Tally tally(m, records ? 0.0 : wo.sketch_accuracy);
  run_trials(m, spec, [&](const TrialBlock& b) {
    writer.append(b);
    tally.add(b);
  });
  const RunSummary s = records ? summarize_run(m, meta.info, tally, writer.record_columns()) : summarize_run(m, meta.info, tally);
  writer.finish(s);
  return s;
}

}  // namespace restake::test
