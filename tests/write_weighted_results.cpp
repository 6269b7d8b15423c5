// Weighted files for the Python tests (analysis/tests), written through the library as the command
// line writes them, until it has its importance-sampling switch:
//   write_weighted_results SCENARIO OUT TRIALS FACTOR DEFENSIVE [--no-records]
//     a results file: SCENARIO with every event source's rate times FACTOR, DEFENSIVE of the trials
//     at the model's rates;
//   write_weighted_results --sweep SWEEP OUT FACTOR DEFENSIVE
//     a sweep file (with records), every point drawn with that one tilt.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "cli_support.hpp"
#include "io/scenario.hpp"
#include "sweep/point_runner.hpp"
#include "sweep/sweep.hpp"
#include "sweep/sweep_writer.hpp"
#include "weighted_run.hpp"

namespace {

using namespace restake;

void write_sweep(const std::string& sweep_path, const std::string& out, double factor, double defensive) {
  const Sweep sw = parse_sweep(test::slurp(sweep_path), sweep_path, [](const std::string& p) { return test::slurp(p); });
  const Model first = sw.point_model(0);
  PointRun o;
  o.run = resolve_run_spec(first.simulation, {.seed = sw.seed, .trials = sw.trials}, {.threads = 2});
  o.run.tilt = test::uniform_tilt(first, factor, defensive);
  o.exact_quantiles = true;
  SweepMeta meta{"test", "test", sweep_path, o.run.seed, o.run.trials, TiltInfo::of(first, o.run.tilt)};
  SweepWriterOptions wo;
  wo.records = true;
  wo.quantile_relative_error = 0.0;
  SweepWriter writer(out, sw, first, meta, wo);
  for (std::size_t p = 0; p < sw.points.size(); ++p) {
    const Model m = sw.point_model(p);
    const RunInfo info{m.simulation.name, "test", "test", o.run.seed, o.run.trials, m.simulation.horizon_days, TiltInfo::of(m, o.run.tilt)};
    writer.add_point(p, m, run_point(m, info, o, [&](const TrialBlock& b) { writer.append(p, b); }));
  }
  writer.finish();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "usage: write_weighted_results SCENARIO OUT TRIALS FACTOR DEFENSIVE [--no-records]\n"
      "       write_weighted_results --sweep SWEEP OUT FACTOR DEFENSIVE\n";
  try {
    if (argc == 6 && std::string(argv[1]) == "--sweep") {
      write_sweep(argv[2], argv[3], std::stod(argv[4]), std::stod(argv[5]));
      return 0;
    }
    if (argc < 6 || argc > 7 || (argc == 7 && std::string(argv[6]) != "--no-records")) {
      std::cerr << usage;
      return 2;
    }
    const std::string text = test::slurp(argv[1]);
    const Model m = parse_scenario(text, argv[1]);
    RunSpec spec = resolve_run_spec(m.simulation, {}, {.trials = std::stoull(argv[3]), .threads = 2});
    spec.tilt = test::uniform_tilt(m, std::stod(argv[4]), std::stod(argv[5]));
    test::write_results(argv[2], m, spec, argc == 6, text);
  } catch (const std::exception& e) {
    std::cerr << "write_weighted_results: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
