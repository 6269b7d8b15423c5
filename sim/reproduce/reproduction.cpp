#include "reproduce/reproduction.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "chain/inactivity.hpp"
#include "io/toml_reader.hpp"
#include "market/lending.hpp"
#include "security/cascade.hpp"
#include "stats/tally.hpp"
#include "trial/engine.hpp"

namespace restake {

namespace {

using M = ReproductionMetric;

// What each metric reads: the key naming its subject (none: the graph or a closed form), whether
// it needs a scenario, and its closed form's inputs.
struct MetricShape {
  const char* subject_key;  // "holder", "token", "lending_market" or nullptr
  bool scenario;
  std::vector<const char*> inputs;  // numbers the case must give
};

MetricShape shape_of(M metric) {
  switch (metric) {
    case M::LossEth:
    case M::ValueLeftEth: return {"holder", true, {}};
    case M::CascadeLossShare: return {nullptr, true, {"psi"}};
    case M::TokenMinPrice: return {"token", true, {}};
    case M::LendingLiquidated:
    case M::LendingBadDebtEth:
    case M::LendingBadDebtUsd: return {"lending_market", true, {}};
    case M::MorphoIncentiveFactor: return {nullptr, false, {"lltv"}};
    case M::LooperLeverage: return {nullptr, false, {"liquidation_threshold", "health_factor"}};
    case M::ExitQueueDays: return {nullptr, true, {"queue_eth"}};
  }
  return {};
}

constexpr const char* kSubjectKeys[] = {"holder", "token", "lending_market"};
constexpr const char* kInputKeys[] = {"psi", "lltv", "liquidation_threshold", "health_factor", "queue_eth"};

template <class T>
std::size_t index_named(const std::vector<T>& items, const std::string& name, const ReproductionCase& c, const char* what) {
  for (std::size_t i = 0; i < items.size(); ++i)
    if (items[i].name == name) return i;
  throw std::runtime_error(fmt::format("{}: scenario has no {} \"{}\" (case \"{}\")", c.scenario, what, name, c.name));
}

}  // namespace

std::vector<ReproductionCase> parse_reproductions(std::string_view text, const std::string& file_name) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const TomlFile file{file_name, "docs/reproductions.md"};
  const toml::table root = parse_toml(text, file);
  TableReader manifest(root, "", file);
  manifest.allow({"case"});
  std::vector<ReproductionCase> out;
  manifest.each_table("case", [&](TableReader& t, std::size_t) {
    t.allow({"name", "scenario", "source", "metric", "holder", "token", "lending_market", "published", "tolerance", "factor",
             "bound", "psi", "lltv", "liquidation_threshold", "health_factor", "queue_eth"});
    ReproductionCase c;
    c.name = t.required_string("name");
    c.source = t.required_string("source");
    c.metric = t.required_one_of<M>("metric", {{"loss_eth", M::LossEth},
                                               {"value_left_eth", M::ValueLeftEth},
                                               {"cascade_loss_share", M::CascadeLossShare},
                                               {"token_min_price", M::TokenMinPrice},
                                               {"lending_liquidated", M::LendingLiquidated},
                                               {"lending_bad_debt_eth", M::LendingBadDebtEth},
                                               {"lending_bad_debt_usd", M::LendingBadDebtUsd},
                                               {"morpho_incentive_factor", M::MorphoIncentiveFactor},
                                               {"looper_leverage", M::LooperLeverage},
                                               {"exit_queue_days", M::ExitQueueDays}});
    const std::string metric_text = t.required_string("metric");
    const MetricShape shape = shape_of(c.metric);
    const auto only_for = [&](const char* key) {
      t.fail(key, fmt::format("not read by metric = \"{}\"", metric_text));
    };
    if (shape.scenario) c.scenario = t.required_string("scenario");
    else if (t.has("scenario")) t.fail("scenario", fmt::format("metric = \"{}\" is a closed form: it reads no scenario", metric_text));
    for (const char* key : kSubjectKeys) {
      const bool wanted = shape.subject_key && std::string_view(key) == shape.subject_key;
      if (!wanted) {
        if (t.has(key)) only_for(key);
        continue;
      }
      if (c.metric == M::TokenMinPrice) c.token = t.required_string(key);
      else if (c.metric == M::LossEth || c.metric == M::ValueLeftEth) c.holder = t.required_string(key);
      else if (t.has(key) && t.get(key)->is_array()) {
        t.array(key, [&](const toml::node& n, std::size_t, const std::string& path) {
          const auto* name = n.as_string();
          if (!name) t.fail_at(n.source(), path, "expected the name of a lending market (a string)");
          if (std::find(c.lending_markets.begin(), c.lending_markets.end(), name->get()) != c.lending_markets.end())
            t.fail_at(n.source(), path, fmt::format("lending market \"{}\" is listed twice (its figure would count twice)", name->get()));
          c.lending_markets.push_back(name->get());
        });
        if (c.lending_markets.empty()) t.fail(key, "expected a lending market's name, or several (their figures add up)");
      } else {
        c.lending_markets.push_back(t.required_string(key));
      }
    }
    for (const char* key : kInputKeys) {
      bool wanted = false;
      for (const char* k : shape.inputs) wanted = wanted || std::string_view(k) == key;
      if (!wanted && t.has(key)) only_for(key);
    }
    if (c.metric == M::CascadeLossShare) c.psi = t.required_number("psi", 0.0, 1.0, "a shock as a share of all stake in [0, 1]");
    if (c.metric == M::MorphoIncentiveFactor) c.lltv = t.required_number("lltv", 0.0, 1.0, "a liquidation LTV in [0, 1]");
    if (c.metric == M::LooperLeverage) {
      c.liquidation_threshold = t.required_number("liquidation_threshold", 0.0, 1.0, "a liquidation threshold in [0, 1]");
      c.health_factor = t.required_number("health_factor", 0.0, kInf, "a health factor > 0");
      if (!(c.health_factor > c.liquidation_threshold))
        t.fail("health_factor", fmt::format("a loop's health factor must exceed its liquidation threshold {} (leverage 1 / (1 - LT/h))",
                                            c.liquidation_threshold));
    }
    if (c.metric == M::ExitQueueDays) c.queue_eth = t.required_number("queue_eth", 0.0, kInf, "ETH in the exit queue >= 0");
    c.published = t.required_number("published", -kInf, kInf, "a number");
    if (t.has("tolerance") == t.has("factor"))
      t.fail_table("expected exactly one of tolerance (relative) and factor (an order of magnitude)");
    if (t.has("tolerance")) c.tolerance = t.required_number("tolerance", 0.0, kInf, "a relative tolerance >= 0");
    else {
      c.factor = t.required_number("factor", 1.0, kInf, "a factor >= 1");
      if (!(c.published > 0.0)) t.fail("factor", "a factor compares positive figures: the published figure must be > 0");
    }
    const auto bound = t.one_of<int>("bound", {{"upper", +1, "the published figure is an upper bound"},
                                               {"lower", -1, "a lower bound"}});
    c.upper_bound = bound == +1;
    c.lower_bound = bound == -1;
    out.push_back(std::move(c));
  });
  if (out.empty()) manifest.fail("case", "expected at least one [[case]]");
  manifest.finish();
  return out;
}

double evaluate_closed_form(const ReproductionCase& c) {
  switch (c.metric) {
    case M::MorphoIncentiveFactor: return market::morpho_incentive_factor(c.lltv);
    case M::LooperLeverage: return market::looper_leverage(c.liquidation_threshold, c.health_factor);
    default: throw std::logic_error(fmt::format("case \"{}\" reads a scenario", c.name));
  }
}

double measure_reproduction(const Model& m, const ReproductionCase& c) {
  switch (c.metric) {
    case M::CascadeLossShare: return worst_cascade_loss(make_restaking_graph(m), c.psi).loss_share;
    case M::ExitQueueDays: return exit_queue_days(m.ethereum.consensus, c.queue_eth);
    case M::MorphoIncentiveFactor:
    case M::LooperLeverage: return evaluate_closed_form(c);
    default: break;
  }
  // Resolve the subject before running the trials.
  const std::size_t h = c.holder.empty() ? 0 : index_named(m.holders, c.holder, c, "holder");
  const std::size_t k = c.token.empty() ? 0 : index_named(m.tokens, c.token, c, "token");
  std::vector<std::size_t> books;
  for (const std::string& name : c.lending_markets) books.push_back(index_named(m.lending_markets, name, c, "lending market"));
  const double eth_usd = m.usd_price[static_cast<std::size_t>(Asset::Eth)];
  if (c.metric == M::LendingBadDebtUsd && !(eth_usd > 0.0))
    throw std::runtime_error(fmt::format("{}: case \"{}\" reads bad debt in USD, but the scenario gives no [prices_usd] ETH", c.scenario, c.name));

  Tally tally(m);
  run_trials(m, resolve_run_spec(m.simulation, {}, {.threads = 1}), [&](const TrialBlock& b) { tally.add(b); });
  const TallyTotals t = tally.totals();
  const double n = static_cast<double>(t.trials);
  switch (c.metric) {
    case M::LossEth:
    case M::ValueLeftEth: {
      const double value = m.holders[h].value();
      const double loss = t.loss[h].result().mean * value;
      return c.metric == M::LossEth ? loss : value - loss;
    }
    case M::TokenMinPrice: return t.token_min_price_sum[k] / n;
    default: break;
  }
  const std::vector<double>& sums = c.metric == M::LendingLiquidated ? t.lending_liquidated_sum : t.lending_bad_debt_sum;
  double total = 0.0;
  for (const std::size_t l : books) total += sums[l] / n;
  return c.metric == M::LendingBadDebtUsd ? total * eth_usd : total;
}

std::string reproduction_unit(const ReproductionCase& c) {
  switch (c.metric) {
    case M::LossEth: return "ETH lost";
    case M::ValueLeftEth: return "ETH left";
    case M::CascadeLossShare: return fmt::format("of all stake lost, psi = {}", c.psi);
    case M::TokenMinPrice: return fmt::format("ETH per {} at its lowest", c.token);
    case M::LendingLiquidated: return "tokens seized";
    case M::LendingBadDebtEth: return "ETH of bad debt";
    case M::LendingBadDebtUsd: return "USD of bad debt";
    case M::MorphoIncentiveFactor: return fmt::format("incentive factor at LLTV {}", c.lltv);
    case M::LooperLeverage: return fmt::format("x leverage at LT {}, HF {}", c.liquidation_threshold, c.health_factor);
    case M::ExitQueueDays: return fmt::format("days for {} ETH", c.queue_eth);
  }
  return "";
}

bool within_tolerance(const ReproductionCase& c, double ours) {
  if ((c.upper_bound && ours > c.published) || (c.lower_bound && ours < c.published)) return false;
  if (c.factor > 0.0) return ours >= c.published / c.factor && ours <= c.published * c.factor;
  return std::abs(ours - c.published) <= c.tolerance * std::abs(c.published) + 1e-9;
}

}  // namespace restake
