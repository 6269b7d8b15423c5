#include "reproduce/reproduction.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "security/cascade.hpp"
#include "trial/engine.hpp"
#include "io/toml_reader.hpp"
#include "stats/tally.hpp"

namespace restake {

std::vector<ReproductionCase> parse_reproductions(std::string_view text, const std::string& file_name) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const TomlFile file{file_name, "docs/reproductions.md"};
  const toml::table root = parse_toml(text, file);
  TableReader manifest(root, "", file);
  manifest.allow({"case"});
  std::vector<ReproductionCase> out;
  manifest.each_table("case", [&](TableReader& t, std::size_t) {
    t.allow({"name", "scenario", "source", "holder", "metric", "published", "tolerance", "psi", "bound"});
    ReproductionCase c;
    c.name = t.required_string("name");
    c.scenario = t.required_string("scenario");
    c.source = t.required_string("source");
    c.metric = t.required_one_of<ReproductionMetric>("metric", {{"loss_eth", ReproductionMetric::LossEth},
                                                                {"value_left_eth", ReproductionMetric::ValueLeftEth},
                                                                {"cascade_loss_share", ReproductionMetric::CascadeLossShare}});
    if (c.metric == ReproductionMetric::CascadeLossShare) {
      if (t.has("holder")) t.fail("holder", "a cascade_loss_share case measures the whole restaking graph: it names no holder");
      c.psi = t.required_number("psi", 0.0, 1.0, "a shock as a share of all stake in [0, 1]");
    } else {
      c.holder = t.required_string("holder");
      if (t.has("psi")) t.fail("psi", "only for metric = \"cascade_loss_share\"");
    }
    c.published = t.required_number("published", -kInf, kInf, "a number");
    c.tolerance = t.required_number("tolerance", 0.0, kInf, "a relative tolerance >= 0");
    c.upper_bound = t.one_of<bool>("bound", {{"upper", true, "the published figure is an upper bound"}}).value_or(false);
    out.push_back(std::move(c));
  });
  if (out.empty()) manifest.fail("case", "expected at least one [[case]]");
  manifest.finish();
  return out;
}

double measure_reproduction(const Model& m, const ReproductionCase& c) {
  if (c.metric == ReproductionMetric::CascadeLossShare) return worst_cascade_loss(make_restaking_graph(m), c.psi).loss_share;
  std::size_t h = m.holders.size();
  for (std::size_t i = 0; i < m.holders.size(); ++i)
    if (m.holders[i].name == c.holder) h = i;
  if (h == m.holders.size()) throw std::runtime_error(fmt::format("{}: scenario has no holder \"{}\"", c.scenario, c.holder));
  Tally tally(m);
  run_trials(m, resolve_run_spec(m.simulation, {}, {.threads = 1}), [&](const TrialBlock& b) { tally.add(b); });
  const double value = m.holders[h].value();
  const double loss = tally.totals().loss[h].result().mean * value;
  return c.metric == ReproductionMetric::LossEth ? loss : value - loss;
}

bool within_tolerance(const ReproductionCase& c, double ours) {
  if (c.upper_bound && ours > c.published) return false;
  return std::abs(ours - c.published) <= c.tolerance * std::abs(c.published) + 1e-9;
}

}  // namespace restake
