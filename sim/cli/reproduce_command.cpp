#include "reproduce_command.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "reproduce/reproduction.hpp"
#include "io/scenario.hpp"
#include "text_file.hpp"

namespace restake {


int run_reproduce_command(const std::string& manifest, bool markdown) {
  const auto cases = parse_reproductions(read_text_file(manifest, "manifest"), manifest);
  const std::filesystem::path dir = std::filesystem::path(manifest).parent_path();
  int failed = 0;
  if (markdown) {
    fmt::print("| case | source | published | ours | tolerance | status | command |\n|---|---|---:|---:|---:|---|---|\n");
  }
  for (const auto& c : cases) {
    const std::string path = (dir / c.scenario).lexically_normal().string();
    const Model m = parse_scenario(read_text_file(path, "scenario file"), path);
    const double ours = measure_reproduction(m, c);
    const bool ok = within_tolerance(c, ours);
    failed += !ok;
    const std::string unit = c.metric == ReproductionMetric::LossEth       ? "ETH lost"
                             : c.metric == ReproductionMetric::ValueLeftEth ? "ETH left"
                                                                            : fmt::format("of all stake lost, psi = {}", c.psi);
    if (markdown) {
      const std::string command = c.metric == ReproductionMetric::CascadeLossShare
                                      ? fmt::format("restake-sim cascade {} --psi {}", path, c.psi)
                                      : fmt::format("restake-sim run {}", path);
      fmt::print("| {} | {} | {}{} {} | {:.9f} | {}% | {} | `{}` |\n", c.name, c.source, c.upper_bound ? "< " : "", c.published, unit,
                 ours, 100.0 * c.tolerance, ok ? "pass" : "**FAIL**", command);
    } else {
      fmt::print("{:<4} {:<72} published {:>12} ours {:>16.9f} ({}, tolerance {}%)\n", ok ? "ok" : "FAIL", c.name, c.published,
                 ours, unit, 100.0 * c.tolerance);
    }
  }
  if (!markdown) fmt::print("{} passed, {} failed\n", cases.size() - failed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace restake
