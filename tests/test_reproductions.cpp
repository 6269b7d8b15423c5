// The reproductions manifest (scenarios/published/reproductions.toml) is read as strictly as a
// scenario: declared keys, and errors that name the file, line, column and key path.
#include "reproduce/reproduction.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "io/scenario.hpp"

using namespace restake;

namespace {

constexpr const char* kCase = R"toml([[case]]
name = "lone validator"
scenario = "electra-lone-validator.toml"
source = "consensus-specs"
holder = "validator"
metric = "loss_eth"
published = 0.066
tolerance = 0.01
)toml";

// The error reading `text` raises; fails the test if it reads.
ScenarioError manifest_error(const std::string& text) {
  try {
    parse_reproductions(text, "m.toml");
  } catch (const ScenarioError& e) {
    return e;
  }
  FAIL("the manifest parsed, but an error was expected");
  return ScenarioError("", 0, 0, "", "");
}

// kCase with `from` replaced by `to` (which must occur once).
std::string edited(const std::string& from, const std::string& to) {
  std::string s = kCase;
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("the published manifest reads, with each case's metric") {
  std::ifstream in(RESTAKE_SOURCE_DIR "/scenarios/published/reproductions.toml");
  std::stringstream text;
  text << in.rdbuf();
  const auto cases = parse_reproductions(text.str(), "reproductions.toml");
  REQUIRE(cases.size() >= 10);
  CHECK(cases[0].metric == ReproductionMetric::LossEth);
  CHECK(cases[0].holder == "validator");
  bool cascade = false;
  for (const auto& c : cases) {
    if (c.metric != ReproductionMetric::CascadeLossShare) continue;
    cascade = true;
    CHECK(c.holder.empty());
    CHECK(c.psi > 0.0);
  }
  CHECK(cascade);
}

TEST_CASE("a missing manifest key is an error at its case that names the key") {
  const ScenarioError e = manifest_error(edited("published = 0.066\n", ""));
  CHECK(e.file == "m.toml");
  CHECK(e.key == "case[0]");
  CHECK(e.line == 1);
  CHECK(contains(e.what(), "missing required key 'published' (a number)"));
}

TEST_CASE("an unknown manifest key is an error at the key that lists the keys a case takes") {
  const ScenarioError e = manifest_error(edited("tolerance = 0.01", "tolerance = 0.01\ntolerence = 0.01"));
  CHECK(e.key == "case[0].tolerence");
  CHECK(e.line == 9);
  CHECK(e.column == 1);
  CHECK(contains(e.what(), "unknown key (check the spelling; expected one of: name, scenario, source, holder, metric"));
}

TEST_CASE("an unknown metric or bound is an error at the value that says what was given") {
  ScenarioError e = manifest_error(edited("\"loss_eth\"", "\"loss\""));
  CHECK(e.key == "case[0].metric");
  CHECK(e.line == 6);
  CHECK(e.column == 10);
  CHECK(contains(e.what(), "expected \"loss_eth\", \"value_left_eth\" or \"cascade_loss_share\", got \"loss\""));
  e = manifest_error(edited("tolerance = 0.01", "tolerance = 0.01\nbound = \"lower\""));
  CHECK(e.key == "case[0].bound");
  CHECK(contains(e.what(), "expected \"upper\" (the published figure is an upper bound), got \"lower\""));
}

TEST_CASE("values out of range and keys of the other metric are errors, not ignored") {
  ScenarioError e = manifest_error(edited("tolerance = 0.01", "tolerance = -0.01"));
  CHECK(e.key == "case[0].tolerance");
  CHECK(contains(e.what(), "expected a relative tolerance >= 0, got -0.01"));
  e = manifest_error(edited("tolerance = 0.01", "tolerance = 0.01\npsi = 0.1"));
  CHECK(e.key == "case[0].psi");
  CHECK(contains(e.what(), "only for metric = \"cascade_loss_share\""));
  e = manifest_error(edited("\"loss_eth\"", "\"cascade_loss_share\"\npsi = 0.1"));
  CHECK(e.key == "case[0].holder");
  CHECK(contains(e.what(), "names no holder"));
  e = manifest_error("case = [1]\n");
  CHECK(e.key == "case[0]");
  CHECK(contains(e.what(), "expected a table, got an integer"));
  e = manifest_error("");
  CHECK(e.key == "case");
  CHECK(contains(e.what(), "expected at least one [[case]]"));
}
