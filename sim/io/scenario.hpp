#pragma once
// Scenario files (TOML) -> Model. Validation is strict: unknown keys, unknown names, values out of
// range and cycles are errors that name the file, line, column and key path.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.hpp"

namespace restake {

struct ScenarioError : std::runtime_error {
  ScenarioError(std::string file, int line, int column, std::string key, const std::string& what);
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // key path, e.g. "avs[1].slashing[0].fraction"
};

// `file_name` only labels errors; the text is parsed from memory.
Model parse_scenario(std::string_view toml_text, const std::string& file_name);

// Valid but probably not what was meant (e.g. outages that can stop finality with the inactivity
// leak switched off), one sentence each; the command line logs them as warnings.
std::vector<std::string> scenario_warnings(const Model& m);

}  // namespace restake
