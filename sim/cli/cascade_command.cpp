// `restake-sim cascade`: reads a scenario, builds its restaking graph and prints what sim/security/cascade
// computes, as a table or as JSON. See docs/cascade.md for how to read it.
#include "cascade_command.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "security/cascade.hpp"
#include "io/json.hpp"
#include "io/scenario.hpp"
#include "number_options.hpp"
#include "text_file.hpp"

namespace restake {

namespace {


std::string pct(double x) { return fmt::format("{:.7g}%", 100.0 * x); }
std::string num(double x) { return std::isinf(x) ? "infinite" : fmt::format("{:.7g}", x); }

std::string json_bool(bool b) { return b ? "true" : "false"; }

template <class Named>
std::vector<std::string> names_of(const std::vector<Named>& all, const std::vector<std::size_t>& idx) {
  std::vector<std::string> out;
  for (std::size_t i : idx) out.push_back(all[i].name);
  return out;
}
std::string join(const std::vector<std::string>& v) { return v.empty() ? "none" : fmt::format("{}", fmt::join(v, ", ")); }
std::string json_names(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_string(v[i]);
  return out + "]";
}

// Secure with gamma-slack, allowing for the rounding of gamma* itself.
bool secure_with(const SecurityReport& s, double gamma) { return s.slack >= gamma - 1e-12 * (1.0 + gamma); }

// Everything the command reports, computed once and printed in either form.
struct CascadeReport {
  std::string scenario_name;
  std::string asset = "ETH";  // the unit of every stake and profit below
  RestakingGraph graph;
  std::optional<std::string> refusal;    // why the exact searches did not run
  std::optional<SecurityReport> security;
  SufficientCondition sufficient;
  std::optional<CascadeLoss> loss;
  std::optional<std::string> loss_refusal;  // the worst-case search gave up (step budget)
  double bound = std::numeric_limits<double>::infinity();
  std::string bound_from;  // "slack", "sufficient_condition" or empty
};

CascadeReport analyze(const CascadeArgs& a) {
  const Model m = parse_scenario(read_text_file(a.scenario, "scenario file"), a.scenario);
  CascadeReport r;
  r.scenario_name = m.simulation.name;
  if (!m.operators.empty()) r.asset = to_string(m.operators.front().asset);
  r.graph = make_restaking_graph(m);
  r.sufficient = per_validator_condition(r.graph, a.gamma.value_or(0.0));
  ExactLimits limits;
  limits.max_validators = a.max_exact;
  r.refusal = exact_search_refusal(r.graph, limits);
  if (!r.refusal) {
    r.security = analyze_security(r.graph, limits);
    try {
      r.loss = worst_cascade_loss(r.graph, a.psi, limits);
    } catch (const GraphTooBig& e) {
      r.loss_refusal = e.what();
    }
  }
  // Theorem 1 needs a slack gamma > 0; without the exact gamma*, the sufficient condition's is a
  // valid lower bound on it. An infinite slack means no attack at all: nothing to bound beyond psi.
  if (r.security && r.security->slack > 0.0 && std::isfinite(r.security->slack)) {
    r.bound = theorem1_bound(a.psi, r.security->slack);
    r.bound_from = "slack";
  } else if (!r.security && r.sufficient.largest_gamma > 0.0 && std::isfinite(r.sufficient.largest_gamma)) {
    r.bound = theorem1_bound(a.psi, r.sufficient.largest_gamma);
    r.bound_from = "sufficient_condition";
  }
  return r;
}

std::string format_table(const CascadeArgs& a, const CascadeReport& r) {
  const RestakingGraph& g = r.graph;
  const auto eth = [&](double x) { return fmt::format("{:.10g} {}", x, r.asset); };
  const auto line = [](const std::string& label, const std::string& text) { return fmt::format("{:<18}{}\n", label, text); };
  std::string out = fmt::format(
      "cascade analysis of scenario \"{}\" ({}): Durvasula & Roughgarden, \"Robust Restaking Networks\"\n",
      r.scenario_name, a.scenario);
  out += line("graph", fmt::format("{} validators (operators), {} services (AVSs), {} edges; total stake {}",
                                   g.validators.size(), g.services.size(), g.edge_count(), eth(g.total_stake())));
  // With no service worth corrupting the check is empty: say so rather than "secure: yes" alone.
  const bool any_profit = std::any_of(g.services.begin(), g.services.end(), [](const CascadeService& s) { return s.profit > 0.0; });
  if (!any_profit)
    out += line("check", g.services.empty() ? "empty: the scenario has no AVS, so there is nothing to attack"
                                            : "empty: no AVS sets corruption_profit > 0, so no attack pays; give the "
                                              "services' profit from corruption to test their security");
  if (r.security) {
    const SecurityReport& s = *r.security;
    out += line("secure", s.secure ? (any_profit ? "yes: no coalition can attack profitably" : "yes, vacuously (see above)")
                                   : "NO: some coalition can attack profitably");
    if (std::isinf(s.slack)) {
      out += line("slack gamma*", "infinite: no coalition can attack a service with a profit > 0");
    } else {
      out += line("slack gamma*", fmt::format("{} (tightest coalition: validators {} on services {}: stake {}, profit {})",
                                              num(s.slack), join(names_of(g.validators, s.tightest.validators)),
                                              join(names_of(g.services, s.tightest.services)), eth(s.tightest.stake),
                                              eth(s.tightest.profit)));
    }
    if (a.gamma)
      out += line(fmt::format("gamma* >= {}", num(*a.gamma)),
                  secure_with(s, *a.gamma) ? "yes: secure with this slack" : "no: not secure with this slack");
  } else {
    out += line("exact search", "refused: " + *r.refusal);
    out += line("secure", "not computed (exact search refused)");
    out += line("slack gamma*", "not computed; the sufficient condition's largest gamma below is a lower bound on it");
  }
  const SufficientCondition& c = r.sufficient;
  out += line("sufficient cond.",
              fmt::format("per-validator condition at gamma = {}: {}; largest gamma {}{}", num(c.gamma),
                          c.holds ? "holds" : "fails", num(c.largest_gamma),
                          c.binding_validator ? " (binding validator: " + g.validators[*c.binding_validator].name + ")" : ""));
  const std::string loss_label = fmt::format("R_psi, psi {}", pct(a.psi));
  if (r.loss) {
    const CascadeLoss& l = *r.loss;
    out += line(loss_label, fmt::format("{} of all stake lost (shock {} + attacks {})", pct(l.loss_share),
                                        pct(l.shock_share), pct(l.attack_share)));
  } else {
    out += line(loss_label, r.loss_refusal ? "not computed: " + *r.loss_refusal : "not computed (exact search refused)");
  }
  if (r.bound_from == "slack")
    out += line("Theorem 1 bound", fmt::format("(1 + 1/gamma*) psi = {}", pct(r.bound)));
  else if (r.bound_from == "sufficient_condition")
    out += line("Theorem 1 bound", fmt::format("(1 + 1/gamma) psi = {} with the sufficient condition's gamma", pct(r.bound)));
  else if (r.security ? std::isinf(r.security->slack) : std::isinf(r.sufficient.largest_gamma))
    out += line("Theorem 1 bound", "not needed: no attack is possible, the loss is the shock alone");
  else
    out += line("Theorem 1 bound", "none (needs a slack gamma > 0)");
  if (r.loss) {
    const CascadeLoss& l = *r.loss;
    if (l.shock.empty() && l.attack.validators.empty() && a.psi > 0.0)
      out += line("worst shock", fmt::format("none: no validator's stake fits in {} of all stake", pct(a.psi)));
    else if (l.shock.empty())
      out += line("worst shock", "none");
    else
      out += line("worst shock", fmt::format("validators {} ({})", join(names_of(g.validators, l.shock)),
                                             eth(l.shock_share * g.total_stake())));
    if (!l.attack.validators.empty())
      out += line("then attack", fmt::format("validators {} ({}) corrupt services {} (profit {})",
                                             join(names_of(g.validators, l.attack.validators)), eth(l.attack.stake),
                                             join(names_of(g.services, l.attack.services)), eth(l.attack.profit)));
    else
      out += line("then attack", "none");
  }
  return out;
}

std::string json_coalition(const RestakingGraph& g, const Coalition& c) {
  return fmt::format("{{\"validators\": {}, \"services\": {}, \"stake\": {}, \"profit\": {}}}",
                     json_names(names_of(g.validators, c.validators)), json_names(names_of(g.services, c.services)),
                     json_number(c.stake), json_number(c.profit));
}

std::string format_json(const CascadeArgs& a, const CascadeReport& r) {
  const RestakingGraph& g = r.graph;
  std::string out = "{\n";
  out += fmt::format("  \"scenario\": {},\n  \"file\": {},\n  \"asset\": {},\n  \"psi\": {},\n  \"gamma\": {},\n",
                     json_string(r.scenario_name), json_string(a.scenario), json_string(r.asset), json_number(a.psi),
                     a.gamma ? json_number(*a.gamma) : "null");
  out += fmt::format(
      "  \"graph\": {{\"validators\": {}, \"services\": {}, \"edges\": {}, \"total_stake\": {}}},\n",
      g.validators.size(), g.services.size(), g.edge_count(), json_number(g.total_stake()));
  out += fmt::format("  \"exact_max_validators\": {},\n  \"exact_refusal\": {},\n", a.max_exact,
                     r.refusal ? json_string(*r.refusal) : "null");
  if (r.security) {
    const SecurityReport& s = *r.security;
    out += fmt::format("  \"security\": {{\"secure\": {}, \"slack\": {}, \"slack_infinite\": {}, \"secure_with_gamma\": {}, "
                       "\"tightest\": {}}},\n",
                       json_bool(s.secure), json_number(s.slack), json_bool(std::isinf(s.slack)),
                       a.gamma ? json_bool(secure_with(s, *a.gamma)) : "null",
                       std::isinf(s.slack) ? "null" : json_coalition(g, s.tightest));
  } else {
    out += "  \"security\": null,\n";
  }
  const SufficientCondition& c = r.sufficient;
  out += fmt::format(
      "  \"sufficient_condition\": {{\"gamma\": {}, \"holds\": {}, \"largest_gamma\": {}, \"binding_validator\": {}}},\n",
      json_number(c.gamma), json_bool(c.holds), json_number(c.largest_gamma),
      c.binding_validator ? json_string(g.validators[*c.binding_validator].name) : "null");
  if (r.loss) {
    const CascadeLoss& l = *r.loss;
    out += fmt::format("  \"loss\": {{\"r_psi\": {}, \"shock_share\": {}, \"attack_share\": {}, \"shock\": {}, \"attack\": {}}},\n",
                       json_number(l.loss_share), json_number(l.shock_share), json_number(l.attack_share),
                       json_names(names_of(g.validators, l.shock)), json_coalition(g, l.attack));
  } else {
    out += "  \"loss\": null,\n";
  }
  out += fmt::format("  \"loss_refusal\": {},\n", r.loss_refusal ? json_string(*r.loss_refusal) : "null");
  out += fmt::format("  \"theorem1_bound\": {},\n  \"theorem1_bound_from\": {}\n}}\n", json_number(r.bound),
                     r.bound_from.empty() ? "null" : json_string(r.bound_from));
  return out;
}

}  // namespace

CLI::App* add_cascade_command(CLI::App& app, CascadeArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "cascade", "Durvasula-Roughgarden cascade analysis: security, slack, sufficient condition, worst-case loss R_psi");
  cmd->add_option("scenario", args.scenario, "Scenario file")->required();
  add_number_option(*cmd, "--psi", args.psi, 0.0, 1.0, "Shock: share of all stake lost at first (default 0.001)");
  add_number_option(*cmd, "--gamma", args.gamma, 0.0, 1e12, "Also check security and the per-validator condition with this slack");
  add_integer_option(*cmd, "--max-exact", args.max_exact, 1, static_cast<std::int64_t>(kExactValidatorsCap),
                     fmt::format("Largest validator count for the exact searches (default 20, at most {})", kExactValidatorsCap));
  cmd->add_flag("--json", args.json, "Machine-readable output");
  cmd->fallthrough();  // -v / -q may come after the subcommand
  return cmd;
}

int run_cascade_command(const CascadeArgs& args) {
  const CascadeReport r = analyze(args);
  std::cout << (args.json ? format_json(args, r) : format_table(args, r)) << std::flush;
  return 0;
}

}  // namespace restake
