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
  CHECK(contains(e.what(), "unknown key; did you mean 'tolerance'? (expected one of: name, scenario, source, metric, holder, token, lending_market"));
}

TEST_CASE("an unknown metric or bound is an error at the value that says what was given") {
  ScenarioError e = manifest_error(edited("\"loss_eth\"", "\"loss\""));
  CHECK(e.key == "case[0].metric");
  CHECK(e.line == 6);
  CHECK(e.column == 10);
  CHECK(contains(e.what(), "expected one of loss_eth, value_left_eth, cascade_loss_share, token_min_price, lending_liquidated, "
                           "lending_bad_debt_eth, lending_bad_debt_usd, morpho_incentive_factor, looper_leverage, exit_queue_days; got \"loss\""));
  e = manifest_error(edited("tolerance = 0.01", "tolerance = 0.01\nbound = \"sideways\""));
  CHECK(e.key == "case[0].bound");
  CHECK(contains(e.what(), "expected \"upper\" (the published figure is an upper bound) or \"lower\" (a lower bound), got \"sideways\""));
}

TEST_CASE("values out of range and keys of the other metric are errors, not ignored") {
  ScenarioError e = manifest_error(edited("tolerance = 0.01", "tolerance = -0.01"));
  CHECK(e.key == "case[0].tolerance");
  CHECK(contains(e.what(), "expected a relative tolerance >= 0, got -0.01"));
  e = manifest_error(edited("tolerance = 0.01", "tolerance = 0.01\npsi = 0.1"));
  CHECK(e.key == "case[0].psi");
  CHECK(contains(e.what(), "not read by metric = \"loss_eth\""));
  e = manifest_error(edited("\"loss_eth\"", "\"cascade_loss_share\"\npsi = 0.1"));
  CHECK(e.key == "case[0].holder");
  CHECK(contains(e.what(), "not read by metric = \"cascade_loss_share\""));
  e = manifest_error("case = [1]\n");
  CHECK(e.key == "case[0]");
  CHECK(contains(e.what(), "expected a table, got an integer"));
  e = manifest_error("");
  CHECK(e.key == "case");
  CHECK(contains(e.what(), "expected at least one [[case]]"));
}

// --- The market layer's cases: a token's or lending market's mean, and closed forms ----------------

namespace {

ReproductionCase one_case(const std::string& text) {
  const auto cases = parse_reproductions(text, "m.toml");
  REQUIRE(cases.size() == 1);
  return cases[0];
}

constexpr const char* kLendingCase = R"toml([[case]]
name = "bad debt"
scenario = "ezeth-april-2024.toml"
source = "Gauntlet"
metric = "lending_bad_debt_eth"
lending_market = "Morpho ezETH/WETH 86%"
published = 10.96
factor = 2
)toml";

std::string lending_edited(const std::string& from, const std::string& to) {
  std::string s = kLendingCase;
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a market case names its token or lending market, and only the key its metric reads") {
  const ReproductionCase c = one_case(kLendingCase);
  CHECK(c.metric == ReproductionMetric::LendingBadDebtEth);
  CHECK(c.lending_markets == std::vector<std::string>{"Morpho ezETH/WETH 86%"});
  CHECK(c.holder.empty());
  CHECK(c.factor == 2.0);
  ScenarioError e = manifest_error(lending_edited("lending_market = \"Morpho ezETH/WETH 86%\"\n", ""));
  CHECK(e.key == "case[0]");
  CHECK(contains(e.what(), "missing required key 'lending_market'"));
  e = manifest_error(lending_edited("factor = 2", "factor = 2\nholder = \"ezETH\""));
  CHECK(e.key == "case[0].holder");
  CHECK(contains(e.what(), "not read by metric = \"lending_bad_debt_eth\""));
  e = manifest_error(lending_edited("factor = 2", "factor = 2\nlltv = 0.86"));
  CHECK(e.key == "case[0].lltv");
  e = manifest_error(lending_edited("\"lending_bad_debt_eth\"\nlending_market = \"Morpho ezETH/WETH 86%\"", "\"token_min_price\""));
  CHECK(contains(e.what(), "missing required key 'token'"));
}

TEST_CASE("exactly one of tolerance and factor, and a factor needs a positive figure and is at least 1") {
  ScenarioError e = manifest_error(lending_edited("factor = 2", "factor = 2\ntolerance = 0.1"));
  CHECK(e.key == "case[0]");
  CHECK(contains(e.what(), "expected exactly one of tolerance (relative) and factor (an order of magnitude)"));
  e = manifest_error(lending_edited("factor = 2\n", ""));
  CHECK(contains(e.what(), "expected exactly one of tolerance"));
  e = manifest_error(lending_edited("factor = 2", "factor = 0.5"));
  CHECK(e.key == "case[0].factor");
  CHECK(contains(e.what(), "expected a factor >= 1, got 0.5"));
  e = manifest_error(lending_edited("published = 10.96", "published = 0"));
  CHECK(e.key == "case[0].factor");
  CHECK(contains(e.what(), "the published figure must be > 0"));
}

TEST_CASE("a factor, a lower and an upper bound each decide a case") {
  ReproductionCase c = one_case(kLendingCase);  // 10.96 within x2
  CHECK(within_tolerance(c, 10.96 / 2));
  CHECK(within_tolerance(c, 21.92));
  CHECK_FALSE(within_tolerance(c, 10.96 / 2 - 0.01));
  CHECK_FALSE(within_tolerance(c, 21.93));
  CHECK_FALSE(within_tolerance(c, 0.0));
  c = one_case(edited("tolerance = 0.01", "tolerance = 0.05\nbound = \"lower\""));  // 0.066, ours >= it
  CHECK(c.lower_bound);
  CHECK(within_tolerance(c, 0.066));
  CHECK(within_tolerance(c, 0.069));
  CHECK_FALSE(within_tolerance(c, 0.0659));
  CHECK_FALSE(within_tolerance(c, 0.0694));
  c = one_case(edited("tolerance = 0.01", "tolerance = 0.05\nbound = \"upper\""));
  CHECK(within_tolerance(c, 0.0659));
  CHECK_FALSE(within_tolerance(c, 0.0661));
}

TEST_CASE("closed-form cases read their inputs and no scenario, and give the formulas' values") {
  const ReproductionCase morpho = one_case(
      "[[case]]\nname = \"m\"\nsource = \"s\"\nmetric = \"morpho_incentive_factor\"\nlltv = 0.86\npublished = 1.0438\ntolerance = 0.00005\n");
  CHECK(morpho.scenario.empty());
  CHECK(evaluate_closed_form(morpho) == doctest::Approx(1.0 / (1.0 - 0.3 * 0.14)).epsilon(1e-15));
  const ReproductionCase loop = one_case(
      "[[case]]\nname = \"l\"\nsource = \"s\"\nmetric = \"looper_leverage\"\nliquidation_threshold = 0.95\nhealth_factor = 1.01\n"
      "published = 16.83\ntolerance = 0.0003\n");
  CHECK(evaluate_closed_form(loop) == doctest::Approx(1.01 / 0.06).epsilon(1e-13));
  ScenarioError e = manifest_error(
      "[[case]]\nname = \"m\"\nscenario = \"x.toml\"\nsource = \"s\"\nmetric = \"morpho_incentive_factor\"\nlltv = 0.86\n"
      "published = 1.0438\ntolerance = 0\n");
  CHECK(e.key == "case[0].scenario");
  CHECK(contains(e.what(), "is a closed form: it reads no scenario"));
  e = manifest_error(
      "[[case]]\nname = \"l\"\nsource = \"s\"\nmetric = \"looper_leverage\"\nliquidation_threshold = 0.95\nhealth_factor = 0.9\n"
      "published = 1\ntolerance = 0\n");
  CHECK(e.key == "case[0].health_factor");
  CHECK(contains(e.what(), "must exceed its liquidation threshold 0.95"));
  e = manifest_error("[[case]]\nname = \"q\"\nsource = \"s\"\nmetric = \"exit_queue_days\"\npublished = 1\ntolerance = 0\n");
  CHECK(contains(e.what(), "missing required key 'scenario'"));
}

TEST_CASE("a market case on the ezETH scenario reads its market, and an unknown name is an error before any trial") {
  std::ifstream in(RESTAKE_SOURCE_DIR "/scenarios/published/ezeth-april-2024.toml");
  std::stringstream text;
  text << in.rdbuf();
  const Model m = parse_scenario(text.str(), "ezeth-april-2024.toml");
  ReproductionCase c = one_case(kLendingCase);
  c.metric = ReproductionMetric::LendingLiquidated;
  c.lending_markets = {"the 86% borrowers, exchange-rate oracle"};
  CHECK(measure_reproduction(m, c) == 0.0);  // a pure depeg moves no exchange-rate price
  c.lending_markets = {"Morpho ezETH/WETH 86%"};
  const double seized = measure_reproduction(m, c);
  CHECK(seized > 0.0);
  c.metric = ReproductionMetric::LendingBadDebtUsd;
  CHECK(measure_reproduction(m, c) == doctest::Approx(3000.0 * [&] {
          ReproductionCase eth = c;
          eth.metric = ReproductionMetric::LendingBadDebtEth;
          return measure_reproduction(m, eth);
        }()));
  Model no_price = m;
  no_price.usd_price = {};
  CHECK_THROWS_WITH_AS(measure_reproduction(no_price, c), doctest::Contains("reads bad debt in USD, but the scenario gives no [prices_usd] ETH"),
                       std::runtime_error);
  // Several markets: their figures add up.
  c.metric = ReproductionMetric::LendingLiquidated;
  const double seized77 = [&] {
    ReproductionCase one = c;
    one.lending_markets = {"Morpho ezETH/WETH 77%"};
    return measure_reproduction(m, one);
  }();
  c.lending_markets = {"Morpho ezETH/WETH 86%", "Morpho ezETH/WETH 77%"};
  CHECK(measure_reproduction(m, c) == doctest::Approx(seized + seized77).epsilon(1e-15));
  CHECK(one_case(lending_edited("lending_market = \"Morpho ezETH/WETH 86%\"", "lending_market = [\"a\", \"b\"]")).lending_markets ==
        std::vector<std::string>{"a", "b"});
  ScenarioError e = manifest_error(lending_edited("lending_market = \"Morpho ezETH/WETH 86%\"", "lending_market = []"));
  CHECK(e.key == "case[0].lending_market");
  CHECK(contains(e.what(), "expected a lending market's name, or several"));
  e = manifest_error(lending_edited("lending_market = \"Morpho ezETH/WETH 86%\"", "lending_market = [\"a\", \"a\"]"));
  CHECK(e.key == "case[0].lending_market[1]");
  CHECK(contains(e.what(), "lending market \"a\" is listed twice"));
  e = manifest_error(lending_edited("lending_market = \"Morpho ezETH/WETH 86%\"", "lending_market = [1]"));
  CHECK(e.key == "case[0].lending_market[0]");
  c.lending_markets = {"Morpho ezETH/WETH 99%"};
  CHECK_THROWS_WITH_AS(measure_reproduction(m, c),
                       doctest::Contains("scenario has no lending market \"Morpho ezETH/WETH 99%\""), std::runtime_error);
  c.metric = ReproductionMetric::TokenMinPrice;
  c.lending_markets.clear();
  c.token = "ezETH";
  CHECK(measure_reproduction(m, c) < 0.25);
}
