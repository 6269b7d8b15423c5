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
    const std::string path = c.scenario.empty() ? "" : (dir / c.scenario).lexically_normal().string();
    const double ours = path.empty() ? evaluate_closed_form(c)
                                     : measure_reproduction(parse_scenario(read_text_file(path, "scenario file"), path), c);
    const bool ok = within_tolerance(c, ours);
    failed += !ok;
    const std::string unit = reproduction_unit(c);
    const std::string allowed = c.factor > 0.0 ? fmt::format("x{}", c.factor) : fmt::format("{}%", 100.0 * c.tolerance);
    if (markdown) {
      const std::string command = c.metric == ReproductionMetric::CascadeLossShare ? fmt::format("restake-sim cascade {} --psi {}", path, c.psi)
                                  : path.empty() ? std::string("closed form (sim/market/lending.hpp)")
                                  : c.metric == ReproductionMetric::ExitQueueDays ? fmt::format("exit_queue_days at {}'s fork", path)
                                                                                   : fmt::format("restake-sim run {}", path);
      fmt::print("| {} | {} | {}{} {} | {:.9f} | {} | {} | `{}` |\n", c.name, c.source, c.upper_bound ? "< " : c.lower_bound ? "> " : "", c.published, unit,
                 ours, allowed, ok ? "pass" : "**FAIL**", command);
    } else {
      fmt::print("{:<4} {:<72} published {:>12} ours {:>16.9f} ({}, tolerance {})\n", ok ? "ok" : "FAIL", c.name, c.published,
                 ours, unit, allowed);
    }
  }
  if (!markdown) fmt::print("{} passed, {} failed\n", cases.size() - failed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace restake
