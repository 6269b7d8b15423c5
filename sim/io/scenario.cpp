#include "io/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "chain/inactivity.hpp"

namespace restake {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Either a number (fixed) or an inline table { dist = "...", ... }; its support must lie in [lo, hi].
std::optional<Distribution> read_distribution(TableReader& parent, std::string_view key, double lo, double hi,
                                              const char* expected) {
  const toml::node* n = parent.get(key);
  if (!n) return std::nullopt;
  if (n->is_number()) return Distribution::fixed(*parent.number(key, lo, hi, expected));
  const auto* t = n->as_table();
  if (!t) parent.fail(key, fmt::format("expected {} as a number or a table {{ dist = ... }}, got {}", expected, a_type(*n)));
  TableReader f(*t, parent.key_path(key), parent.file());
  f.allow({"dist", "value", "min", "max", "mode", "alpha", "beta", "mean", "sd", "mu", "sigma"});
  const DistributionKind kind = f.required_one_of<DistributionKind>("dist", {{"fixed", DistributionKind::Fixed},
                                                           {"uniform", DistributionKind::Uniform},
                                                           {"beta", DistributionKind::Beta},
                                                           {"triangular", DistributionKind::Triangular},
                                                           {"normal", DistributionKind::Normal},
                                                           {"lognormal", DistributionKind::LogNormal}});
  Distribution d;
  auto positive = [&](std::string_view k) {
    const double v = f.required_number(k, 0.0, kInf, "a positive number");
    if (v <= 0.0) f.fail(k, fmt::format("expected a positive number, got {}", v));
    return v;
  };
  switch (kind) {
    case DistributionKind::Fixed:
      d = Distribution::fixed(f.required_number("value", -kInf, kInf, "a number"));
      break;
    case DistributionKind::Uniform:
      d.kind = kind;
      d.a = f.required_number("min", -kInf, kInf, "a number");
      d.b = f.required_number("max", -kInf, kInf, "a number");
      if (!(d.a < d.b)) f.fail("max", "expected max > min");
      break;
    case DistributionKind::Beta:
      d.kind = kind;
      d.a = positive("alpha");
      d.b = positive("beta");
      for (const char* k : {"alpha", "beta"})
        if (f.required_number(k, 0.0, kInf, "a positive number") < 0.05)
          f.fail(k, "expected a shape >= 0.05 (smaller shapes underflow the sampler; such a beta is almost a coin flip "
                    "between 0 and 1: write that as a discrete choice instead)");
      break;
    case DistributionKind::Triangular:
      d.kind = kind;
      d.a = f.required_number("min", -kInf, kInf, "a number");
      d.b = f.required_number("mode", -kInf, kInf, "a number");
      d.c = f.required_number("max", -kInf, kInf, "a number");
      if (!(d.a <= d.b && d.b <= d.c && d.a < d.c)) f.fail("mode", "expected min <= mode <= max and min < max");
      break;
    case DistributionKind::Normal:
    case DistributionKind::LogNormal: {
      const bool normal = kind == DistributionKind::Normal;
      d.kind = kind;
      d.a = f.required_number(normal ? "mean" : "mu", -kInf, kInf, "a number");
      d.b = positive(normal ? "sd" : "sigma");
      // Truncation defaults to the allowed range of the parameter, so a draw is always valid.
      d.lo = f.number_or("min", std::max(lo, normal ? -kInf : 0.0), -kInf, kInf, "a number");
      d.hi = f.number_or("max", hi, -kInf, kInf, "a number");
      if (!(d.lo < d.hi)) f.fail("max", "expected max > min");
      break;
    }
  }
  f.finish();
  if (d.support_min() < lo || d.support_max() > hi) {
    parent.fail(key, fmt::format("expected {}, but {} can take values outside [{}, {}]", expected, d.describe(), lo, hi));
  }
  return d;
}

// An amount given as `<stem>_eth` or `<stem>_btc`: exactly one of them, in the asset expected.
std::optional<double> read_amount(TableReader& f, const std::string& stem, std::optional<Asset>& asset, const char* what) {
  const std::string eth = stem + "_eth", btc = stem + "_btc";
  const auto e = f.number(eth, 0.0, 1e10, fmt::format("{} in ETH >= 0", what).c_str());
  const auto b = f.number(btc, 0.0, 1e10, fmt::format("{} in BTC >= 0", what).c_str());
  if (e && b) f.fail(btc, fmt::format("give either '{}' or '{}', not both", eth, btc));
  if (!e && !b) return std::nullopt;
  const Asset given = e ? Asset::Eth : Asset::Btc;
  if (asset && *asset != given)
    f.fail(e ? eth : btc, fmt::format("expected an amount in {} ('{}_{}'), the asset of what it refers to", to_string(*asset), stem,
                                      *asset == Asset::Eth ? "eth" : "btc"));
  asset = given;
  return e ? e : b;
}

// Name -> index in the model; kFailed for an entry that has errors.
using NameIndex = std::map<std::string, std::size_t, std::less<>>;
constexpr std::size_t kFailed = std::numeric_limits<std::size_t>::max();

// An entry that names one with errors stops there, silently (EntryAbandoned): whatever else it
// says is about an entity that was not read, and its error is already reported.
std::size_t resolve(const NameIndex& names, TableReader& f, const std::string& name, const char* what,
                    const toml::source_region& where, const std::string& path) {
  const auto it = names.find(name);
  if (it == names.end()) {
    std::string known;
    std::vector<std::string_view> candidates;
    for (const auto& [n, i] : names) {
      known += (known.empty() ? "" : ", ") + n;
      candidates.push_back(n);
    }
    const auto near = closest_match(name, candidates);
    f.fail_at(where, path,
              fmt::format("unknown {} \"{}\"{} (defined: {})", what, name, near ? fmt::format("; did you mean \"{}\"?", *near) : "",
                          known.empty() ? "none" : known));
  }
  if (it->second == kFailed) throw EntryAbandoned{};
  return it->second;
}

// The entity named by the string value `name` that was read from `key` of this table.
std::size_t resolve_key(const NameIndex& names, TableReader& f, std::string_view key, const std::string& name, const char* what) {
  return resolve(names, f, name, what, f.get(key)->source(), f.key_path(key));
}

// A string element of an array naming another entity.
std::size_t resolve_element(const NameIndex& names, TableReader& f, const toml::node& n, const std::string& path,
                            const char* what) {
  const auto* s = n.as_string();
  if (!s) f.fail_at(n.source(), path, fmt::format("expected the name of a {} (a string)", what));
  return resolve(names, f, s->get(), what, n.source(), path);
}

// Either `<prob_key>` (annual probability of at least one event) or `<rate_key>` (Poisson rate).
double read_rate(TableReader& f, std::string_view prob_key, std::string_view rate_key) {
  const auto p = f.number(prob_key, 0.0, 1.0, "an annual probability in [0, 1)");
  const auto r = f.number(rate_key, 0.0, 1e6, "a rate per year in [0, 1e6]");
  if (p && r) f.fail(rate_key, fmt::format("give either '{}' or '{}', not both", prob_key, rate_key));
  if (p) {
    if (*p >= 1.0) f.fail(prob_key, "expected an annual probability below 1 (1 would mean infinitely many events; use the rate key for frequent events)");
    return rate_from_annual_probability(*p);
  }
  return r.value_or(0.0);
}

class Parser {
 public:
  Parser(const toml::table& root, const TomlFile& file) : root_(root, "", file), file_(file) {}

  // Reads every table, recording each error and going on, so that one run reports them all. An
  // error stops the entry it is in (an [[avs]], a [[stress.outage]], the [market] table): its later
  // checks would read values that were not; the elements of a list in it are each checked first
  // (each_element). Three things stop more: an unknown top-level key (a
  // misspelt [[opertor]] would make every name it defines unknown), an error in [simulation] (its
  // horizon bounds the days of [[withdrawal]], [[allocation_change]] and [stress], not checked
  // then), and any error at all before the checks of the whole world (check_world,
  // check_event_budget, [cascade] in_trials), which need every entity read.
  Model parse() {
    root_.allow({"simulation", "ethereum", "group", "operator", "outage", "contract", "protocol", "avs", "lrt", "lst", "native", "pool",
                 "withdrawal", "allocation_change", "market", "token", "lending_market", "stress", "prices_usd", "cascade", "tail"});
    const bool horizon = attempt([&] { read_simulation(); });
    attempt([&] { read_ethereum(); });
    attempt([&] { read_contracts(); });
    attempt([&] { read_groups(); });
    attempt([&] { read_operators(); });
    attempt([&] { read_outages(); });
    attempt([&] { read_protocols(); });
    attempt([&] { read_avs(); });
    attempt([&] { read_holders("lrt", HolderKind::Lrt); });
    attempt([&] { read_holders("lst", HolderKind::Lst); });
    attempt([&] { read_holders("native", HolderKind::Native); });
    if (horizon) attempt([&] { read_withdrawals(); });
    if (horizon) attempt([&] { read_allocation_changes(); });
    attempt([&] { read_pools(); });
    attempt([&] { read_market_grid(); });
    attempt([&] { read_tokens(); });
    attempt([&] { read_lending_markets(); });
    if (horizon) attempt([&] { read_stress(); });
    attempt([&] { read_prices(); });
    attempt([&] { read_cascade(); });
    attempt([&] { read_tail(); });
    if (!errors_.empty()) throw ScenarioErrors(std::move(errors_));
    root_.finish();
    check_world();
    check_event_budget();
    return std::move(m_);
  }

 private:
  // Runs `read`; an error it raises is recorded (all of them, for an unknown keys' list). False if
  // it raised one, or stopped at an entry with errors (EntryAbandoned).
  template <class F>
  bool attempt(F&& read) {
    try {
      read();
      return true;
    } catch (const ScenarioErrors& e) {
      errors_.insert(errors_.end(), e.errors.begin(), e.errors.end());
    } catch (const ScenarioError& e) {
      errors_.push_back(e);
    } catch (const EntryAbandoned&) {
    }
    return false;
  }

  // Reads each table of the array of tables `key` with `body(reader, index)`, an entry's errors
  // not stopping the next entry. `index` is the entry's place in `list`, where the body adds it
  // last of all; an entry with errors adds nothing, and its name (registered or not yet, as when
  // an unknown key stopped it first) is kFailed in `names`, so that entries naming it stop
  // quietly (resolve) instead of calling it unknown. True if every entry was read.
  template <class T, class F>
  bool each_entry(TableReader& parent, std::string_view key, NameIndex* names, const std::vector<T>& list, F&& body) {
    bool all = true;
    parent.array(key, [&](const toml::node& n, std::size_t, const std::string& path) {
      const std::size_t index = list.size();
      const bool read = attempt([&] {
        TableReader entry = parent.element_reader(n, path);
        body(entry, index);
        entry.finish();
      });
      all = all && read;
      if (read || !names) return;
      for (auto& [name, at] : *names)
        if (at == index) at = kFailed;
      const toml::node* name = n.is_table() ? n.as_table()->get("name") : nullptr;
      if (name && name->is_string()) names->emplace(name->as_string()->get(), kFailed);  // a duplicate keeps the first
    });
    return all;
  }

  // Each element of the array `key` of an entry, read by `each(node, index, path)`, an element's
  // error not stopping its siblings (two unknown operators in one list are two errors). If one
  // had an error, the entry stops after them: its later checks would read a part of it.
  template <class F>
  void each_element(TableReader& f, std::string_view key, F&& each) {
    bool all = true;
    f.array(key, [&](const toml::node& n, std::size_t i, const std::string& path) {
      all = attempt([&] { each(n, i, path); }) && all;
    });
    if (!all) throw EntryAbandoned{};
  }

  std::string unique_name(TableReader& f, NameIndex& names, std::size_t index, const char* what) {
    std::string name = f.required_string("name");
    if (name.empty()) f.fail("name", "expected a non-empty name");
    if (!names.emplace(name, index).second) f.fail("name", fmt::format("duplicate {} name \"{}\"", what, name));
    return name;
  }

  // A Poisson source's rate, remembering where it was given (for the event budget's error).
  double rate(TableReader& f, std::string_view prob_key, std::string_view rate_key) {
    const double r = read_rate(f, prob_key, rate_key);
    for (const std::string_view key : {prob_key, rate_key})
      if (const toml::node* n = f.get(key)) rate_keys_[f.path()] = {f.key_path(key), n->source()};
    return r;
  }

  void read_simulation() {
    const toml::table* t = root_.table("simulation");
    if (!t) root_.fail_table("missing required table [simulation]");
    TableReader f(*t, "simulation", file_);
    f.allow({"name", "description", "trials", "seed", "horizon_days"});
    auto& s = m_.simulation;
    s.name = f.required_string("name");
    s.description = f.string("description").value_or("");
    s.trials = f.integer("trials", 1, "a number of trials >= 1").value_or(s.trials);
    s.seed = f.integer("seed", 0, "a seed >= 0").value_or(s.seed);
    s.horizon_days = f.number_or("horizon_days", 365.0, 1e-9, 365.0 * 100, "a horizon in days in (0, 36500]");
    f.finish();
  }

  void read_ethereum() {
    const toml::table* t = root_.table("ethereum");
    if (!t) root_.fail_table("missing required table [ethereum]");
    TableReader f(*t, "ethereum", file_);
    f.allow({"total_active_stake_eth", "fork", "base_apr", "inactivity_leak", "penalties"});
    auto& c = m_.ethereum.consensus;
    const double total = f.required_number("total_active_stake_eth", 1.0, 1e10, "a total active stake in ETH in [1, 1e10]");
    if (total != std::floor(total)) f.fail("total_active_stake_eth", "expected a whole number of ETH");
    const Fork fork = f.one_of<Fork>("fork", {{"phase0", Fork::Phase0},
                                              {"altair", Fork::Altair},
                                              {"bellatrix", Fork::Bellatrix},
                                              {"capella", Fork::Capella},
                                              {"deneb", Fork::Deneb},
                                              {"electra", Fork::Electra}})
                          .value_or(Fork::Electra);
    c = consensus_params(fork, static_cast<Gwei>(total) * kGweiPerEth);
    if (auto d = read_distribution(f, "base_apr", -1.0, 1.0, "an APR in [-1, 1]")) m_.ethereum.base_apr = *d;
    c.inactivity_leak = f.boolean("inactivity_leak").value_or(false);
    if (const toml::table* pt = f.table("penalties")) {
      TableReader p(*pt, "ethereum.penalties", file_);
      p.allow({"min_slashing_penalty_quotient", "proportional_slashing_multiplier", "epochs_per_slashings_vector",
               "base_reward_factor", "missed_duties", "correlation_rounding", "duty_penalties",
               "inactivity_penalty_quotient", "exit_churn"});
      c.min_slashing_penalty_quotient = p.integer("min_slashing_penalty_quotient", 1, "an integer >= 1").value_or(c.min_slashing_penalty_quotient);
      c.proportional_slashing_multiplier = p.integer("proportional_slashing_multiplier", 0, "an integer >= 0").value_or(c.proportional_slashing_multiplier);
      c.epochs_per_slashings_vector = p.integer("epochs_per_slashings_vector", 2, "an integer in [2, 2^20]").value_or(c.epochs_per_slashings_vector);
      if (c.epochs_per_slashings_vector > (1u << 20)) p.fail("epochs_per_slashings_vector", "expected an integer in [2, 2^20]");
      c.base_reward_factor = p.integer("base_reward_factor", 0, "an integer in [0, 2^20]").value_or(c.base_reward_factor);
      if (c.base_reward_factor > (1u << 20)) p.fail("base_reward_factor", "expected an integer in [0, 2^20]");
      c.missed_duties = p.boolean("missed_duties").value_or(c.missed_duties);
      c.duties = p.one_of<DutyPenalties>("duty_penalties", {{"phase0", DutyPenalties::Phase0}, {"altair", DutyPenalties::Altair}})
                     .value_or(c.duties);
      c.inactivity_penalty_quotient = p.integer("inactivity_penalty_quotient", 1, "an integer >= 1").value_or(c.inactivity_penalty_quotient);
      c.exit_churn = p.one_of<ExitChurn>("exit_churn", {{"validators", ExitChurn::Validators, "before Electra"},
                                                        {"balance", ExitChurn::Balance, "Electra"}})
                         .value_or(c.exit_churn);
      c.rounding = p.one_of<CorrelationRounding>("correlation_rounding",
                                                 {{"per_increment", CorrelationRounding::PerIncrement, "Electra"},
                                                  {"whole_eth", CorrelationRounding::WholeEth, "before Electra"}})
                       .value_or(c.rounding);
      p.finish();
    }
    f.finish();
  }

  void read_contracts() {
    std::vector<std::pair<std::vector<const toml::node*>, std::string>> deps;  // resolved after all names are known
    each_entry(root_, "contract", &contracts_, m_.contracts, [&](TableReader& f, std::size_t i) {
      f.allow({"name", "kind", "annual_failure_probability", "failure_rate_per_year", "loss_given_failure", "depends_on"});
      Contract c;
      c.name = unique_name(f, contracts_, i, "contract");
      c.kind = f.one_of<ContractKind>("kind", {{"contract", ContractKind::Contract}, {"bridge", ContractKind::Bridge}})
                   .value_or(c.kind);
      c.failure_rate_per_year = rate(f, "annual_failure_probability", "failure_rate_per_year");
      if (auto d = read_distribution(f, "loss_given_failure", 0.0, 1.0, "a loss share in [0, 1]")) c.loss_given_failure = *d;
      std::vector<const toml::node*> nodes;
      f.array("depends_on", [&](const toml::node& n, std::size_t, const std::string&) { nodes.push_back(&n); });
      deps.emplace_back(std::move(nodes), f.key_path("depends_on"));
      m_.contracts.push_back(std::move(c));
    });
    for (std::size_t i = 0; i < deps.size(); ++i) {
      attempt([&] {
        for (std::size_t j = 0; j < deps[i].first.size(); ++j) {
          const auto path = fmt::format("{}[{}]", deps[i].second, j);
          const std::size_t d = resolve_element(contracts_, root_, *deps[i].first[j], path, "contract");
          if (d == i) root_.fail_at(deps[i].first[j]->source(), path, "a contract cannot depend on itself");
          m_.contracts[i].depends_on.push_back(d);
        }
      });
    }
    check_acyclic(deps);  // on the edges resolved: a cycle among them is one whatever the others
  }

  // depends_on must be a DAG: a depth-first search that meets a contract on its own path has a cycle.
  void check_acyclic(const std::vector<std::pair<std::vector<const toml::node*>, std::string>>& deps) {
    const std::size_t n = m_.contracts.size();
    std::vector<int> state(n, 0);  // 0 new, 1 on the current path, 2 done
    std::vector<std::size_t> path;
    std::function<void(std::size_t)> visit = [&](std::size_t c) {
      state[c] = 1;
      path.push_back(c);
      for (std::size_t k = 0; k < m_.contracts[c].depends_on.size(); ++k) {
        const std::size_t d = m_.contracts[c].depends_on[k];
        if (state[d] == 1) {
          std::string cycle;
          const auto start = std::find(path.begin(), path.end(), d);
          for (auto it = start; it != path.end(); ++it) cycle += m_.contracts[*it].name + " -> ";
          cycle += m_.contracts[d].name;
          root_.fail_at(deps[c].first[k]->source(), fmt::format("{}[{}]", deps[c].second, k),
                        fmt::format("depends_on forms a cycle: {}", cycle));
        }
        if (state[d] == 0) visit(d);
      }
      path.pop_back();
      state[c] = 2;
    };
    for (std::size_t c = 0; c < n; ++c)
      if (state[c] == 0) visit(c);
  }

  void read_groups() {
    each_entry(root_, "group", &groups_, m_.groups, [&](TableReader& f, std::size_t i) {
      f.allow({"name", "annual_probability", "rate_per_year", "fraction"});
      CorrelationGroup g;
      g.name = unique_name(f, groups_, i, "group");
      g.rate_per_year = rate(f, "annual_probability", "rate_per_year");
      auto d = read_distribution(f, "fraction", 0.0, 1.0, "a share of validators in [0, 1]");
      if (!d) f.fail_table("missing required key 'fraction' (share of each member's validators hit)");
      g.fraction = *d;
      m_.groups.push_back(std::move(g));
    });
  }

  void read_operators() {
    each_entry(root_, "operator", &operators_, m_.operators, [&](TableReader& f, std::size_t i) {
      f.allow({"name", "asset", "validators", "stake_eth", "stake_btc", "effective_balance_eth", "annual_fault_probability",
               "fault_rate_per_year", "fault_fraction", "groups", "allocation_delay_days", "key_compromise"});
      Operator o;
      o.name = unique_name(f, operators_, i, "operator");
      o.asset = f.one_of<Asset>("asset", {{"ETH", Asset::Eth}, {"BTC", Asset::Btc}}).value_or(Asset::Eth);
      if (o.asset == Asset::Btc) {
        // Babylon finality providers: BTC time-locked on Bitcoin, no beacon chain. A double-sign is
        // punished by the services they secure (extractable one-time signatures reveal the key).
        for (const char* eth_only : {"validators", "stake_eth", "effective_balance_eth", "annual_fault_probability",
                                     "fault_rate_per_year", "fault_fraction", "groups"})
          if (f.has(eth_only))
            f.fail(eth_only, "a BTC operator has no beacon-chain validators: give 'stake_btc', and model double-signs as "
                             "slashing conditions of the AVSs it secures");
        for (const char* eigen_only : {"allocation_delay_days", "key_compromise"})
          if (f.has(eigen_only))
            f.fail(eigen_only, "a BTC operator's stake is time-locked on Bitcoin: there is no allocation to redirect (ELIP-002) "
                               "and Babylon's slashing burns, it does not redistribute");
        o.btc_stake = f.required_number("stake_btc", 0.0, 1e10, "a stake in BTC >= 0");
        m_.operators.push_back(std::move(o));
        return;
      }
      if (f.has("stake_btc")) f.fail("stake_btc", "an ETH operator's stake is 'validators' or 'stake_eth' (or set asset = \"BTC\")");
      const double eb = f.number_or("effective_balance_eth", 32.0, 1.0, 2048.0, "an effective balance in ETH in [1, 2048]");
      if (eb != std::floor(eb)) f.fail("effective_balance_eth", "expected a whole number of ETH (effective balances are multiples of 1 ETH)");
      o.effective_balance_gwei = static_cast<Gwei>(eb) * kGweiPerEth;
      const auto validators = f.integer("validators", 1, "a validator count >= 1");
      const auto stake = f.number("stake_eth", 0.0, 1e10, "a stake in ETH >= 0");
      if (validators && stake) f.fail("stake_eth", "give either 'validators' or 'stake_eth', not both");
      if (!validators && !stake) f.fail_table("missing 'validators' or 'stake_eth'");
      if (validators) {
        o.validators = *validators;
        if (static_cast<double>(o.validators) * eb > 1e10)
          f.fail("validators", fmt::format("expected at most 1e10 ETH of stake, got {} validators of {} ETH", o.validators, eb));
      } else {
        const double n = *stake / eb;
        if (n < 1.0 || std::abs(n - std::round(n)) > 1e-9 * n)
          f.fail("stake_eth", fmt::format("expected a whole number (>= 1) of {} ETH validators, got {} ETH", eb, *stake));
        o.validators = static_cast<std::uint64_t>(std::llround(n));
      }
      o.fault_rate_per_year = rate(f, "annual_fault_probability", "fault_rate_per_year");
      auto d = read_distribution(f, "fault_fraction", 0.0, 1.0, "a share of validators in [0, 1]");
      if (!d && o.fault_rate_per_year > 0.0) f.fail_table("missing 'fault_fraction' (share of validators a fault hits)");
      o.fault_fraction = d.value_or(Distribution::fixed(0.0));
      each_element(f, "groups", [&](const toml::node& n, std::size_t, const std::string& path) {
        const std::size_t g = resolve_element(groups_, f, n, path, "group");
        auto& members = m_.groups[g].members;
        if (std::find(members.begin(), members.end(), i) != members.end())
          f.fail_at(n.source(), path, fmt::format("group \"{}\" listed twice", m_.groups[g].name));
        members.push_back(i);
      });
      o.allocation_delay_days = f.number_or("allocation_delay_days", 0.0, 0.0, 1e4, "an allocation delay in days in [0, 1e4]");
      if (const toml::node* k = f.get("key_compromise")) {
        o.key_compromise = read_key_compromise(f, "key_compromise", nullptr);
        const toml::node* pause = k->is_table() ? k->as_table()->get("pause_probability") : nullptr;
        operator_keys_[i] = {f.key_path("key_compromise"), k->source(), pause ? pause->source() : k->source()};
      }
      m_.operators.push_back(std::move(o));
    });
  }

  void read_outages() {
    each_entry(root_, "outage", &outages_, m_.outages, [&](TableReader& f, std::size_t i) {
      f.allow({"name", "annual_probability", "rate_per_year", "duration_days", "network_offline_share", "operators", "fraction"});
      Outage o;
      o.name = unique_name(f, outages_, i, "outage");
      o.rate_per_year = rate(f, "annual_probability", "rate_per_year");
      auto duration = read_distribution(f, "duration_days", 1.0 / kEpochsPerDay, 3650.0, "a duration in days in [1/225 (one epoch), 3650]");
      if (!duration) f.fail_table("missing required key 'duration_days' (how long the validators stay offline)");
      o.duration_days = *duration;
      auto share = read_distribution(f, "network_offline_share", 0.0, kMaxOfflineShare,
                                  "a share of all active stake in [0, 0.99] (with everyone offline the chain halts, it does not leak)");
      if (!share) f.fail_table("missing required key 'network_offline_share' (share of all active stake offline; > 1/3 stops finality)");
      o.network_share = *share;
      o.fraction = read_distribution(f, "fraction", 0.0, 1.0, "a share of validators in [0, 1]").value_or(Distribution::fixed(1.0));
      if (!f.has("operators")) f.fail_table("missing required key 'operators' (whose validators go offline)");
      each_element(f, "operators", [&](const toml::node& n, std::size_t, const std::string& path) {
        const std::size_t op = resolve_element(operators_, f, n, path, "operator");
        if (m_.operators[op].asset != Asset::Eth)
          f.fail_at(n.source(), path, fmt::format("operator \"{}\" is a BTC operator: it has no beacon-chain validators to go offline", m_.operators[op].name));
        if (std::find(o.operators.begin(), o.operators.end(), op) != o.operators.end())
          f.fail_at(n.source(), path, fmt::format("operator \"{}\" listed twice", m_.operators[op].name));
        o.operators.push_back(op);
      });
      if (o.operators.empty()) f.fail("operators", "expected at least one operator");
      m_.outages.push_back(std::move(o));
    });
  }

  void read_protocols() {
    each_entry(root_, "protocol", &protocols_, m_.protocols, [&](TableReader& f, std::size_t i) {
      f.allow({"name", "slashing_mode", "contracts", "escrow_days", "epoch_days", "veto_window_days", "resolution_days",
               "veto_probability", "veto_delay_days", "slashing_window_days", "redistribution", "allocation_configuration_days"});
      Protocol p;
      p.name = unique_name(f, protocols_, i, "protocol");
      p.mode = f.required_one_of<SlashingMode>("slashing_mode",
                                               {{"shared", SlashingMode::Shared}, {"unique", SlashingMode::Unique}});
      each_element(f, "contracts", [&](const toml::node& n, std::size_t, const std::string& path) {
        p.contracts.push_back(resolve_element(contracts_, f, n, path, "contract"));
      });
      read_timing(f, p);
      m_.protocols.push_back(std::move(p));
    });
  }

  // A protocol's rules in time (docs/scenario-format.md, [[protocol]]); all absent: today's instant slashing.
  void read_timing(TableReader& f, Protocol& p) {
    const auto escrow = f.number("escrow_days", 0.0, 1e4, "an escrow in days in [0, 1e4]");
    const auto epoch = f.number("epoch_days", 0.0, 1e4, "an epoch length in days in (0, 1e4]");
    if (escrow && epoch)
      f.fail("epoch_days", "give either 'escrow_days' (a fixed delay) or 'epoch_days' (Symbiotic's epochs: stake leaving "
                           "stays slashable until the end of the next epoch), not both");
    if (epoch && *epoch <= 0.0) f.fail("epoch_days", "expected an epoch length in days in (0, 1e4], got 0");
    p.escrow_days = escrow.value_or(0.0);
    p.epoch_days = epoch.value_or(0.0);
    p.veto_window_days = f.number_or("veto_window_days", 0.0, 0.0, 1e4, "a veto window in days in [0, 1e4]");
    p.resolution_days = f.number_or("resolution_days", 0.0, 0.0, 1e4, "a resolution delay in days in [0, 1e4]");
    p.veto_probability = f.number_or("veto_probability", 0.0, 0.0, 1.0, "a probability in [0, 1]");
    if (p.veto_probability > 0.0 && p.veto_window_days + p.resolution_days <= 0.0)
      f.fail("veto_probability", "a veto needs a window: give 'veto_window_days' or 'resolution_days' > 0 (with both 0 a slash "
                                 "executes when it is requested, before anyone can act)");
    if (auto d = read_distribution(f, "veto_delay_days", 0.0, 1e4, "a reaction time in days in [0, 1e4]")) {
      if (p.veto_probability <= 0.0)
        f.fail("veto_delay_days", "has no effect: no one vetoes with veto_probability = 0 (give a veto_probability > 0, or remove it)");
      p.veto_delay_days = *d;
    }
    if (const auto w = f.number("slashing_window_days", 0.0, 1e4, "a slashing window in days in (0, 1e4]")) {
      if (*w <= 0.0)
        f.fail("slashing_window_days", "expected a slashing window in days in (0, 1e4], got 0 (leave the key out for no limit)");
      p.slashing_window_days = *w;
    }
    p.redistribution = f.boolean("redistribution").value_or(false);
    p.allocation_configuration_days =
        f.number_or("allocation_configuration_days", 0.0, 0.0, 1e4, "a configuration delay in days in [0, 1e4]");
  }

  // A key_compromise table (an AVS's or an operator's stolen keys), with its rate recorded for the event budget.
  // With `protocol` (an AVS's), a pause needs that protocol's window; an operator's is checked with the whole world.
  KeyCompromise read_key_compromise(TableReader& parent, std::string_view key, const Protocol* protocol) {
    const toml::table* t = parent.table(key);
    KeyCompromise k;
    if (!t) return k;
    TableReader f(*t, parent.key_path(key), file_);
    f.allow({"annual_probability", "rate_per_year", "drain", "pause_probability", "pause_delay_days"});
    k.rate_per_year = rate(f, "annual_probability", "rate_per_year");
    if (auto d = read_distribution(f, "drain", 0.0, 1.0, "a drained share in [0, 1]")) k.drain = *d;
    k.pause_probability = f.number_or("pause_probability", 0.0, 0.0, 1.0, "a probability in [0, 1]");
    if (auto d = read_distribution(f, "pause_delay_days", 0.0, 1e4, "a reaction time in days in [0, 1e4]")) {
      if (k.pause_probability <= 0.0)
        f.fail("pause_delay_days", "has no effect: no one pauses with pause_probability = 0 (give a pause_probability > 0, or remove it)");
      k.pause_delay_days = *d;
    }
    if (protocol && k.pause_probability > 0.0 && protocol->veto_window_days + protocol->resolution_days <= 0.0)
      f.fail("pause_probability", fmt::format("no window to pause in: protocol \"{}\" has veto_window_days + resolution_days = 0 "
                                              "(a drain executes at once)", protocol->name));
    f.finish();
    return k;
  }

  void read_avs() {
    // allocation sums per (protocol, operator), to check unique-mode magnitudes <= 1
    std::map<std::pair<std::size_t, std::size_t>, double> allocated;
    each_entry(root_, "avs", &avs_, m_.avs, [&](TableReader& f, std::size_t i) {
      f.allow({"name", "protocol", "operators", "slashing", "faulty_annual_probability", "faulty_rate_per_year",
               "faulty_fraction", "rewards", "corruption_profit", "attack_threshold", "slash_delay_days", "redistributable",
               "key_compromise"});
      Avs a;
      a.name = unique_name(f, avs_, i, "avs");
      const std::string proto = f.required_string("protocol");
      a.protocol = resolve_key(protocols_, f, "protocol", proto, "protocol");
      const bool unique = m_.protocols[a.protocol].mode == SlashingMode::Unique;
      if (!f.has("operators")) f.fail_table("missing required key 'operators'");
      each_element(f, "operators", [&](const toml::node& n, std::size_t, const std::string& path) {
        Allocation al;
        if (n.is_string()) {
          al.op = resolve_element(operators_, f, n, path, "operator");
          if (unique) f.fail_at(n.source(), path, "unique slashing mode needs an allocation: write { operator = \"...\", allocation = 0.x }");
        } else if (const auto* t = n.as_table()) {
          TableReader af(*t, path, file_);
          af.allow({"operator", "allocation"});
          const std::string name = af.required_string("operator");
          al.op = resolve_key(operators_, af, "operator", name, "operator");
          const auto mag = af.number("allocation", 0.0, 1.0, "an allocated share of the operator's stake in [0, 1]");
          if (!mag && unique) af.fail_table("missing 'allocation' (required in unique slashing mode)");
          if (mag && !unique)
            af.fail("allocation", fmt::format("allocations only apply in unique slashing mode; protocol \"{}\" is shared "
                                              "(every AVS can slash the whole stake): remove it or use slashing_mode = \"unique\"",
                                              m_.protocols[a.protocol].name));
          al.magnitude = mag.value_or(1.0);
          af.finish();
        } else {
          f.fail_at(n.source(), path, "expected an operator name or { operator = \"...\", allocation = ... }");
        }
        for (const auto& other : a.allocations)
          if (other.op == al.op) f.fail_at(n.source(), path, fmt::format("operator \"{}\" listed twice", m_.operators[al.op].name));
        if (unique) {
          double& sum = allocated[{a.protocol, al.op}];
          sum += al.magnitude;
          if (sum > 1.0 + 1e-12)
            f.fail_at(n.source(), path,
                      fmt::format("unique-mode allocations of operator \"{}\" in protocol \"{}\" sum to {} > 1",
                                  m_.operators[al.op].name, m_.protocols[a.protocol].name, sum));
        }
        const Asset asset = m_.operators[al.op].asset;
        if (a.allocations.empty()) a.asset = asset;
        if (asset != a.asset)
          f.fail_at(n.source(), path, fmt::format("an AVS is secured by one asset: operator \"{}\" stakes {}, the first stakes {}",
                                                  m_.operators[al.op].name, to_string(asset), to_string(a.asset)));
        a.allocations.push_back(al);
      });
      if (a.allocations.empty()) f.fail("operators", "expected at least one operator");
      const bool conditions = each_entry(f, "slashing", nullptr, a.conditions, [&](TableReader& s, std::size_t) {
        s.allow({"name", "annual_probability", "rate_per_year", "fraction"});
        SlashingCondition c;
        c.name = s.required_string("name");
        for (const auto& other : a.conditions)
          if (other.name == c.name) s.fail("name", fmt::format("duplicate slashing condition name \"{}\" in this AVS", c.name));
        c.rate_per_year = rate(s, "annual_probability", "rate_per_year");
        auto d = read_distribution(s, "fraction", 0.0, 1.0, "a slashed share in [0, 1]");
        if (!d) s.fail_table("missing required key 'fraction' (share of the slashable stake removed)");
        c.fraction = *d;
        a.conditions.push_back(std::move(c));
      });
      if (!conditions) throw EntryAbandoned{};  // each condition's errors are reported; the checks below count them
      a.faulty_rate_per_year = rate(f, "faulty_annual_probability", "faulty_rate_per_year");
      auto fd = read_distribution(f, "faulty_fraction", 0.0, 1.0, "a slashed share in [0, 1]");
      if (!fd && a.faulty_rate_per_year > 0.0) f.fail_table("missing 'faulty_fraction' (share slashed by a faulty slashing event)");
      a.faulty_fraction = fd.value_or(Distribution::fixed(0.0));
      if (const toml::table* rt = f.table("rewards")) read_rewards(TableReader(*rt, f.key_path("rewards"), file_), a.rewards);
      a.corruption_profit = f.number_or("corruption_profit", 0.0, 0.0, 1e12, "a profit >= 0, in the asset of the stake securing the service");
      a.attack_threshold = f.number_or("attack_threshold", 0.5, 0.0, 1.0, "a share of the securing stake in (0, 1]");
      if (a.attack_threshold <= 0.0) f.fail("attack_threshold", "expected a share of the securing stake in (0, 1], got 0");
      const Protocol& p = m_.protocols[a.protocol];
      if (auto d = read_distribution(f, "slash_delay_days", 0.0, 1e4, "a delay in days in [0, 1e4]")) {
        if (a.conditions.empty())
          f.fail("slash_delay_days", "has no effect: the AVS has no slashing conditions whose slashes it would delay (a faulty "
                                     "slashing is its own request)");
        if (d->support_min() > p.slashing_window_days)
          f.fail("slash_delay_days", fmt::format("every slash would lapse: the delay is at least {} days, more than protocol "
                                                 "\"{}\"'s slashing_window_days = {}", d->support_min(), p.name,
                                                 p.slashing_window_days));
        a.slash_delay_days = *d;
      }
      a.redistributable = f.boolean("redistributable").value_or(false);
      if (a.redistributable && !p.redistribution)
        f.fail("redistributable", fmt::format("protocol \"{}\" does not allow redistribution: set redistribution = true on it "
                                              "(ELIP-006), or remove this key", p.name));
      if (a.redistributable && a.asset == Asset::Btc)
        f.fail("redistributable", "an AVS secured by BTC cannot redistribute: the stake is time-locked on Bitcoin and "
                                  "Babylon's slashing burns it");
      if (f.has("key_compromise")) {
        a.key_compromise = read_key_compromise(f, "key_compromise", &p);
        if (!a.redistributable)
          f.fail("key_compromise", "a thief gains only from a redistributable operator set (burning profits nobody): set "
                                   "redistributable = true, or remove key_compromise");
        const toml::node* k = f.get("key_compromise");
        avs_keys_[i] = {f.key_path("key_compromise"), k->source(), k->source()};
      }
      m_.avs.push_back(std::move(a));
    });
  }

  void read_rewards(TableReader f, RewardSchedule& r) {
    f.allow({"initial_apr", "floor_apr", "half_life_days", "cliff_days"});
    r.initial_apr = f.number_or("initial_apr", 0.0, 0.0, 10.0, "an APR in [0, 10]");
    r.floor_apr = f.number_or("floor_apr", 0.0, 0.0, 10.0, "an APR in [0, 10]");
    const auto half = read_distribution(f, "half_life_days", 1e-9, 1e6, "a half-life in days > 0");
    const auto cliff = read_distribution(f, "cliff_days", 0.0, 1e6, "a day >= 0");
    if (half && cliff) f.fail("cliff_days", "give either 'half_life_days' or 'cliff_days', not both");
    if (half) { r.decay = SubsidyDecay::HalfLife; r.decay_days = *half; }
    if (cliff) { r.decay = SubsidyDecay::Cliff; r.decay_days = *cliff; }
    if (r.floor_apr > 0.0 && r.decay == SubsidyDecay::None)
      f.fail("floor_apr", "a floor needs a subsidy decay: give 'half_life_days' or 'cliff_days'");
    if (r.floor_apr > r.initial_apr) f.fail("floor_apr", "expected floor_apr <= initial_apr (the floor is what is left when subsidies end)");
    f.finish();
  }

  void read_holders(std::string_view table_key, HolderKind kind) {
    each_entry(root_, table_key, &holders_, m_.holders, [&](TableReader& f, std::size_t i) {
      f.allow({"name", "reward_fee", "protocol", "positions", "contracts", "bridged"});
      Holder h;
      h.kind = kind;
      h.name = unique_name(f, holders_, i, "holder");
      h.reward_fee = f.number_or("reward_fee", 0.0, 0.0, 1.0, "a share of rewards in [0, 1]");
      std::size_t default_protocol = kNoProtocol;
      if (auto p = f.string("protocol")) {
        if (kind == HolderKind::Lst) f.fail("protocol", "an lst is not restaked: it has no restaking protocol");
        default_protocol = resolve_key(protocols_, f, "protocol", *p, "protocol");
      }
      if (!f.has("positions")) f.fail_table("missing required key 'positions'");
      each_element(f, "positions", [&](const toml::node& n, std::size_t, const std::string& path) {
        const auto* t = n.as_table();
        if (!t) f.fail_at(n.source(), path, "expected { operator = \"...\", stake_eth = ... }");
        TableReader pf(*t, path, file_);
        pf.allow({"operator", "stake_eth", "stake_btc", "protocol", "staked_with"});
        Position pos;
        const std::string op = pf.required_string("operator");
        pos.op = resolve_key(operators_, pf, "operator", op, "operator");
        std::optional<Asset> asset = m_.operators[pos.op].asset;
        const auto amount = read_amount(pf, "stake", asset, "a stake");
        if (!amount) pf.fail_table(fmt::format("missing 'stake_{}' (the stake delegated)", *asset == Asset::Eth ? "eth" : "btc"));
        pos.stake = *amount;
        if (h.positions.empty()) h.asset = *asset;
        if (*asset != h.asset)
          pf.fail_table(fmt::format("a holder's positions are all in one asset: this one is {}, the first is {}", to_string(*asset),
                                    to_string(h.asset)));
        pos.validator_op = pos.op;
        if (auto with = pf.string("staked_with")) {
          if (kind == HolderKind::Lst) pf.fail("staked_with", "an lst position is staked with its own operator");
          pos.validator_op = resolve_key(operators_, pf, "staked_with", *with, "operator");
          if (m_.operators[pos.validator_op].asset != *asset)
            pf.fail("staked_with", "expected an operator of the same asset as the one the position is delegated to");
        }
        pos.protocol = default_protocol;
        if (auto p = pf.string("protocol")) {
          if (kind == HolderKind::Lst) pf.fail("protocol", "an lst is not restaked: it has no restaking protocol");
          pos.protocol = resolve_key(protocols_, pf, "protocol", *p, "protocol");
        }
        // The ETH sits in the validators of validator_op: they must hold it.
        double& delegated = delegated_eth_[pos.validator_op];
        delegated += pos.stake;
        const double op_stake = m_.operators[pos.validator_op].stake();
        if (delegated > op_stake * (1.0 + 1e-12))
          pf.fail(*asset == Asset::Eth ? "stake_eth" : "stake_btc",
                  fmt::format("positions so far put {} {} in the validators of operator \"{}\", more than its {} {}", delegated,
                              to_string(*asset), m_.operators[pos.validator_op].name, op_stake, to_string(*asset)));
        if (kind != HolderKind::Lst && pos.protocol == kNoProtocol)
          pf.fail_table("a restaked position needs a 'protocol' (here or on the holder)");
        pf.finish();
        h.positions.push_back(pos);
      });
      if (h.positions.empty()) f.fail("positions", "expected at least one position");
      if (h.value() <= 0.0) f.fail("positions", "expected a total stake > 0");
      each_element(f, "contracts", [&](const toml::node& n, std::size_t, const std::string& path) {
        h.contracts.push_back(resolve_element(contracts_, f, n, path, "contract"));
      });
      double bridged_share = 0.0;
      each_element(f, "bridged", [&](const toml::node& n, std::size_t, const std::string& path) {
        const auto* t = n.as_table();
        if (!t) f.fail_at(n.source(), path, "expected { bridge = \"...\", share = ... }");
        TableReader bf(*t, path, file_);
        bf.allow({"bridge", "share"});
        BridgeExposure b;
        const std::string name = bf.required_string("bridge");
        b.contract = resolve_key(contracts_, bf, "bridge", name, "contract");
        if (m_.contracts[b.contract].kind != ContractKind::Bridge)
          bf.fail("bridge", fmt::format("contract \"{}\" is not a bridge (kind = \"bridge\")", name));
        for (const BridgeExposure& earlier : h.bridged)
          if (earlier.contract == b.contract) bf.fail("bridge", fmt::format("bridge \"{}\" is listed twice in this holder's 'bridged'", name));
        b.share = bf.required_number("share", 0.0, 1.0, "a share of the holder's value in [0, 1]");
        bridged_share += b.share;
        if (bridged_share > 1.0 + 1e-12) bf.fail("share", fmt::format("bridged shares of this holder sum to {} > 1", bridged_share));
        bf.finish();
        h.bridged.push_back(b);
      });
      m_.holders.push_back(std::move(h));
    });
  }

  // When a departure ([[withdrawal]], [[allocation_change]]) is requested: exactly one of `day` (a
  // day of the horizon) and `after_fault_days` (days after the first fault that reaches `whom`).
  void read_departure(TableReader& f, std::string_view whom, bool& after_fault, Distribution& day) {
    const double horizon = m_.simulation.horizon_days;
    const auto on = read_distribution(f, "day", 0.0, horizon, fmt::format("a day within the horizon [0, {}]", horizon).c_str());
    const auto after = read_distribution(f, "after_fault_days", 0.0, 1e4, "a number of days in [0, 1e4]");
    if (on && after)
      f.fail("after_fault_days",
             fmt::format("give either 'day' (a day of the horizon) or 'after_fault_days' (days after the first fault that reaches "
                         "{}), not both", whom));
    if (!on && !after)
      f.fail_table(fmt::format("missing 'day' (a day of the horizon) or 'after_fault_days' (days after the first fault that "
                               "reaches {})", whom));
    after_fault = after.has_value();
    day = after ? *after : *on;
  }

  void read_withdrawals() {
    each_entry(root_, "withdrawal", nullptr, m_.withdrawals, [&](TableReader& f, std::size_t) {
      f.allow({"holder", "share", "day", "after_fault_days", "exit_queue_eth"});
      Withdrawal w;
      w.holder = resolve_key(holders_, f, "holder", f.required_string("holder"), "holder");
      const Holder& h = m_.holders[w.holder];
      w.share = read_distribution(f, "share", 0.0, 1.0, "a share of the balance in [0, 1]").value_or(Distribution::fixed(1.0));
      read_departure(f, "the holder", w.after_fault, w.day);
      if (f.has("exit_queue_eth") && h.asset != Asset::Eth)
        f.fail("exit_queue_eth", fmt::format("holder \"{}\" holds {}: it has no beacon-chain exit queue to wait in", h.name,
                                             to_string(h.asset)));
      w.exit_queue_eth = read_distribution(f, "exit_queue_eth", 0.0, 1e9, "an amount of ETH in [0, 1e9]");
      m_.withdrawals.push_back(std::move(w));
    });
  }

  void read_allocation_changes() {
    // Per (protocol, operator): the largest allocation each AVS may have at any time, whose sum
    // must stay within the operator's stake whatever order the changes take effect in.
    std::map<std::pair<std::size_t, std::size_t>, std::map<std::size_t, double>> peak;
    each_entry(root_, "allocation_change", nullptr, m_.allocation_changes, [&](TableReader& f, std::size_t) {
      f.allow({"operator", "avs", "allocation", "day", "after_fault_days"});
      AllocationChange c;
      const std::size_t op = resolve_key(operators_, f, "operator", f.required_string("operator"), "operator");
      c.avs = resolve_key(avs_, f, "avs", f.required_string("avs"), "avs");
      const Avs& a = m_.avs[c.avs];
      const Protocol& p = m_.protocols[a.protocol];
      if (p.mode != SlashingMode::Unique)
        f.fail("avs", fmt::format("AVS \"{}\" is in protocol \"{}\", whose slashing mode is shared: there is no allocation to "
                                  "change (every AVS can slash the whole stake)", a.name, p.name));
      const auto member = std::find_if(a.allocations.begin(), a.allocations.end(), [&](const Allocation& al) { return al.op == op; });
      if (member == a.allocations.end())
        f.fail("operator", fmt::format("operator \"{}\" does not secure AVS \"{}\": list it in the AVS's operators (with an "
                                       "allocation, 0 if it starts with none)", m_.operators[op].name, a.name));
      c.member = static_cast<std::size_t>(member - a.allocations.begin());
      const auto allocation = f.number("allocation", 0.0, 1.0, "an allocated share of the operator's stake in [0, 1]");
      if (!allocation) f.fail_table("missing required key 'allocation' (the new allocated share of the operator's stake)");
      c.allocation = *allocation;
      read_departure(f, "the operator's stake in the AVS's protocol", c.after_fault, c.day);
      auto& avs_peak = peak[{a.protocol, op}];
      if (avs_peak.empty())
        for (std::size_t k = 0; k < m_.avs.size(); ++k)
          for (const Allocation& al : m_.avs[k].allocations)
            if (m_.avs[k].protocol == a.protocol && al.op == op) avs_peak[k] = al.magnitude;
      avs_peak[c.avs] = std::max(avs_peak[c.avs], c.allocation);
      double sum = 0.0;
      for (const auto& [k, v] : avs_peak) sum += v;
      if (sum > 1.0 + 1e-12)
        f.fail("allocation", fmt::format("operator \"{}\" could then have {} of its stake allocated in protocol \"{}\" (each AVS "
                                         "at its largest allocation, as changes may take effect in any order): more than 1",
                                         m_.operators[op].name, sum, p.name));
      m_.allocation_changes.push_back(c);
    });
  }

  void read_pools() {
    each_entry(root_, "pool", &pools_, m_.coverage_pools, [&](TableReader& f, std::size_t i) {
      f.allow({"name", "balance_eth", "balance_btc", "covers", "holders", "operators"});
      CoveragePool p;
      p.name = unique_name(f, pools_, i, "pool");
      std::optional<Asset> asset;
      const auto balance = read_amount(f, "balance", asset, "a balance");
      if (!balance) f.fail_table("missing required key 'balance_eth' (or 'balance_btc')");
      p.balance = *balance;
      p.asset = *asset;
      if (!f.has("covers")) f.fail_table("missing required key 'covers' (loss causes the pool pays for)");
      each_element(f, "covers", [&](const toml::node& n, std::size_t, const std::string& path) {
        const auto* s = n.as_string();
        std::string names;
        std::vector<std::string_view> causes;
        bool known = false;
        for (std::size_t c = 0; c < kLossCauseCount; ++c) {
          const char* cn = to_string(static_cast<LossCause>(c));
          names += (c ? ", " : "") + std::string(cn);
          causes.push_back(cn);
          if (s && s->get() == cn) p.covers[c] = known = true;
        }
        const auto near = s ? closest_match(s->get(), causes) : std::nullopt;
        if (!known)
          f.fail_at(n.source(), path, fmt::format("expected a loss cause, one of: {}{}", names,
                                                  near ? fmt::format(" (did you mean \"{}\"?)", *near) : ""));
      });
      if (f.has("holders")) {
        each_element(f, "holders", [&](const toml::node& n, std::size_t, const std::string& path) {
          const std::size_t h = resolve_element(holders_, f, n, path, "holder");
          if (m_.holders[h].asset != p.asset)
            f.fail_at(n.source(), path, fmt::format("holder \"{}\" holds {}, the pool pays in {}", m_.holders[h].name,
                                                    to_string(m_.holders[h].asset), to_string(p.asset)));
          p.holders.push_back(h);
        });
      } else {
        for (std::size_t h = 0; h < m_.holders.size(); ++h)  // every holder of the pool's asset
          if (m_.holders[h].asset == p.asset) p.holders.push_back(h);
      }
      each_element(f, "operators", [&](const toml::node& n, std::size_t, const std::string& path) {
        const std::size_t op = resolve_element(operators_, f, n, path, "operator");
        if (m_.operators[op].asset != p.asset)
          f.fail_at(n.source(), path, fmt::format("operator \"{}\" stakes {}, the pool pays in {}", m_.operators[op].name,
                                                  to_string(m_.operators[op].asset), to_string(p.asset)));
        p.operators.push_back(op);
      });
      if (f.has("operators") && p.operators.empty()) f.fail("operators", "expected at least one operator (or leave the key out)");
      if (!p.operators.empty() && (p.covers[static_cast<std::size_t>(LossCause::Contract)] || p.covers[static_cast<std::size_t>(LossCause::Bridge)]))
        f.fail("covers", "a pool limited to some operators (a bond) covers only their slashing, not contract or bridge losses");
      m_.coverage_pools.push_back(std::move(p));
    });
  }

  void read_market_grid() {
    const toml::table* t = root_.table("market");
    if (!t) return;
    if (!root_.has("token")) root_.fail("market", "a [market] grid without any [[token]] has nothing to run");
    TableReader f(*t, "market", file_);
    f.allow({"episode_days", "step_hours", "depeg_threshold"});
    MarketGrid& g = m_.market;
    g.episode_days = f.number_or("episode_days", g.episode_days, 0.0, 365.0, "a duration in days in (0, 365]");
    if (g.episode_days <= 0.0) f.fail("episode_days", "expected a duration in days in (0, 365], got 0");
    g.step_hours = f.number_or("step_hours", g.step_hours, 0.0, 24.0, "a step in hours in (0, 24]");
    if (g.step_hours <= 0.0) f.fail("step_hours", "expected a step in hours in (0, 24], got 0");
    // An episode holds at most a year of hourly steps: its cost is per step and per trial with a loss.
    if (g.episode_days * 24.0 / g.step_hours > 8760.0)
      f.fail("step_hours", fmt::format("an episode of {} days in steps of {} hours has {} steps; at most 8760 (a year of hours)",
                                       g.episode_days, g.step_hours, g.episode_days * 24.0 / g.step_hours));
    g.depeg_threshold = f.number_or("depeg_threshold", g.depeg_threshold, 0.0, 1.0, "a share of NAV in [0, 1)");
    if (g.depeg_threshold >= 1.0) f.fail("depeg_threshold", "expected a share of NAV in [0, 1), got 1");
    f.finish();
  }

  void read_token_pool(TableReader& token, PoolSpec& p) {
    const toml::table* t = token.table("pool");
    if (!t) token.fail_table("missing required table 'pool' (the token's liquidity against ETH)");
    TableReader f(*t, token.key_path("pool"), file_);
    f.allow({"kind", "eth", "fee", "token_weight", "amplification", "lp_withdrawal"});
    p.kind = f.required_one_of<PoolKind>("kind", {{"constant_product", PoolKind::ConstantProduct, "Uniswap v2"},
                                                  {"weighted", PoolKind::Weighted, "Balancer"},
                                                  {"stableswap", PoolKind::StableSwap, "Curve"}});
    p.eth = f.required_number("eth", 0.0, 1e10, "the pool's ETH side in (0, 1e10] ETH");
    if (p.eth <= 0.0) f.fail("eth", "expected the pool's ETH side in (0, 1e10] ETH, got 0 (a pool needs both sides)");
    p.fee = f.number_or("fee", p.kind == PoolKind::StableSwap ? 0.0004 : 0.003, 0.0, 0.5, "a fee share in [0, 0.5]");
    if (p.kind == PoolKind::Weighted) {
      p.token_weight = f.number_or("token_weight", 0.5, 0.0, 1.0, "the token's weight in (0, 1)");
      if (p.token_weight <= 0.0 || p.token_weight >= 1.0)
        f.fail("token_weight", fmt::format("expected the token's weight in (0, 1), got {}", p.token_weight));
    } else if (f.has("token_weight")) {
      f.fail("token_weight", "only a weighted pool has weights (kind = \"weighted\")");
    }
    if (p.kind == PoolKind::StableSwap) {
      p.amplification = f.number_or("amplification", 50.0, 0.0, 1e6, "the whitepaper's A in (0, 1e6]");
      if (p.amplification <= 0.0) f.fail("amplification", "expected the whitepaper's A in (0, 1e6], got 0");
    } else if (f.has("amplification")) {
      f.fail("amplification", "only a StableSwap pool has an amplification (kind = \"stableswap\")");
    }
    f.array("lp_withdrawal", [&](const toml::node& n, std::size_t i, const std::string& path) {
      const auto* a = n.as_array();
      if (!a || a->size() != 2) f.fail_at(n.source(), path, "expected a point [discount, share withdrawn]");
      const double d = f.number(*a->get(0), path + "[0]", 0.0, 1.0, "a discount to NAV in [0, 1]");
      const double sh = f.number(*a->get(1), path + "[1]", 0.0, 1.0, "a share of the depth withdrawn in [0, 1)");
      if (sh >= 1.0) f.fail_at(a->get(1)->source(), path + "[1]", "expected a share of the depth withdrawn in [0, 1), got 1 (a pool needs both sides)");
      if (i > 0 && !(d > p.lp_withdrawal.back().first))
        f.fail_at(a->get(0)->source(), path + "[0]", fmt::format("expected discounts strictly increasing, got {} after {}", d, p.lp_withdrawal.back().first));
      if (i > 0 && sh < p.lp_withdrawal.back().second)
        f.fail_at(a->get(1)->source(), path + "[1]",
                  fmt::format("expected shares non-decreasing (a deeper depeg never brings liquidity back), got {} after {}", sh,
                              p.lp_withdrawal.back().second));
      p.lp_withdrawal.emplace_back(d, sh);
    });
    f.finish();
  }

  void read_token_redemption(TableReader& token, RedemptionSpec& r) {
    const toml::table* t = token.table("redemption");
    if (!t) return;  // open at once, no buffer, no wait: the price never stays below NAV for long
    TableReader f(*t, token.key_path("redemption"), file_);
    f.allow({"open", "opens_after_days", "buffer_eth", "protocol_delay_days", "escrow_days", "exit_queue_eth", "arbitrage_capital_eth",
             "required_return"});
    r.open = f.boolean("open").value_or(true);
    if (!r.open && f.has("opens_after_days"))
      f.fail("opens_after_days", "withdrawals that never open (open = false) have no opening day: give one or the other");
    if (!r.open)
      for (const char* k : {"buffer_eth", "protocol_delay_days", "escrow_days", "exit_queue_eth", "arbitrage_capital_eth", "required_return"})
        if (f.has(k)) f.fail(k, "withdrawals that never open (open = false) have no queue and no arbitrage through it: leave it out");
    r.opens_after_days = f.number_or("opens_after_days", 0.0, 0.0, 3650.0, "days in [0, 3650]");
    r.buffer_eth = f.number_or("buffer_eth", 0.0, 0.0, 1e10, "ETH in [0, 1e10]");
    r.protocol_delay_days = f.number_or("protocol_delay_days", 0.0, 0.0, 3650.0, "days in [0, 3650]");
    r.escrow_days = f.number_or("escrow_days", 0.0, 0.0, 3650.0, "days in [0, 3650]");
    r.exit_queue_eth = f.number_or("exit_queue_eth", 0.0, 0.0, 1e9, "ETH in [0, 1e9]");
    r.arbitrage_capital_eth = f.number_or("arbitrage_capital_eth", 0.0, 0.0, 1e10, "ETH in [0, 1e10]");
    r.required_return = f.number_or("required_return", r.required_return, 0.0, 10.0, "a yearly return in [0, 10]");
    f.finish();
  }

  // `chains`: the first holds the pool; each later one the part of the holder's balance bridged
  // there, its share the sum of its bridges' bridged shares (the rest stays on the first).
  void read_token_chains(TableReader& f, Token& t) {
    const Holder& h = m_.holders[t.holder];
    if (f.has("chains")) t.chains.clear();
    NameIndex names;
    constexpr std::size_t kUnserved = static_cast<std::size_t>(-1);
    std::vector<std::size_t> chain_of_bridge(m_.contracts.size(), kUnserved);
    f.array("chains", [&](const toml::node& n, std::size_t j, const std::string& path) {
      const auto* tbl = n.as_table();
      if (!tbl) f.fail_at(n.source(), path, "expected { name = \"...\", bridges = [...] }");
      TableReader cf(*tbl, path, file_);
      cf.allow({"name", "bridges"});
      TokenChain c;
      c.name = unique_name(cf, names, j, "chain");
      c.share = 0.0;
      cf.array("bridges", [&](const toml::node& b, std::size_t, const std::string& bpath) {
        const std::size_t x = resolve_element(contracts_, cf, b, bpath, "contract");
        const std::string& bname = m_.contracts[x].name;
        if (j == 0) cf.fail_at(b.source(), bpath, "the first chain holds the pool and the unbridged supply: it lists no bridges");
        const auto held = std::find_if(h.bridged.begin(), h.bridged.end(), [&](const BridgeExposure& e) { return e.contract == x; });
        if (held == h.bridged.end())
          cf.fail_at(b.source(), bpath, fmt::format("holder \"{}\" holds nothing through \"{}\": list it in the holder's 'bridged' with its share",
                                                    h.name, bname));
        if (chain_of_bridge[x] == j) cf.fail_at(b.source(), bpath, fmt::format("bridge \"{}\" is listed twice on this chain", bname));
        if (chain_of_bridge[x] != kUnserved)
          cf.fail_at(b.source(), bpath, fmt::format("bridge \"{}\" already serves chain \"{}\"", bname, t.chains[chain_of_bridge[x]].name));
        chain_of_bridge[x] = j;
        c.share += held->share;
        c.bridges.push_back(x);
      });
      if (j > 0 && c.bridges.empty()) cf.fail_table("a chain after the first holds the supply bridged there: expected 'bridges' (at least one)");
      if (j > 0 && !(c.share > 0.0))
        cf.fail("bridges", fmt::format("the holder's bridged shares of these bridges sum to {}: chain \"{}\" would hold no supply", c.share, c.name));
      cf.finish();
      t.chains.push_back(std::move(c));
    });
    if (t.chains.empty()) f.fail("chains", "expected at least one chain (the first holds the pool)");
    double away = 0.0;
    for (std::size_t j = 1; j < t.chains.size(); ++j) away += t.chains[j].share;
    t.chains[0].share = 1.0 - away;
    if (t.chains[0].share <= 1e-9)
      f.fail("chains", fmt::format("the bridged shares put the whole supply away from chain \"{}\", which holds the pool: nothing is left to trade there",
                                   t.chains[0].name));
    t.loss_allocation = f.one_of<LossAllocation>("loss_allocation", {{"all_supply", LossAllocation::AllSupply, "NAV falls alike on every chain"},
                                                                     {"affected_chain", LossAllocation::AffectedChain,
                                                                      "a bridge's loss written down on its chain alone"}})
                            .value_or(LossAllocation::AllSupply);
    if (t.loss_allocation == LossAllocation::AffectedChain && t.chains.size() < 2)
      f.fail("loss_allocation", "\"affected_chain\" needs a chain besides the first (the pool's): give the token's 'chains'");
  }

  void read_tokens() {
    each_entry(root_, "token", &tokens_, m_.tokens, [&](TableReader& f, std::size_t i) {
      f.allow({"name", "holder", "pool", "redemption", "sellers", "chains", "loss_allocation"});
      Token t;
      t.name = unique_name(f, tokens_, i, "token");
      t.holder = resolve_key(holders_, f, "holder", f.required_string("holder"), "holder");
      const Holder& h = m_.holders[t.holder];
      if (h.kind == HolderKind::Native)
        f.fail("holder", fmt::format("holder \"{}\" is a native restaker: it has no token to trade", h.name));
      if (h.asset != Asset::Eth)
        f.fail("holder", fmt::format("holder \"{}\" holds {}: the market layer trades tokens against ETH", h.name, to_string(h.asset)));
      for (const Token& other : m_.tokens)
        if (other.holder == t.holder)
          f.fail("holder", fmt::format("holder \"{}\" already has token \"{}\": one token per holder", h.name, other.name));
      read_token_pool(f, t.pool);
      read_token_redemption(f, t.redemption);
      if (const toml::table* st = f.table("sellers")) {
        TableReader s(*st, f.key_path("sellers"), file_);
        s.allow({"share", "trigger", "hours", "required_return"});
        t.sell_share = read_distribution(s, "share", 0.0, 1.0, "a share of the supply in [0, 1]").value_or(t.sell_share);
        t.sell_trigger = read_distribution(s, "trigger", 0.0, 1.0, "a fall in [0, 1]").value_or(t.sell_trigger);
        t.sell_hours = s.number_or("hours", t.sell_hours, 0.0, 8760.0, "hours in (0, 8760]");
        if (t.sell_hours <= 0.0) s.fail("hours", "expected hours in (0, 8760], got 0");
        t.sell_required_return = s.number_or("required_return", t.sell_required_return, 0.0, 1000.0, "a yearly return in [0, 1000]");
        s.finish();
      }
      read_token_chains(f, t);
      m_.tokens.push_back(std::move(t));
    });
  }

  void read_lending_markets() {
    each_entry(root_, "lending_market", &lending_markets_, m_.lending_markets, [&](TableReader& f, std::size_t i) {
      f.allow({"name", "token", "rules", "ltv", "liquidation_threshold", "liquidation_bonus", "lltv", "oracle", "twap_window_days",
               "debt_eth", "reserve_eth", "health_factor", "leverage", "buckets", "chain"});
      LendingMarketSpec l;
      l.name = unique_name(f, lending_markets_, i, "lending market");
      l.token = resolve_key(tokens_, f, "token", f.required_string("token"), "token");
      const Token& token = m_.tokens[l.token];
      if (f.has("chain")) {
        const std::string chain = f.required_string("chain");
        const auto at = std::find_if(token.chains.begin(), token.chains.end(), [&](const TokenChain& c) { return c.name == chain; });
        if (at == token.chains.end()) {
          std::string known;
          std::vector<std::string_view> names;
          for (const TokenChain& c : token.chains) {
            known += (known.empty() ? "" : ", ") + c.name;
            names.push_back(c.name);
          }
          const auto near = closest_match(chain, names);
          f.fail("chain", fmt::format("token \"{}\" has no chain \"{}\"{} (its chains: {})", token.name, chain,
                                      near ? fmt::format("; did you mean \"{}\"?", *near) : "", known));
        }
        l.chain = static_cast<std::size_t>(at - token.chains.begin());
      }
      l.rules = f.required_one_of<LendingRulesKind>("rules", {{"aave_v3", LendingRulesKind::AaveV3}, {"morpho_blue", LendingRulesKind::MorphoBlue}});
      if (l.rules == LendingRulesKind::AaveV3) {
        for (const char* k : {"lltv"})
          if (f.has(k)) f.fail(k, "an Aave v3 market has ltv, liquidation_threshold and liquidation_bonus, not an LLTV");
        l.liquidation_threshold = f.required_number("liquidation_threshold", 0.0, 1.0, "a threshold in (0, 1)");
        if (l.liquidation_threshold <= 0.0 || l.liquidation_threshold >= 1.0)
          f.fail("liquidation_threshold", fmt::format("expected a threshold in (0, 1), got {}", l.liquidation_threshold));
        l.ltv = f.required_number("ltv", 0.0, 1.0, "a loan-to-value in (0, 1)");
        if (l.ltv <= 0.0 || l.ltv > l.liquidation_threshold)
          f.fail("ltv", fmt::format("expected a loan-to-value in (0, liquidation_threshold = {}], got {}", l.liquidation_threshold, l.ltv));
        l.liquidation_bonus = f.required_number("liquidation_bonus", 0.0, 1.0, "a bonus share in [0, 1)");
        if (l.liquidation_bonus >= 1.0) f.fail("liquidation_bonus", "expected a bonus share in [0, 1), got 1");
        if (l.liquidation_threshold * (1.0 + l.liquidation_bonus) > 1.0)
          f.fail("liquidation_bonus", fmt::format("expected liquidation_threshold x (1 + bonus) <= 1 (Aave's PoolConfigurator), got {} x {} = {}",
                                                  l.liquidation_threshold, 1.0 + l.liquidation_bonus,
                                                  l.liquidation_threshold * (1.0 + l.liquidation_bonus)));
      } else {
        for (const char* k : {"ltv", "liquidation_threshold", "liquidation_bonus"})
          if (f.has(k)) f.fail(k, "a Morpho Blue market has one LLTV ('lltv'); its incentive follows from it");
        l.ltv = l.liquidation_threshold = f.required_number("lltv", 0.0, 1.0, "an LLTV in (0, 1)");
        if (l.ltv <= 0.0 || l.ltv >= 1.0) f.fail("lltv", fmt::format("expected an LLTV in (0, 1), got {}", l.ltv));
      }
      l.oracle = f.required_one_of<OracleSpecKind>("oracle", {{"exchange_rate", OracleSpecKind::ExchangeRate, "NAV, as Aave prices LRTs"},
                                                              {"market_spot", OracleSpecKind::MarketSpot, "the pool's price"},
                                                              {"market_twap", OracleSpecKind::MarketTwap, "its time-weighted average"}});
      if (l.oracle == OracleSpecKind::MarketTwap) {
        l.twap_window_days = f.required_number("twap_window_days", 0.0, 365.0, "a window in days in (0, 365]");
        if (l.twap_window_days <= 0.0) f.fail("twap_window_days", "expected a window in days in (0, 365], got 0 (that is oracle = \"market_spot\")");
      } else if (f.has("twap_window_days")) {
        f.fail("twap_window_days", "only a time-weighted oracle has a window (oracle = \"market_twap\")");
      }
      if (l.chain > 0 && l.oracle != OracleSpecKind::ExchangeRate)
        f.fail("oracle", fmt::format("a market on chain \"{}\" has no pool to read (the pool is on \"{}\"): expected \"exchange_rate\"",
                                     token.chains[l.chain].name, token.chains[0].name));
      l.debt_eth = f.required_number("debt_eth", 0.0, 1e10, "ETH borrowed in (0, 1e10]");
      if (l.debt_eth <= 0.0) f.fail("debt_eth", "expected ETH borrowed in (0, 1e10], got 0");
      l.reserve_eth = f.number_or("reserve_eth", 0.0, 0.0, 1e10, "ETH in [0, 1e10]");
      const std::size_t buckets = f.integer("buckets", 1, 1000, "a number of buckets in [1, 1000]").value_or(20);
      const bool by_hf = f.has("health_factor"), by_leverage = f.has("leverage");
      if (by_hf == by_leverage)
        f.fail_table(by_hf ? "give the borrowers' 'health_factor' or their 'leverage', not both"
                           : "missing the borrowers: 'health_factor' or 'leverage' (a number or a distribution)");
      const double lt = l.liquidation_threshold;
      // Borrowers start healthy (HF >= 1, not liquidatable): leverage at most 1 / (1 - LT).
      const Distribution d = by_hf ? *read_distribution(f, "health_factor", 1.0, 1e3, "a health factor in [1, 1000]")
                                   : *read_distribution(f, "leverage", 1.0, 1.0 / (1.0 - lt),
                                                        fmt::format("a leverage in (1, 1 / (1 - LT)] = (1, {:.6g}]", 1.0 / (1.0 - lt)).c_str());
      if (!by_hf && d.support_min() <= 1.0)
        f.fail("leverage", fmt::format("expected a leverage above 1 (a loop borrows), got {} at its lowest", d.support_min()));
      for (std::size_t b = 0; b < buckets; ++b) {
        const double u = (static_cast<double>(b) + 0.5) / static_cast<double>(buckets);
        const double v = inverse_cdf(d, u, 1.0 - u);
        l.health_factors.push_back(by_hf ? v : v * lt / (v - 1.0));
      }
      m_.lending_markets.push_back(std::move(l));
    });
  }

  // The attack search enumerates coalitions of operators: 2^16 at most per trial.
  static constexpr std::size_t kMaxCascadeOperators = 16;

  void read_cascade() {
    const toml::table* t = root_.table("cascade");
    if (!t) return;
    TableReader f(*t, "cascade", file_);
    f.allow({"in_trials"});
    m_.cascade_in_trials = f.boolean("in_trials").value_or(false);
    if (m_.cascade_in_trials && errors_.empty()) {  // checks of every AVS and operator: all must have been read
      std::vector<bool> secures(m_.operators.size(), false);
      bool profit = false;
      for (const auto& a : m_.avs) {
        profit = profit || a.corruption_profit > 0.0;
        for (const auto& al : a.allocations) secures[al.op] = true;
      }
      if (!profit) f.fail("in_trials", "no AVS has a corruption_profit > 0: there is nothing to attack");
      const auto n = static_cast<std::size_t>(std::count(secures.begin(), secures.end(), true));
      if (n > kMaxCascadeOperators)
        f.fail("in_trials", fmt::format("attacks in trials search every coalition of the operators securing AVSs: at most {}, "
                                        "this world has {} (use restake-sim cascade for the sufficient condition)",
                                        kMaxCascadeOperators, n));
      for (const auto& o : m_.operators)
        if (o.asset != m_.operators.front().asset)
          f.fail("in_trials", "attacks compare stakes and profits in one unit: the operators must all stake one asset");
    }
    f.finish();
  }

  void read_tail() {
    const toml::table* t = root_.table("tail");
    if (!t) return;
    TableReader f(*t, "tail", file_);
    f.allow({"holder", "loss", "quantile", "pilot_trials", "rounds", "elite_share", "smoothing", "defensive"});
    TailSearch s;
    s.target.holder = resolve_key(holders_, f, "holder", f.required_string("holder"), "holder");
    const auto loss = f.number("loss", 0.0, 1.0, "a loss as a share of the holder's value, in (0, 1]");
    const auto quantile = f.number("quantile", 0.5, 1.0, "a quantile level in [0.5, 1)");
    if (loss.has_value() == quantile.has_value())
      f.fail_table("needs exactly one target: 'loss' (the event loss >= x) or 'quantile' (the loss quantile at a level)");
    if (loss && *loss <= 0.0) f.fail("loss", "expected a loss as a share of the holder's value, in (0, 1], got 0");
    if (quantile && *quantile >= 1.0) f.fail("quantile", "expected a quantile level in [0.5, 1), got 1");
    s.target.loss = loss.value_or(0.0);
    s.target.quantile = quantile.value_or(0.0);
    s.pilot_trials = f.integer("pilot_trials", 100, 100'000'000, "a number of pilot trials per round in [100, 1e8]")
                         .value_or(s.pilot_trials);
    s.max_rounds = static_cast<int>(f.integer("rounds", 1, 100, "a number of pilot rounds in [1, 100]").value_or(s.max_rounds));
    s.elite_share = f.number_or("elite_share", s.elite_share, 0.01, 0.5, "an elite share in [0.01, 0.5]");
    s.smoothing = f.number_or("smoothing", s.smoothing, 0.01, 1.0, "a smoothing in [0.01, 1]");
    s.defensive = f.number_or("defensive", s.defensive, 0.0, 0.999, "a defensive share in [0, 0.999]");
    m_.tail = s;
    f.finish();
  }

  void read_prices() {
    const toml::table* t = root_.table("prices_usd");
    if (!t) return;
    TableReader f(*t, "prices_usd", file_);
    f.allow({"ETH", "BTC"});
    for (std::size_t a = 0; a < kAssetCount; ++a) {
      const char* name = to_string(static_cast<Asset>(a));
      const double price = f.number_or(name, 0.0, 0.0, 1e9, "a price in USD > 0");
      if (f.has(name) && price <= 0.0) f.fail(name, "expected a price in USD > 0");
      m_.usd_price[a] = price;
    }
    f.finish();
  }

  void read_stress() {
    const toml::table* t = root_.table("stress");
    if (!t) return;
    TableReader f(*t, "stress", file_);
    f.allow({"random_events", "operator_fault", "avs_failures", "contract_failure", "outage", "market_shock"});
    Stress& st = m_.stress;
    st.random_events = f.boolean("random_events").value_or(true);
    const double horizon = m_.simulation.horizon_days;
    const std::string day_range = fmt::format("a day within the horizon [0, {}]", horizon);
    auto day = [&](TableReader& e) {
      auto d = read_distribution(e, "day", 0.0, horizon, day_range.c_str());
      if (!d) e.fail_table("missing required key 'day'");
      return *d;
    };
    each_entry(f, "operator_fault", nullptr, st.operator_faults, [&](TableReader& e, std::size_t) {
      e.allow({"operator", "day", "fraction"});
      ForcedOperatorFault x;
      const std::string name = e.required_string("operator");
      x.op = resolve_key(operators_, e, "operator", name, "operator");
      if (m_.operators[x.op].asset != Asset::Eth)
        e.fail("operator", "a BTC operator has no beacon-chain validators to fault: force its services' slashing instead");
      x.day = day(e);
      x.fraction = read_distribution(e, "fraction", 0.0, 1.0, "a share of validators in [0, 1]").value_or(Distribution::fixed(1.0));
      st.operator_faults.push_back(x);
    });
    each_entry(f, "avs_failures", nullptr, st.avs_failures, [&](TableReader& e, std::size_t) {
      e.allow({"avs", "count", "day", "fraction"});
      ForcedAvsFailures x;
      if (!e.has("avs")) e.fail_table("missing required key 'avs' (the set of AVSs that may fail)");
      each_element(e, "avs", [&](const toml::node& n, std::size_t, const std::string& path) {
        const std::size_t a = resolve_element(avs_, e, n, path, "avs");
        if (std::find(x.avs.begin(), x.avs.end(), a) != x.avs.end())
          e.fail_at(n.source(), path, fmt::format("AVS \"{}\" listed twice", m_.avs[a].name));
        x.avs.push_back(a);
      });
      if (x.avs.empty()) e.fail("avs", "expected at least one AVS");
      x.count = e.integer("count", 0, "a number of AVSs >= 0").value_or(1);
      if (x.count > x.avs.size())
        e.fail("count", fmt::format("expected at most {} (the size of the set), got {}", x.avs.size(), x.count));
      x.day = day(e);
      x.fraction = read_distribution(e, "fraction", 0.0, 1.0, "a slashed share in [0, 1]").value_or(Distribution::fixed(1.0));
      st.avs_failures.push_back(std::move(x));
    });
    each_entry(f, "contract_failure", nullptr, st.contract_failures, [&](TableReader& e, std::size_t) {
      e.allow({"contract", "day", "loss"});
      ForcedContractFailure x;
      const std::string name = e.required_string("contract");
      x.contract = resolve_key(contracts_, e, "contract", name, "contract");
      x.day = day(e);
      x.loss = read_distribution(e, "loss", 0.0, 1.0, "a loss share in [0, 1]").value_or(Distribution::fixed(1.0));
      st.contract_failures.push_back(x);
    });
    each_entry(f, "outage", nullptr, st.outages, [&](TableReader& e, std::size_t) {
      e.allow({"outage", "day"});
      ForcedOutage x;
      const std::string name = e.required_string("outage");
      x.outage = resolve_key(outages_, e, "outage", name, "outage");
      x.day = day(e);
      st.outages.push_back(x);
    });
    each_entry(f, "market_shock", nullptr, st.market_shocks, [&](TableReader& e, std::size_t) {
      e.allow({"token", "day"});
      ForcedMarketShock x;
      x.token = resolve_key(tokens_, e, "token", e.required_string("token"), "token");
      x.day = e.required_number("day", 0.0, horizon, day_range.c_str());
      st.market_shocks.push_back(x);
    });
    f.finish();
  }

  // The event budget (docs/scenario-format.md, "Events per trial"): a trial holds all its sampled
  // events at once, so their expected number is bounded; the error names the largest source.
  void check_event_budget() {
    if (!m_.stress.random_events) return;
    struct Source {
      std::string table;  // where its rate is, e.g. `avs "oracle" (avs[1]).slashing "wrong-price" (slashing[0])`
      std::string what;   // e.g. "slashing condition \"wrong-price\" of AVS \"oracle\""
      double rate_per_year;
      std::size_t events_per_firing;
      const char* per;     // a firing makes one event per what, when more than one
    };
    std::vector<Source> sources;
    for (std::size_t o = 0; o < m_.operators.size(); ++o)
      sources.push_back({element_key_path("", "operator", o, m_.operators[o].name), fmt::format("operator \"{}\"", m_.operators[o].name),
                         m_.operators[o].fault_rate_per_year, 1, ""});
    for (std::size_t g = 0; g < m_.groups.size(); ++g)
      sources.push_back({element_key_path("", "group", g, m_.groups[g].name), fmt::format("group \"{}\"", m_.groups[g].name),
                         m_.groups[g].rate_per_year, m_.groups[g].members.size(), "member"});
    for (std::size_t a = 0; a < m_.avs.size(); ++a) {
      const Avs& avs = m_.avs[a];
      const std::string avs_path = element_key_path("", "avs", a, avs.name);
      for (std::size_t c = 0; c < avs.conditions.size(); ++c)
        sources.push_back({element_key_path(avs_path, "slashing", c, avs.conditions[c].name),
                           fmt::format("slashing condition \"{}\" of AVS \"{}\"", avs.conditions[c].name, avs.name),
                           avs.conditions[c].rate_per_year, avs.allocations.size(), "operator"});
      sources.push_back({avs_path, fmt::format("AVS \"{}\" (faulty slashings)", avs.name),
                         avs.faulty_rate_per_year, 1, ""});
      sources.push_back({avs_path + ".key_compromise", fmt::format("key compromise of AVS \"{}\"", avs.name),
                         avs.key_compromise.rate_per_year, 1, ""});
    }
    for (std::size_t o = 0; o < m_.operators.size(); ++o)
      sources.push_back({element_key_path("", "operator", o, m_.operators[o].name) + ".key_compromise",
                         fmt::format("key compromise of operator \"{}\"", m_.operators[o].name),
                         m_.operators[o].key_compromise.rate_per_year, 1, ""});
    for (std::size_t c = 0; c < m_.contracts.size(); ++c)
      sources.push_back({element_key_path("", "contract", c, m_.contracts[c].name), fmt::format("contract \"{}\"", m_.contracts[c].name),
                         m_.contracts[c].failure_rate_per_year, 1, ""});
    for (std::size_t o = 0; o < m_.outages.size(); ++o)
      sources.push_back({element_key_path("", "outage", o, m_.outages[o].name), fmt::format("outage \"{}\"", m_.outages[o].name),
                         m_.outages[o].rate_per_year, m_.outages[o].operators.size(), "operator"});

    const double years = m_.simulation.horizon_days / kDaysPerYear;
    const auto expected = [&](const Source& s) { return s.rate_per_year * years * static_cast<double>(s.events_per_firing); };
    double total = 0.0;
    for (const Source& s : sources) total += expected(s);
    if (total <= kMaxExpectedEventsPerTrial) return;
    const Source& top = *std::max_element(sources.begin(), sources.end(),
                                          [&](const Source& a, const Source& b) { return expected(a) < expected(b); });
    const std::string each =
        top.events_per_firing > 1 ? fmt::format(", one event for each of its {} {}s", top.events_per_firing, top.per) : "";
    const auto& [key, where] = rate_keys_.at(top.table);
    root_.fail_at(where, key,
                  fmt::format("{} expects {:.6g} events per trial ({:.6g} per year over {} days{}); with every source, {:.7g}: "
                              "more than the {:.0f} one trial may hold (docs/scenario-format.md, \"Events per trial\")",
                              top.what, expected(top), top.rate_per_year, m_.simulation.horizon_days, each, total,
                              kMaxExpectedEventsPerTrial));
  }

  // Checks that need the whole world.
  void check_world() {
    if (m_.holders.empty()) root_.fail_table("a scenario needs at least one holder ([[lrt]], [[lst]] or [[native]])");
    // The operators are part of the beacon chain, so they cannot hold more than all of it (this
    // also keeps every sum of slashed balances within 64 bits).
    double operators_eth = 0.0;
    for (const auto& o : m_.operators)
      if (o.asset == Asset::Eth) operators_eth += o.stake();
    const double total = static_cast<double>(m_.ethereum.consensus.total_active_balance_gwei) / kGweiPerEth;
    if (operators_eth > total)
      root_.fail_table(fmt::format("the operators hold {} ETH, more than [ethereum] total_active_stake_eth = {} ETH",
                                   operators_eth, total));
    check_operator_keys();
  }

  // Stolen keys drain token stake through redistribution only (ELIP-006: ERC-20 strategies, not
  // native ETH; trial/mechanisms/avs_slashing.cpp): some token position must be within reach, and
  // a pause needs time to act.
  void check_operator_keys() {
    // Token stake: restaked through a liquid staking token, on validators not the delegated operator's.
    const auto token = [](const Position& pos) { return pos.protocol != kNoProtocol && pos.validator_op != pos.op; };
    for (const auto& [a, at] : avs_keys_) {
      const Avs& avs = m_.avs[a];
      bool reaches = false;
      for (const Holder& h : m_.holders)
        for (const Position& pos : h.positions)
          for (const Allocation& al : avs.allocations)
            reaches = reaches || (token(pos) && pos.protocol == avs.protocol && pos.op == al.op);
      if (!reaches)
        root_.fail_at(at.table, at.path,
                      fmt::format("AVS \"{}\"'s key_compromise reaches no token stake: no position restaked with its operators "
                                  "through protocol \"{}\" is a liquid staking token ('staked_with'), and ELIP-006 does not "
                                  "redistribute native ETH",
                                  avs.name, m_.protocols[avs.protocol].name));
    }
    for (const auto& [o, at] : operator_keys_) {
      const Operator& op = m_.operators[o];
      bool reaches = false, window = false;
      for (const Holder& h : m_.holders)
        for (const Position& pos : h.positions) {
          if (pos.op != o || !token(pos) || !m_.protocols[pos.protocol].redistribution) continue;
          const Protocol& p = m_.protocols[pos.protocol];
          reaches = true;
          // Pausers have the allocation delay, the escrow (for allocated stake) and the windows.
          const double delay = std::min(op.allocation_delay_days, p.allocation_configuration_days);
          const double escrow = p.mode == SlashingMode::Unique ? p.escrow_end(0.0) : 0.0;
          window = window || delay + escrow + p.veto_window_days + p.resolution_days > 0.0;
        }
      if (!reaches)
        root_.fail_at(at.table, at.path,
                      fmt::format("operator \"{}\"'s key_compromise reaches no stake: no token position (a liquid staking token, "
                                  "'staked_with') is delegated to it through a protocol with redistribution = true (ELIP-006 "
                                  "redistributes neither native ETH nor through other protocols; burnt stake profits no thief)",
                                  op.name));
      if (op.key_compromise.pause_probability > 0.0 && !window)
        root_.fail_at(at.pause, at.path + ".pause_probability",
                      fmt::format("no time to pause in: the redistributing protocols operator \"{}\"'s stake is restaked "
                                  "through all drain it at once (no allocation delay, escrow, veto window or resolution delay)",
                                  op.name));
    }
  }

  TableReader root_;
  const TomlFile& file_;
  Model m_;
  std::map<std::size_t, double> delegated_eth_;  // per operator, over the positions read so far
  NameIndex contracts_, groups_, outages_, operators_, protocols_, avs_, holders_, pools_, tokens_, lending_markets_;
  std::map<std::string, std::pair<std::string, toml::source_region>> rate_keys_;  // table path -> its rate's key path, place
  struct KeyAt {
    std::string path;                 // "operator[2].key_compromise"
    toml::source_region table, pause;  // the table's place, its pause_probability's (or the table's)
  };
  std::map<std::size_t, KeyAt> operator_keys_;  // operators with a key_compromise table
  std::map<std::size_t, KeyAt> avs_keys_;       // AVSs with one
  std::vector<ScenarioError> errors_;           // the errors found so far
};

}  // namespace

std::vector<std::string> scenario_warnings(const Model& m) {
  std::vector<std::string> out;
  if (!m.ethereum.consensus.inactivity_leak)
    for (const Outage& o : m.outages)
      if (o.network_share.support_max() > 1.0 / 3.0)
        out.push_back(fmt::format("outage \"{}\" can take more than a third of all stake offline, but [ethereum] "
                                  "inactivity_leak is false: its validators pay only their missed attestations",
                                  o.name));
  return out;
}

Model parse_scenario(std::string_view text, const std::string& file_name) {
  TomlFile file{file_name, "docs/scenario-format.md"};
  file.collect_errors = true;
  file.named_paths = true;
  const toml::table root = parse_toml(text, file);  // a syntax error stops here: there is nothing to read past it
  return Parser(root, file).parse();
}

}  // namespace restake
