// Scenario validation: every error parse_scenario() reports names the file, the line and column it
// points at, the key path, and says what is wrong. Each test takes a small valid scenario, changes
// one thing in it, and checks the error that results.
#include "io/scenario.hpp"

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

using restake::Model;
using restake::parse_scenario;
using restake::ScenarioError;

namespace {

// The smallest scenario that has every kind of table. Tests edit it with Scenario below, so each
// line here is written to be unique.
constexpr std::string_view kMinimal = R"toml(
[simulation]
name = "minimal"
trials = 10
seed = 7
horizon_days = 365

[ethereum]
total_active_stake_eth = 34_000_000
base_apr = 0.03

[[contract]]
name = "core"
annual_failure_probability = 0.01
loss_given_failure = { dist = "uniform", min = 0.05, max = 0.5 }

[[contract]]
name = "vault"
annual_failure_probability = 0.02
depends_on = ["core"]

[[contract]]
name = "l2-bridge"
kind = "bridge"
failure_rate_per_year = 0.03

[[group]]
name = "cloud"
annual_probability = 0.04
fraction = 0.3

[[operator]]
name = "op-a"
validators = 100
annual_fault_probability = 0.05
fault_fraction = { dist = "beta", alpha = 1, beta = 30 }
groups = ["cloud"]

[[operator]]
name = "op-b"
stake_eth = 6400

[[protocol]]
name = "eigen"
slashing_mode = "unique"
contracts = ["core"]

[[protocol]]
name = "symb"
slashing_mode = "shared"

[[avs]]
name = "oracle"
protocol = "eigen"
operators = [{ operator = "op-a", allocation = 0.5 }]
faulty_annual_probability = 0.001
faulty_fraction = 0.25
  [[avs.slashing]]
  name = "bad-price"
  annual_probability = 0.06
  fraction = 0.1
  [avs.rewards]
  initial_apr = 0.01
  floor_apr = 0.002
  half_life_days = 180

[[avs]]
name = "bridge-check"
protocol = "symb"
operators = ["op-a", "op-b"]

[[lrt]]
name = "lrt-x"
protocol = "eigen"
reward_fee = 0.1
contracts = ["vault"]
bridged = [{ bridge = "l2-bridge", share = 0.1 }]
positions = [{ operator = "op-a", stake_eth = 1000 }]

[[lst]]
name = "lst-y"
positions = [{ operator = "op-b", stake_eth = 2000 }]

[[pool]]
name = "cover"
balance_eth = 100
covers = ["avs_slashing"]
holders = ["lrt-x"]
)toml";

// The minimal scenario with edits: each `from` must occur exactly once, so an edit cannot
// silently miss or hit the wrong place.
class Scenario {
 public:
  Scenario() : text_(kMinimal) {}

  Scenario& replace(std::string_view from, std::string_view to) {
    const auto at = text_.find(from);
    if (at == std::string::npos || text_.find(from, at + 1) != std::string::npos)
      throw std::logic_error("test setup: \"" + std::string(from) + "\" must occur exactly once in the scenario");
    text_.replace(at, from.size(), to);
    return *this;
  }
  Scenario& remove(std::string_view what) { return replace(what, ""); }
  Scenario& append(std::string_view more) {
    text_ += '\n';
    text_ += more;
    return *this;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

struct Where {
  int line = 0;
  int column = 0;
};

// 1-based line and column of the only occurrence of `needle` in `text`. A '^' in the needle marks
// the place within it ("stake_eth = ^0" is the 0); without one, it is the needle's first character.
Where locate(const std::string& text, std::string_view marked) {
  std::string needle(marked);
  const auto mark = needle.find('^');
  const std::size_t offset = mark == std::string::npos ? 0 : mark;
  if (mark != std::string::npos) needle.erase(mark, 1);
  const auto found = text.find(needle);
  if (found == std::string::npos || text.find(needle, found + 1) != std::string::npos)
    throw std::logic_error("test setup: \"" + needle + "\" must occur exactly once in the scenario");
  const std::size_t at = found + offset;
  Where w{1, 1};
  for (std::size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++w.line;
      w.column = 1;
    } else {
      ++w.column;
    }
  }
  return w;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

Model parse(const std::string& text) { return parse_scenario(text, "test.toml"); }

// The error parsing `text` raises; fails the test if it parses.
ScenarioError error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ScenarioError& e) {
    return e;
  }
  FAIL("the scenario parsed, but an error was expected");
  throw std::logic_error("unreachable");
}

struct Expected {
  std::string_view key;   // key path
  std::string_view says;  // a phrase of what()
  std::string_view at;    // where the error points, as for locate() ("" = don't check)
};

// Parses `text`, expects a ScenarioError as described, and returns it for further checks.
ScenarioError expect_error(const std::string& text, const Expected& x) {
  const ScenarioError e = error_of(text);
  INFO("error: ", std::string(e.what()));
  CHECK(e.file == "test.toml");
  CHECK(e.key == x.key);
  CHECK(contains(e.what(), x.says));
  if (!x.at.empty()) {
    const Where w = locate(text, x.at);
    CHECK(e.line == w.line);
    CHECK(e.column == w.column);
  }
  return e;
}

ScenarioError expect_error(const Scenario& s, const Expected& x) { return expect_error(s.text(), x); }

constexpr std::string_view kUnknownKey = "unknown key (check the spelling";

}  // namespace

// --- the base case --------------------------------------------------------------------------------

TEST_CASE("the minimal scenario used by these tests is valid") {
  const Model m = parse(Scenario().text());
  CHECK(m.operators.size() == 2);
  CHECK(m.contracts.size() == 3);
  CHECK(m.avs.size() == 2);
  CHECK(m.holders.size() == 2);
  CHECK(m.coverage_pools.size() == 1);
}

TEST_CASE("an error message reads file:line:column: key: message") {
  const Scenario s = Scenario().replace("trials = 10", "trials = 0");
  const ScenarioError e = expect_error(s, {"simulation.trials", "expected a number of trials >= 1, got 0", "0\nseed"});
  const Where w = locate(s.text(), "0\nseed");
  CHECK(std::string(e.what()) ==
        "test.toml:" + std::to_string(w.line) + ":" + std::to_string(w.column) +
            ": simulation.trials: expected a number of trials >= 1, got 0");
}

// --- TOML syntax ----------------------------------------------------------------------------------

TEST_CASE("a TOML syntax error reports its line and column") {
  expect_error(Scenario().replace("trials = 10", "trials = = 10"),
               {"(syntax)", "expected a value (a string, number, boolean, date, time, array or inline table), got '='",
                "trials = ^= 10"});
}

TEST_CASE("an unterminated string is a syntax error on its line") {
  const Scenario s = Scenario().replace("name = \"minimal\"", "name = \"minimal");
  const ScenarioError e = expect_error(s, {"(syntax)", "", ""});
  CHECK(e.line == locate(s.text(), "name = \"minimal").line);
}

TEST_CASE("a key given twice in one table is a syntax error at the second one") {
  expect_error(Scenario().replace("seed = 7\n", "seed = 7\nseed = 8\n"),
               {"(syntax)", "cannot redefine existing integer 'seed'", "seed = ^8"});
}

// --- unknown keys -----------------------------------------------------------------------------------

TEST_CASE("an unknown key at top level is an error at the key's line and column") {
  expect_error(Scenario().replace("\n[simulation]", "sed = 7\n\n[simulation]"),
               {"sed", kUnknownKey, "sed = 7"});
}

TEST_CASE("a misspelt array-of-tables header at top level is an unknown key") {
  expect_error(Scenario().append("[[opertor]]\nname = \"op-c\"\nvalidators = 1\n"),
               {"opertor", "unknown key; did you mean 'operator'?", "[[^opertor]]"});
}

TEST_CASE("an unknown key inside [simulation] is an error at the key's line and column") {
  expect_error(Scenario().replace("horizon_days = 365", "horizon_day = 365"),
               {"simulation.horizon_day", "unknown key; did you mean 'horizon_days'?", "horizon_day = 365"});
}

TEST_CASE("an unknown key inside [ethereum] and [ethereum.penalties] is an error") {
  SUBCASE("[ethereum]") {
    expect_error(Scenario().replace("base_apr = 0.03", "base_aprr = 0.03"),
                 {"ethereum.base_aprr", "unknown key; did you mean 'base_apr'?", "base_aprr"});
  }
  SUBCASE("[ethereum.penalties]") {
    expect_error(Scenario().replace("base_apr = 0.03\n", "base_apr = 0.03\n[ethereum.penalties]\nmissed_duty = false\n"),
                 {"ethereum.penalties.missed_duty", "unknown key; did you mean 'missed_duties'?", "missed_duty"});
  }
}

TEST_CASE("an unknown key inside [[operator]] is an error at the key's line and column") {
  expect_error(Scenario().replace("annual_fault_probability = 0.05", "anual_fault_probability = 0.05"),
               {"operator \"op-a\" (operator[0]).anual_fault_probability", "unknown key; did you mean 'annual_fault_probability'?", "anual_fault_probability"});
}

TEST_CASE("an unknown key inside an inline distribution table is an error at the key's line and column") {
  expect_error(Scenario().replace("alpha = 1, beta = 30 }", "alpha = 1, beta = 30, mean = 0.03 }"),
               {"operator \"op-a\" (operator[0]).fault_fraction.mean", kUnknownKey, "mean = 0.03"});
}

TEST_CASE("an unknown key inside [avs.rewards] is an error at the key's line and column") {
  expect_error(Scenario().replace("floor_apr = 0.002", "flor_apr = 0.002"),
               {"avs \"oracle\" (avs[0]).rewards.flor_apr", "unknown key; did you mean 'floor_apr'?", "flor_apr"});
}

TEST_CASE("an unknown key inside a position is an error at the key's line and column") {
  expect_error(Scenario().replace("{ operator = \"op-a\", stake_eth = 1000 }",
                                  "{ operator = \"op-a\", stake_eth = 1000, protocl = \"symb\" }"),
               {"lrt \"lrt-x\" (lrt[0]).positions[0].protocl", "unknown key; did you mean 'protocol'?", "protocl"});
}

TEST_CASE("every other table rejects unknown keys too") {
  SUBCASE("[[contract]]") {
    expect_error(Scenario().replace("kind = \"bridge\"", "kind = \"bridge\"\nlos_given_failure = 1"),
                 {"contract \"l2-bridge\" (contract[2]).los_given_failure", "unknown key; did you mean 'loss_given_failure'?", "los_given_failure"});
  }
  SUBCASE("[[group]]") {
    expect_error(Scenario().replace("fraction = 0.3", "fraction = 0.3\nmembers = [\"op-a\"]"),
                 {"group \"cloud\" (group[0]).members", kUnknownKey, "members"});
  }
  SUBCASE("[[protocol]]") {
    expect_error(Scenario().replace("slashing_mode = \"shared\"", "slashing_mode = \"shared\"\ncontract = []"),
                 {"protocol \"symb\" (protocol[1]).contract", "unknown key; did you mean 'contracts'?", "contract = []"});
  }
  SUBCASE("[[avs]]") {
    expect_error(Scenario().replace("faulty_fraction = 0.25", "faulty_fraction = 0.25\nfaulty_frac = 0.3"),
                 {"avs \"oracle\" (avs[0]).faulty_frac", "unknown key; did you mean 'faulty_fraction'?", "faulty_frac = 0.3"});
  }
  SUBCASE("an allocation in avs.operators") {
    expect_error(Scenario().replace("allocation = 0.5 }", "allocation = 0.5, alocation = 0.5 }"),
                 {"avs \"oracle\" (avs[0]).operators[0].alocation", "unknown key; did you mean 'allocation'?", "alocation"});
  }
  SUBCASE("[[avs.slashing]]") {
    expect_error(Scenario().replace("fraction = 0.1\n", "fraction = 0.1\n  rate = 1\n"),
                 {"avs \"oracle\" (avs[0]).slashing \"bad-price\" (slashing[0]).rate", kUnknownKey, "rate = 1"});
  }
  SUBCASE("a holder") {
    expect_error(Scenario().replace("reward_fee = 0.1", "reward_fees = 0.1"),
                 {"lrt \"lrt-x\" (lrt[0]).reward_fees", "unknown key; did you mean 'reward_fee'?", "reward_fees"});
  }
  SUBCASE("a bridged entry") {
    expect_error(Scenario().replace("share = 0.1 }", "share = 0.1, fee = 0 }"),
                 {"lrt \"lrt-x\" (lrt[0]).bridged[0].fee", kUnknownKey, "fee = 0 }"});
  }
  SUBCASE("[[pool]]") {
    expect_error(Scenario().replace("balance_eth = 100", "balance_eth = 100\nbalance = 5"),
                 {"pool \"cover\" (pool[0]).balance", kUnknownKey, "balance = 5"});
  }
}

// --- references to names ----------------------------------------------------------------------------

TEST_CASE("an unknown operator in a position names the operators that exist") {
  expect_error(Scenario().replace("{ operator = \"op-a\", stake_eth = 1000 }", "{ operator = \"op-z\", stake_eth = 1000 }"),
               {"lrt \"lrt-x\" (lrt[0]).positions[0].operator", "unknown operator \"op-z\" (defined: op-a, op-b)", "\"op-z\""});
}

TEST_CASE("an unknown operator in an avs is an error, by name or in an allocation") {
  SUBCASE("by name") {
    expect_error(Scenario().replace("operators = [\"op-a\", \"op-b\"]", "operators = [\"op-a\", \"op-x\"]"),
                 {"avs \"bridge-check\" (avs[1]).operators[1]", "unknown operator \"op-x\"", "\"op-x\""});
  }
  SUBCASE("in an allocation table") {
    expect_error(Scenario().replace("{ operator = \"op-a\", allocation = 0.5 }", "{ operator = \"op-x\", allocation = 0.5 }"),
                 {"avs \"oracle\" (avs[0]).operators[0].operator", "unknown operator \"op-x\"", "\"op-x\""});
  }
}

TEST_CASE("an unknown group in operator.groups is an error") {
  expect_error(Scenario().replace("groups = [\"cloud\"]", "groups = [\"cloud\", \"clod\"]"),
               {"operator \"op-a\" (operator[0]).groups[1]", "unknown group \"clod\"; did you mean \"cloud\"? (defined: cloud)", "\"clod\""});
}

TEST_CASE("a reference when nothing of that kind is defined says 'defined: none'") {
  expect_error(Scenario().remove("[[group]]\nname = \"cloud\"\nannual_probability = 0.04\nfraction = 0.3\n"),
               {"operator \"op-a\" (operator[0]).groups[0]", "unknown group \"cloud\" (defined: none)", "\"cloud\""});
}

TEST_CASE("an unknown protocol in an avs, a holder or a position is an error") {
  SUBCASE("avs") {
    expect_error(Scenario().replace("protocol = \"symb\"", "protocol = \"symbiotic\""),
                 {"avs \"bridge-check\" (avs[1]).protocol", "unknown protocol \"symbiotic\" (defined: eigen, symb)", "\"symbiotic\""});
  }
  SUBCASE("holder") {
    expect_error(Scenario().replace("name = \"lrt-x\"\nprotocol = \"eigen\"", "name = \"lrt-x\"\nprotocol = \"eigenlayer\""),
                 {"lrt \"lrt-x\" (lrt[0]).protocol", "unknown protocol \"eigenlayer\"", "\"eigenlayer\""});
  }
  SUBCASE("position") {
    expect_error(Scenario().replace("stake_eth = 1000 }", "stake_eth = 1000, protocol = \"karak\" }"),
                 {"lrt \"lrt-x\" (lrt[0]).positions[0].protocol", "unknown protocol \"karak\"", "\"karak\""});
  }
}

TEST_CASE("an unknown contract in depends_on, holder contracts or protocol contracts is an error") {
  SUBCASE("depends_on") {
    expect_error(Scenario().replace("depends_on = [\"core\"]", "depends_on = [\"kore\"]"),
                 {"contract \"vault\" (contract[1]).depends_on[0]", "unknown contract \"kore\"; did you mean \"core\"? (defined: core, l2-bridge, vault)", "\"kore\""});
  }
  SUBCASE("holder contracts") {
    expect_error(Scenario().replace("contracts = [\"vault\"]", "contracts = [\"vault\", \"safe\"]"),
                 {"lrt \"lrt-x\" (lrt[0]).contracts[1]", "unknown contract \"safe\"", "\"safe\""});
  }
  SUBCASE("protocol contracts") {
    expect_error(Scenario().replace("contracts = [\"core\"]", "contracts = [\"eigen-core\"]"),
                 {"protocol \"eigen\" (protocol[0]).contracts[0]", "unknown contract \"eigen-core\"", "\"eigen-core\""});
  }
}

TEST_CASE("an unknown bridge in bridged is an error") {
  expect_error(Scenario().replace("bridge = \"l2-bridge\"", "bridge = \"arb-bridge\""),
               {"lrt \"lrt-x\" (lrt[0]).bridged[0].bridge", "unknown contract \"arb-bridge\"", "\"arb-bridge\""});
}

TEST_CASE("an unknown holder in pool.holders is an error") {
  expect_error(Scenario().replace("holders = [\"lrt-x\"]", "holders = [\"lrt-x\", \"lrt-q\"]"),
               {"pool \"cover\" (pool[0]).holders[1]", "unknown holder \"lrt-q\"; did you mean \"lrt-x\"? (defined: lrt-x, lst-y)", "\"lrt-q\""});
}

TEST_CASE("an unknown loss cause in pool.covers lists the causes") {
  expect_error(Scenario().replace("covers = [\"avs_slashing\"]", "covers = [\"avs_slashing\", \"hacks\"]"),
               {"pool \"cover\" (pool[0]).covers[1]",
                "expected a loss cause, one of: beacon_slashing, avs_slashing, avs_faulty_slashing, contract, bridge",
                "\"hacks\""});
}

TEST_CASE("a name used where a string is expected must be a string") {
  SUBCASE("operator.groups") {
    expect_error(Scenario().replace("groups = [\"cloud\"]", "groups = [7]"),
                 {"operator \"op-a\" (operator[0]).groups[0]", "expected the name of a group (a string)", "7]"});
  }
  SUBCASE("avs.operators") {
    expect_error(Scenario().replace("operators = [\"op-a\", \"op-b\"]", "operators = [\"op-a\", 2]"),
                 {"avs \"bridge-check\" (avs[1]).operators[1]", "expected an operator name or { operator = \"...\", allocation = ... }", "2]"});
  }
  SUBCASE("pool.covers") {
    expect_error(Scenario().replace("covers = [\"avs_slashing\"]", "covers = [true]"),
                 {"pool \"cover\" (pool[0]).covers[0]", "expected a loss cause", "true]"});
  }
}

// --- names ----------------------------------------------------------------------------------------------

TEST_CASE("a duplicate name is an error at the second definition") {
  SUBCASE("operator") {
    expect_error(Scenario().append("[[operator]]\nname = \"op-a\" # again\nvalidators = 1\n"),
                 {"operator \"op-a\" (operator[2]).name", "duplicate operator name \"op-a\"", "\"op-a\" # again"});
  }
  SUBCASE("contract") {
    expect_error(Scenario().append("[[contract]]\nname = \"core\" # again\n"),
                 {"contract \"core\" (contract[3]).name", "duplicate contract name \"core\"", "\"core\" # again"});
  }
  SUBCASE("group") {
    expect_error(Scenario().append("[[group]]\nname = \"cloud\" # again\nfraction = 0.1\n"),
                 {"group \"cloud\" (group[1]).name", "duplicate group name \"cloud\"", "\"cloud\" # again"});
  }
  SUBCASE("protocol") {
    expect_error(Scenario().append("[[protocol]]\nname = \"symb\" # again\nslashing_mode = \"shared\"\n"),
                 {"protocol \"symb\" (protocol[2]).name", "duplicate protocol name \"symb\"", "\"symb\" # again"});
  }
  SUBCASE("avs") {
    expect_error(Scenario().append("[[avs]]\nname = \"oracle\" # again\nprotocol = \"symb\"\noperators = []\n"),
                 {"avs \"oracle\" (avs[2]).name", "duplicate avs name \"oracle\"", "\"oracle\" # again"});
  }
  SUBCASE("holders of different kinds share one namespace") {
    expect_error(Scenario().append("[[native]]\nname = \"lst-y\" # again\nprotocol = \"symb\"\n"
                                   "positions = [{ operator = \"op-b\", stake_eth = 32 }]\n"),
                 {"native \"lst-y\" (native[0]).name", "duplicate holder name \"lst-y\"", "\"lst-y\" # again"});
  }
  SUBCASE("pool") {
    expect_error(Scenario().append("[[pool]]\nname = \"cover\" # again\nbalance_eth = 1\ncovers = []\n"),
                 {"pool \"cover\" (pool[1]).name", "duplicate pool name \"cover\"", "\"cover\" # again"});
  }
}

TEST_CASE("a name must be given and must not be empty") {
  SUBCASE("missing") {
    expect_error(Scenario().replace("name = \"op-b\"\n", ""),
                 {"operator[1]", "missing required key 'name' (a string)", "[[operator]]\nstake_eth = 6400"});
  }
  SUBCASE("empty") {
    expect_error(Scenario().replace("name = \"op-b\"", "name = \"\""),
                 {"operator[1].name", "expected a non-empty name", "\"\""});
  }
}

TEST_CASE("two slashing conditions of one AVS may not share a name") {
  expect_error(Scenario().replace("  [avs.rewards]", "  [[avs.slashing]]\n  name = \"bad-price\" # again\n  rate_per_year = 1\n"
                                                   "  fraction = 0.01\n  [avs.rewards]"),
               {"avs \"oracle\" (avs[0]).slashing \"bad-price\" (slashing[1]).name", "duplicate slashing condition name \"bad-price\" in this AVS", "\"bad-price\" # again"});
}

TEST_CASE("the same operator or group listed twice is an error") {
  SUBCASE("operator in an avs") {
    expect_error(Scenario().replace("operators = [\"op-a\", \"op-b\"]", "operators = [\"op-a\", \"op-b\", \"op-a\" ]"),
                 {"avs \"bridge-check\" (avs[1]).operators[2]", "operator \"op-a\" listed twice", "\"op-a\" ]"});
  }
  SUBCASE("group in an operator") {
    expect_error(Scenario().replace("groups = [\"cloud\"]", "groups = [\"cloud\", \"cloud\" ]"),
                 {"operator \"op-a\" (operator[0]).groups[1]", "group \"cloud\" listed twice", "\"cloud\" ]"});
  }
}

// --- probabilities and rates ------------------------------------------------------------------------

TEST_CASE("an annual probability must be at least 0 and below 1") {
  SUBCASE("negative") {
    expect_error(Scenario().replace("annual_probability = 0.04", "annual_probability = -0.04"),
                 {"group \"cloud\" (group[0]).annual_probability", "expected an annual probability in [0, 1), got -0.04", "-0.04"});
  }
  SUBCASE("above 1") {
    expect_error(Scenario().replace("annual_probability = 0.06", "annual_probability = 1.5"),
                 {"avs \"oracle\" (avs[0]).slashing \"bad-price\" (slashing[0]).annual_probability", "expected an annual probability in [0, 1), got 1.5", "1.5"});
  }
  SUBCASE("exactly 1") {
    expect_error(Scenario().replace("annual_fault_probability = 0.05", "annual_fault_probability = 1.0"),
                 {"operator \"op-a\" (operator[0]).annual_fault_probability", "expected an annual probability below 1", "1.0"});
  }
  SUBCASE("exactly 1, written as an integer") {
    expect_error(Scenario().replace("annual_failure_probability = 0.02", "annual_failure_probability = 1"),
                 {"contract \"vault\" (contract[1]).annual_failure_probability", "expected an annual probability below 1", "1\ndepends_on"});
  }
  SUBCASE("faulty_annual_probability too") {
    expect_error(Scenario().replace("faulty_annual_probability = 0.001", "faulty_annual_probability = 2"),
                 {"avs \"oracle\" (avs[0]).faulty_annual_probability", "expected an annual probability in [0, 1), got 2", "2\nfaulty_fraction"});
  }
}

TEST_CASE("an annual probability of 0 is allowed and means no events") {
  const Model m = parse(Scenario().replace("annual_probability = 0.04", "annual_probability = 0").text());
  CHECK(m.groups[0].rate_per_year == 0.0);
}

TEST_CASE("a rate per year must be in [0, 1e6]") {
  expect_error(Scenario().replace("failure_rate_per_year = 0.03", "failure_rate_per_year = -0.5"),
               {"contract \"l2-bridge\" (contract[2]).failure_rate_per_year", "expected a rate per year in [0, 1e6], got -0.5", "-0.5"});
}

TEST_CASE("giving both an annual probability and a rate per year is an error at the rate") {
  SUBCASE("group") {
    expect_error(Scenario().replace("annual_probability = 0.04", "annual_probability = 0.04\nrate_per_year = 0.22"),
                 {"group \"cloud\" (group[0]).rate_per_year", "give either 'annual_probability' or 'rate_per_year', not both", "0.22"});
  }
  SUBCASE("operator") {
    expect_error(Scenario().replace("annual_fault_probability = 0.05",
                                    "annual_fault_probability = 0.05\nfault_rate_per_year = 0.7"),
                 {"operator \"op-a\" (operator[0]).fault_rate_per_year",
                  "give either 'annual_fault_probability' or 'fault_rate_per_year', not both", "0.7"});
  }
  SUBCASE("contract") {
    expect_error(Scenario().replace("failure_rate_per_year = 0.03",
                                    "failure_rate_per_year = 0.03\nannual_failure_probability = 0.5"),
                 {"contract \"l2-bridge\" (contract[2]).failure_rate_per_year",
                  "give either 'annual_failure_probability' or 'failure_rate_per_year', not both", "0.03\nannual"});
  }
}

TEST_CASE("an annual probability p becomes the Poisson rate -ln(1 - p)") {
  const Model m = parse(Scenario().text());
  CHECK(m.groups[0].rate_per_year == doctest::Approx(-std::log(1.0 - 0.04)).epsilon(1e-12));
  CHECK(m.operators[0].fault_rate_per_year == doctest::Approx(-std::log(1.0 - 0.05)).epsilon(1e-12));
  CHECK(m.avs[0].conditions[0].rate_per_year == doctest::Approx(-std::log(1.0 - 0.06)).epsilon(1e-12));
  CHECK(m.contracts[2].failure_rate_per_year == 0.03);  // given as a rate: taken as is
}

// --- stakes ---------------------------------------------------------------------------------------------

TEST_CASE("a negative stake is an error") {
  SUBCASE("operator stake_eth") {
    expect_error(Scenario().replace("stake_eth = 6400", "stake_eth = -6400"),
                 {"operator \"op-b\" (operator[1]).stake_eth", "expected a stake in ETH >= 0, got -6400", "-6400"});
  }
  SUBCASE("position stake_eth") {
    expect_error(Scenario().replace("stake_eth = 2000 }", "stake_eth = -2000 }"),
                 {"lst \"lst-y\" (lst[0]).positions[0].stake_eth", "expected a stake in ETH >= 0, got -2000", "-2000"});
  }
  SUBCASE("pool balance") {
    expect_error(Scenario().replace("balance_eth = 100", "balance_eth = -100"),
                 {"pool \"cover\" (pool[0]).balance_eth", "expected a balance in ETH >= 0, got -100", "-100"});
  }
}

TEST_CASE("an operator's stake_eth must be a whole number of validators") {
  SUBCASE("not a multiple of 32 ETH") {
    expect_error(Scenario().replace("stake_eth = 6400", "stake_eth = 6410"),
                 {"operator \"op-b\" (operator[1]).stake_eth", "expected a whole number (>= 1) of 32 ETH validators, got 6410 ETH", "6410"});
  }
  SUBCASE("zero") {
    expect_error(Scenario().replace("stake_eth = 6400", "stake_eth = 0"),
                 {"operator \"op-b\" (operator[1]).stake_eth", "expected a whole number (>= 1) of 32 ETH validators, got 0 ETH", "stake_eth = ^0\n"});
  }
  SUBCASE("with consolidated validators the unit is the effective balance") {
    expect_error(Scenario().replace("stake_eth = 6400", "stake_eth = 6432\neffective_balance_eth = 64"),
                 {"operator \"op-b\" (operator[1]).stake_eth", "expected a whole number (>= 1) of 64 ETH validators, got 6432 ETH", "6432"});
    const Model m = parse(Scenario().replace("stake_eth = 6400", "stake_eth = 6400\neffective_balance_eth = 64").text());
    CHECK(m.operators[1].validators == 100);
    CHECK(m.operators[1].stake() == 6400.0);
  }
}

TEST_CASE("an operator gives either validators or stake_eth") {
  SUBCASE("both") {
    expect_error(Scenario().replace("stake_eth = 6400", "stake_eth = 6400\nvalidators = 200"),
                 {"operator \"op-b\" (operator[1]).stake_eth", "give either 'validators' or 'stake_eth', not both", "6400"});
  }
  SUBCASE("neither") {
    expect_error(Scenario().replace("stake_eth = 6400\n", ""),
                 {"operator \"op-b\" (operator[1])", "missing 'validators' or 'stake_eth'", "[[operator]]\nname = \"op-b\""});
  }
  SUBCASE("zero validators") {
    expect_error(Scenario().replace("validators = 100", "validators = 0"),
                 {"operator \"op-a\" (operator[0]).validators", "expected a validator count >= 1, got 0", "0\nannual_fault"});
  }
}

TEST_CASE("an effective balance must be a whole number of ETH in [1, 2048]") {
  SUBCASE("fractional") {
    expect_error(Scenario().replace("validators = 100", "validators = 100\neffective_balance_eth = 32.5"),
                 {"operator \"op-a\" (operator[0]).effective_balance_eth", "expected a whole number of ETH", "32.5"});
  }
  SUBCASE("too large") {
    expect_error(Scenario().replace("validators = 100", "validators = 100\neffective_balance_eth = 4096"),
                 {"operator \"op-a\" (operator[0]).effective_balance_eth", "expected an effective balance in ETH in [1, 2048], got 4096", "4096"});
  }
}

TEST_CASE("positions may delegate up to, but not more than, an operator's stake") {
  // op-a has 100 validators = 3200 ETH; the LRT already delegates 1000 ETH to it.
  SUBCASE("exactly the stake") {
    CHECK_NOTHROW(parse(Scenario()
                            .append("[[native]]\nname = \"solo\"\nprotocol = \"symb\"\n"
                                    "positions = [{ operator = \"op-a\", stake_eth = 2200 }]\n")
                            .text()));
  }
  SUBCASE("more than the stake, summed over holders") {
    // The error points at the position that tips the operator over.
    expect_error(Scenario().append("[[native]]\nname = \"solo\"\nprotocol = \"symb\"\n"
                                   "positions = [{ operator = \"op-a\", stake_eth = 2500 }]\n"),
                 {"native \"solo\" (native[0]).positions[0].stake_eth",
                  "positions so far put 3500 ETH in the validators of operator \"op-a\", more than its 3200 ETH",
                  "stake_eth = ^2500"});
  }
}

// --- unique-mode allocations -------------------------------------------------------------------------

TEST_CASE("unique-mode allocations of one operator may not sum over 1 across the AVSs of a protocol") {
  SUBCASE("over 1 is an error at the allocation that tips it over") {
    expect_error(Scenario().append("[[avs]]\nname = \"keeper\"\nprotocol = \"eigen\"\n"
                                   "operators = [{ operator = \"op-a\", allocation = 0.75 }]\n"),
                 {"avs \"keeper\" (avs[2]).operators[0]", "unique-mode allocations of operator \"op-a\" in protocol \"eigen\" sum to 1.25 > 1",
                  "{ operator = \"op-a\", allocation = 0.75 }"});
  }
  SUBCASE("exactly 1 is allowed") {
    const Model m = parse(Scenario()
                              .append("[[avs]]\nname = \"keeper\"\nprotocol = \"eigen\"\n"
                                      "operators = [{ operator = \"op-a\", allocation = 0.5 }]\n")
                              .text());
    CHECK(m.avs[2].allocations[0].magnitude == 0.5);
  }
}

TEST_CASE("unique-mode allocations of one operator in two different protocols are not summed") {
  const Model m = parse(Scenario()
                            .append("[[protocol]]\nname = \"other-unique\"\nslashing_mode = \"unique\"\n\n"
                                    "[[avs]]\nname = \"keeper\"\nprotocol = \"other-unique\"\n"
                                    "operators = [{ operator = \"op-a\", allocation = 0.75 }]\n")
                            .text());
  REQUIRE(m.avs.size() == 3);
  CHECK(m.avs[0].allocations[0].magnitude == 0.5);
  CHECK(m.avs[2].protocol == 2);
  CHECK(m.avs[2].allocations[0].op == 0);
  CHECK(m.avs[2].allocations[0].magnitude == 0.75);
}

TEST_CASE("shared-mode AVSs take whole operators and are not summed") {
  const Model m = parse(Scenario()
                            .append("[[avs]]\nname = \"keeper\"\nprotocol = \"symb\"\noperators = [\"op-a\"]\n")
                            .text());
  CHECK(m.avs[1].allocations[0].magnitude == 1.0);
  CHECK(m.avs[2].allocations[0].magnitude == 1.0);
}

TEST_CASE("unique mode needs an allocation for every operator") {
  SUBCASE("an operator named without a table") {
    expect_error(Scenario().replace("[{ operator = \"op-a\", allocation = 0.5 }]", "[\"op-a\"]"),
                 {"avs \"oracle\" (avs[0]).operators[0]", "unique slashing mode needs an allocation", "\"op-a\"]"});
  }
  SUBCASE("a table without allocation") {
    expect_error(Scenario().replace("{ operator = \"op-a\", allocation = 0.5 }", "{ operator = \"op-a\" }"),
                 {"avs \"oracle\" (avs[0]).operators[0]", "missing 'allocation' (required in unique slashing mode)", "{ operator = \"op-a\" }"});
  }
}

TEST_CASE("an allocation must lie in [0, 1]") {
  expect_error(Scenario().replace("allocation = 0.5", "allocation = 1.2"),
               {"avs \"oracle\" (avs[0]).operators[0].allocation", "expected an allocated share of the operator's stake in [0, 1], got 1.2", "1.2"});
}

// --- contract dependencies ------------------------------------------------------------------------

TEST_CASE("a contract that depends on itself is an error") {
  expect_error(Scenario().replace("failure_rate_per_year = 0.03", "failure_rate_per_year = 0.03\ndepends_on = [\"l2-bridge\"]"),
               {"contract \"l2-bridge\" (contract[2]).depends_on[0]", "a contract cannot depend on itself", "\"l2-bridge\"]"});
}

TEST_CASE("a cycle in depends_on is an error that names the cycle") {
  SUBCASE("three contracts") {
    expect_error(Scenario().append("[[contract]]\nname = \"ring-a\"\ndepends_on = [\"ring-b\"]\n"
                                   "[[contract]]\nname = \"ring-b\"\ndepends_on = [\"ring-c\"]\n"
                                   "[[contract]]\nname = \"ring-c\"\ndepends_on = [\"ring-a\"]\n"),
                 {"contract \"ring-c\" (contract[5]).depends_on[0]", "depends_on forms a cycle: ring-a -> ring-b -> ring-c -> ring-a",
                  "\"ring-a\"]"});
  }
  SUBCASE("a contract that leads into a cycle is not part of it") {
    const ScenarioError e =
        expect_error(Scenario().append("[[contract]]\nname = \"entry\"\ndepends_on = [\"loop-a\"]\n"
                                       "[[contract]]\nname = \"loop-a\"\ndepends_on = [\"loop-b\"]\n"
                                       "[[contract]]\nname = \"loop-b\"\ndepends_on = [\"loop-a\" ]\n"),
                     {"contract \"loop-b\" (contract[5]).depends_on[0]", "depends_on forms a cycle: loop-a -> loop-b -> loop-a", "\"loop-a\" ]"});
    CHECK_FALSE(contains(e.what(), "entry"));
  }
  SUBCASE("two contracts, one declared before the other") {
    expect_error(Scenario().replace("loss_given_failure = { dist = \"uniform\", min = 0.05, max = 0.5 }",
                                    "loss_given_failure = { dist = \"uniform\", min = 0.05, max = 0.5 }\n"
                                    "depends_on = [\"vault\"]"),
                 {"contract \"vault\" (contract[1]).depends_on[0]", "depends_on forms a cycle: core -> vault -> core", "depends_on = [^\"core\"]"});
  }
}

TEST_CASE("a dependency chain without a cycle is fine") {
  const Model m = parse(Scenario().replace("failure_rate_per_year = 0.03", "failure_rate_per_year = 0.03\ndepends_on = [\"vault\", \"core\"]").text());
  CHECK(m.contracts[1].depends_on == std::vector<std::size_t>{0});
  CHECK(m.contracts[2].depends_on == std::vector<std::size_t>{1, 0});
}

TEST_CASE("a contract kind is \"contract\" or \"bridge\"") {
  expect_error(Scenario().replace("kind = \"bridge\"", "kind = \"vault\""),
               {"contract \"l2-bridge\" (contract[2]).kind", "expected \"contract\" or \"bridge\", got \"vault\"", "kind = ^\"vault\""});
}

// --- distributions -------------------------------------------------------------------------------------

TEST_CASE("a parameter of no distribution family is an unknown key") {
  expect_error(Scenario().replace("{ dist = \"beta\", alpha = 1, beta = 30 }", "{ dist = \"beta\", alpha = 1, beta = 30, shape = 2 }"),
               {"operator \"op-a\" (operator[0]).fault_fraction.shape", kUnknownKey, "^shape"});
}

TEST_CASE("an unknown distribution name lists the known ones") {
  expect_error(Scenario().replace("{ dist = \"beta\", alpha = 1, beta = 30 }", "{ dist = \"gamma\", alpha = 2 }"),
               {"operator \"op-a\" (operator[0]).fault_fraction.dist",
                "expected one of fixed, uniform, beta, triangular, normal, lognormal; got \"gamma\"", "\"gamma\""});
}

TEST_CASE("a beta distribution is fine for a fraction, but not where 0 is out of range") {
  SUBCASE("a fraction in [0, 1]") {
    const Model m = parse(Scenario().replace("faulty_fraction = 0.25", "faulty_fraction = { dist = \"beta\", alpha = 2, beta = 5 }").text());
    CHECK(m.avs[0].faulty_fraction.kind == restake::DistributionKind::Beta);
  }
  SUBCASE("a half-life must be > 0") {
    expect_error(Scenario().replace("half_life_days = 180", "half_life_days = { dist = \"beta\", alpha = 2, beta = 5 }"),
                 {"avs \"oracle\" (avs[0]).rewards.half_life_days",
                  "expected a half-life in days > 0, but beta(2, 5) can take values outside [1e-09, 1000000]", "half_life_days = ^{"});
  }
}

TEST_CASE("a distribution for a fraction must stay inside [0, 1]") {
  SUBCASE("uniform with max > 1") {
    expect_error(Scenario().replace("{ dist = \"beta\", alpha = 1, beta = 30 }", "{ dist = \"uniform\", min = 0.1, max = 1.5 }"),
                 {"operator \"op-a\" (operator[0]).fault_fraction",
                  "expected a share of validators in [0, 1], but uniform(0.1, 1.5) can take values outside [0, 1]",
                  "{ dist = \"uniform\", min = 0.1"});
  }
  SUBCASE("triangular with min < 0") {
    expect_error(Scenario().replace("fraction = 0.3", "fraction = { dist = \"triangular\", min = -0.1, mode = 0.2, max = 0.5 }"),
                 {"group \"cloud\" (group[0]).fraction", "but triangular(-0.1, 0.2, 0.5) can take values outside [0, 1]", "{ dist = \"triangular\""});
  }
  SUBCASE("fixed above 1") {
    expect_error(Scenario().replace("fraction = 0.1\n", "fraction = { dist = \"fixed\", value = 1.1 }\n"),
                 {"avs \"oracle\" (avs[0]).slashing \"bad-price\" (slashing[0]).fraction", "expected a slashed share in [0, 1], but 1.1 can take values outside [0, 1]",
                  "{ dist = \"fixed\""});
  }
  SUBCASE("normal truncated below 0 by hand") {
    expect_error(Scenario().replace("faulty_fraction = 0.25", "faulty_fraction = { dist = \"normal\", mean = 0.2, sd = 0.1, min = -1 }"),
                 {"avs \"oracle\" (avs[0]).faulty_fraction", "can take values outside [0, 1]", "{ dist = \"normal\""});
  }
  SUBCASE("a plain number above 1") {
    expect_error(Scenario().replace("faulty_fraction = 0.25", "faulty_fraction = 1.5"),
                 {"avs \"oracle\" (avs[0]).faulty_fraction", "expected a slashed share in [0, 1], got 1.5", "1.5"});
  }
}

TEST_CASE("a normal distribution is truncated to the allowed range by default") {
  const Model m = parse(Scenario().replace("faulty_fraction = 0.25", "faulty_fraction = { dist = \"normal\", mean = 0.2, sd = 0.5 }").text());
  const auto& d = m.avs[0].faulty_fraction;
  CHECK(d.kind == restake::DistributionKind::Normal);
  CHECK(d.lo == 0.0);
  CHECK(d.hi == 1.0);
}

TEST_CASE("a distribution's min must be below its max") {
  SUBCASE("uniform min == max") {
    expect_error(Scenario().replace("min = 0.05, max = 0.5 }", "min = 0.5, max = 0.5 }"),
                 {"contract \"core\" (contract[0]).loss_given_failure.max", "expected max > min", "max = ^0.5 }"});
  }
  SUBCASE("uniform min > max") {
    expect_error(Scenario().replace("min = 0.05, max = 0.5 }", "min = 0.6, max = 0.3 }"),
                 {"contract \"core\" (contract[0]).loss_given_failure.max", "expected max > min", "max = ^0.3 }"});
  }
  SUBCASE("normal truncation window") {
    expect_error(Scenario().replace("base_apr = 0.03", "base_apr = { dist = \"normal\", mean = 0.03, sd = 0.01, min = 0.05, max = 0.02 }"),
                 {"ethereum.base_apr.max", "expected max > min", "max = ^0.02 }"});
  }
  SUBCASE("triangular mode outside [min, max]") {
    expect_error(Scenario().replace("fraction = 0.3", "fraction = { dist = \"triangular\", min = 0.1, mode = 0.9, max = 0.5 }"),
                 {"group \"cloud\" (group[0]).fraction.mode", "expected min <= mode <= max and min < max", "mode = ^0.9"});
  }
}

TEST_CASE("a distribution with a missing parameter names the parameter") {
  SUBCASE("beta without beta") {
    expect_error(Scenario().replace("{ dist = \"beta\", alpha = 1, beta = 30 }", "{ dist = \"beta\", alpha = 1 }"),
                 {"operator \"op-a\" (operator[0]).fault_fraction", "missing required key 'beta' (a positive number)", "{ dist = \"beta\", alpha = 1 }"});
  }
  SUBCASE("uniform without max") {
    expect_error(Scenario().replace("min = 0.05, max = 0.5 }", "min = 0.05 }"),
                 {"contract \"core\" (contract[0]).loss_given_failure", "missing required key 'max' (a number)", "{ dist = \"uniform\""});
  }
  SUBCASE("fixed without value") {
    expect_error(Scenario().replace("base_apr = 0.03", "base_apr = { dist = \"fixed\" }"),
                 {"ethereum.base_apr", "missing required key 'value' (a number)", "{ dist = \"fixed\" }"});
  }
  SUBCASE("lognormal without sigma") {
    expect_error(Scenario().replace("half_life_days = 180", "half_life_days = { dist = \"lognormal\", mu = 5 }"),
                 {"avs \"oracle\" (avs[0]).rewards.half_life_days", "missing required key 'sigma' (a positive number)", "{ dist = \"lognormal\""});
  }
  SUBCASE("no dist at all") {
    expect_error(Scenario().replace("{ dist = \"beta\", alpha = 1, beta = 30 }", "{ alpha = 1, beta = 30 }"),
                 {"operator \"op-a\" (operator[0]).fault_fraction", "missing required key 'dist' (a string)", "{ alpha = 1, beta = 30 }"});
  }
}

TEST_CASE("distribution shape and scale parameters must be > 0") {
  SUBCASE("beta alpha = 0") {
    expect_error(Scenario().replace("alpha = 1, beta = 30", "alpha = 0, beta = 30"),
                 {"operator \"op-a\" (operator[0]).fault_fraction.alpha", "expected a positive number, got 0", "alpha = ^0"});
  }
  SUBCASE("normal sd = 0") {
    expect_error(Scenario().replace("base_apr = 0.03", "base_apr = { dist = \"normal\", mean = 0.03, sd = 0 }"),
                 {"ethereum.base_apr.sd", "expected a positive number, got 0", "sd = ^0"});
  }
  SUBCASE("negative") {
    expect_error(Scenario().replace("alpha = 1, beta = 30", "alpha = 1, beta = -3"),
                 {"operator \"op-a\" (operator[0]).fault_fraction.beta", "expected a positive number, got -3", "-3"});
  }
}

TEST_CASE("a distribution is a number or an inline table") {
  expect_error(Scenario().replace("fraction = 0.3", "fraction = \"high\""),
               {"group \"cloud\" (group[0]).fraction",
                "expected a share of validators in [0, 1] as a number or a table { dist = ... }, got a string", "\"high\""});
}

TEST_CASE("a fraction is required where an event can happen") {
  SUBCASE("group fraction") {
    expect_error(Scenario().replace("fraction = 0.3\n", ""),
                 {"group \"cloud\" (group[0])", "missing required key 'fraction'", "[[group]]"});
  }
  SUBCASE("slashing condition fraction") {
    expect_error(Scenario().replace("  fraction = 0.1\n", ""),
                 {"avs \"oracle\" (avs[0]).slashing \"bad-price\" (slashing[0])", "missing required key 'fraction'", "[[avs.slashing]]"});
  }
  SUBCASE("operator fault_fraction when its fault rate is > 0") {
    expect_error(Scenario().replace("fault_fraction = { dist = \"beta\", alpha = 1, beta = 30 }\n", ""),
                 {"operator \"op-a\" (operator[0])", "missing 'fault_fraction'", "[[operator]]\nname = \"op-a\""});
  }
  SUBCASE("avs faulty_fraction when its faulty rate is > 0") {
    expect_error(Scenario().replace("faulty_fraction = 0.25\n", ""),
                 {"avs \"oracle\" (avs[0])", "missing 'faulty_fraction'", "[[avs]]\nname = \"oracle\""});
  }
  SUBCASE("but not when the rate is 0") {
    const Model m = parse(Scenario().remove("faulty_annual_probability = 0.001\nfaulty_fraction = 0.25\n").text());
    CHECK(m.avs[0].faulty_rate_per_year == 0.0);
  }
}

// --- types ------------------------------------------------------------------------------------------------

TEST_CASE("a value of the wrong type is an error that names the type found") {
  SUBCASE("a string where a number is expected") {
    expect_error(Scenario().replace("annual_probability = 0.04", "annual_probability = \"0.04\""),
                 {"group \"cloud\" (group[0]).annual_probability", "expected an annual probability in [0, 1), got a string", "\"0.04\""});
  }
  SUBCASE("a string where an integer is expected") {
    expect_error(Scenario().replace("trials = 10", "trials = \"many\""),
                 {"simulation.trials", "expected a number of trials >= 1, got a string", "\"many\""});
  }
  SUBCASE("a float where an integer is expected") {
    expect_error(Scenario().replace("validators = 100", "validators = 100.0"),
                 {"operator \"op-a\" (operator[0]).validators", "expected a validator count >= 1, got a float", "100.0"});
  }
  SUBCASE("a number where a string is expected") {
    expect_error(Scenario().replace("name = \"minimal\"", "name = 5"),
                 {"simulation.name", "expected a string, got a", "5\ntrials"});
  }
  SUBCASE("a number where a boolean is expected") {
    expect_error(Scenario().replace("base_apr = 0.03\n", "base_apr = 0.03\n[ethereum.penalties]\nmissed_duties = 1\n"),
                 {"ethereum.penalties.missed_duties", "expected true or false, got a", "missed_duties = ^1"});
  }
  SUBCASE("a string where an array is expected") {
    expect_error(Scenario().replace("groups = [\"cloud\"]", "groups = \"cloud\""),
                 {"operator \"op-a\" (operator[0]).groups", "expected an array, got a string", "groups = ^\"cloud\""});
  }
  SUBCASE("a number where a table is expected") {
    expect_error(Scenario()
                     .remove("[avs.rewards]\n  initial_apr = 0.01\n  floor_apr = 0.002\n  half_life_days = 180\n")
                     .replace("faulty_fraction = 0.25\n", "faulty_fraction = 0.25\nrewards = 0.01\n"),
                 {"avs \"oracle\" (avs[0]).rewards", "expected a table, got a float", "rewards = ^0.01"});
  }
  SUBCASE("a string where a top-level table is expected") {
    expect_error(Scenario().replace("[simulation]\nname = \"minimal\"\ntrials = 10\nseed = 7\nhorizon_days = 365\n",
                                    "simulation = \"fast\"\n"),
                 {"simulation", "expected a table, got a string", "\"fast\""});
  }
  SUBCASE("an array element that is not a table in an array of tables") {
    expect_error(Scenario().replace("[[pool]]\nname = \"cover\"\nbalance_eth = 100\ncovers = [\"avs_slashing\"]\nholders = [\"lrt-x\"]\n", ""
                                    ).replace("[simulation]", "pool = [\"cover\"]\n[simulation]"),
                 {"pool[0]", "expected a table", "\"cover\"]"});
  }
  SUBCASE("a position that is not a table") {
    expect_error(Scenario().replace("[{ operator = \"op-b\", stake_eth = 2000 }]", "[\"op-b\"]"),
                 {"lst \"lst-y\" (lst[0]).positions[0]", "expected { operator = \"...\", stake_eth = ... }", "positions = [^\"op-b\"]"});
  }
  SUBCASE("a bridged entry that is not a table") {
    expect_error(Scenario().replace("[{ bridge = \"l2-bridge\", share = 0.1 }]", "[\"l2-bridge\"]"),
                 {"lrt \"lrt-x\" (lrt[0]).bridged[0]", "expected { bridge = \"...\", share = ... }", "\"l2-bridge\"]"});
  }
}

TEST_CASE("enumerated strings must be one of their values") {
  SUBCASE("slashing_mode") {
    expect_error(Scenario().replace("slashing_mode = \"shared\"", "slashing_mode = \"exclusive\""),
                 {"protocol \"symb\" (protocol[1]).slashing_mode", "expected \"shared\" or \"unique\", got \"exclusive\"", "\"exclusive\""});
  }
  SUBCASE("correlation_rounding") {
    expect_error(Scenario().replace("base_apr = 0.03\n", "base_apr = 0.03\n[ethereum.penalties]\ncorrelation_rounding = \"floor\"\n"),
                 {"ethereum.penalties.correlation_rounding", "expected \"per_increment\" (Electra) or \"whole_eth\"", "\"floor\""});
  }
  SUBCASE("a value that is not a string still lists the accepted texts") {
    expect_error(Scenario().replace("slashing_mode = \"shared\"", "slashing_mode = 1"),
                 {"protocol \"symb\" (protocol[1]).slashing_mode", "expected \"shared\" or \"unique\", got an integer", "slashing_mode = ^1"});
  }
}

TEST_CASE("[simulation] and [ethereum] values are range-checked") {
  SUBCASE("negative seed") {
    expect_error(Scenario().replace("seed = 7", "seed = -7"), {"simulation.seed", "expected a seed >= 0, got -7", "-7"});
  }
  SUBCASE("zero horizon") {
    expect_error(Scenario().replace("horizon_days = 365", "horizon_days = 0"),
                 {"simulation.horizon_days", "expected a horizon in days in (0, 36500], got 0", "horizon_days = ^0"});
  }
  SUBCASE("total active stake") {
    expect_error(Scenario().replace("total_active_stake_eth = 34_000_000", "total_active_stake_eth = 0.5"),
                 {"ethereum.total_active_stake_eth", "expected a total active stake in ETH in [1, 1e10], got 0.5", "stake_eth = ^0.5"});
  }
  SUBCASE("base APR") {
    expect_error(Scenario().replace("base_apr = 0.03", "base_apr = { dist = \"uniform\", min = 0, max = 2 }"),
                 {"ethereum.base_apr", "expected an APR in [-1, 1], but uniform(0, 2)", "base_apr = ^{"});
  }
  SUBCASE("a penalty constant") {
    expect_error(Scenario().replace("base_apr = 0.03\n", "base_apr = 0.03\n[ethereum.penalties]\nmin_slashing_penalty_quotient = 0\n"),
                 {"ethereum.penalties.min_slashing_penalty_quotient", "expected an integer >= 1, got 0", "quotient = ^0"});
  }
}

// --- holders ----------------------------------------------------------------------------------------------

TEST_CASE("an lst is not restaked: a protocol on it or on its positions is an error") {
  SUBCASE("on the holder") {
    expect_error(Scenario().replace("name = \"lst-y\"", "name = \"lst-y\"\nprotocol = \"symb\" # on the lst"),
                 {"lst \"lst-y\" (lst[0]).protocol", "an lst is not restaked: it has no restaking protocol", "\"symb\" # on the lst"});
  }
  SUBCASE("on a position") {
    expect_error(Scenario().replace("stake_eth = 2000 }", "stake_eth = 2000, protocol = \"symb\" }"),
                 {"lst \"lst-y\" (lst[0]).positions[0].protocol", "an lst is not restaked", "\"symb\" }"});
  }
}

TEST_CASE("a restaked position without a protocol, on it or on its holder, is an error") {
  SUBCASE("lrt") {
    expect_error(Scenario().replace("name = \"lrt-x\"\nprotocol = \"eigen\"\n", "name = \"lrt-x\"\n"),
                 {"lrt \"lrt-x\" (lrt[0]).positions[0]", "a restaked position needs a 'protocol' (here or on the holder)",
                  "{ operator = \"op-a\", stake_eth = 1000 }"});
  }
  SUBCASE("native") {
    expect_error(Scenario().append("[[native]]\nname = \"solo\"\npositions = [{ operator = \"op-b\", stake_eth = 64 }]\n"),
                 {"native \"solo\" (native[0]).positions[0]", "a restaked position needs a 'protocol'", "{ operator = \"op-b\", stake_eth = 64 }"});
  }
  SUBCASE("a position's protocol overrides the holder's") {
    const Model m = parse(Scenario().replace("stake_eth = 1000 }", "stake_eth = 1000, protocol = \"symb\" }").text());
    CHECK(m.holders[0].positions[0].protocol == 1);
    CHECK(m.holders[1].positions[0].protocol == restake::kNoProtocol);
  }
}

TEST_CASE("a holder needs at least one position and a stake > 0") {
  SUBCASE("empty positions") {
    expect_error(Scenario().replace("[{ operator = \"op-b\", stake_eth = 2000 }]", "[]"),
                 {"lst \"lst-y\" (lst[0]).positions", "expected at least one position", "[]"});
  }
  SUBCASE("no positions key") {
    expect_error(Scenario().replace("positions = [{ operator = \"op-b\", stake_eth = 2000 }]\n", ""),
                 {"lst \"lst-y\" (lst[0])", "missing required key 'positions'", "[[lst]]"});
  }
  SUBCASE("all positions zero") {
    expect_error(Scenario().replace("stake_eth = 2000 }", "stake_eth = 0 }"),
                 {"lst \"lst-y\" (lst[0]).positions", "expected a total stake > 0", "[{ operator = \"op-b\""});
  }
  SUBCASE("a position without stake_eth") {
    expect_error(Scenario().replace("{ operator = \"op-b\", stake_eth = 2000 }", "{ operator = \"op-b\" }"),
                 {"lst \"lst-y\" (lst[0]).positions[0]", "missing 'stake_eth' (the stake delegated)", "{ operator = \"op-b\" }"});
  }
}

TEST_CASE("bridged shares of a holder may not sum over 1, nor name a bridge twice") {
  expect_error(Scenario()
                   .replace("failure_rate_per_year = 0.03\n", "failure_rate_per_year = 0.03\n\n[[contract]]\nname = \"op-bridge\"\nkind = \"bridge\"\n")
                   .replace("[{ bridge = \"l2-bridge\", share = 0.1 }]",
                            "[{ bridge = \"l2-bridge\", share = 0.75 }, { bridge = \"op-bridge\", share = 0.5 }]"),
               {"lrt \"lrt-x\" (lrt[0]).bridged[1].share", "bridged shares of this holder sum to 1.25 > 1", "share = ^0.5 }]"});
  expect_error(Scenario().replace("[{ bridge = \"l2-bridge\", share = 0.1 }]",
                                  "[{ bridge = \"l2-bridge\", share = 0.05 }, { bridge = \"l2-bridge\", share = 0.05 }]"),
               {"lrt \"lrt-x\" (lrt[0]).bridged[1].bridge", "bridge \"l2-bridge\" is listed twice in this holder's 'bridged'", "bridge = ^\"l2-bridge\", share = 0.05 }]"});
}

TEST_CASE("a single bridged share must lie in [0, 1]") {
  expect_error(Scenario().replace("share = 0.1 }", "share = 1.01 }"),
               {"lrt \"lrt-x\" (lrt[0]).bridged[0].share", "expected a share of the holder's value in [0, 1], got 1.01", "1.01"});
}

TEST_CASE("a bridged entry must point at a contract of kind bridge") {
  expect_error(Scenario().replace("bridge = \"l2-bridge\"", "bridge = \"core\""),
               {"lrt \"lrt-x\" (lrt[0]).bridged[0].bridge", "contract \"core\" is not a bridge (kind = \"bridge\")", "\"core\", share"});
}

TEST_CASE("a reward fee must lie in [0, 1]") {
  expect_error(Scenario().replace("reward_fee = 0.1", "reward_fee = 1.5"),
               {"lrt \"lrt-x\" (lrt[0]).reward_fee", "expected a share of rewards in [0, 1], got 1.5", "1.5"});
}

// --- rewards ---------------------------------------------------------------------------------------------

TEST_CASE("floor_apr above initial_apr is an error") {
  expect_error(Scenario().replace("floor_apr = 0.002", "floor_apr = 0.02"),
               {"avs \"oracle\" (avs[0]).rewards.floor_apr", "expected floor_apr <= initial_apr", "floor_apr = ^0.02"});
}

TEST_CASE("a reward schedule has a half-life or a cliff, not both") {
  expect_error(Scenario().replace("half_life_days = 180", "half_life_days = 180\n  cliff_days = 90"),
               {"avs \"oracle\" (avs[0]).rewards.cliff_days", "give either 'half_life_days' or 'cliff_days', not both", "cliff_days = ^90"});
}

TEST_CASE("a floor_apr needs a subsidy decay") {
  expect_error(Scenario().remove("  half_life_days = 180\n"),
               {"avs \"oracle\" (avs[0]).rewards.floor_apr", "a floor needs a subsidy decay: give 'half_life_days' or 'cliff_days'",
                "floor_apr = ^0.002"});
}

TEST_CASE("reward schedule values are range-checked") {
  SUBCASE("initial_apr") {
    expect_error(Scenario().replace("initial_apr = 0.01", "initial_apr = 11"),
                 {"avs \"oracle\" (avs[0]).rewards.initial_apr", "expected an APR in [0, 10], got 11", "initial_apr = ^11"});
  }
  SUBCASE("half-life of 0 days") {
    expect_error(Scenario().replace("half_life_days = 180", "half_life_days = 0"),
                 {"avs \"oracle\" (avs[0]).rewards.half_life_days", "expected a half-life in days > 0, got 0", "half_life_days = ^0"});
  }
  SUBCASE("negative cliff") {
    expect_error(Scenario().replace("half_life_days = 180", "cliff_days = -1"),
                 {"avs \"oracle\" (avs[0]).rewards.cliff_days", "expected a day >= 0, got -1", "-1"});
  }
}

// --- required tables and keys ---------------------------------------------------------------------

TEST_CASE("a scenario without [simulation] or [ethereum] is an error") {
  SUBCASE("[simulation]") {
    expect_error(Scenario().remove("[simulation]\nname = \"minimal\"\ntrials = 10\nseed = 7\nhorizon_days = 365\n"),
                 {"(top level)", "missing required table [simulation]", ""});
  }
  SUBCASE("[ethereum]") {
    expect_error(Scenario().remove("[ethereum]\ntotal_active_stake_eth = 34_000_000\nbase_apr = 0.03\n"),
                 {"(top level)", "missing required table [ethereum]", ""});
  }
}

TEST_CASE("a missing required key is named, at the table that lacks it") {
  SUBCASE("simulation.name") {
    expect_error(Scenario().remove("name = \"minimal\"\n"),
                 {"simulation", "missing required key 'name' (a string)", "[simulation]"});
  }
  SUBCASE("ethereum.total_active_stake_eth") {
    expect_error(Scenario().remove("total_active_stake_eth = 34_000_000\n"),
                 {"ethereum", "missing required key 'total_active_stake_eth'", "[ethereum]"});
  }
  SUBCASE("protocol.slashing_mode") {
    expect_error(Scenario().remove("slashing_mode = \"shared\"\n"),
                 {"protocol \"symb\" (protocol[1])", "missing required key 'slashing_mode' (a string)", "[[protocol]]\nname = \"symb\""});
  }
  SUBCASE("avs.operators") {
    expect_error(Scenario().remove("operators = [\"op-a\", \"op-b\"]\n"),
                 {"avs \"bridge-check\" (avs[1])", "missing required key 'operators'", "[[avs]]\nname = \"bridge-check\""});
  }
  SUBCASE("avs.protocol") {
    expect_error(Scenario().remove("protocol = \"symb\"\n"),
                 {"avs \"bridge-check\" (avs[1])", "missing required key 'protocol' (a string)", "[[avs]]\nname = \"bridge-check\""});
  }
  SUBCASE("slashing condition name") {
    expect_error(Scenario().remove("  name = \"bad-price\"\n"),
                 {"avs \"oracle\" (avs[0]).slashing[0]", "missing required key 'name' (a string)", "[[avs.slashing]]"});
  }
  SUBCASE("the operator of an allocation") {
    expect_error(Scenario().replace("{ operator = \"op-a\", allocation = 0.5 }", "{ allocation = 0.5 }"),
                 {"avs \"oracle\" (avs[0]).operators[0]", "missing required key 'operator' (a string)", "{ allocation = 0.5 }"});
  }
  SUBCASE("the operator of a position") {
    expect_error(Scenario().replace("{ operator = \"op-a\", stake_eth = 1000 }", "{ stake_eth = 1000 }"),
                 {"lrt \"lrt-x\" (lrt[0]).positions[0]", "missing required key 'operator' (a string)", "{ stake_eth = 1000 }"});
  }
  SUBCASE("the share of a bridged entry") {
    expect_error(Scenario().replace("{ bridge = \"l2-bridge\", share = 0.1 }", "{ bridge = \"l2-bridge\" }"),
                 {"lrt \"lrt-x\" (lrt[0]).bridged[0]", "missing required key 'share'", "{ bridge = \"l2-bridge\" }"});
  }
  SUBCASE("pool.covers") {
    expect_error(Scenario().remove("covers = [\"avs_slashing\"]\n"),
                 {"pool \"cover\" (pool[0])", "missing required key 'covers'", "[[pool]]"});
  }
  SUBCASE("pool.balance_eth") {
    expect_error(Scenario().remove("balance_eth = 100\n"),
                 {"pool \"cover\" (pool[0])", "missing required key 'balance_eth'", "[[pool]]"});
  }
}

TEST_CASE("a scenario with no holders is an error") {
  expect_error(Scenario()
                   .remove("[[lrt]]\nname = \"lrt-x\"\nprotocol = \"eigen\"\nreward_fee = 0.1\ncontracts = [\"vault\"]\n"
                           "bridged = [{ bridge = \"l2-bridge\", share = 0.1 }]\n"
                           "positions = [{ operator = \"op-a\", stake_eth = 1000 }]\n")
                   .remove("[[lst]]\nname = \"lst-y\"\npositions = [{ operator = \"op-b\", stake_eth = 2000 }]\n")
                   .remove("holders = [\"lrt-x\"]\n"),
               {"(top level)", "a scenario needs at least one holder ([[lrt]], [[lst]] or [[native]])", ""});
}

TEST_CASE("a pool without holders covers every holder") {
  const Model m = parse(Scenario().remove("holders = [\"lrt-x\"]\n").text());
  CHECK(m.coverage_pools[0].holders == std::vector<std::size_t>{0, 1});
}

// --- the default scenario ---------------------------------------------------------------------------

TEST_CASE("the default scenario parses") {
  const std::string path = RESTAKE_SOURCE_DIR "/scenarios/default.toml";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read ", path);
  std::ostringstream text;
  text << in.rdbuf();
  const Model m = parse_scenario(text.str(), path);

  CHECK(m.simulation.name == "default");
  CHECK(m.simulation.trials == 200'000);
  CHECK(m.simulation.seed == 20261124);
  CHECK(m.ethereum.consensus.total_active_balance_gwei == 34'000'000ULL * restake::kGweiPerEth);
  CHECK(m.ethereum.base_apr.kind == restake::DistributionKind::Normal);
  CHECK(m.ethereum.base_apr.lo == 0.01);
  CHECK(m.ethereum.base_apr.hi == 0.06);

  REQUIRE(m.operators.size() == 5);
  CHECK(m.groups.size() == 3);
  CHECK(m.contracts.size() == 5);
  CHECK(m.protocols.size() == 2);
  REQUIRE(m.avs.size() == 3);
  REQUIRE(m.holders.size() == 3);
  REQUIRE(m.coverage_pools.size() == 1);

  SUBCASE("operators") {
    CHECK(m.operators[0].name == "op-alpha");
    CHECK(m.operators[0].validators == 20'000);
    CHECK(m.operators[2].validators == 8'000);  // stake_eth = 256_000 at 32 ETH
    CHECK(m.operators[3].effective_balance_gwei == 64 * restake::kGweiPerEth);
    CHECK(m.operators[3].stake() == 160'000.0);
    CHECK(m.operators[0].fault_rate_per_year == doctest::Approx(-std::log(1.0 - 0.02)).epsilon(1e-12));
  }
  SUBCASE("groups collect their members from operator.groups") {
    CHECK(m.groups[0].name == "cloud-x");
    CHECK(m.groups[0].rate_per_year == doctest::Approx(-std::log(1.0 - 0.01)).epsilon(1e-12));
    CHECK(m.groups[0].members == std::vector<std::size_t>{0, 1});
    CHECK(m.groups[1].members == std::vector<std::size_t>{0, 2, 4});
  }
  SUBCASE("AVSs and their allocations") {
    const auto& da = m.avs[1];
    CHECK(da.name == "data-availability");
    CHECK(m.protocols[da.protocol].mode == restake::SlashingMode::Unique);
    REQUIRE(da.allocations.size() == 3);
    CHECK(da.allocations[2].op == 3);  // op-delta
    CHECK(da.allocations[2].magnitude == 0.5);
    CHECK(da.conditions.size() == 2);
    CHECK(da.rewards.decay == restake::SubsidyDecay::Cliff);
    CHECK(m.avs[0].rewards.decay == restake::SubsidyDecay::HalfLife);
    CHECK(m.avs[0].faulty_rate_per_year == doctest::Approx(-std::log(1.0 - 0.003)).epsilon(1e-12));
    const auto& bv = m.avs[2];
    CHECK(m.protocols[bv.protocol].mode == restake::SlashingMode::Shared);
    CHECK(bv.allocations[0].magnitude == 1.0);
  }
  SUBCASE("holders are read lrt, lst, native") {
    CHECK(m.holders[0].name == "rsETH-like");
    CHECK(m.holders[1].name == "stETH-like");
    CHECK(m.holders[2].name == "native-restakers");
    CHECK(m.holders[1].kind == restake::HolderKind::Lst);
    CHECK(m.holders[0].positions[4].protocol == 1);  // symbiotic, overriding the holder's eigenlayer
    CHECK(m.holders[0].positions[0].protocol == 0);
    CHECK(m.holders[1].positions[0].protocol == restake::kNoProtocol);
    REQUIRE(m.holders[0].bridged.size() == 1);
    CHECK(m.contracts[m.holders[0].bridged[0].contract].kind == restake::ContractKind::Bridge);
    CHECK(m.holders[0].bridged[0].share == 0.15);
  }
  SUBCASE("contracts and the pool") {
    CHECK(m.contracts[2].depends_on == std::vector<std::size_t>{0});
    CHECK(m.coverage_pools[0].holders == std::vector<std::size_t>{0});
    CHECK(m.coverage_pools[0].covers[static_cast<std::size_t>(restake::LossCause::AvsSlashing)]);
    CHECK_FALSE(m.coverage_pools[0].covers[static_cast<std::size_t>(restake::LossCause::Contract)]);
  }
}

// --- typos before other checks, infinities, limits ---------------------------------------------------

TEST_CASE("a misspelt required key is reported as the typo, not as a missing key") {
  expect_error(Scenario().replace("name = \"op-b\"\nstake_eth = 6400", "name = \"op-b\"\nstake_et = 6400"),
               {"operator \"op-b\" (operator[1]).stake_et", "unknown key; did you mean 'stake_eth'?", "^stake_et = 6400"});
  expect_error(Scenario().replace("operators = [\"op-a\", \"op-b\"]", "operator = [\"op-a\", \"op-b\"]"),
               {"avs \"bridge-check\" (avs[1]).operator", "unknown key; did you mean 'operators'?", "^operator = [\"op-a\", \"op-b\"]"});
}

TEST_CASE("infinite numbers are rejected even where the range is unbounded") {
  expect_error(Scenario().replace("failure_rate_per_year = 0.03", "failure_rate_per_year = inf"),
               {"contract \"l2-bridge\" (contract[2]).failure_rate_per_year", "got inf", "failure_rate_per_year = ^inf"});
}

TEST_CASE("an operator cannot hold more than 1e10 ETH, so balances in Gwei cannot overflow") {
  expect_error(Scenario().replace("validators = 100\n", "validators = 1_000_000_000\n"),
               {"operator \"op-a\" (operator[0]).validators", "expected at most 1e10 ETH", "validators = ^1_000_000_000"});
}

TEST_CASE("an allocation in a shared-mode AVS is an error, not silently ignored") {
  expect_error(Scenario().replace("operators = [\"op-a\", \"op-b\"]", "operators = [{ operator = \"op-a\", allocation = 0.3 }]"),
               {"avs \"bridge-check\" (avs[1]).operators[0].allocation", "allocations only apply in unique slashing mode", "allocation = ^0.3"});
}

TEST_CASE("an AVS needs at least one operator") {
  expect_error(Scenario().replace("operators = [\"op-a\", \"op-b\"]", "operators = []"),
               {"avs \"bridge-check\" (avs[1]).operators", "expected at least one operator", "operators = ^[]"});
}

// --- forks ---------------------------------------------------------------------------------------------

TEST_CASE("[ethereum] fork selects the penalty constants, and [ethereum.penalties] overrides them") {
  const Model bellatrix = parse(Scenario().replace("base_apr = 0.03", "base_apr = 0.03\nfork = \"bellatrix\"").text());
  CHECK(bellatrix.ethereum.consensus.min_slashing_penalty_quotient == 32);
  CHECK(bellatrix.ethereum.consensus.rounding == restake::CorrelationRounding::WholeEth);
  const Model phase0 = parse(Scenario()
                                 .replace("base_apr = 0.03", "base_apr = 0.03\nfork = \"phase0\"\n[ethereum.penalties]\n"
                                                             "min_slashing_penalty_quotient = 64")
                                 .text());
  CHECK(phase0.ethereum.consensus.min_slashing_penalty_quotient == 64);
  CHECK(phase0.ethereum.consensus.proportional_slashing_multiplier == 1);
  CHECK(phase0.ethereum.consensus.duties == restake::DutyPenalties::Phase0);
  const Model electra = parse(Scenario().text());
  CHECK(electra.ethereum.consensus.min_slashing_penalty_quotient == 4096);
}

TEST_CASE("an unknown fork is an error that lists the forks") {
  expect_error(Scenario().replace("base_apr = 0.03", "base_apr = 0.03\nfork = \"dencun\""),
               {"ethereum.fork", "expected one of phase0, altair, bellatrix, capella, deneb, electra", "fork = ^\"dencun\""});
}

TEST_CASE("the total active stake is a whole number of ETH") {
  expect_error(Scenario().replace("total_active_stake_eth = 34_000_000", "total_active_stake_eth = 34_000_000.5"),
               {"ethereum.total_active_stake_eth", "expected a whole number of ETH", "total_active_stake_eth = ^34_000_000.5"});
}

// --- limits found in review ---------------------------------------------------------------------------

TEST_CASE("a beta shape below 0.05 is an error: the sampler would underflow to 0/0") {
  expect_error(Scenario().replace("{ dist = \"beta\", alpha = 1, beta = 30 }", "{ dist = \"beta\", alpha = 0.01, beta = 30 }"),
               {"operator \"op-a\" (operator[0]).fault_fraction.alpha", "expected a shape >= 0.05", "alpha = ^0.01"});
}

TEST_CASE("the operators cannot hold more stake than the whole beacon chain") {
  expect_error(Scenario().replace("total_active_stake_eth = 34_000_000", "total_active_stake_eth = 5_000"),
               {"(top level)", "the operators hold 9600 ETH, more than [ethereum] total_active_stake_eth = 5000 ETH", ""});
}

TEST_CASE("rates are capped at a million events a year") {
  expect_error(Scenario().replace("failure_rate_per_year = 0.03", "failure_rate_per_year = 2e6"),
               {"contract \"l2-bridge\" (contract[2]).failure_rate_per_year", "expected a rate per year in [0, 1e6]", "failure_rate_per_year = ^2e6"});
}

TEST_CASE("a scenario expecting more events per trial than the budget is refused at the largest source") {
  // 1e6 a year over 100 years: 1e8 events, gigabytes in one trial, passed validation before.
  expect_error(Scenario()
                   .replace("horizon_days = 365", "horizon_days = 36500")
                   .replace("failure_rate_per_year = 0.03", "failure_rate_per_year = 1e6"),
               {"contract \"l2-bridge\" (contract[2]).failure_rate_per_year",
                "contract \"l2-bridge\" expects 1e+08 events per trial (1e+06 per year over 36500 days); with every source, "
                "1e+08: more than the 100000 one trial may hold (docs/scenario-format.md, \"Events per trial\")",
                "failure_rate_per_year = ^1e6"});
  // A group's firing is one event per member, an AVS condition's one per operator.
  expect_error(Scenario()
                   .replace("annual_probability = 0.04", "rate_per_year = 60000")
                   .replace("stake_eth = 6400", "stake_eth = 6400\ngroups = [\"cloud\"]"),
               {"group \"cloud\" (group[0]).rate_per_year", "group \"cloud\" expects 120000 events per trial (60000 per year over 365 days, one "
                "event for each of its 2 members); with every source, 120000", "rate_per_year = ^60000"});
  expect_error(Scenario().replace("operators = [\"op-a\", \"op-b\"]", "operators = [\"op-a\", \"op-b\"]\n  [[avs.slashing]]\n"
                                  "  name = \"often\"\n  rate_per_year = 60000\n  fraction = 0.1"),
               {"avs \"bridge-check\" (avs[1]).slashing \"often\" (slashing[0]).rate_per_year", "slashing condition \"often\" of AVS \"bridge-check\" expects 120000 events "
                "per trial (60000 per year over 365 days, one event for each of its 2 operators)", "rate_per_year = ^60000"});
  // The budget is on the sum: no source alone is above it here.
  const std::string many = Scenario()
                               .replace("failure_rate_per_year = 0.03", "failure_rate_per_year = 60000")
                               .replace("annual_fault_probability = 0.05", "fault_rate_per_year = 50000")
                               .text();
  expect_error(many, {"contract \"l2-bridge\" (contract[2]).failure_rate_per_year", "with every source, 110000", "failure_rate_per_year = ^60000"});
  // Within the budget, or with no random events at all, it parses.
  parse(Scenario().replace("failure_rate_per_year = 0.03", "failure_rate_per_year = 99000").text());
  parse(many + "\n[stress]\nrandom_events = false\n");
}

// --- outages and the inactivity leak --------------------------------------------------------------

namespace {
constexpr std::string_view kOutage = R"toml(
[[outage]]
name = "client-bug"
annual_probability = 0.02
duration_days = { dist = "lognormal", mu = 0.0, sigma = 1.0, max = 30 }
network_offline_share = { dist = "uniform", min = 0.2, max = 0.6 }
operators = ["op-b", "op-a"]
fraction = 0.8
)toml";
}  // namespace

TEST_CASE("an outage and the inactivity leak switch parse into the model") {
  const Model m = parse(Scenario().replace("base_apr = 0.03", "base_apr = 0.03\ninactivity_leak = true").append(kOutage).text());
  REQUIRE(m.outages.size() == 1);
  CHECK(m.ethereum.consensus.inactivity_leak);
  CHECK(m.outages[0].rate_per_year == doctest::Approx(-std::log(0.98)));
  CHECK(m.outages[0].operators == std::vector<std::size_t>{1, 0});
  CHECK(m.outages[0].fraction.is_fixed());
  CHECK_FALSE(parse(Scenario().text()).ethereum.consensus.inactivity_leak);  // off by default
}

TEST_CASE("inactivity_leak must be a boolean") {
  expect_error(Scenario().replace("base_apr = 0.03", "base_apr = 0.03\ninactivity_leak = 1"),
               {"ethereum.inactivity_leak", "expected true or false", "inactivity_leak = ^1"});
}

TEST_CASE("exit_churn and inactivity_penalty_quotient are checked") {
  expect_error(Scenario().replace("base_apr = 0.03", "base_apr = 0.03\npenalties = { exit_churn = \"fast\" }"),
               {"ethereum.penalties.exit_churn", "expected \"validators\" (before Electra) or \"balance\"", ""});
  expect_error(Scenario().replace("base_apr = 0.03", "base_apr = 0.03\npenalties = { inactivity_penalty_quotient = 0 }"),
               {"ethereum.penalties.inactivity_penalty_quotient", "expected an integer >= 1", ""});
}

TEST_CASE("an outage with a typo in a key is rejected") {
  expect_error(Scenario().append(kOutage).replace("fraction = 0.8", "fractoin = 0.8"),
               {"outage \"client-bug\" (outage[0]).fractoin", "unknown key; did you mean 'fraction'?", "^fractoin = 0.8"});
}

TEST_CASE("an outage needs a duration, a network share and at least one operator") {
  expect_error(Scenario().append(kOutage).remove("duration_days = { dist = \"lognormal\", mu = 0.0, sigma = 1.0, max = 30 }\n"),
               {"outage \"client-bug\" (outage[0])", "missing required key 'duration_days'", ""});
  expect_error(Scenario().append(kOutage).remove("network_offline_share = { dist = \"uniform\", min = 0.2, max = 0.6 }\n"),
               {"outage \"client-bug\" (outage[0])", "missing required key 'network_offline_share'", ""});
  expect_error(Scenario().append(kOutage).replace("operators = [\"op-b\", \"op-a\"]", "operators = []"),
               {"outage \"client-bug\" (outage[0]).operators", "expected at least one operator", ""});
}

TEST_CASE("an outage's shares and duration are range-checked over the whole distribution") {
  expect_error(Scenario().append(kOutage).replace("min = 0.2, max = 0.6", "min = 0.2, max = 1.6"),
               {"outage \"client-bug\" (outage[0]).network_offline_share", "a share of all active stake in [0, 0.99]", ""});
  expect_error(Scenario().append(kOutage).replace("network_offline_share = { dist = \"uniform\", min = 0.2, max = 0.6 }",
                                                  "network_offline_share = 1.0"),
               {"outage \"client-bug\" (outage[0]).network_offline_share", "with everyone offline the chain halts", "network_offline_share = ^1.0"});
  expect_error(Scenario().append(kOutage).replace("sigma = 1.0, max = 30", "sigma = 1.0, max = 4000"),
               {"outage \"client-bug\" (outage[0]).duration_days", "a duration in days", ""});
  expect_error(Scenario().append(kOutage).replace("fraction = 0.8", "fraction = 1.5"),
               {"outage \"client-bug\" (outage[0]).fraction", "a share of validators in [0, 1]", "fraction = ^1.5"});
}

TEST_CASE("an outage's operators must exist, be listed once, and run beacon-chain validators") {
  expect_error(Scenario().append(kOutage).replace("[\"op-b\", \"op-a\"]", "[\"op-b\", \"op-z\"]"),
               {"outage \"client-bug\" (outage[0]).operators[1]", "unknown operator \"op-z\" (defined: op-a, op-b)", "\"op-z\""});
  expect_error(Scenario().append(kOutage).replace("[\"op-b\", \"op-a\"]", "[\"op-a\", \"op-a\"]"),
               {"outage \"client-bug\" (outage[0]).operators[1]", "operator \"op-a\" listed twice", ""});
  expect_error(Scenario()
                   .append(kOutage)
                   .append("[[operator]]\nname = \"fp\"\nasset = \"BTC\"\nstake_btc = 10\n")
                   .replace("[\"op-b\", \"op-a\"]", "[\"op-a\", \"fp\"]"),
               {"outage \"client-bug\" (outage[0]).operators[1]", "BTC operator: it has no beacon-chain validators", ""});
}

TEST_CASE("a forced outage names a defined outage and a day within the horizon") {
  expect_error(Scenario().append(kOutage).append("[[stress.outage]]\noutage = \"cloud\"\nday = 10\n"),
               {"stress.outage[0].outage", "unknown outage \"cloud\" (defined: client-bug)", ""});
  expect_error(Scenario().append(kOutage).append("[[stress.outage]]\noutage = \"client-bug\"\nday = 400\n"),
               {"stress.outage[0].day", "a day within the horizon", ""});
  expect_error(Scenario().append(kOutage).append("[[stress.outage]]\noutage = \"client-bug\"\nday = 1\nfraction = 1\n"),
               {"stress.outage[0].fraction", kUnknownKey, ""});
}

TEST_CASE("an outage that can stop finality with the leak switched off is valid but warned about") {
  const Model off = parse(Scenario().append(kOutage).text());
  REQUIRE(restake::scenario_warnings(off).size() == 1);
  CHECK(contains(restake::scenario_warnings(off)[0], "outage \"client-bug\" can take more than a third"));
  const Model on = parse(Scenario().replace("base_apr = 0.03", "base_apr = 0.03\ninactivity_leak = true").append(kOutage).text());
  CHECK(restake::scenario_warnings(on).empty());
  const Model small = parse(Scenario().append(kOutage).replace("min = 0.2, max = 0.6", "min = 0.1, max = 0.3").text());
  CHECK(restake::scenario_warnings(small).empty());
}

// --- [tail] ---------------------------------------------------------------------------------------

TEST_CASE("[tail] names a holder and exactly one target, and its search options within their ranges") {
  const Model m = parse(Scenario().append("[tail]\nholder = \"lst-y\"\nquantile = 0.999\npilot_trials = 2000\n").text());
  REQUIRE(m.tail.has_value());
  CHECK(m.tail->target.holder == 1);
  CHECK(m.tail->target.is_quantile());
  CHECK(m.tail->target.quantile == 0.999);
  CHECK(m.tail->pilot_trials == 2000);
  CHECK(m.tail->defensive == 0.1);
  CHECK_FALSE(parse(Scenario().text()).tail.has_value());  // no table: plain Monte Carlo

  expect_error(Scenario().append("[tail]\nholder = \"lrt-q\"\nloss = 0.2\n"),
               {"tail.holder", "unknown holder \"lrt-q\"; did you mean \"lrt-x\"? (defined: lrt-x, lst-y)", "\"lrt-q\""});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\nloss = 0.2\nquantile = 0.99\n"),
               {"tail", "needs exactly one target: 'loss' (the event loss >= x) or 'quantile'", ""});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\n"), {"tail", "needs exactly one target", ""});
  expect_error(Scenario().append("[tail]\nloss = 0.2\n"), {"tail", "missing required key 'holder'", ""});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\nloss = 0\n"), {"tail.loss", "in (0, 1], got 0", ""});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\nloss = 1.5\n"), {"tail.loss", "in (0, 1], got 1.5", "1.5"});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\nquantile = 1.0\n"),
               {"tail.quantile", "a quantile level in [0.5, 1), got 1", "1.0"});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\nquantile = 0.375\n"),
               {"tail.quantile", "a quantile level in [0.5, 1), got 0.375", "0.375\n"});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\nloss = 0.2\npilot_trials = 99\n"),
               {"tail.pilot_trials", "in [100, 1e8]", "99"});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\nloss = 0.2\nrounds = 0\n"), {"tail.rounds", "in [1, 100]", ""});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\nloss = 0.2\nelite_share = 0.9\n"),
               {"tail.elite_share", "an elite share in [0.01, 0.5], got 0.9", "0.9"});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\nloss = 0.2\nsmoothing = 0\n"), {"tail.smoothing", "[0.01, 1]", ""});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\nloss = 0.2\ndefensive = 1\n"),
               {"tail.defensive", "a defensive share in [0, 0.999], got 1", ""});
  expect_error(Scenario().append("[tail]\nholder = \"lrt-x\"\nloss = 0.2\nlevel = 0.2\n"), {"tail.level", kUnknownKey, "level"});
}

// --- slashing in time: escrows, windows, redistribution, key compromise, withdrawals ---------------

namespace {
// lrt-x's position as token stake (stETH on op-b's validators, restaked with op-a): what ELIP-006
// drains can redistribute.
constexpr std::string_view kNativePosition = "positions = [{ operator = \"op-a\", stake_eth = 1000 }]";
constexpr std::string_view kTokenPosition = "positions = [{ operator = \"op-a\", stake_eth = 1000, staked_with = \"op-b\" }]";
// The minimal scenario's protocol "eigen" (unique; lrt-x is restaked through it with op-a, as a
// token) with `keys` added.
Scenario with_eigen(std::string_view keys) {
  return Scenario()
      .replace("slashing_mode = \"unique\"", "slashing_mode = \"unique\"\n" + std::string(keys))
      .replace(kNativePosition, kTokenPosition);
}
// ... and AVS "oracle" (on eigen) with `keys` added too.
Scenario with_oracle(std::string_view eigen_keys, std::string_view oracle_keys) {
  return with_eigen(eigen_keys).replace("faulty_fraction = 0.25", "faulty_fraction = 0.25\n" + std::string(oracle_keys));
}
constexpr std::string_view kBtcHolder =
    "[[operator]]\nname = \"fp\"\nasset = \"BTC\"\nstake_btc = 10\n\n"
    "[[native]]\nname = \"btc-stakers\"\nprotocol = \"symb\"\npositions = [{ operator = \"fp\", stake_btc = 5 }]\n";
}  // namespace

TEST_CASE("a scenario with every timing key parses into the model") {
  const Model m = parse(Scenario()
                            .replace(kNativePosition, kTokenPosition)
                            .replace("slashing_mode = \"unique\"",
                                     "slashing_mode = \"unique\"\nescrow_days = 14\nveto_window_days = 0.5\nresolution_days = 7\n"
                                     "veto_probability = 0.9\nveto_delay_days = { dist = \"uniform\", min = 0, max = 10 }\n"
                                     "slashing_window_days = 30\nredistribution = true\nallocation_configuration_days = 17.5")
                            .replace("slashing_mode = \"shared\"", "slashing_mode = \"shared\"\nepoch_days = 7\nveto_window_days = 1")
                            .replace("faulty_fraction = 0.25",
                                     "faulty_fraction = 0.25\nslash_delay_days = { dist = \"triangular\", min = 0, mode = 2, max = 40 }\n"
                                     "redistributable = true\nkey_compromise = { annual_probability = 0.01, drain = 0.5, "
                                     "pause_probability = 0.8, pause_delay_days = 2 }")
                            .replace("groups = [\"cloud\"]", "groups = [\"cloud\"]\nallocation_delay_days = 3\n"
                                                             "key_compromise = { rate_per_year = 0.02 }")
                            .append("[[withdrawal]]\nholder = \"lrt-x\"\nshare = 0.4\nday = 100\nexit_queue_eth = 600_000\n\n"
                                    "[[withdrawal]]\nholder = \"lst-y\"\nafter_fault_days = { dist = \"uniform\", min = 1, max = 3 }\n")
                            .text());
  const restake::Protocol& eigen = m.protocols[0];
  CHECK(eigen.escrow_days == 14.0);
  CHECK(eigen.epoch_days == 0.0);
  CHECK(eigen.veto_window_days == 0.5);
  CHECK(eigen.resolution_days == 7.0);
  CHECK(eigen.veto_probability == 0.9);
  CHECK(eigen.veto_delay_days.kind == restake::DistributionKind::Uniform);
  CHECK(eigen.veto_delay_days.b == 10.0);
  CHECK(eigen.slashing_window_days == 30.0);
  CHECK(eigen.redistribution);
  CHECK(eigen.allocation_configuration_days == 17.5);
  CHECK(eigen.escrow_end(3.0) == 17.0);  // a fixed escrow: 14 days after the request
  const restake::Protocol& symb = m.protocols[1];
  CHECK(symb.escrow_days == 0.0);
  CHECK(symb.epoch_days == 7.0);
  CHECK(symb.veto_window_days == 1.0);
  CHECK_FALSE(symb.redistribution);
  CHECK(std::isinf(symb.slashing_window_days));
  CHECK(symb.escrow_end(3.0) == 14.0);  // requested in epoch 0: out once epoch 1 has ended
  CHECK(symb.escrow_end(7.0) == 21.0);  // requested in epoch 1: out once epoch 2 has ended

  const restake::Avs& oracle = m.avs[0];
  CHECK(oracle.slash_delay_days.kind == restake::DistributionKind::Triangular);
  CHECK(oracle.slash_delay_days.c == 40.0);
  CHECK(oracle.redistributable);
  CHECK(oracle.key_compromise.rate_per_year == doctest::Approx(-std::log(0.99)).epsilon(1e-12));
  CHECK(oracle.key_compromise.drain.a == 0.5);
  CHECK(oracle.key_compromise.pause_probability == 0.8);
  CHECK(oracle.key_compromise.pause_delay_days.a == 2.0);
  CHECK_FALSE(m.avs[1].redistributable);
  CHECK_FALSE(m.avs[1].key_compromise.possible());

  const restake::Operator& op_a = m.operators[0];
  CHECK(op_a.allocation_delay_days == 3.0);
  CHECK(op_a.key_compromise.rate_per_year == 0.02);
  CHECK(op_a.key_compromise.drain.is_fixed());
  CHECK(op_a.key_compromise.drain.a == 1.0);  // by default a thief takes everything it reaches
  CHECK(op_a.key_compromise.pause_probability == 0.0);
  CHECK(m.operators[1].allocation_delay_days == 0.0);
  CHECK_FALSE(m.operators[1].key_compromise.possible());

  REQUIRE(m.withdrawals.size() == 2);
  const restake::Withdrawal& w0 = m.withdrawals[0];
  CHECK(w0.holder == 0);
  CHECK(w0.share.a == 0.4);
  CHECK_FALSE(w0.after_fault);
  CHECK(w0.day.a == 100.0);
  REQUIRE(w0.exit_queue_eth.has_value());
  CHECK(w0.exit_queue_eth->a == 600'000.0);
  const restake::Withdrawal& w1 = m.withdrawals[1];
  CHECK(w1.holder == 1);
  CHECK(w1.share.a == 1.0);  // the whole balance by default
  CHECK(w1.after_fault);
  CHECK(w1.day.kind == restake::DistributionKind::Uniform);
  CHECK(w1.day.a == 1.0);
  CHECK_FALSE(w1.exit_queue_eth.has_value());
}

TEST_CASE("without timing keys, protocols, AVSs and operators keep today's instant slashing") {
  const Model m = parse(Scenario().text());
  for (const restake::Protocol& p : m.protocols) {
    CHECK(p.escrow_days == 0.0);
    CHECK(p.epoch_days == 0.0);
    CHECK(p.veto_window_days == 0.0);
    CHECK(p.resolution_days == 0.0);
    CHECK(p.veto_probability == 0.0);
    CHECK(std::isinf(p.slashing_window_days));
    CHECK_FALSE(p.redistribution);
    CHECK(p.allocation_configuration_days == 0.0);
    CHECK(p.escrow_end(5.0) == 5.0);
  }
  for (const restake::Avs& a : m.avs) {
    CHECK(a.slash_delay_days.is_fixed());
    CHECK(a.slash_delay_days.a == 0.0);
    CHECK_FALSE(a.redistributable);
    CHECK_FALSE(a.key_compromise.possible());
  }
  for (const restake::Operator& o : m.operators) {
    CHECK(o.allocation_delay_days == 0.0);
    CHECK_FALSE(o.key_compromise.possible());
  }
  CHECK(m.withdrawals.empty());
}

TEST_CASE("the default scenario has no escrows, windows or withdrawals") {
  const std::string path = RESTAKE_SOURCE_DIR "/scenarios/default.toml";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read ", path);
  std::ostringstream text;
  text << in.rdbuf();
  const Model m = parse_scenario(text.str(), path);
  REQUIRE(m.protocols.size() == 2);
  for (const restake::Protocol& p : m.protocols) {
    CHECK(p.escrow_days == 0.0);
    CHECK(p.epoch_days == 0.0);
    CHECK(p.veto_window_days + p.resolution_days == 0.0);
    CHECK(std::isinf(p.slashing_window_days));
    CHECK_FALSE(p.redistribution);
  }
  for (const restake::Avs& a : m.avs) CHECK(a.slash_delay_days.support_max() == 0.0);
  CHECK(m.withdrawals.empty());
}

TEST_CASE("a protocol's escrow is escrow_days or epoch_days, not both") {
  expect_error(with_eigen("escrow_days = 14\nepoch_days = 7"),
               {"protocol \"eigen\" (protocol[0]).epoch_days", "give either 'escrow_days' (a fixed delay) or 'epoch_days'", "epoch_days = ^7"});
}

TEST_CASE("an epoch must last longer than 0 days") {
  expect_error(with_eigen("epoch_days = 0"),
               {"protocol \"eigen\" (protocol[0]).epoch_days", "expected an epoch length in days in (0, 1e4], got 0", "epoch_days = ^0"});
  expect_error(with_eigen("epoch_days = -1"),
               {"protocol \"eigen\" (protocol[0]).epoch_days", "expected an epoch length in days in (0, 1e4], got -1", "epoch_days = ^-1"});
}

TEST_CASE("a protocol's delays, veto probability and configuration delay are range-checked") {
  expect_error(with_eigen("escrow_days = 2e4"), {"protocol \"eigen\" (protocol[0]).escrow_days", "expected an escrow in days in [0, 1e4], got 20000", "2e4"});
  expect_error(with_eigen("veto_window_days = -1"),
               {"protocol \"eigen\" (protocol[0]).veto_window_days", "expected a veto window in days in [0, 1e4], got -1", "-1"});
  expect_error(with_eigen("resolution_days = 1e5"),
               {"protocol \"eigen\" (protocol[0]).resolution_days", "expected a resolution delay in days in [0, 1e4], got 100000", "1e5"});
  expect_error(with_eigen("veto_window_days = 1\nveto_probability = 1.5"),
               {"protocol \"eigen\" (protocol[0]).veto_probability", "expected a probability in [0, 1], got 1.5", "1.5"});
  expect_error(with_eigen("allocation_configuration_days = -17.5"),
               {"protocol \"eigen\" (protocol[0]).allocation_configuration_days", "expected a configuration delay in days in [0, 1e4], got -17.5", "-17.5"});
  expect_error(with_eigen("redistribution = \"yes\""),
               {"protocol \"eigen\" (protocol[0]).redistribution", "expected true or false, got a string", "\"yes\""});
}

TEST_CASE("a veto needs a window to be cast in") {
  expect_error(with_eigen("veto_probability = 0.5"),
               {"protocol \"eigen\" (protocol[0]).veto_probability", "a veto needs a window: give 'veto_window_days' or 'resolution_days' > 0",
                "veto_probability = ^0.5"});
  parse(with_eigen("veto_probability = 0.5\nresolution_days = 7").text());  // ELIP-016's resolution delay is a window
}

TEST_CASE("a veto delay without a veto probability has no effect and is an error") {
  expect_error(with_eigen("veto_window_days = 1\nveto_delay_days = 0.5"),
               {"protocol \"eigen\" (protocol[0]).veto_delay_days", "has no effect: no one vetoes with veto_probability = 0", "veto_delay_days = ^0.5"});
  expect_error(with_eigen("veto_window_days = 1\nveto_probability = 0\nveto_delay_days = 0.5"),
               {"protocol \"eigen\" (protocol[0]).veto_delay_days", "has no effect", "veto_delay_days = ^0.5"});
}

TEST_CASE("a veto delay's support must lie in [0, 1e4] days") {
  expect_error(with_eigen("veto_window_days = 1\nveto_probability = 0.5\nveto_delay_days = { dist = \"normal\", mean = 1, sd = 1, min = -1 }"),
               {"protocol \"eigen\" (protocol[0]).veto_delay_days", "expected a reaction time in days in [0, 1e4], but", ""});
}

TEST_CASE("a slashing window must last longer than 0 days") {
  expect_error(with_eigen("slashing_window_days = 0"),
               {"protocol \"eigen\" (protocol[0]).slashing_window_days", "(0, 1e4], got 0 (leave the key out for no limit)", "slashing_window_days = ^0"});
  expect_error(with_eigen("slashing_window_days = inf"), {"protocol \"eigen\" (protocol[0]).slashing_window_days", "got inf", ""});
}

TEST_CASE("a slash delay that always exceeds the protocol's slashing window is an error naming both") {
  expect_error(with_oracle("slashing_window_days = 7", "slash_delay_days = { dist = \"uniform\", min = 8, max = 10 }"),
               {"avs \"oracle\" (avs[0]).slash_delay_days",
                "every slash would lapse: the delay is at least 8 days, more than protocol \"eigen\"'s slashing_window_days = 7",
                "slash_delay_days = ^{"});
  // Some slashes lapse, others do not: valid.
  const Model m = parse(with_oracle("slashing_window_days = 7", "slash_delay_days = { dist = \"uniform\", min = 5, max = 10 }").text());
  CHECK(m.avs[0].slash_delay_days.a == 5.0);
  // Without a window any delay is valid.
  parse(with_oracle("", "slash_delay_days = 30").text());
  expect_error(with_oracle("", "slash_delay_days = -1"), {"avs \"oracle\" (avs[0]).slash_delay_days", "expected a delay in days in [0, 1e4], got -1", "-1"});
}

TEST_CASE("a redistributable AVS needs a protocol that allows redistribution") {
  expect_error(with_oracle("", "redistributable = true"),
               {"avs \"oracle\" (avs[0]).redistributable", "protocol \"eigen\" does not allow redistribution: set redistribution = true on it",
                "redistributable = ^true"});
  parse(with_oracle("redistribution = true", "redistributable = true").text());
  parse(with_oracle("", "redistributable = false").text());
}

TEST_CASE("an AVS's key compromise needs a redistributable operator set") {
  expect_error(with_oracle("redistribution = true", "key_compromise = { annual_probability = 0.01 }"),
               {"avs \"oracle\" (avs[0]).key_compromise", "a thief gains only from a redistributable operator set (burning profits nobody)",
                "key_compromise = ^{"});
  expect_error(with_oracle("redistribution = true", "redistributable = false\nkey_compromise = { annual_probability = 0.01 }"),
               {"avs \"oracle\" (avs[0]).key_compromise", "a thief gains only from a redistributable operator set", ""});
}

TEST_CASE("a key compromise table is strict and its values are checked") {
  const std::string_view proto = "redistribution = true\nresolution_days = 7";
  auto keys = [&](std::string_view table) {
    return with_oracle(proto, "redistributable = true\nkey_compromise = " + std::string(table));
  };
  parse(keys("{ rate_per_year = 0.1, drain = { dist = \"beta\", alpha = 2, beta = 2 } }").text());
  expect_error(keys("{ rate_per_year = 0.1, drains = 0.5 }"), {"avs \"oracle\" (avs[0]).key_compromise.drains", "unknown key; did you mean 'drain'?", "drains"});
  expect_error(keys("{ annual_probability = 0.1, rate_per_year = 0.1 }"),
               {"avs \"oracle\" (avs[0]).key_compromise.rate_per_year", "give either 'annual_probability' or 'rate_per_year', not both", ""});
  expect_error(keys("{ annual_probability = 1 }"), {"avs \"oracle\" (avs[0]).key_compromise.annual_probability", "expected an annual probability below 1", ""});
  expect_error(keys("{ rate_per_year = 0.1, drain = 1.5 }"),
               {"avs \"oracle\" (avs[0]).key_compromise.drain", "expected a drained share in [0, 1], got 1.5", "1.5"});
  expect_error(keys("{ rate_per_year = 0.1, pause_probability = -0.1 }"),
               {"avs \"oracle\" (avs[0]).key_compromise.pause_probability", "expected a probability in [0, 1], got -0.1", "-0.1"});
  expect_error(keys("{ rate_per_year = 0.1, pause_probability = 0.5, pause_delay_days = -2 }"),
               {"avs \"oracle\" (avs[0]).key_compromise.pause_delay_days", "expected a reaction time in days in [0, 1e4], got -2", "-2"});
  expect_error(keys("0.1"), {"avs \"oracle\" (avs[0]).key_compromise", "expected a table, got a float", ""});
}

TEST_CASE("a pause delay without a pause probability has no effect and is an error") {
  expect_error(with_oracle("redistribution = true\nresolution_days = 7",
                           "redistributable = true\nkey_compromise = { rate_per_year = 0.1, pause_delay_days = 1 }"),
               {"avs \"oracle\" (avs[0]).key_compromise.pause_delay_days", "has no effect: no one pauses with pause_probability = 0",
                "pause_delay_days = ^1"});
}

TEST_CASE("an AVS's key compromise can be paused only within a veto window or resolution delay") {
  expect_error(with_oracle("redistribution = true",
                           "redistributable = true\nkey_compromise = { rate_per_year = 0.1, pause_probability = 0.5 }"),
               {"avs \"oracle\" (avs[0]).key_compromise.pause_probability",
                "no window to pause in: protocol \"eigen\" has veto_window_days + resolution_days = 0", "pause_probability = ^0.5"});
  parse(with_oracle("redistribution = true\nveto_window_days = 1",
                    "redistributable = true\nkey_compromise = { rate_per_year = 0.1, pause_probability = 0.5 }")
            .text());
}

TEST_CASE("an operator's allocation delay is range-checked") {
  expect_error(Scenario().replace("stake_eth = 6400", "stake_eth = 6400\nallocation_delay_days = -1"),
               {"operator \"op-b\" (operator[1]).allocation_delay_days", "expected an allocation delay in days in [0, 1e4], got -1", "-1"});
}

TEST_CASE("a BTC operator has no allocation delay and no key to redistribute with") {
  expect_error(Scenario().append("[[operator]]\nname = \"fp\"\nasset = \"BTC\"\nstake_btc = 10\nallocation_delay_days = 1\n"),
               {"operator \"fp\" (operator[2]).allocation_delay_days", "a BTC operator's stake is time-locked on Bitcoin", "allocation_delay_days = ^1"});
  expect_error(Scenario().append("[[operator]]\nname = \"fp\"\nasset = \"BTC\"\nstake_btc = 10\nkey_compromise = { rate_per_year = 1 }\n"),
               {"operator \"fp\" (operator[2]).key_compromise", "Babylon's slashing burns, it does not redistribute", ""});
}

TEST_CASE("an operator's key compromise must reach stake restaked through a redistributing protocol") {
  // op-a's stake is restaked through eigen (lrt-x), which does not redistribute.
  expect_error(Scenario().replace("groups = [\"cloud\"]", "groups = [\"cloud\"]\nkey_compromise = { rate_per_year = 0.1 }"),
               {"operator \"op-a\" (operator[0]).key_compromise",
                "operator \"op-a\"'s key_compromise reaches no stake: no token position (a liquid staking token, 'staked_with') "
                "is delegated to it through a protocol with redistribution = true",
                "key_compromise = ^{"});
  // Through a redistributing protocol, but native ETH (op-a's own validators): ELIP-006 cannot take it.
  expect_error(Scenario()
                   .replace("slashing_mode = \"unique\"", "slashing_mode = \"unique\"\nredistribution = true")
                   .replace("groups = [\"cloud\"]", "groups = [\"cloud\"]\nkey_compromise = { rate_per_year = 0.1 }"),
               {"operator \"op-a\" (operator[0]).key_compromise", "redistributes neither native ETH", "key_compromise = ^{"});
  // op-b only holds an lst's stake: nothing restaked at all, even with every protocol redistributing.
  expect_error(with_eigen("redistribution = true")
                   .replace("slashing_mode = \"shared\"", "slashing_mode = \"shared\"\nredistribution = true")
                   .replace("stake_eth = 6400", "stake_eth = 6400\nkey_compromise = { rate_per_year = 0.1 }"),
               {"operator \"op-b\" (operator[1]).key_compromise", "operator \"op-b\"'s key_compromise reaches no stake", ""});
  parse(with_eigen("redistribution = true")
            .replace("groups = [\"cloud\"]", "groups = [\"cloud\"]\nkey_compromise = { rate_per_year = 0.1 }")
            .text());
}

TEST_CASE("an operator's key compromise can be paused only through a protocol with a window") {
  const std::string_view key = "groups = [\"cloud\"]\nkey_compromise = { rate_per_year = 0.1, pause_probability = 0.5 }";
  expect_error(with_eigen("redistribution = true").replace("groups = [\"cloud\"]", key),
               {"operator \"op-a\" (operator[0]).key_compromise.pause_probability",
                "no time to pause in: the redistributing protocols operator \"op-a\"'s stake is restaked through all drain it "
                "at once (no allocation delay, escrow, veto window or resolution delay)",
                "pause_probability = ^0.5"});
  parse(with_eigen("redistribution = true\nresolution_days = 7").replace("groups = [\"cloud\"]", key).text());
  // The allocation delay gives pausers time, once the configuration delay keeps a thief from zeroing it.
  const std::string delayed = std::string(key) + "\nallocation_delay_days = 3";
  parse(with_eigen("redistribution = true\nallocation_configuration_days = 17.5").replace("groups = [\"cloud\"]", delayed).text());
  expect_error(with_eigen("redistribution = true").replace("groups = [\"cloud\"]", delayed),
               {"operator \"op-a\" (operator[0]).key_compromise.pause_probability", "no time to pause in", "pause_probability = ^0.5"});
  // So does a unique-mode escrow, for the stake allocated to AVSs.
  parse(with_eigen("redistribution = true\nescrow_days = 14").replace("groups = [\"cloud\"]", key).text());
}

TEST_CASE("a key compromise of an AVS must reach token stake, and only ETH sets redistribute") {
  // lrt-x restaked natively with op-a: nothing an ELIP-006 drain can take.
  expect_error(Scenario()
                   .replace("slashing_mode = \"unique\"", "slashing_mode = \"unique\"\nredistribution = true")
                   .replace("faulty_fraction = 0.25", "faulty_fraction = 0.25\nredistributable = true\nkey_compromise = { rate_per_year = 0.1 }"),
               {"avs \"oracle\" (avs[0]).key_compromise",
                "AVS \"oracle\"'s key_compromise reaches no token stake: no position restaked with its operators through protocol "
                "\"eigen\" is a liquid staking token ('staked_with'), and ELIP-006 does not redistribute native ETH",
                "key_compromise = ^{"});
  parse(with_oracle("redistribution = true", "redistributable = true\nkey_compromise = { rate_per_year = 0.1 }").text());
  expect_error(Scenario()
                   .replace("slashing_mode = \"shared\"", "slashing_mode = \"shared\"\nredistribution = true")
                   .append(std::string(kBtcHolder) + "\n[[avs]]\nname = \"btc-chain\"\nprotocol = \"symb\"\noperators = [\"fp\"]\n"
                           "redistributable = true\n"),
               {"avs \"btc-chain\" (avs[2]).redistributable", "an AVS secured by BTC cannot redistribute", "redistributable = ^true"});
}

TEST_CASE("a slash delay needs slashing conditions to delay") {
  expect_error(Scenario().replace("operators = [\"op-a\", \"op-b\"]", "operators = [\"op-a\", \"op-b\"]\nslash_delay_days = 2"),
               {"avs \"bridge-check\" (avs[1]).slash_delay_days", "has no effect: the AVS has no slashing conditions", "slash_delay_days = ^2"});
}

TEST_CASE("key compromises count in the event budget at their rate keys") {
  expect_error(with_oracle("redistribution = true", "redistributable = true\nkey_compromise = { rate_per_year = 2e5 }"),
               {"avs \"oracle\" (avs[0]).key_compromise.rate_per_year",
                "key compromise of AVS \"oracle\" expects 200000 events per trial (200000 per year over 365 days); with every "
                "source, 200000",
                "rate_per_year = ^2e5"});
  expect_error(with_eigen("redistribution = true")
                   .replace("groups = [\"cloud\"]", "groups = [\"cloud\"]\nkey_compromise = { rate_per_year = 3e5 }"),
               {"operator \"op-a\" (operator[0]).key_compromise.rate_per_year",
                "key compromise of operator \"op-a\" expects 300000 events per trial", "rate_per_year = ^3e5"});
}

TEST_CASE("a withdrawal names a holder and exactly one of day and after_fault_days") {
  expect_error(Scenario().append("[[withdrawal]]\nday = 10\n"), {"withdrawal[0]", "missing required key 'holder'", ""});
  expect_error(Scenario().append("[[withdrawal]]\nholder = \"lrt-q\"\nday = 10\n"),
               {"withdrawal[0].holder", "unknown holder \"lrt-q\"; did you mean \"lrt-x\"? (defined: lrt-x, lst-y)", "\"lrt-q\""});
  expect_error(Scenario().append("[[withdrawal]]\nholder = \"lrt-x\"\nday = 10\nafter_fault_days = 1\n"),
               {"withdrawal[0].after_fault_days", "give either 'day' (a day of the horizon) or 'after_fault_days'",
                "after_fault_days = ^1"});
  expect_error(Scenario().append("[[withdrawal]]\nholder = \"lrt-x\"\nshare = 0.5\n"),
               {"withdrawal[0]", "missing 'day' (a day of the horizon) or 'after_fault_days'", ""});
  expect_error(Scenario().append("[[withdrawal]]\nholder = \"lrt-x\"\nday = 10\nexit_queue = 1\n"),
               {"withdrawal[0].exit_queue", "unknown key; did you mean 'exit_queue_eth'?", "exit_queue = 1"});
}

TEST_CASE("a withdrawal's day, delay, share and exit queue are range-checked") {
  expect_error(Scenario().append("[[withdrawal]]\nholder = \"lrt-x\"\nday = 400\n"),
               {"withdrawal[0].day", "expected a day within the horizon [0, 365], got 400", "day = ^400"});
  expect_error(Scenario().append("[[withdrawal]]\nholder = \"lrt-x\"\nafter_fault_days = -1\n"),
               {"withdrawal[0].after_fault_days", "expected a number of days in [0, 1e4], got -1", "-1"});
  expect_error(Scenario().append("[[withdrawal]]\nholder = \"lrt-x\"\nday = 1\nshare = 1.5\n"),
               {"withdrawal[0].share", "expected a share of the balance in [0, 1], got 1.5", "1.5"});
  expect_error(Scenario().append("[[withdrawal]]\nholder = \"lrt-x\"\nday = 1\nexit_queue_eth = 2e9\n"),
               {"withdrawal[0].exit_queue_eth", "expected an amount of ETH in [0, 1e9], got 2000000000", "2e9"});
}

TEST_CASE("a BTC holder's withdrawal has no beacon-chain exit queue") {
  expect_error(Scenario().append(kBtcHolder).append("[[withdrawal]]\nholder = \"btc-stakers\"\nday = 1\nexit_queue_eth = 1000\n"),
               {"withdrawal[0].exit_queue_eth", "holder \"btc-stakers\" holds BTC: it has no beacon-chain exit queue to wait in",
                "exit_queue_eth = ^1000"});
  const Model m = parse(Scenario().append(kBtcHolder).append("[[withdrawal]]\nholder = \"btc-stakers\"\nday = 1\n").text());
  REQUIRE(m.withdrawals.size() == 1);
  CHECK(m.withdrawals[0].holder == 2);
}

TEST_CASE("key_compromise is a loss cause a pool may cover") {
  const Model m = parse(Scenario().replace("covers = [\"avs_slashing\"]", "covers = [\"avs_slashing\", \"key_compromise\"]").text());
  CHECK(m.coverage_pools[0].covers[static_cast<std::size_t>(restake::LossCause::KeyCompromise)]);
}

TEST_CASE("an allocation change names a unique-mode set the operator secures, and never over-allocates") {
  const Model m = parse(Scenario().append("[[allocation_change]]\noperator = \"op-a\"\navs = \"oracle\"\nallocation = 0.2\n"
                                          "after_fault_days = { dist = \"uniform\", min = 0, max = 2 }\n").text());
  REQUIRE(m.allocation_changes.size() == 1);
  CHECK(m.allocation_changes[0].avs == 0);
  CHECK(m.allocation_changes[0].member == 0);
  CHECK(m.allocation_changes[0].allocation == 0.2);
  CHECK(m.allocation_changes[0].after_fault);
  CHECK(m.allocation_changes[0].day.b == 2.0);

  const std::string change = "[[allocation_change]]\noperator = \"op-a\"\navs = \"oracle\"\n";
  expect_error(Scenario().append("[[allocation_change]]\noperator = \"op-a\"\navs = \"bridge-check\"\nallocation = 0\nday = 1\n"),
               {"allocation_change[0].avs", "AVS \"bridge-check\" is in protocol \"symb\", whose slashing mode is shared",
                "avs = ^\"bridge-check\"\nallocation"});
  expect_error(Scenario().append("[[allocation_change]]\noperator = \"op-b\"\navs = \"oracle\"\nallocation = 0\nday = 1\n"),
               {"allocation_change[0].operator", "operator \"op-b\" does not secure AVS \"oracle\"",
                "operator = ^\"op-b\"\navs"});
  expect_error(Scenario().append(change + "day = 1\n"),
               {"allocation_change[0]", "missing required key 'allocation'", ""});
  expect_error(Scenario().append(change + "allocation = 1.5\nday = 1\n"),
               {"allocation_change[0].allocation", "in [0, 1]", "allocation = ^1.5"});
  expect_error(Scenario().append(change + "allocation = 0.2\n"),
               {"allocation_change[0]", "missing 'day' (a day of the horizon) or 'after_fault_days'", ""});
  expect_error(Scenario().append(change + "allocation = 0.2\nday = 1\nafter_fault_days = 1\n"),
               {"allocation_change[0].after_fault_days", "give either 'day'", "after_fault_days = ^1"});
  expect_error(Scenario().append(change + "allocation = 0.2\nday = 400\n"),
               {"allocation_change[0].day", "a day within the horizon [0, 365]", "day = ^400"});
  // A second set of op-a in eigen at 0.4: raising the oracle to 0.7 could allocate 1.1.
  const Scenario second = Scenario().append(
      "[[avs]]\nname = \"second\"\nprotocol = \"eigen\"\noperators = [{ operator = \"op-a\", allocation = 0.4 }]\n");
  parse(Scenario(second).append(change + "allocation = 0.6\nday = 1\n").text());
  expect_error(Scenario(second).append(change + "allocation = 0.7\nday = 1\n"),
               {"allocation_change[0].allocation",
                "operator \"op-a\" could then have 1.1 of its stake allocated in protocol \"eigen\" (each AVS at its largest "
                "allocation, as changes may take effect in any order): more than 1",
                "allocation = ^0.7"});
  expect_error(Scenario().append(change + "allocation = 0.2\nday = 1\nshare = 1\n"),
               {"allocation_change[0].share", kUnknownKey, "share = 1"});
}

// --- markets (issue 11): [market], [[token]], [[lending_market]] ---------------------------------

namespace {

constexpr std::string_view kMarkets = R"toml(
[market]
episode_days = 5
step_hours = 2

[[token]]
name = "tok-x"
holder = "lrt-x"
pool = { kind = "stableswap", eth = 500, amplification = 100, lp_withdrawal = [[0.02, 0.1], [0.2, 0.8]] }
redemption = { opens_after_days = 3, buffer_eth = 10, escrow_days = 14, arbitrage_capital_eth = 200 }
sellers = { share = { dist = "uniform", min = 0.01, max = 0.05 }, trigger = 0.02, hours = 12 }

[[lending_market]]
name = "aave-x"
token = "tok-x"
rules = "aave_v3"
ltv = 0.93
liquidation_threshold = 0.95
liquidation_bonus = 0.01
oracle = "exchange_rate"
debt_eth = 400
health_factor = { dist = "uniform", min = 1.0, max = 1.2 }
buckets = 4

[[lending_market]]
name = "morpho-x"
token = "tok-x"
rules = "morpho_blue"
lltv = 0.86
oracle = "market_twap"
twap_window_days = 0.5
debt_eth = 100
reserve_eth = 2
leverage = 4
)toml";

Scenario with_markets() {
  Scenario s;
  s.append(kMarkets);
  return s;
}

}  // namespace

TEST_CASE("tokens, pools and lending markets are read with their defaults and borrower buckets") {
  const Model m = parse(with_markets().text());
  REQUIRE(m.tokens.size() == 1);
  const restake::Token& t = m.tokens[0];
  CHECK(t.holder == 0);
  CHECK(t.pool.kind == restake::PoolKind::StableSwap);
  CHECK(t.pool.eth == 500);
  CHECK(t.pool.fee == 0.0004);  // Curve's default
  CHECK(t.pool.amplification == 100);
  CHECK(t.pool.lp_withdrawal == std::vector<std::pair<double, double>>{{0.02, 0.1}, {0.2, 0.8}});
  CHECK(t.redemption.open);
  CHECK(t.redemption.opens_after_days == 3);
  CHECK(t.redemption.escrow_days == 14);
  CHECK(t.redemption.required_return == 0.10);
  CHECK(t.sell_share.kind == restake::DistributionKind::Uniform);
  CHECK(t.sell_trigger.a == 0.02);
  CHECK(t.sell_hours == 12);
  CHECK(m.market.episode_days == 5);
  CHECK(m.market.step_hours == 2);
  CHECK(m.market.depeg_threshold == 0.01);
  REQUIRE(m.lending_markets.size() == 2);
  const restake::LendingMarketSpec& aave = m.lending_markets[0];
  CHECK(aave.rules == restake::LendingRulesKind::AaveV3);
  CHECK(aave.oracle == restake::OracleSpecKind::ExchangeRate);
  // Four buckets at the mid-quantiles of uniform(1, 1.2): 1.025, 1.075, 1.125, 1.175.
  REQUIRE(aave.health_factors.size() == 4);
  for (std::size_t b = 0; b < 4; ++b) CHECK(aave.health_factors[b] == doctest::Approx(1.025 + 0.05 * static_cast<double>(b)).epsilon(1e-12));
  const restake::LendingMarketSpec& morpho = m.lending_markets[1];
  CHECK(morpho.ltv == 0.86);
  CHECK(morpho.liquidation_threshold == 0.86);
  CHECK(morpho.twap_window_days == 0.5);
  CHECK(morpho.reserve_eth == 2);
  // A fixed leverage of 4 at LLTV 86%: HF = L LT / (L - 1) = 3.44 / 3, in all 20 default buckets.
  REQUIRE(morpho.health_factors.size() == 20);
  CHECK(morpho.health_factors[7] == doctest::Approx(4 * 0.86 / 3).epsilon(1e-15));
}

TEST_CASE("a scenario without markets has none") {
  const Model m = parse(Scenario().text());
  CHECK(m.tokens.empty());
  CHECK(m.lending_markets.empty());
}

TEST_CASE("a token names an ETH holder with a token, once, and needs a pool") {
  expect_error(with_markets().replace("holder = \"lrt-x\"", "holder = \"nobody\""),
               {"token \"tok-x\" (token[0]).holder", "unknown holder \"nobody\" (defined: lrt-x, lst-y)", "holder = ^\"nobody\""});
  expect_error(with_markets().replace("pool = { kind = \"stableswap\", eth = 500, amplification = 100, lp_withdrawal = [[0.02, 0.1], [0.2, 0.8]] }", ""),
               {"token \"tok-x\" (token[0])", "missing required table 'pool' (the token's liquidity against ETH)", ""});
  expect_error(with_markets().append("[[token]]\nname = \"tok-z\"\nholder = \"lrt-x\"\npool = { kind = \"constant_product\", eth = 1 }"),
               {"token \"tok-z\" (token[1]).holder", "holder \"lrt-x\" already has token \"tok-x\": one token per holder", ""});
  expect_error(with_markets().append("[[token]]\nname = \"tok-x\"\nholder = \"lst-y\"\npool = { kind = \"constant_product\", eth = 1 }"),
               {"token \"tok-x\" (token[1]).name", "duplicate token name \"tok-x\"", ""});
  expect_error(with_markets().replace("name = \"tok-x\"", "name = \"tok-x\"\ncolour = 1"), {"token \"tok-x\" (token[0]).colour", kUnknownKey, ""});
}

TEST_CASE("a token's pool is checked: kind, depth, fee and the keys of its kind") {
  const std::string pool = "pool = { kind = \"stableswap\", eth = 500, amplification = 100, lp_withdrawal = [[0.02, 0.1], [0.2, 0.8]] }";
  expect_error(with_markets().replace(pool, "pool = { kind = \"v3\", eth = 500 }"),
               {"token \"tok-x\" (token[0]).pool.kind", "expected \"constant_product\" (Uniswap v2), \"weighted\" (Balancer) or \"stableswap\" (Curve)", ""});
  expect_error(with_markets().replace(pool, "pool = { kind = \"constant_product\", eth = 0 }"),
               {"token \"tok-x\" (token[0]).pool.eth", "got 0 (a pool needs both sides)", ""});
  expect_error(with_markets().replace(pool, "pool = { kind = \"constant_product\", eth = 10, fee = 0.6 }"),
               {"token \"tok-x\" (token[0]).pool.fee", "expected a fee share in [0, 0.5]", ""});
  expect_error(with_markets().replace(pool, "pool = { kind = \"constant_product\", eth = 10, amplification = 5 }"),
               {"token \"tok-x\" (token[0]).pool.amplification", "only a StableSwap pool has an amplification", ""});
  expect_error(with_markets().replace(pool, "pool = { kind = \"stableswap\", eth = 10, token_weight = 0.8 }"),
               {"token \"tok-x\" (token[0]).pool.token_weight", "only a weighted pool has weights", ""});
  expect_error(with_markets().replace(pool, "pool = { kind = \"weighted\", eth = 10, token_weight = 1 }"),
               {"token \"tok-x\" (token[0]).pool.token_weight", "expected the token's weight in (0, 1), got 1", ""});
  expect_error(with_markets().replace(pool, "pool = { kind = \"stableswap\", eth = 10, amplification = 0 }"),
               {"token \"tok-x\" (token[0]).pool.amplification", "expected the whitepaper's A in (0, 1e6], got 0", ""});
}

TEST_CASE("a pool's LP withdrawal curve has increasing discounts and non-decreasing shares below 1") {
  const std::string curve = "lp_withdrawal = [[0.02, 0.1], [0.2, 0.8]]";
  expect_error(with_markets().replace(curve, "lp_withdrawal = [[0.02, 0.1], [0.02, 0.8]]"),
               {"token \"tok-x\" (token[0]).pool.lp_withdrawal[1][0]", "expected discounts strictly increasing, got 0.02 after 0.02", ""});
  expect_error(with_markets().replace(curve, "lp_withdrawal = [[0.02, 0.5], [0.2, 0.4]]"),
               {"token \"tok-x\" (token[0]).pool.lp_withdrawal[1][1]", "expected shares non-decreasing (a deeper depeg never brings liquidity back), got 0.4 after 0.5", ""});
  expect_error(with_markets().replace(curve, "lp_withdrawal = [[0.02, 1.0]]"),
               {"token \"tok-x\" (token[0]).pool.lp_withdrawal[0][1]", "got 1 (a pool needs both sides)", ""});
  expect_error(with_markets().replace(curve, "lp_withdrawal = [[0.02]]"),
               {"token \"tok-x\" (token[0]).pool.lp_withdrawal[0]", "expected a point [discount, share withdrawn]", ""});
  expect_error(with_markets().replace(curve, "lp_withdrawal = [[1.5, 0.2]]"),
               {"token \"tok-x\" (token[0]).pool.lp_withdrawal[0][0]", "expected a discount to NAV in [0, 1]", ""});
}

TEST_CASE("a token's redemption, sellers and the market grid are range-checked") {
  expect_error(with_markets().replace("opens_after_days = 3", "open = false, opens_after_days = 3"),
               {"token \"tok-x\" (token[0]).redemption.opens_after_days", "withdrawals that never open (open = false) have no opening day", ""});
  expect_error(with_markets().replace("escrow_days = 14", "escrow_days = -1"), {"token \"tok-x\" (token[0]).redemption.escrow_days", "expected days in [0, 3650]", ""});
  expect_error(with_markets().replace("arbitrage_capital_eth = 200", "arbitrage_capital_eth = 200, required_return = -0.1"),
               {"token \"tok-x\" (token[0]).redemption.required_return", "expected a yearly return in [0, 10]", ""});
  expect_error(with_markets().replace("trigger = 0.02", "trigger = 1.5"), {"token \"tok-x\" (token[0]).sellers.trigger", "expected a fall in [0, 1]", ""});
  expect_error(with_markets().replace("hours = 12", "hours = 0"), {"token \"tok-x\" (token[0]).sellers.hours", "expected hours in (0, 8760], got 0", ""});
  expect_error(with_markets().replace("share = { dist = \"uniform\", min = 0.01, max = 0.05 }", "share = { dist = \"uniform\", min = 0.5, max = 1.5 }"),
               {"token \"tok-x\" (token[0]).sellers.share", "a share of the supply in [0, 1]", ""});
  expect_error(with_markets().replace("episode_days = 5", "episode_days = 0"), {"market.episode_days", "expected a duration in days in (0, 365], got 0", ""});
  expect_error(with_markets().replace("step_hours = 2", "step_hours = 0.01"),
               {"market.step_hours", "an episode of 5 days in steps of 0.01 hours has 12000 steps; at most 8760", ""});
  expect_error(with_markets().replace("episode_days = 5", "episode_days = 5\ndepeg_threshold = 1"), {"market.depeg_threshold", "expected a share of NAV in [0, 1), got 1", ""});
}

TEST_CASE("a lending market's rules, oracle and borrowers are checked") {
  expect_error(with_markets().replace("token = \"tok-x\"\nrules = \"aave_v3\"", "token = \"tok-q\"\nrules = \"aave_v3\""),
               {"lending_market \"aave-x\" (lending_market[0]).token", "unknown token \"tok-q\"; did you mean \"tok-x\"? (defined: tok-x)", ""});
  expect_error(with_markets().replace("ltv = 0.93", "ltv = 0.96"),
               {"lending_market \"aave-x\" (lending_market[0]).ltv", "expected a loan-to-value in (0, liquidation_threshold = 0.95], got 0.96", ""});
  expect_error(with_markets().replace("liquidation_bonus = 0.01", "liquidation_bonus = 0.1"),
               {"lending_market \"aave-x\" (lending_market[0]).liquidation_bonus", "expected liquidation_threshold x (1 + bonus) <= 1 (Aave's PoolConfigurator)", ""});
  expect_error(with_markets().replace("lltv = 0.86", "lltv = 0.86\nliquidation_bonus = 0.05"),
               {"lending_market \"morpho-x\" (lending_market[1]).liquidation_bonus", "a Morpho Blue market has one LLTV ('lltv')", ""});
  expect_error(with_markets().replace("ltv = 0.93", "ltv = 0.93\nlltv = 0.9"),
               {"lending_market \"aave-x\" (lending_market[0]).lltv", "an Aave v3 market has ltv, liquidation_threshold and liquidation_bonus, not an LLTV", ""});
  expect_error(with_markets().replace("oracle = \"exchange_rate\"", "oracle = \"chainlink\""),
               {"lending_market \"aave-x\" (lending_market[0]).oracle", "expected \"exchange_rate\" (NAV, as Aave prices LRTs), \"market_spot\"", ""});
  expect_error(with_markets().replace("twap_window_days = 0.5", ""),
               {"lending_market \"morpho-x\" (lending_market[1])", "missing required key 'twap_window_days'", ""});
  expect_error(with_markets().replace("oracle = \"exchange_rate\"", "oracle = \"exchange_rate\"\ntwap_window_days = 1"),
               {"lending_market \"aave-x\" (lending_market[0]).twap_window_days", "only a time-weighted oracle has a window", ""});
  expect_error(with_markets().replace("debt_eth = 400", "debt_eth = 0"), {"lending_market \"aave-x\" (lending_market[0]).debt_eth", "expected ETH borrowed in (0, 1e10], got 0", ""});
  expect_error(with_markets().replace("buckets = 4", "buckets = 0"), {"lending_market \"aave-x\" (lending_market[0]).buckets", "a number of buckets in [1, 1000]", ""});
  expect_error(with_markets().replace("leverage = 4", ""),
               {"lending_market \"morpho-x\" (lending_market[1])", "missing the borrowers: 'health_factor' or 'leverage' (a number or a distribution)", ""});
  expect_error(with_markets().replace("leverage = 4", "leverage = 4\nhealth_factor = 1.1"),
               {"lending_market \"morpho-x\" (lending_market[1])", "give the borrowers' 'health_factor' or their 'leverage', not both", ""});
  // Borrowers start healthy: HF >= 1, leverage <= 1 / (1 - LT) (7.14286 at LLTV 86%).
  expect_error(with_markets().replace("health_factor = { dist = \"uniform\", min = 1.0, max = 1.2 }", "health_factor = { dist = \"uniform\", min = 0.9, max = 1.2 }"),
               {"lending_market \"aave-x\" (lending_market[0]).health_factor", "a health factor in [1, 1000]", ""});
  expect_error(with_markets().replace("leverage = 4", "leverage = 8"), {"lending_market \"morpho-x\" (lending_market[1]).leverage", "a leverage in (1, 1 / (1 - LT)] = (1, 7.14286]", ""});
  expect_error(with_markets().replace("leverage = 4", "leverage = 1"), {"lending_market \"morpho-x\" (lending_market[1]).leverage", "expected a leverage above 1 (a loop borrows), got 1", ""});
}

TEST_CASE("a forced market shock names a token and a day within the horizon") {
  const Model m = parse(with_markets().append("[stress]\n[[stress.market_shock]]\ntoken = \"tok-x\"\nday = 12.5").text());
  REQUIRE(m.stress.market_shocks.size() == 1);
  CHECK(m.stress.market_shocks[0].token == 0);
  CHECK(m.stress.market_shocks[0].day == 12.5);
  expect_error(with_markets().append("[stress]\n[[stress.market_shock]]\ntoken = \"tok-y\"\nday = 1"),
               {"stress.market_shock[0].token", "unknown token \"tok-y\"; did you mean \"tok-x\"? (defined: tok-x)", ""});
  expect_error(with_markets().append("[stress]\n[[stress.market_shock]]\ntoken = \"tok-x\"\nday = 400"),
               {"stress.market_shock[0].day", "expected a day within the horizon [0, 365]", ""});
  expect_error(with_markets().append("[stress]\n[[stress.market_shock]]\ntoken = \"tok-x\""),
               {"stress.market_shock[0]", "missing required key 'day'", ""});
}

TEST_CASE("closed withdrawals take no queue keys, a bonus stays below 1, a market grid needs a token, sellers' return is ranged") {
  expect_error(with_markets().replace("opens_after_days = 3, buffer_eth = 10", "open = false, buffer_eth = 10"),
               {"token \"tok-x\" (token[0]).redemption.buffer_eth", "withdrawals that never open (open = false) have no queue and no arbitrage through it", ""});
  expect_error(with_markets().replace("ltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01", "ltv = 0.3\nliquidation_threshold = 0.4\nliquidation_bonus = 1"),
               {"lending_market \"aave-x\" (lending_market[0]).liquidation_bonus", "expected a bonus share in [0, 1), got 1", ""});
  expect_error(Scenario().append("[market]\nepisode_days = 3"), {"market", "a [market] grid without any [[token]] has nothing to run", ""});
  expect_error(with_markets().replace("hours = 12", "hours = 12, required_return = -1"),
               {"token \"tok-x\" (token[0]).sellers.required_return", "expected a yearly return in [0, 1000]", ""});
  const Model m = parse(with_markets().replace("hours = 12", "hours = 12, required_return = 2").text());
  CHECK(m.tokens[0].sell_required_return == 2.0);
  CHECK(std::isinf(parse(with_markets().text()).tokens[0].sell_required_return));
}

// --- every error at once, names in paths, did you mean ---------------------------------------------

namespace {

using restake::ScenarioErrors;

// Every error parsing `text` reports (a ScenarioErrors, or one ScenarioError), in file order.
std::vector<ScenarioError> errors_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ScenarioErrors& e) {
    return e.errors;
  } catch (const ScenarioError& e) {
    return {e};
  }
  FAIL("the scenario parsed, but errors were expected");
  return {};
}

}  // namespace

TEST_CASE("independent errors in different tables and entries are all reported, in file order") {
  const Scenario s = Scenario()
                         .replace("trials = 10", "trials = 0")
                         .replace("  fraction = 0.1", "  fraction = 1.5")
                         .replace("positions = [{ operator = \"op-b\", stake_eth = 2000 }]",
                                  "positions = [{ operator = \"op-bb\", stake_eth = 2000 }]");
  const std::vector<ScenarioError> all = errors_of(s.text());
  REQUIRE(all.size() == 3);
  CHECK(all[0].key == "simulation.trials");
  CHECK(all[0].line == locate(s.text(), "trials = 0").line);
  CHECK(all[1].key == "avs \"oracle\" (avs[0]).slashing \"bad-price\" (slashing[0]).fraction");
  CHECK(contains(all[1].what(), "expected a slashed share in [0, 1], got 1.5"));
  CHECK(all[1].line == locate(s.text(), "fraction = 1.5").line);
  CHECK(all[2].key == "lst \"lst-y\" (lst[0]).positions[0].operator");
  CHECK(contains(all[2].what(), "unknown operator \"op-bb\"; did you mean \"op-b\"? (defined: op-a, op-b)"));
  // As a ScenarioError it is the first; what() is every message, one per line.
  try {
    parse(s.text());
  } catch (const ScenarioErrors& e) {
    CHECK(e.key == "simulation.trials");
    CHECK(std::string(e.what()) == std::string(all[0].what()) + "\n" + all[1].what() + "\n" + all[2].what());
  }
}

TEST_CASE("an error stops its own entry only: the next entry of the same array is still checked") {
  const Scenario s = Scenario()
                         .replace("loss_given_failure = { dist = \"uniform\", min = 0.05, max = 0.5 }",
                                  "loss_given_failure = 2")
                         .replace("annual_failure_probability = 0.02", "annual_failure_probability = 1");
  const std::vector<ScenarioError> all = errors_of(s.text());
  REQUIRE(all.size() == 2);
  CHECK(all[0].key == "contract \"core\" (contract[0]).loss_given_failure");
  CHECK(all[1].key == "contract \"vault\" (contract[1]).annual_failure_probability");
}

TEST_CASE("the elements of one list in an entry are each checked: two bad slashing conditions, two bad positions") {
  const Scenario s = Scenario()
                         .replace("  fraction = 0.1", "  fraction = 1.5")
                         .replace("  [avs.rewards]", "  [[avs.slashing]]\n  name = \"late\"\n  rate_per_year = 0.1\n  fraction = 2\n  [avs.rewards]")
                         .replace("positions = [{ operator = \"op-a\", stake_eth = 1000 }]",
                                  "positions = [{ operator = \"op-q\", stake_eth = 1000 }, { operator = \"op-a\", stake_eth = 1000, protocl = \"eigen\" }]");
  const std::vector<ScenarioError> all = errors_of(s.text());
  REQUIRE(all.size() == 4);
  CHECK(all[0].key == "avs \"oracle\" (avs[0]).slashing \"bad-price\" (slashing[0]).fraction");
  CHECK(all[1].key == "avs \"oracle\" (avs[0]).slashing \"late\" (slashing[1]).fraction");
  CHECK(all[2].key == "lrt \"lrt-x\" (lrt[0]).positions[0].operator");
  CHECK(contains(all[2].what(), "unknown operator \"op-q\" (defined: op-a, op-b)"));
  CHECK(all[3].key == "lrt \"lrt-x\" (lrt[0]).positions[1].protocl");
  CHECK(contains(all[3].what(), "did you mean 'protocol'?"));
}

TEST_CASE("an entry naming an entry with errors stops quietly: its error is reported once") {
  // op-b is broken; the AVS, the lst position and nothing else that names it adds an error.
  const Scenario s = Scenario().replace("stake_eth = 6400", "stake_eth = 6401");
  const std::vector<ScenarioError> all = errors_of(s.text());
  REQUIRE(all.size() == 1);
  CHECK(all[0].key == "operator \"op-b\" (operator[1]).stake_eth");
}

TEST_CASE("every unknown key of a table is listed, each with the closest key it may have meant") {
  const Scenario s = Scenario().replace("annual_probability = 0.04\nfraction = 0.3",
                                        "anual_probability = 0.04\nfractoin = 0.3\ncolour = 1");
  const std::vector<ScenarioError> all = errors_of(s.text());
  REQUIRE(all.size() == 3);  // and no "missing 'fraction'": a misspelt key is not also missing
  CHECK(all[0].key == "group \"cloud\" (group[0]).anual_probability");
  CHECK(contains(all[0].what(), "unknown key; did you mean 'annual_probability'? (expected one of: name, annual_probability"));
  CHECK(all[1].key == "group \"cloud\" (group[0]).fractoin");
  CHECK(contains(all[1].what(), "did you mean 'fraction'?"));
  CHECK(all[2].key == "group \"cloud\" (group[0]).colour");
  CHECK(contains(all[2].what(), "unknown key (check the spelling; expected one of:"));
}

TEST_CASE("a misspelt name suggests the closest defined name, and no guess when two are as close") {
  expect_error(Scenario().replace("groups = [\"cloud\"]", "groups = [\"clowd\"]"),
               {"operator \"op-a\" (operator[0]).groups[0]", "unknown group \"clowd\"; did you mean \"cloud\"? (defined: cloud)",
                "\"clowd\""});
  expect_error(Scenario().replace("covers = [\"avs_slashing\"]", "covers = [\"avs-slashing\"]"),
               {"pool \"cover\" (pool[0]).covers[0]", "(did you mean \"avs_slashing\"?)", "\"avs-slashing\""});
  // op-z is one letter away from both op-a and op-b.
  const ScenarioError e = expect_error(
      Scenario().replace("positions = [{ operator = \"op-b\", stake_eth = 2000 }]", "positions = [{ operator = \"op-z\", stake_eth = 2000 }]"),
      {"lst \"lst-y\" (lst[0]).positions[0].operator", "unknown operator \"op-z\" (defined: op-a, op-b)", "\"op-z\""});
  CHECK(!contains(e.what(), "did you mean"));
}

TEST_CASE("a misspelt choice suggests the closest accepted text") {
  expect_error(Scenario().replace("slashing_mode = \"unique\"", "slashing_mode = \"uniqe\""),
               {"protocol \"eigen\" (protocol[0]).slashing_mode", "expected \"shared\" or \"unique\", got \"uniqe\" (did you mean \"unique\"?)",
                "\"uniqe\""});
}

TEST_CASE("closest_match: a third of the letters may differ, neighbours may be swapped, case does not count") {
  using restake::closest_match;
  const std::vector<std::string_view> keys{"fraction", "annual_probability", "rate_per_year", "name"};
  CHECK(closest_match("fratcion", keys) == "fraction");   // a swap is one edit
  CHECK(closest_match("Fraction", keys) == "fraction");   // case only
  CHECK(closest_match("fraktoin", keys) == "fraction");   // two edits in eight letters
  CHECK(closest_match("rate", keys) == std::nullopt);     // nine letters short
  CHECK(closest_match("nme", keys) == "name");
  CHECK(closest_match("xyz", keys) == std::nullopt);
  CHECK(closest_match("nm", {"name", "nx"}) == std::nullopt);  // two letters: only a difference of case
  CHECK(closest_match("NX", {"name", "nx"}) == "nx");
  CHECK(closest_match("name", keys) == std::nullopt);  // the word itself is no suggestion
}

TEST_CASE("the whole-world checks wait for a scenario without other errors") {
  // The operators hold more than the chain (a world check), and a group's fraction is out of range:
  // only the group's error, since the world check would read a world that was not fully read.
  const Scenario s = Scenario()
                         .replace("total_active_stake_eth = 34_000_000", "total_active_stake_eth = 1000")
                         .replace("fraction = 0.3", "fraction = 3");
  const std::vector<ScenarioError> all = errors_of(s.text());
  REQUIRE(all.size() == 1);
  CHECK(all[0].key == "group \"cloud\" (group[0]).fraction");
  expect_error(Scenario().replace("total_active_stake_eth = 34_000_000", "total_active_stake_eth = 1000"),
               {"(top level)", "more than [ethereum] total_active_stake_eth", ""});
}

TEST_CASE("an unknown top-level key stops the reading: the names its table would define would all be unknown") {
  const Scenario s = Scenario().replace("[[group]]", "[[grop]]").replace("trials = 10", "trials = 0");
  const std::vector<ScenarioError> all = errors_of(s.text());
  REQUIRE(all.size() == 1);
  CHECK(all[0].key == "grop");
  CHECK(contains(all[0].what(), "unknown key; did you mean 'group'?"));
}
