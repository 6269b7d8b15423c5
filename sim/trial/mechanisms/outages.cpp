// Outages: an operator's validators offline for a while, with a share of the whole network
// beside them. Each offline validator pays the attestation and inactivity-leak penalties of
// chain/inactivity.hpp, and earns nothing while offline (the offline windows rewards.cpp reads).
#include <algorithm>
#include <cmath>

#include "chain/inactivity.hpp"
#include "trial/mechanisms.hpp"
#include "trial/trial.hpp"

namespace restake {

namespace {

// The last outage priced: the members of one outage share its course, and fixed durations and
// shares (stress tests) repeat it in every trial. A pure function of its key, so reuse across
// trials cannot make results depend on the thread.
struct OutagePriceCache {
  double network_share = -1.0;
  std::uint64_t epochs = 0;
  LeakCourse course;
  Gwei effective_balance = 0;  // of the last validator priced on `course` (0: none)
  double per_validator_gwei = 0.0;
};

class Outages final : public Mechanism {
 public:
  void begin(Trial& trial) override {
    if (trial.sampled_count(EventKind::Outage) == 0) return;  // most trials have none
    const Model& m = trial.model();
    const auto& ev = trial.sampled_events();
    loss_gwei_.assign(ev.size(), 0);
    for (const Event& e : ev) {
      if (e.kind != EventKind::Outage) continue;
      const std::uint64_t validators = trial.validators_hit(e);
      if (validators == 0) continue;
      // At most the operator's balance (< 1.9e19 Gwei), which penalise_validators caps it to anyway.
      loss_gwei_[e.seq] = static_cast<Gwei>(std::round(static_cast<double>(validators) * offline_gwei(m, e)));
      const double share = static_cast<double>(validators) / static_cast<double>(m.operators[e.entity].validators);
      trial.offline().push_back({e.entity, e.day, e.day + e.duration_days, share});
    }
  }
  void handle(const Event& e, Trial& trial) override {
    trial.penalise_validators(e.entity, loss_gwei_[e.seq], LossCause::Inactivity);
  }

 private:
  // Gwei an outage costs one validator of the event's operator that is offline through it.
  double offline_gwei(const Model& m, const Event& ev) {
    OutagePriceCache& c = cache_;
    const auto epochs = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(ev.duration_days * kEpochsPerDay)));
    const ConsensusParams& cp = m.ethereum.consensus;
    if (c.network_share != ev.network_share || c.epochs != epochs) {
      c.network_share = ev.network_share;
      c.epochs = epochs;
      c.course = leak_course(cp, ev.network_share, epochs);
      c.effective_balance = 0;
    }
    const Gwei eb = m.operators[ev.entity].effective_balance_gwei;
    if (c.effective_balance != eb) {
      c.effective_balance = eb;
      c.per_validator_gwei = offline_penalty(cp, c.course, eb).total();
    }
    return c.per_validator_gwei;
  }

  std::vector<Gwei> loss_gwei_;  // [sampled event]
  OutagePriceCache cache_;
};

class OutagesType final : public MechanismType {
 public:
  std::string_view name() const override { return "outages"; }
  std::vector<EventKind> handles() const override { return {EventKind::Outage}; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<Outages>(); }
};

}  // namespace

std::unique_ptr<const MechanismType> make_outages(const Model&, const World&) { return std::make_unique<OutagesType>(); }

}  // namespace restake
