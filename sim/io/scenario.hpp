#pragma once
// Scenario files (TOML) -> Model. Validation is strict: unknown keys, unknown names, values out of
// range and cycles are errors that name the file, line, column and key path.
#include <string>
#include <string_view>
#include <vector>

#include "io/toml_reader.hpp"  // ScenarioError
#include "model/model.hpp"

namespace restake {

// `file_name` only labels errors; the text is parsed from memory. Throws ScenarioErrors with every
// error found (a syntax error alone; otherwise one per entry with errors, every unknown key: see
// Parser::parse in io/scenario.cpp for what stops the reading earlier), or one ScenarioError from
// the checks of the whole world, which run only on a scenario without other errors.
Model parse_scenario(std::string_view toml_text, const std::string& file_name);

// Valid but probably not what was meant (e.g. outages that can stop finality with the inactivity
// leak switched off), one sentence each; the command line logs them as warnings.
std::vector<std::string> scenario_warnings(const Model& m);

}  // namespace restake
