// libFuzzer: sweep text -> parse_sweep (every point checked against the scenario) -> the first
// points' scenarios, descriptions and models. The input is a sweep file, optionally followed by a
// line "#@scenario" and the scenario it sweeps (the seeds are built so); without one the sweep
// sweeps scenarios/default.toml. Only ScenarioError (SweepError) may come out.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "fuzz_support.hpp"
#include "sweep/sweep.hpp"

namespace {

constexpr std::string_view kScenarioMark = "\n#@scenario\n";
// A sweep may have a million points, each checked by parsing its scenario: minutes, not a finding.
// The harness checks the first ones and stops there.
constexpr std::size_t kPointsChecked = 64;
struct EnoughPoints {};

std::string default_scenario() {
  std::ifstream in(RESTAKE_SOURCE_DIR "/scenarios/default.toml", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) std::abort();
  return text.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string fallback = default_scenario();
  const std::string_view input = restake::fuzz::as_text(data, size);
  const std::size_t mark = input.find(kScenarioMark);
  const std::string_view sweep_text = input.substr(0, mark);
  const std::string scenario(mark == std::string_view::npos ? std::string_view(fallback)
                                                            : input.substr(mark + kScenarioMark.size()));
  try {
    const restake::PointChecks checks{.every_point = true, .progress = [](std::size_t checked, std::size_t) {
                                        if (checked >= kPointsChecked) throw EnoughPoints{};
                                      }};
    const restake::Sweep sweep =
        restake::parse_sweep(sweep_text, "fuzz-sweep.toml", [&](const std::string&) { return scenario; }, checks);
    for (std::size_t p = 0; p < std::min<std::size_t>(sweep.points.size(), 3); ++p) {
      (void)sweep.describe_point(p);
      (void)sweep.point_model(p);
    }
  } catch (const restake::ScenarioError&) {
  } catch (const EnoughPoints&) {
  }
  return 0;
}
