#pragma once
// Cryptoeconomic cascades in a restaking network: the model of Durvasula & Roughgarden, "Robust
// Restaking Networks" (ITCS 2025), restated in domain.md section 4 and docs/cascade.md.
//
// A bipartite graph of services s (profit from corruption pi_s >= 0, threshold alpha_s in (0, 1])
// and validators v (stake sigma_v > 0). Validators B can attack services A when, for every s in A,
// B holds at least alpha_s of the stake securing s; the attack is valid when pi(A) > sigma(B) and
// every attacker secures one of the attacked services (B within N(A): a service can only slash
// its own validators). The exact searches enumerate validator subsets (2^n): they refuse graphs
// larger than ExactLimits with GraphTooBig. The per-validator condition is linear and works on
// any size.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace restake {

struct CascadeService {
  std::string name;
  double profit = 0.0;                  // pi_s: what corrupting the service is worth
  double threshold = 1.0;               // alpha_s: share of its securing stake that corruption needs
  std::vector<std::size_t> validators;  // N(s): indices into RestakingGraph::validators
};

struct CascadeValidator {
  std::string name;
  double stake = 0.0;  // sigma_v
};

struct RestakingGraph {
  std::vector<CascadeService> services;
  std::vector<CascadeValidator> validators;
  std::size_t edge_count() const;
  double total_stake() const;  // sigma(V), every validator, whether it secures a service or not
};

// Throws std::invalid_argument unless: stakes finite and > 0, profits finite and >= 0,
// thresholds in (0, 1], every service secured by at least one validator, no edge twice.
void check_graph(const RestakingGraph& g);

// Services = the model's AVSs (pi = corruption_profit, alpha = attack_threshold), validators =
// its operators (sigma = stake(), in units of their asset), an edge per operator securing an AVS. Paper semantics: an
// operator's whole stake counts for every service it secures, whatever the protocol's slashing mode.
RestakingGraph make_restaking_graph(const Model& m);

// Sizes the exact searches accept. Their time grows as 2^validators (see docs/cascade.md); the
// worst-case loss also searches shocks within each lost set and stops after max_steps (one step per
// lost set or shock examined, about 0.1 microsecond each on 20 services), so no call runs for ever.
struct ExactLimits {
  std::size_t max_validators = 20;
  std::size_t max_services = 64;
  std::uint64_t max_steps = 1'000'000'000;
};
inline constexpr std::size_t kExactValidatorsCap = 26;  // no ExactLimits may go beyond these
inline constexpr std::size_t kExactServicesCap = 64;

// Thrown by the exact searches on a graph above the limits, or when the step budget runs out.
struct GraphTooBig : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Why the exact searches would refuse this graph (sizes and limits), or nothing when they accept it.
std::optional<std::string> exact_search_refusal(const RestakingGraph& g, const ExactLimits& limits);

// Services A attacked by validators B.
struct Coalition {
  std::vector<std::size_t> services;
  std::vector<std::size_t> validators;
  double profit = 0.0;  // pi(A)
  double stake = 0.0;   // sigma(B)
};

// Security and slack. slack is gamma*: the largest gamma such that every coalition that can attack
// has (1 + gamma) pi(A) <= sigma(B), i.e. min sigma(B) / pi(A) - 1. It is +infinity when no
// coalition can attack a service with pi > 0; negative exactly when the network is insecure.
struct SecurityReport {
  bool secure = true;  // no valid attack
  double slack = std::numeric_limits<double>::infinity();
  Coalition tightest;  // a coalition with the smallest sigma(B) / pi(A); empty when slack is infinite
};
SecurityReport analyze_security(const RestakingGraph& g, const ExactLimits& limits = {});

// The per-validator sufficient condition (EigenLayer whitepaper; domain.md section 4): for every v,
// sum over its services s of (sigma_v / sigma(N(s))) (1 + gamma) pi_s / alpha_s <= sigma_v.
// It implies security with gamma-slack, so largest_gamma <= slack. Linear in the edges.
struct SufficientCondition {
  double gamma = 0.0;  // the slack it was checked at
  bool holds = true;
  double largest_gamma = std::numeric_limits<double>::infinity();  // can be negative: fails even at 0
  std::optional<std::size_t> binding_validator;  // the validator that sets largest_gamma
};
SufficientCondition per_validator_condition(const RestakingGraph& g, double gamma);

// Worst-case cascade after a shock of at most psi of all stake. loss_share is R_psi: the largest
// share of all stake lost, shock included, over every shock D with sigma(D) <= psi sigma(V) and
// every cascade of valid attacks on what is left. A cascade's attacks together form one valid
// attack on the shocked graph (see cascade.cpp), so the worst case is reported as the shock and
// that one attack.
struct CascadeLoss {
  double psi = 0.0;
  double loss_share = 0.0;    // R_psi = shock_share + attack_share
  double shock_share = 0.0;   // sigma(D) / sigma(V)
  double attack_share = 0.0;  // sigma(B) / sigma(V)
  std::vector<std::size_t> shock;  // D
  Coalition attack;                // empty when no attack follows the worst shock
};
CascadeLoss worst_cascade_loss(const RestakingGraph& g, double psi, const ExactLimits& limits = {});

// The valid attack with the most stake on this graph as it stands (no further shock): the
// coalition B of validators securing some service, with every service it can attack A, B within
// N(A) and pi(A) > sigma(B). Empty when the graph is secure. Used inside Monte Carlo trials, where
// slashings have already shrunk the stakes; at most 16 validators securing services (2^16 sets).
Coalition largest_attack(const RestakingGraph& g);

// Theorem 1: secure with gamma-slack (gamma > 0) => R_psi < (1 + 1/gamma) psi. +infinity for gamma <= 0.
double theorem1_bound(double psi, double gamma);

}  // namespace restake
