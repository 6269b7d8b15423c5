// Durvasula-Roughgarden attacks inside trials ([cascade] in_trials): the trial's slashings are the
// shock; on what they left, the coalition of operators with the most stake that can now corrupt
// services for more than that stake does, and loses all of it (cause cascade_attack). Applied at
// the horizon: the model has no attack timing.
#include <algorithm>

#include "security/cascade.hpp"
#include "trial/mechanisms.hpp"
#include "trial/trial.hpp"

namespace restake {

namespace {

class CascadeAttacksType;

class CascadeAttacks final : public Mechanism {
 public:
  explicit CascadeAttacks(const CascadeAttacksType& type) : type_(type) {}
  void end(Trial& trial) override;

 private:
  const CascadeAttacksType& type_;
  RestakingGraph graph_;  // the run's graph with this trial's remaining stakes
};

class CascadeAttacksType final : public MechanismType {
 public:
  // Without slashing the answer is the unshocked one: computed once per run.
  explicit CascadeAttacksType(const Model& m) : graph(make_restaking_graph(m)), unshocked(largest_attack(graph)) {}
  std::string_view name() const override { return "cascade_attacks"; }
  MechanismHooks hooks() const override { return {.end = true}; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<CascadeAttacks>(*this); }

  RestakingGraph graph;
  Coalition unshocked;
};

void CascadeAttacks::end(Trial& trial) {
  const World& w = trial.world();
  const Coalition* attack = &type_.unshocked;
  Coalition shocked;
  if (trial.shocked()) {
    RestakingGraph& g = graph_;
    g = type_.graph;
    for (std::size_t v = 0; v < g.validators.size(); ++v) {
      double magnitude = 1.0;  // the most-slashed of its restaking slots
      for (std::size_t slot : w.slots_of_op[v]) magnitude = std::min(magnitude, trial.max_magnitude()[slot]);
      g.validators[v].stake *= trial.beacon_factor(v) * magnitude;
    }
    shocked = largest_attack(g);
    attack = &shocked;
  }
  if (attack->validators.empty()) return;
  auto attacker = [&](std::size_t op) {
    return std::find(attack->validators.begin(), attack->validators.end(), op) != attack->validators.end();
  };
  for (std::size_t i = 0; i < w.positions.size(); ++i) {
    const auto& p = w.positions[i];
    const bool delegated_to_attacker = p.slot != kNone && attacker(w.slots[p.slot].op);
    if (!attacker(p.op) && !delegated_to_attacker) continue;
    const double amount = trial.nav(i);
    trial.contract_factor()[i] = 0.0;
    trial.book(i, LossCause::CascadeAttack, amount, p.slot != kNone ? w.slots[p.slot].op : p.op);
  }
}

}  // namespace

std::unique_ptr<const MechanismType> make_cascade_attacks(const Model& m, const World&) {
  if (!m.cascade_in_trials) return nullptr;
  return std::make_unique<CascadeAttacksType>(m);
}

}  // namespace restake
