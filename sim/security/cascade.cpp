// Durvasula & Roughgarden cascades (domain.md section 4): exact security, slack and worst-case loss
// by enumerating validator subsets, and the per-validator sufficient condition.
#include "security/cascade.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

namespace restake {

std::size_t RestakingGraph::edge_count() const {
  std::size_t e = 0;
  for (const auto& s : services) e += s.validators.size();
  return e;
}

double RestakingGraph::total_stake() const {
  double t = 0.0;
  for (const auto& v : validators) t += v.stake;
  return t;
}

void check_graph(const RestakingGraph& g) {
  for (const auto& v : g.validators)
    if (!std::isfinite(v.stake) || v.stake <= 0.0)
      throw std::invalid_argument(fmt::format("validator \"{}\": stake must be finite and > 0, got {}", v.name, v.stake));
  for (const auto& s : g.services) {
    if (!std::isfinite(s.profit) || s.profit < 0.0)
      throw std::invalid_argument(fmt::format("service \"{}\": profit must be finite and >= 0, got {}", s.name, s.profit));
    if (!(s.threshold > 0.0 && s.threshold <= 1.0))
      throw std::invalid_argument(fmt::format("service \"{}\": threshold must be in (0, 1], got {}", s.name, s.threshold));
    if (s.validators.empty())
      throw std::invalid_argument(fmt::format("service \"{}\" is secured by no validator", s.name));
    std::vector<bool> seen(g.validators.size(), false);
    for (std::size_t v : s.validators) {
      if (v >= g.validators.size())
        throw std::invalid_argument(fmt::format("service \"{}\": validator index {} out of range", s.name, v));
      if (seen[v]) throw std::invalid_argument(fmt::format("service \"{}\": validator {} listed twice", s.name, v));
      seen[v] = true;
    }
  }
}

RestakingGraph make_restaking_graph(const Model& m) {
  RestakingGraph g;
  // Stakes and profits are compared with each other, so they must be in one unit.
  for (const auto& op : m.operators)
    if (op.asset != m.operators.front().asset)
      throw std::invalid_argument(fmt::format("the cascade model needs one asset, but operator \"{}\" stakes {} and \"{}\" {}",
                                              m.operators.front().name, to_string(m.operators.front().asset), op.name,
                                              to_string(op.asset)));
  for (const auto& op : m.operators) g.validators.push_back({op.name, op.stake()});
  for (const auto& a : m.avs) {
    CascadeService s{a.name, a.corruption_profit, a.attack_threshold, {}};
    // Allocation magnitudes (unique mode, ELIP-002) are deliberately not used: in the paper a
    // validator's whole stake secures, and is at stake in, every service it validates.
    for (const auto& al : a.allocations) s.validators.push_back(al.op);
    g.services.push_back(std::move(s));
  }
  check_graph(g);
  return g;
}

std::optional<std::string> exact_search_refusal(const RestakingGraph& g, const ExactLimits& limits) {
  if (limits.max_validators > kExactValidatorsCap || limits.max_services > kExactServicesCap)
    throw std::invalid_argument(fmt::format("exact search limits of {} validators and {} services: the caps are {} and {}",
                                            limits.max_validators, limits.max_services, kExactValidatorsCap,
                                            kExactServicesCap));
  const std::size_t n = g.validators.size(), m = g.services.size();
  if (n <= limits.max_validators && m <= limits.max_services) return std::nullopt;
  return fmt::format(
      "graph too big for the exact search: {} validators and {} services, limits {} validators and {} services "
      "(the search enumerates the 2^{} subsets of validators)",
      n, m, limits.max_validators, limits.max_services, n);
}

double theorem1_bound(double psi, double gamma) {
  return gamma > 0.0 ? (1.0 + 1.0 / gamma) * psi : std::numeric_limits<double>::infinity();
}

SufficientCondition per_validator_condition(const RestakingGraph& g, double gamma) {
  check_graph(g);
  // sum_s (sigma_v / sigma(N(s))) (1 + gamma) pi_s / alpha_s <= sigma_v  <=>  (1 + gamma) c_v <= 1,
  // with c_v = sum over v's services of pi_s / (alpha_s sigma(N(s))).
  std::vector<double> c(g.validators.size(), 0.0);
  for (const auto& s : g.services) {
    double securing = 0.0;
    for (std::size_t v : s.validators) securing += g.validators[v].stake;
    const double w = s.profit / (s.threshold * securing);
    for (std::size_t v : s.validators) c[v] += w;
  }
  SufficientCondition r;
  r.gamma = gamma;
  double worst = 0.0;
  for (std::size_t v = 0; v < c.size(); ++v)
    if (c[v] > worst) {
      worst = c[v];
      r.binding_validator = v;
    }
  if (worst > 0.0) r.largest_gamma = 1.0 / worst - 1.0;
  r.holds = (1.0 + gamma) * worst <= 1.0 + 1e-12;
  return r;
}

namespace {

// Relative tolerance of the comparisons between sums of stakes and profits, so that a tie computed
// with rounding counts as the tie it is: a coalition holding exactly alpha of a service can attack
// it (>=), and pi(A) = sigma(B) is not profitable (>).
constexpr double kRelTol = 1e-12;

using Mask = std::uint64_t;  // a set of validators, bit v = validator v

bool profitable(double profit, double stake) { return profit > stake + kRelTol * std::max(profit, stake); }

std::vector<std::size_t> members(Mask m) {
  std::vector<std::size_t> out;
  for (; m != 0; m &= m - 1) out.push_back(static_cast<std::size_t>(std::countr_zero(m)));
  return out;
}

// sigma of any set of validators by table lookup, one table of 256 partial sums per byte of the
// mask. Every set's sum is formed the same way, so sigma(L & N(s)) equals sigma(N(s)) bit for bit
// when L contains N(s).
class SubsetSums {
 public:
  explicit SubsetSums(const std::vector<double>& w) : bytes_((w.size() + 7) / 8), table_(bytes_ * 256, 0.0) {
    for (std::size_t b = 0; b < bytes_; ++b)
      for (unsigned x = 1; x < 256; ++x) {
        const std::size_t i = 8 * b + static_cast<std::size_t>(std::countr_zero(x));
        table_[b * 256 + x] = table_[b * 256 + (x & (x - 1))] + (i < w.size() ? w[i] : 0.0);
      }
  }
  double operator()(Mask m) const {
    double s = 0.0;
    for (std::size_t b = 0; b < bytes_; ++b) s += table_[b * 256 + ((m >> (8 * b)) & 0xFF)];
    return s;
  }

 private:
  std::size_t bytes_;
  std::vector<double> table_;
};

// The graph as bit masks, for the exact searches.
struct DenseGraph {
  std::size_t n = 0, m = 0;
  std::vector<Mask> secured_by;    // N(s)
  std::vector<double> profit;      // pi_s
  std::vector<double> threshold;   // alpha_s
  std::vector<double> securing;    // sigma(N(s))
  SubsetSums stake;
  double total = 0.0;
  double total_profit = 0.0;

  explicit DenseGraph(const RestakingGraph& g) : n(g.validators.size()), m(g.services.size()), stake(stakes(g)) {
    for (const auto& s : g.services) {
      Mask nm = 0;
      for (std::size_t v : s.validators) nm |= Mask{1} << v;
      secured_by.push_back(nm);
      profit.push_back(s.profit);
      threshold.push_back(s.threshold);
      securing.push_back(stake(nm));
      total_profit += s.profit;
    }
    total = stake(n == 64 ? ~Mask{0} : (Mask{1} << n) - 1);
  }
  static std::vector<double> stakes(const RestakingGraph& g) {
    std::vector<double> w;
    for (const auto& v : g.validators) w.push_back(v.stake);
    return w;
  }
  // Attackers b can attack service s on the graph left after removing `removed`:
  // sigma(b & N(s)) >= alpha_s sigma(N(s) \ removed).
  bool can_attack(std::size_t s, Mask b, Mask removed) const {
    const double left = removed == 0 ? securing[s] : stake(secured_by[s] & ~removed);
    return stake(b & secured_by[s]) >= threshold[s] * left - kRelTol * securing[s];
  }
};

DenseGraph dense_for_exact_search(const RestakingGraph& g, const ExactLimits& limits) {
  check_graph(g);
  if (auto why = exact_search_refusal(g, limits)) throw GraphTooBig(*why);
  return DenseGraph(g);
}

// Worst-case loss after a shock. Three facts keep the search exact and finite:
//
// 1. A cascade's attacks together are one valid attack on the shocked graph. If (A_t, B_t) are the
//    attacks in order, each valid on the graph left after the shock D and B_1..B_{t-1}, then
//    (union A_t, union B_t) is valid on G \ D: profits and stakes add, so sigma(union B) < pi(union A);
//    for s in A_t, the earlier attackers plus B_t hold at least alpha_s of N(s) \ D, because B_t
//    holds alpha_s of what the earlier ones left and alpha_s <= 1; and each B_t lies in N(A_t).
//    Conversely one attack is a cascade of length one. So R_psi is the largest sigma(D) + sigma(B)
//    over shocks D and single valid attacks (A, B) on G \ D: the order of a cascade, and the removal
//    of attacked services between its steps, cannot make it lose more than its union.
// 2. Given B, the largest A (every service B can attack) is without loss of generality: it
//    maximises pi(A) and N(A), which B must lie in, and by 1 nothing needs to come after it.
//    Minimal B is not: attackers beyond those needed to corrupt A are lost too as long as
//    pi(A) > sigma(B) (one service, alpha 1/2, four validators of 1, pi 3.5: two suffice to attack,
//    three is the worst case). So every B is searched.
// 3. We enumerate the lost set L = D + B (2^n sets) and ask whether some shock D in L makes
//    B = L \ D a valid attack. For a fixed L, a service stays attackable only if L can attack it
//    on the unshocked graph (sigma(L & N(s)) >= alpha_s sigma(N(s))), and moving validators from B
//    into D only removes services from A (alpha_s <= 1). Hence the cheap filter
//    pi(A_G(L)) + psi sigma(V) > sigma(L) (the argument of Theorem 1: on a graph with slack it
//    leaves only small L), and a depth-first search over D whose subtrees are cut as soon as the
//    services still attackable cannot pay for the attackers, each service counting only up to the
//    largest shock it survives (shock_room).
class WorstCascadeSearch {
 public:
  WorstCascadeSearch(const DenseGraph& d, double psi, std::uint64_t max_steps)
      : d_(d), psi_(psi), budget_(psi * d.total + kRelTol * d.total), slop_(kRelTol * (d.total + d.total_profit)),
        max_steps_(max_steps) {}

  CascadeLoss run() {
    const Mask all = d_.n == 64 ? ~Mask{0} : (Mask{1} << d_.n) - 1;
    for (Mask lost = all; lost != 0; --lost) {
      step();
      const double s = d_.stake(lost);
      if (s <= best_stake_) continue;
      if (s <= budget_) {  // the shock alone
        record(s, lost, lost, 0);
        continue;
      }
      if (shock_enables_attack(lost, s)) record(s, lost, found_shock_, found_services_);
    }
    CascadeLoss r;
    r.psi = psi_;
    r.shock = members(best_shock_);
    r.shock_share = d_.stake(best_shock_) / d_.total;
    const Mask attackers = best_lost_ & ~best_shock_;
    if (attackers != 0) {
      r.attack.validators = members(attackers);
      r.attack.stake = d_.stake(attackers);
      for (std::size_t s = 0; s < d_.m; ++s)
        if (best_services_ >> s & 1) {
          r.attack.services.push_back(s);
          r.attack.profit += d_.profit[s];
        }
      r.attack_share = r.attack.stake / d_.total;
    }
    r.loss_share = best_stake_ / d_.total;
    return r;
  }

 private:
  void step() {
    if (++steps_ > max_steps_)
      throw GraphTooBig(fmt::format(
          "exact worst-case search gave up after {} steps on a graph of {} validators and {} services "
          "(shocks of up to psi = {} of the stake leave too many cases); lower the validator count or psi",
          max_steps_, d_.n, d_.m, psi_));
  }

  void record(double stake, Mask lost, Mask shock, std::uint64_t services) {
    best_stake_ = stake;
    best_lost_ = lost;
    best_shock_ = shock;
    best_services_ = services;
  }

  bool shock_enables_attack(Mask lost, double lost_stake) {
    lost_ = lost;
    lost_stake_ = lost_stake;
    candidates_.clear();
    double profit = 0.0;
    Mask cover = 0;
    for (std::size_t s = 0; s < d_.m; ++s)
      if (d_.can_attack(s, lost, 0)) {
        candidates_.push_back({s, shock_room(s, lost)});
        profit += d_.profit[s];
        cover |= d_.secured_by[s];
      }
    if (profit + budget_ <= lost_stake - slop_) return false;
    const Mask forced = lost & ~cover;  // lost validators that no attackable service could slash
    if (d_.stake(forced) > budget_) return false;
    std::sort(candidates_.begin(), candidates_.end(), [](const Candidate& a, const Candidate& b) { return a.room > b.room; });
    return search(forced, 0);
  }

  // The largest shock D within L that service s survives in A: s stays attackable by L \ D iff
  // sigma(L & N(s)) - alpha sigma(N(s)) >= (1 - alpha) sigma(D & N(s)), and sigma(D & N(s)) >=
  // sigma(D) - sigma(L \ N(s)). Unbounded when alpha = 1 or L holds all of N(s).
  double shock_room(std::size_t s, Mask lost) const {
    const double held = d_.stake(lost & d_.secured_by[s]);
    const double alpha = d_.threshold[s];
    if (alpha >= 1.0 || (lost & d_.secured_by[s]) == d_.secured_by[s]) return std::numeric_limits<double>::infinity();
    const double spare = held - alpha * d_.securing[s] + kRelTol * d_.securing[s];
    return spare / (1.0 - alpha) + d_.stake(lost & ~d_.secured_by[s]) + slop_;
  }

  // Invariant: any valid shock D* extending `shock` adds only validators of index >= next.
  bool search(Mask shock, std::size_t next) {
    step();
    const Mask attackers = lost_ & ~shock;
    double profit = 0.0;
    Mask cover = 0;
    std::uint64_t services = 0;
    for (const auto& [s, room] : candidates_)
      if (d_.can_attack(s, attackers, shock)) {
        profit += d_.profit[s];
        cover |= d_.secured_by[s];
        services |= std::uint64_t{1} << s;
      }
    // Attackers no attacked service can slash must be in the shock, in this D and any larger one
    // (larger shocks only shrink the attacked set).
    if (const Mask forced = attackers & ~cover; forced != 0) {
      const Mask grown = shock | forced;
      return d_.stake(grown) <= budget_ && search(grown, next);
    }
    if (profitable(profit, d_.stake(attackers))) {
      found_shock_ = shock;
      found_services_ = services;
      return true;
    }
    // A larger shock D* pays only if sigma(D*) + pi(A(D*)) > sigma(L). A(D*) lies in A(D), and
    // sigma(D*) is at most the budget, what is left to add, and the room of every service in A(D*).
    // Taking A(D*) as the services of A(D) with the most room gives an upper bound; cut when it fails.
    const Mask low = next >= 64 ? ~Mask{0} : (Mask{1} << next) - 1;
    const Mask free = attackers & ~low;
    const double reachable = std::min(budget_, d_.stake(shock | free));
    double best = 0.0, kept = 0.0;
    for (const auto& [s, room] : candidates_)
      if (services >> s & 1) {
        kept += d_.profit[s];
        best = std::max(best, std::min(reachable, room) + kept);
      }
    if (best <= lost_stake_ - slop_) return false;
    for (std::size_t v : members(free)) {
      const Mask grown = shock | Mask{1} << v;
      if (d_.stake(grown) <= budget_ && search(grown, v + 1)) return true;
    }
    return false;
  }

  const DenseGraph& d_;
  const double psi_;
  const double budget_;  // psi sigma(V), plus rounding
  const double slop_;  // rounding allowance for the cuts: they must never drop a valid shock
  const std::uint64_t max_steps_;
  std::uint64_t steps_ = 0;
  Mask lost_ = 0;
  double lost_stake_ = 0.0;
  struct Candidate {
    std::size_t service;
    double room;  // shock_room(service, lost_)
  };
  std::vector<Candidate> candidates_;  // services L can attack on the unshocked graph, most room first
  Mask found_shock_ = 0;
  std::uint64_t found_services_ = 0;
  double best_stake_ = 0.0;
  Mask best_lost_ = 0, best_shock_ = 0;
  std::uint64_t best_services_ = 0;
};

}  // namespace

SecurityReport analyze_security(const RestakingGraph& g, const ExactLimits& limits) {
  const DenseGraph d = dense_for_exact_search(g, limits);
  std::vector<std::size_t> paying;
  for (std::size_t s = 0; s < d.m; ++s)
    if (d.profit[s] > 0.0) paying.push_back(s);
  // For a given B the best A is every service B can attack (pi >= 0), so min over B of
  // sigma(B) / pi(A(B)) is the smallest ratio over all coalitions.
  Mask best = 0;
  double best_stake = 0.0, best_profit = 0.0;
  const Mask end = Mask{1} << d.n;
  for (Mask b = 1; b < end; ++b) {
    double profit = 0.0;
    for (std::size_t s : paying)
      if (d.can_attack(s, b, 0)) profit += d.profit[s];
    if (profit <= 0.0) continue;
    const double stake = d.stake(b);
    if (best == 0 || stake * best_profit < best_stake * profit) {
      best = b;
      best_stake = stake;
      best_profit = profit;
    }
  }
  SecurityReport r;
  if (best == 0) return r;
  r.tightest.validators = members(best);
  r.tightest.stake = best_stake;
  for (std::size_t s = 0; s < d.m; ++s)
    if (d.can_attack(s, best, 0)) {
      r.tightest.services.push_back(s);
      r.tightest.profit += d.profit[s];
    }
  r.secure = !profitable(best_profit, best_stake);
  r.slack = best_stake / best_profit - 1.0;
  if (r.secure) r.slack = std::max(r.slack, 0.0);  // a rounded tie is a tie
  return r;
}

CascadeLoss worst_cascade_loss(const RestakingGraph& g, double psi, const ExactLimits& limits) {
  if (!(psi >= 0.0 && psi <= 1.0)) throw std::invalid_argument(fmt::format("psi must be in [0, 1], got {}", psi));
  const DenseGraph d = dense_for_exact_search(g, limits);
  if (d.n == 0) return CascadeLoss{psi, 0.0, 0.0, 0.0, {}, {}};
  return WorstCascadeSearch(d, psi, limits.max_steps).run();
}

Coalition largest_attack(const RestakingGraph& g) {
  // Only validators that secure a service can attack (B must lie in N(A)).
  std::vector<std::size_t> candidates;
  {
    std::vector<bool> secures(g.validators.size(), false);
    for (const auto& s : g.services)
      for (std::size_t v : s.validators) secures[v] = true;
    for (std::size_t v = 0; v < g.validators.size(); ++v)
      if (secures[v]) candidates.push_back(v);
  }
  if (candidates.size() > 16) throw GraphTooBig(fmt::format("{} validators secure services, more than 16", candidates.size()));
  std::vector<double> securing(g.services.size(), 0.0);
  for (std::size_t s = 0; s < g.services.size(); ++s)
    for (std::size_t v : g.services[s].validators) securing[s] += g.validators[v].stake;
  std::vector<std::size_t> local(g.validators.size(), 0);  // validator -> bit
  for (std::size_t k = 0; k < candidates.size(); ++k) local[candidates[k]] = k;

  Coalition best;
  const Mask all = (Mask{1} << candidates.size()) - 1;
  for (Mask b = 1; b <= all; ++b) {
    double stake = 0.0;
    for (std::size_t k = 0; k < candidates.size(); ++k)
      if (b >> k & 1) stake += g.validators[candidates[k]].stake;
    double profit = 0.0;
    Mask covered = 0;  // attackers that secure an attacked service
    std::vector<std::size_t> attacked;
    for (std::size_t s = 0; s < g.services.size(); ++s) {
      if (securing[s] <= 0.0) continue;
      double held = 0.0;
      Mask in_service = 0;
      for (std::size_t v : g.services[s].validators) {
        const Mask bit = Mask{1} << local[v];
        in_service |= bit;
        if (b & bit) held += g.validators[v].stake;
      }
      if (held >= g.services[s].threshold * securing[s] - kRelTol * securing[s]) {
        profit += g.services[s].profit;
        covered |= in_service;
        attacked.push_back(s);
      }
    }
    if ((b & ~covered) != 0 || !profitable(profit, stake) || stake <= best.stake) continue;
    best.stake = stake;
    best.profit = profit;
    best.services = attacked;
    best.validators.clear();
    for (std::size_t k = 0; k < candidates.size(); ++k)
      if (b >> k & 1) best.validators.push_back(candidates[k]);
  }
  return best;
}

}  // namespace restake
