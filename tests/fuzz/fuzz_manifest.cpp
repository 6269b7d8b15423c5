// libFuzzer: reproductions manifest text -> parse_reproductions. Only ScenarioError may come out.
#include "fuzz_support.hpp"
#include "io/toml_reader.hpp"  // ScenarioError
#include "reproduce/reproduction.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)restake::parse_reproductions(restake::fuzz::as_text(data, size), "reproductions.toml");
  } catch (const restake::ScenarioError&) {
  }
  return 0;
}
