// libFuzzer: scenario text -> parse_scenario (the TOML guard, toml++, the strict reader, every
// validation rule) -> scenario_warnings. Only ScenarioError may come out.
#include "fuzz_support.hpp"
#include "io/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const restake::Model m = restake::parse_scenario(restake::fuzz::as_text(data, size), "fuzz.toml");
    (void)restake::scenario_warnings(m);
  } catch (const restake::ScenarioError&) {
  }
  return 0;
}
