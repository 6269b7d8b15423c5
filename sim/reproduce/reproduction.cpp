#include "reproduce/reproduction.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "security/cascade.hpp"
#include "trial/engine.hpp"
#include "io/scenario.hpp"
#include "stats/tally.hpp"

namespace restake {

namespace {

const char* const kMetrics[] = {"loss_eth", "value_left_eth", "cascade_loss_share"};

[[noreturn]] void fail(const std::string& file, const toml::source_region& at, const std::string& key, const std::string& what) {
  throw ScenarioError(file, static_cast<int>(at.begin.line), static_cast<int>(at.begin.column), key, what);
}

}  // namespace

std::vector<ReproductionCase> parse_reproductions(std::string_view text, const std::string& file) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(file));
  } catch (const toml::parse_error& e) {
    fail(file, e.source(), "(syntax)", std::string(e.description()));
  }
  for (const auto& [k, v] : root)
    if (k.str() != "case") fail(file, k.source(), std::string(k.str()), "unknown key (expected [[case]] tables)");
  const toml::array* cases = root["case"].as_array();
  if (!cases || cases->empty()) fail(file, root.source(), "case", "expected at least one [[case]]");
  std::vector<ReproductionCase> out;
  for (std::size_t i = 0; i < cases->size(); ++i) {
    const std::string path = fmt::format("case[{}]", i);
    const toml::table* t = cases->get(i)->as_table();
    if (!t) fail(file, cases->get(i)->source(), path, "expected a table");
    for (const auto& [k, v] : *t) {
      static const char* const known[] = {"name", "scenario", "source", "holder", "metric", "published", "tolerance", "psi", "bound"};
      if (std::find_if(std::begin(known), std::end(known), [&](const char* x) { return k.str() == x; }) == std::end(known))
        fail(file, k.source(), fmt::format("{}.{}", path, k.str()), "unknown key");
    }
    auto str = [&](const char* key) {
      const auto* n = t->get(key);
      if (!n || !n->is_string()) fail(file, n ? n->source() : t->source(), fmt::format("{}.{}", path, key), "expected a string");
      return n->as_string()->get();
    };
    auto num = [&](const char* key) {
      const auto* n = t->get(key);
      const auto v = n ? n->value<double>() : std::nullopt;
      if (!v || !std::isfinite(*v)) fail(file, n ? n->source() : t->source(), fmt::format("{}.{}", path, key), "expected a number");
      return *v;
    };
    const bool cascade = t->get("metric") && t->get("metric")->value<std::string>() == "cascade_loss_share";
    ReproductionCase c{str("name"), str("scenario"), str("source"), cascade ? "" : str("holder"), str("metric"),
                       num("published"), num("tolerance"), cascade ? num("psi") : 0.0};
    if (std::find(std::begin(kMetrics), std::end(kMetrics), c.metric) == std::end(kMetrics))
      fail(file, t->get("metric")->source(), path + ".metric", "expected \"loss_eth\", \"value_left_eth\" or \"cascade_loss_share\"");
    if (const auto* b = t->get("bound")) {
      if (b->value<std::string>() != "upper") fail(file, b->source(), path + ".bound", "expected \"upper\" (the published figure is an upper bound)");
      c.upper_bound = true;
    }
    if (c.tolerance < 0) fail(file, t->get("tolerance")->source(), path + ".tolerance", "expected a relative tolerance >= 0");
    out.push_back(std::move(c));
  }
  return out;
}

double measure_reproduction(const Model& m, const ReproductionCase& c) {
  if (c.metric == "cascade_loss_share") return worst_cascade_loss(make_restaking_graph(m), c.psi).loss_share;
  std::size_t h = m.holders.size();
  for (std::size_t i = 0; i < m.holders.size(); ++i)
    if (m.holders[i].name == c.holder) h = i;
  if (h == m.holders.size()) throw std::runtime_error(fmt::format("{}: scenario has no holder \"{}\"", c.scenario, c.holder));
  Tally tally(m);
  run_trials(m, resolve_run_spec(m.simulation, {}, {.threads = 1}), [&](const TrialBlock& b) { tally.add(b); });
  const double value = m.holders[h].value();
  const double loss = tally.loss[h].result().mean * value;
  return c.metric == "loss_eth" ? loss : value - loss;
}

bool within_tolerance(const ReproductionCase& c, double ours) {
  if (c.upper_bound && ours > c.published) return false;
  return std::abs(ours - c.published) <= c.tolerance * std::abs(c.published) + 1e-9;
}

}  // namespace restake
