// A weighted results file for the Python tests (analysis/tests): SCENARIO run with every event
// source's rate times FACTOR, DEFENSIVE of the trials at the model's rates, written as
// `restake-sim run` writes it. Until the command line has its importance-sampling switch, this is
// how the tests get a weighted file.
//   write_weighted_results SCENARIO OUT TRIALS FACTOR DEFENSIVE [--no-records]
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "cli_support.hpp"
#include "io/scenario.hpp"
#include "weighted_run.hpp"

int main(int argc, char** argv) {
  using namespace restake;
  if (argc < 6 || argc > 7 || (argc == 7 && std::string(argv[6]) != "--no-records")) {
    std::cerr << "usage: write_weighted_results SCENARIO OUT TRIALS FACTOR DEFENSIVE [--no-records]\n";
    return 2;
  }
  try {
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
