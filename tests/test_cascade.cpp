// Durvasula & Roughgarden cascades (sim/security/cascade): the theorems and examples restated in
// domain.md section 4, an independent brute force over attack sequences, and `restake-sim cascade`.
#include "cli_support.hpp"
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "security/cascade.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace restake::test;
using namespace restake;

namespace {

RestakingGraph make_graph(const std::vector<double>& stakes, std::vector<CascadeService> services) {
  RestakingGraph g;
  for (std::size_t v = 0; v < stakes.size(); ++v) g.validators.push_back({fmt::format("v{}", v), stakes[v]});
  for (std::size_t s = 0; s < services.size(); ++s) services[s].name = fmt::format("s{}", s);
  g.services = std::move(services);
  return g;
}

CascadeService service(double profit, double threshold, std::vector<std::size_t> validators) {
  return {"", profit, threshold, std::move(validators)};
}

// Straight from the definitions (domain.md section 4), sharing no code with sim/security/cascade.cpp:
// every shock, then every sequence of valid attacks, each on the graph left by the shock and the
// attacks before it (attackers and attacked services removed). Exponential: tiny graphs only.
class BruteForce {
 public:
  explicit BruteForce(const RestakingGraph& g) : g_(g), n_(g.validators.size()), m_(g.services.size()) {}

  double worst_loss_share(double psi) {
    const double total = stake_of((1u << n_) - 1);
    double best = 0.0;
    for (unsigned shock = 0; shock < (1u << n_); ++shock)
      if (stake_of(shock) <= psi * total + 1e-12 * total) best = std::max(best, stake_of(shock) + cascade(shock, 0));
    return best / total;
  }

  // min sigma(B) / pi(A) over every coalition that can attack a set A with pi(A) > 0 (inf if none).
  double min_ratio() const {
    double best = std::numeric_limits<double>::infinity();
    for (unsigned a = 1; a < (1u << m_); ++a) {
      if (profit_of(a) <= 0.0) continue;
      for (unsigned b = 0; b < (1u << n_); ++b)
        if (attacks_all(a, b, 0)) best = std::min(best, stake_of(b) / profit_of(a));
    }
    return best;
  }

 private:
  double stake_of(unsigned set) const {
    double s = 0.0;
    for (std::size_t v = 0; v < n_; ++v)
      if (set >> v & 1) s += g_.validators[v].stake;
    return s;
  }
  double profit_of(unsigned services) const {
    double p = 0.0;
    for (std::size_t s = 0; s < m_; ++s)
      if (services >> s & 1) p += g_.services[s].profit;
    return p;
  }
  bool attacks_all(unsigned services, unsigned attackers, unsigned gone) const {
    for (std::size_t s = 0; s < m_; ++s) {
      if (!(services >> s & 1)) continue;
      double held = 0.0, left = 0.0, all = 0.0;
      for (std::size_t v : g_.services[s].validators) {
        all += g_.validators[v].stake;
        if (!(gone >> v & 1)) left += g_.validators[v].stake;
        if (attackers >> v & 1) held += g_.validators[v].stake;
      }
      if (held < g_.services[s].threshold * left - 1e-12 * all) return false;
    }
    return true;
  }
  // The most stake further attacks can take once validators `gone` and services `done` are removed.
  double cascade(unsigned gone, unsigned done) {
    if (auto it = memo_.find({gone, done}); it != memo_.end()) return it->second;
    double best = 0.0;
    for (unsigned a = 1; a < (1u << m_); ++a) {
      if (a & done) continue;
      unsigned cover = 0;  // attackers must secure an attacked service: B within N(A)
      for (std::size_t s = 0; s < m_; ++s)
        if (a >> s & 1)
          for (std::size_t v : g_.services[s].validators) cover |= 1u << v;
      cover &= ~gone;
      const double profit = profit_of(a);
      for (unsigned b = cover;; b = (b - 1) & cover) {
        const double stake = stake_of(b);
        if (profit > stake + 1e-12 * std::max(profit, stake) && attacks_all(a, b, gone))
          best = std::max(best, stake + cascade(gone | b, done | a));
        if (b == 0) break;
      }
    }
    return memo_[{gone, done}] = best;
  }

  const RestakingGraph& g_;
  std::size_t n_, m_;
  std::map<std::pair<unsigned, unsigned>, double> memo_;
};

double uniform(std::mt19937_64& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
std::size_t below(std::mt19937_64& rng, std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); }

double random_threshold(std::mt19937_64& rng) {
  switch (below(rng, 5)) {
    case 0: return 1.0;
    case 1: return 0.5;
    case 2: return 2.0 / 3.0;
    case 3: return 1.0 / 3.0;
    default: return uniform(rng, 0.2, 1.0);
  }
}

// n validators, m services, each edge with probability p (every service gets at least one).
// Integer stakes half of the time, so that ties between sums are common.
RestakingGraph random_graph(std::mt19937_64& rng, std::size_t n, std::size_t m, double p) {
  const bool integer = below(rng, 2) == 0;
  std::vector<double> stakes;
  for (std::size_t v = 0; v < n; ++v) stakes.push_back(integer ? static_cast<double>(1 + below(rng, 4)) : uniform(rng, 0.2, 3.0));
  std::vector<CascadeService> services;
  for (std::size_t s = 0; s < m; ++s) {
    std::vector<std::size_t> members;
    for (std::size_t v = 0; v < n; ++v)
      if (uniform(rng, 0.0, 1.0) < p) members.push_back(v);
    if (members.empty()) members.push_back(below(rng, n));
    double securing = 0.0;
    for (std::size_t v : members) securing += stakes[v];
    services.push_back(service(uniform(rng, 0.0, 1.3) * securing, random_threshold(rng), members));
  }
  return make_graph(stakes, std::move(services));
}

// Scales every profit so that the exact slack becomes gamma (sigma(B) / pi(A) scales as 1 / factor).
void set_slack(RestakingGraph& g, double gamma) {
  const double slack = analyze_security(g).slack;
  REQUIRE(std::isfinite(slack));
  for (auto& s : g.services) s.profit *= (1.0 + slack) / (1.0 + gamma);
}

// Profits that satisfy the per-validator condition with exactly slack gamma (random weights, scaled).
void set_profits_by_sufficient_condition(std::mt19937_64& rng, RestakingGraph& g, double gamma) {
  std::vector<double> c(g.validators.size(), 0.0);
  for (auto& s : g.services) {
    s.profit = uniform(rng, 0.1, 1.0);
    double securing = 0.0;
    for (std::size_t v : s.validators) securing += g.validators[v].stake;
    for (std::size_t v : s.validators) c[v] += s.profit / (s.threshold * securing);
  }
  const double worst = *std::max_element(c.begin(), c.end());
  for (auto& s : g.services) s.profit /= (1.0 + gamma) * worst;
}

// The CLI, as tests/test_cli.cpp runs it.



// The number after "key": in the command's JSON (keys used here are unique in it).
double json_value(const std::string& json, const std::string& key) {
  const std::string tag = "\"" + key + "\": ";
  const auto at = json.find(tag);
  REQUIRE_MESSAGE(at != std::string::npos, "no key ", key);
  return std::stod(json.substr(at + tag.size()));
}

const std::string kCascadeScenarios = RESTAKE_SOURCE_DIR "/scenarios/cascade";

}  // namespace

TEST_CASE("gamma star is the smallest stake-to-profit ratio of any coalition that can attack, minus one") {
  // Validators a = 2, b = 2. s0 (pi 1, alpha 1/2) on a and b, s1 (pi 0.5, alpha 1) on b alone.
  // {a}: s0, ratio 2. {b}: s0 and s1, ratio 2 / 1.5. {a, b}: ratio 4 / 1.5. So gamma* = 1/3.
  const RestakingGraph g = make_graph({2, 2}, {service(1.0, 0.5, {0, 1}), service(0.5, 1.0, {1})});
  const SecurityReport r = analyze_security(g);
  CHECK(r.secure);
  CHECK(r.slack == doctest::Approx(1.0 / 3.0));
  CHECK(r.tightest.validators == std::vector<std::size_t>{1});
  CHECK(r.tightest.services == std::vector<std::size_t>{0, 1});
  CHECK(r.tightest.profit == doctest::Approx(1.5));
  // Doubling the profits makes {b} a valid attack (3 > 2): insecure, negative slack.
  const RestakingGraph rich = make_graph({2, 2}, {service(2.0, 0.5, {0, 1}), service(1.0, 1.0, {1})});
  CHECK(!analyze_security(rich).secure);
  CHECK(analyze_security(rich).slack == doctest::Approx(2.0 / 3.0 - 1.0));
  // No profit anywhere: no coalition gains anything, the slack is unbounded.
  CHECK(std::isinf(analyze_security(make_graph({1, 1}, {service(0.0, 0.5, {0, 1})})).slack));
}

TEST_CASE("the per-validator sufficient condition holds up to its largest gamma, here as tight as gamma star") {
  // Same graph: c_a = 1 / (0.5 * 4) = 0.5, c_b = 0.5 + 0.5 / 2 = 0.75, largest gamma = 1/0.75 - 1.
  const RestakingGraph g = make_graph({2, 2}, {service(1.0, 0.5, {0, 1}), service(0.5, 1.0, {1})});
  const SufficientCondition at0 = per_validator_condition(g, 0.0);
  CHECK(at0.holds);
  CHECK(at0.largest_gamma == doctest::Approx(1.0 / 3.0));
  REQUIRE(at0.binding_validator.has_value());
  CHECK(*at0.binding_validator == 1);
  CHECK(per_validator_condition(g, 0.33).holds);
  CHECK(!per_validator_condition(g, 0.34).holds);
}

TEST_CASE("the exact searches agree with a brute force over shocks and attack sequences on tiny random graphs") {
  std::mt19937_64 rng(20250101);
  int with_attacks = 0, insecure = 0;
  for (int i = 0; i < 400; ++i) {
    const RestakingGraph g = random_graph(rng, 1 + below(rng, 5), 1 + below(rng, 3), 0.6);
    CAPTURE(i);
    BruteForce brute(g);
    const double ratio = brute.min_ratio();
    const SecurityReport sec = analyze_security(g);
    if (std::isinf(ratio)) {
      CHECK(std::isinf(sec.slack));
    } else {
      CHECK(sec.secure == (ratio >= 1.0 - 1e-9));
      CHECK(sec.slack == doctest::Approx(sec.secure ? std::max(ratio - 1.0, 0.0) : ratio - 1.0).epsilon(1e-9));
    }
    insecure += !sec.secure;
    for (double psi : {0.0, 0.1, 0.3, 0.6, uniform(rng, 0.0, 1.0)}) {
      CAPTURE(psi);
      const CascadeLoss loss = worst_cascade_loss(g, psi);
      CHECK(loss.loss_share == doctest::Approx(brute.worst_loss_share(psi)).epsilon(1e-9));
      CHECK(loss.loss_share == doctest::Approx(loss.shock_share + loss.attack_share));
      CHECK(loss.shock_share <= psi + 1e-9);
      with_attacks += loss.attack_share > 0.0;
    }
  }
  CHECK(with_attacks > 200);  // the comparison covers cascades, not just shocks
  CHECK(insecure > 40);
}

TEST_CASE("Theorem 1 holds on hundreds of random secure graphs with slack gamma: R_psi below (1 + 1/gamma) psi") {
  std::mt19937_64 rng(7);
  int cascades = 0;
  for (int i = 0; i < 600; ++i) {
    RestakingGraph g = random_graph(rng, 2 + below(rng, 9), 1 + below(rng, 6), 0.4);
    const double gamma = std::vector<double>{0.05, 0.1, 0.25, 0.5, 1.0, 2.0}[below(rng, 6)];
    CAPTURE(i);
    CAPTURE(gamma);
    if (i % 2 == 0) {
      // Secure with slack gamma by construction: the per-validator condition holds at gamma.
      set_profits_by_sufficient_condition(rng, g, gamma);
      REQUIRE(per_validator_condition(g, gamma).holds);
      CHECK(analyze_security(g).slack >= gamma - 1e-9);
    } else {
      set_slack(g, gamma);  // exactly gamma: the tightest coalition sits on the bound
      CHECK(analyze_security(g).slack == doctest::Approx(gamma));
      CHECK(per_validator_condition(g, 0.0).largest_gamma <= gamma + 1e-9);  // sufficient, never more
    }
    const double slack = analyze_security(g).slack;
    for (double psi : {0.001, uniform(rng, 0.01, 0.1), uniform(rng, 0.1, 0.4)}) {
      CAPTURE(psi);
      const CascadeLoss loss = worst_cascade_loss(g, psi);
      CHECK(loss.loss_share < theorem1_bound(psi, gamma));
      CHECK(loss.loss_share < theorem1_bound(psi, slack));
      cascades += loss.attack_share > 0.0;
    }
  }
  CHECK(cascades > 100);  // about one case in ten: shocks do set off attacks, the bound is exercised
}

TEST_CASE("Theorem 1's example: gamma 10 percent and psi 0.1 percent lose at most 1.1 percent, and a graph comes close") {
  CHECK(theorem1_bound(0.001, 0.10) == doctest::Approx(0.011));
  // Of 1,000,000: a service on validators of 1000 (psi) and 9999, profit just under 10999 / 1.1.
  const RestakingGraph g = make_graph({1000, 9999, 989'001}, {service(9999.09, 1.0, {0, 1})});
  const SecurityReport sec = analyze_security(g);
  CHECK(sec.secure);
  CHECK(sec.slack >= 0.1);
  const CascadeLoss loss = worst_cascade_loss(g, 0.001);
  CHECK(loss.loss_share == doctest::Approx(0.010999));
  CHECK(loss.loss_share < theorem1_bound(0.001, 0.1));
  CHECK(loss.loss_share > 0.0109);  // the bound is the best possible
  CHECK(loss.shock == std::vector<std::size_t>{0});
  CHECK(loss.attack.validators == std::vector<std::size_t>{1});
}

TEST_CASE("a single service with stakes psi and 1 - psi, alpha 1 and pi 1 over 1 + gamma is lost entirely exactly when psi exceeds gamma over 1 + gamma") {
  for (double gamma : {0.05, 0.1, 0.5, 1.0}) {
    const double threshold = gamma / (1.0 + gamma);
    for (double psi : {0.9 * threshold, 1.1 * threshold}) {
      CAPTURE(gamma);
      CAPTURE(psi);
      const RestakingGraph g = make_graph({psi, 1.0 - psi}, {service(1.0 / (1.0 + gamma), 1.0, {0, 1})});
      CHECK(analyze_security(g).slack == doctest::Approx(gamma));
      const CascadeLoss loss = worst_cascade_loss(g, psi);
      CHECK(loss.shock == std::vector<std::size_t>{0});
      if (psi > threshold) {
        CHECK(loss.loss_share == doctest::Approx(1.0));
        CHECK(loss.attack.validators == std::vector<std::size_t>{1});
      } else {
        CHECK(loss.loss_share == doctest::Approx(psi));
        CHECK(loss.attack.validators.empty());
      }
    }
  }
  // On the threshold itself the attack would gain nothing: pi = sigma(B) is not profitable.
  const RestakingGraph tie = make_graph({0.5, 0.5}, {service(0.5, 1.0, {0, 1})});
  CHECK(worst_cascade_loss(tie, 0.5).loss_share == doctest::Approx(0.5));
}

TEST_CASE("Theorem 2: one service with pi 1 and alpha 1 on stakes eps and 1 - eps is secure, yet loses everything for every psi of at least eps") {
  const double eps = 0.01;
  const RestakingGraph g = make_graph({eps, 1.0 - eps}, {service(1.0, 1.0, {0, 1})});
  const SecurityReport sec = analyze_security(g);
  CHECK(sec.secure);
  CHECK(sec.slack == doctest::Approx(0.0));
  CHECK(theorem1_bound(eps, sec.slack) == std::numeric_limits<double>::infinity());  // no slack, no bound
  for (double psi : {eps, 0.02, 0.1, 0.5, 1.0}) {
    CAPTURE(psi);
    CHECK(worst_cascade_loss(g, psi).loss_share == doctest::Approx(1.0));
  }
  CHECK(worst_cascade_loss(g, eps / 2).loss_share == 0.0);  // no validator fits in a smaller shock
}

TEST_CASE("extra attackers beyond those needed count in the worst case: largest B, not smallest") {
  // alpha 1/2 on four validators of 1 and pi 3.5: two suffice to attack, three is still profitable.
  const RestakingGraph g = make_graph({1, 1, 1, 1}, {service(3.5, 0.5, {0, 1, 2, 3})});
  const CascadeLoss loss = worst_cascade_loss(g, 0.0);
  CHECK(loss.loss_share == doctest::Approx(0.75));
  CHECK(loss.attack.validators.size() == 3);
}

TEST_CASE("only validators that secure an attacked service can be slashed, even when the shock makes their own service safe") {
  // s0: alpha 0.6 on x, y, u (1 each), pi 0.1. s1: alpha 1 on z (1.5), pi 2.6. A shock of 1 ETH.
  // Shocking x leaves y with 1/2 < 0.6 of s0, so s0 drops out and y secures nothing attacked: y and z
  // together (2.5 < 2.6) are not a valid attack. The worst case is x then z alone: 2.5 of 4.5.
  const RestakingGraph g = make_graph({1, 1, 1, 1.5}, {service(0.1, 0.6, {0, 1, 2}), service(2.6, 1.0, {3})});
  const CascadeLoss loss = worst_cascade_loss(g, 1.0 / 4.5);
  CHECK(loss.loss_share == doctest::Approx(2.5 / 4.5));
  CHECK(loss.shock.size() == 1);
  CHECK(loss.attack.validators == std::vector<std::size_t>{3});
  CHECK(loss.attack.services == std::vector<std::size_t>{1});
  CHECK(loss.loss_share == doctest::Approx(BruteForce(g).worst_loss_share(1.0 / 4.5)));
}

TEST_CASE("the exact searches refuse a graph above the limits with its sizes and the limit, and the sufficient condition still answers") {
  std::vector<double> stakes(21, 1.0);
  std::vector<CascadeService> services;
  for (std::size_t v = 0; v < 21; ++v) services.push_back(service(0.5, 1.0, {v}));
  const RestakingGraph g = make_graph(stakes, services);
  const auto why = exact_search_refusal(g, ExactLimits{});
  REQUIRE(why.has_value());
  CHECK(why->find("21 validators and 21 services") != std::string::npos);
  CHECK(why->find("limits 20 validators") != std::string::npos);
  CHECK_THROWS_WITH_AS(analyze_security(g), why->c_str(), GraphTooBig);
  CHECK_THROWS_AS(worst_cascade_loss(g, 0.001), GraphTooBig);
  CHECK(per_validator_condition(g, 0.0).largest_gamma == doctest::Approx(1.0));
  ExactLimits wider;
  wider.max_validators = 21;
  CHECK(!exact_search_refusal(g, wider).has_value());
  CHECK(analyze_security(g, wider).slack == doctest::Approx(1.0));
  ExactLimits too_wide;
  too_wide.max_validators = kExactValidatorsCap + 1;
  CHECK_THROWS_AS(exact_search_refusal(g, too_wide), std::invalid_argument);
  // The worst-case search also stops when its step budget runs out, rather than running on.
  ExactLimits few_steps;
  few_steps.max_steps = 100;
  const RestakingGraph ten = make_graph(std::vector<double>(10, 1.0), {service(5.0, 0.5, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9})});
  try {
    (void)worst_cascade_loss(ten, 0.2, few_steps);
    FAIL("expected GraphTooBig");
  } catch (const GraphTooBig& e) {
    CHECK(std::string(e.what()).find("gave up after 100 steps") != std::string::npos);
  }
}

TEST_CASE("a scenario's restaking graph has its AVSs as services and its operators as validators with their whole stake") {
  const Model m = test::model_from(R"(
[simulation]
name = "t"
[ethereum]
total_active_stake_eth = 1_000_000
[[operator]]
name = "a"
validators = 10
[[operator]]
name = "b"
stake_eth = 640
effective_balance_eth = 64
[[operator]]
name = "idle"
validators = 1
[[protocol]]
name = "shared"
slashing_mode = "shared"
[[protocol]]
name = "unique"
slashing_mode = "unique"
[[avs]]
name = "oracle"
protocol = "shared"
operators = ["a", "b"]
corruption_profit = 500
attack_threshold = 0.67
[[avs]]
name = "bridge"
protocol = "unique"
operators = [{ operator = "b", allocation = 0.3 }]
corruption_profit = 100
[[lst]]
name = "h"
positions = [{ operator = "a", stake_eth = 320 }]
)");
  const RestakingGraph g = make_restaking_graph(m);
  REQUIRE(g.validators.size() == 3);
  CHECK(g.validators[0].name == "a");
  CHECK(g.validators[0].stake == 320.0);
  CHECK(g.validators[1].stake == 640.0);
  CHECK(g.validators[2].stake == 32.0);  // secures nothing, still part of all stake
  CHECK(g.total_stake() == 992.0);
  REQUIRE(g.services.size() == 2);
  CHECK(g.services[0].name == "oracle");
  CHECK(g.services[0].profit == 500.0);
  CHECK(g.services[0].threshold == 0.67);
  CHECK(g.services[0].validators == std::vector<std::size_t>{0, 1});
  CHECK(g.services[1].threshold == 0.5);  // the scenario default
  CHECK(g.services[1].validators == std::vector<std::size_t>{1});  // allocation 0.3 ignored: whole stake
  CHECK(g.edge_count() == 3);
  // b alone holds 640 / 960 < 0.67 of the oracle but all of the bridge: ratio 640 / 100.
  CHECK(analyze_security(g).slack == doctest::Approx(960.0 / 600.0 - 1.0));
}

TEST_CASE("restake-sim cascade prints security, slack, the sufficient condition and R_psi beside Theorem 1's bound, as text and as JSON") {
  TempDir dir;
  const std::string tight = kCascadeScenarios + "/theorem1-tight.toml";
  std::string out;
  REQUIRE(cli(fmt::format("cascade {} --psi 0.001", tight), dir, &out) == 0);
  CHECK(out.find("3 validators (operators), 1 services (AVSs), 2 edges") != std::string::npos);
  CHECK(out.find("yes: no coalition can attack profitably") != std::string::npos);
  CHECK(out.find("0.1000001") != std::string::npos);  // gamma*
  CHECK(out.find("1.0999% of all stake lost") != std::string::npos);
  CHECK(out.find("(1 + 1/gamma*) psi = 1.099999%") != std::string::npos);
  CHECK(out.find("validators attacker (9999 ETH) corrupt services service") != std::string::npos);

  std::string json;
  REQUIRE(cli(fmt::format("cascade {} --psi 0.001 --gamma 0.1 --json", tight), dir, &json) == 0);
  CHECK(json.find("\"secure\": true") != std::string::npos);
  CHECK(json.find("\"secure_with_gamma\": true") != std::string::npos);
  CHECK(json.find("\"holds\": true") != std::string::npos);
  CHECK(json.find("\"theorem1_bound_from\": \"slack\"") != std::string::npos);
  CHECK(json_value(json, "r_psi") == doctest::Approx(0.010999));
  CHECK(json_value(json, "shock_share") == doctest::Approx(0.001));
  CHECK(json_value(json, "slack") == doctest::Approx(10999.0 / 9999.09 - 1.0));
  CHECK(json_value(json, "theorem1_bound") == doctest::Approx(theorem1_bound(0.001, 10999.0 / 9999.09 - 1.0)));
  CHECK(json_value(json, "total_stake") == 1'000'000.0);
}

TEST_CASE("restake-sim cascade refuses the exact search above --max-exact but still reports the sufficient condition") {
  TempDir dir;
  const std::string tight = kCascadeScenarios + "/theorem1-tight.toml";
  std::string out;
  REQUIRE(cli(fmt::format("cascade {} --max-exact 2", tight), dir, &out) == 0);
  CHECK(out.find("3 validators and 1 services, limits 2 validators") != std::string::npos);
  CHECK(out.find("not computed") != std::string::npos);
  CHECK(out.find("largest gamma 0.1000001") != std::string::npos);
  CHECK(out.find("with the sufficient condition's gamma") != std::string::npos);
  std::string json;
  REQUIRE(cli(fmt::format("cascade {} --max-exact 2 --json", tight), dir, &json) == 0);
  CHECK(json.find("\"security\": null") != std::string::npos);
  CHECK(json.find("\"loss\": null") != std::string::npos);
  CHECK(json.find("\"exact_refusal\": \"graph too big") != std::string::npos);
  CHECK(json.find("\"theorem1_bound_from\": \"sufficient_condition\"") != std::string::npos);
}

TEST_CASE("restake-sim cascade exits with 2 on a scenario error, as the other commands do") {
  TempDir dir;
  std::string text = slurp(kCascadeScenarios + "/theorem2.toml");
  text.replace(text.find("attack_threshold = 1.0"), 22, "attack_threshold = 1.5");
  const std::string bad = dir / "bad.toml";
  std::ofstream(bad) << text;
  std::string err;
  CHECK(cli(fmt::format("cascade {}", bad), dir, nullptr, &err) == 2);
  CHECK(err.find("avs \"service\" (avs[0]).attack_threshold") != std::string::npos);
  CHECK(cli(fmt::format("cascade {}", dir / "missing.toml"), dir) == 1);
}

TEST_CASE("the cascade example scenarios validate, and Theorem 2 and the single-service check lose all stake") {
  TempDir dir;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kCascadeScenarios)) {
    if (entry.path().extension() != ".toml") continue;
    CAPTURE(entry.path().string());
    ++files;
    CHECK(cli(fmt::format("validate {}", entry.path().string()), dir) == 0);
    CHECK(cli(fmt::format("cascade {}", entry.path().string()), dir) == 0);
  }
  CHECK(files >= 3);
  std::string json;
  REQUIRE(cli(fmt::format("cascade {}/theorem2.toml --psi 0.01 --json", kCascadeScenarios), dir, &json) == 0);
  CHECK(json_value(json, "r_psi") == 1.0);
  CHECK(json.find("\"secure\": true") != std::string::npos);
  REQUIRE(cli(fmt::format("cascade {}/single-service.toml --psi 0.1 --json", kCascadeScenarios), dir, &json) == 0);
  CHECK(json_value(json, "r_psi") == 1.0);
  REQUIRE(cli(fmt::format("cascade {}/single-service.toml --psi 0.05 --json", kCascadeScenarios), dir, &json) == 0);
  CHECK(json_value(json, "r_psi") == 0.0);
}

namespace {
std::string theorem2_in_trials(const std::string& stress) {
  return R"(
[simulation]
name = "t2"
trials = 50
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = 0.0
[[operator]]
name = "small"
validators = 1
[[operator]]
name = "big"
validators = 99
[[protocol]]
name = "p"
slashing_mode = "shared"
[[avs]]
name = "service"
protocol = "p"
operators = ["small", "big"]
corruption_profit = 3200
attack_threshold = 1.0
[[avs]]
name = "slasher"
protocol = "p"
operators = ["small"]
[[native]]
name = "on-big"
protocol = "p"
positions = [{ operator = "big", stake_eth = 3168 }]
[[native]]
name = "on-small"
protocol = "p"
positions = [{ operator = "small", stake_eth = 32 }]
[cascade]
in_trials = true
[stress]
random_events = false
)" + stress;
}
}  // namespace

TEST_CASE("in trials, a slashing that leaves a coalition able to corrupt a service profitably is followed by the attack") {
  // Theorem 2's network: secure as it stands, but once the small operator is slashed to nothing the
  // big one alone holds all the stake securing the service and 3200 > 3168: it attacks and loses all.
  const Model shocked = parse_scenario(theorem2_in_trials("[[stress.avs_failures]]\navs = [\"slasher\"]\nday = 1\nfraction = 1.0\n"), "t2.toml");
  const restake::test::Records r = restake::test::run_in_memory(shocked, 50, 1);
  const std::size_t attack = static_cast<std::size_t>(LossCause::CascadeAttack);
  for (std::size_t t = 0; t < r.trials; ++t) {
    CHECK(r.loss(t, 0) == doctest::Approx(1.0));
    CHECK(r.loss_by_cause[(t * 2 + 0) * kLossCauseCount + attack] == doctest::Approx(1.0));
    CHECK(r.loss_by_cause[(t * 2 + 1) * kLossCauseCount + attack] == 0.0);  // the slashed one lost it to the AVS
  }
  // Without the shock the network is secure: nobody attacks.
  const Model calm = parse_scenario(theorem2_in_trials(""), "t2.toml");
  const restake::test::Records c = restake::test::run_in_memory(calm, 50, 1);
  for (std::size_t t = 0; t < c.trials; ++t) CHECK(c.loss(t, 0) == 0.0);
}

TEST_CASE("attacks in trials are refused for worlds the coalition search cannot cover") {
  std::string toml = theorem2_in_trials("");
  toml.replace(toml.find("corruption_profit = 3200"), 24, "corruption_profit = 0");
  CHECK_THROWS_WITH_AS(parse_scenario(toml, "t2.toml"), doctest::Contains("no AVS has a corruption_profit > 0"), ScenarioError);
}

TEST_CASE("restake-sim cascade says when its check is empty: no AVS at all, or none worth corrupting") {
  TempDir dir;
  std::string out;
  REQUIRE(cli(fmt::format("cascade {}", RESTAKE_SOURCE_DIR "/scenarios/steth.toml"), dir, &out) == 0);
  CHECK(out.find("empty: the scenario has no AVS, so there is nothing to attack") != std::string::npos);
  CHECK(out.find("yes, vacuously (see above)") != std::string::npos);
  REQUIRE(cli(fmt::format("cascade {}", RESTAKE_SOURCE_DIR "/scenarios/default.toml"), dir, &out) == 0);
  CHECK(out.find("empty: no AVS sets corruption_profit > 0, so no attack pays") != std::string::npos);
  CHECK(out.find("yes: no coalition can attack profitably") == std::string::npos);
  // A scenario with a profit is checked in earnest: no such line.
  REQUIRE(cli(fmt::format("cascade {}", kCascadeScenarios + "/theorem1-tight.toml"), dir, &out) == 0);
  CHECK(out.find("empty:") == std::string::npos);
}
