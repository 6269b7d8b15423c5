// Beacon-chain slashing of operators' validators (operator faults and correlated group shocks):
// the initial and correlation penalties of the fork's consensus rules, in integer Gwei
// (chain/consensus.hpp), shared by every position on the slashed validators.
#include <algorithm>
#include <cmath>

#include "chain/consensus.hpp"
#include "trial/mechanisms.hpp"
#include "trial/trial.hpp"

namespace restake {

namespace {

class BeaconSlashing final : public Mechanism {
 public:
  void begin(Trial& trial) override {
    if (trial.sampled_count(EventKind::OperatorFault) > 0) price(trial);  // most trials have none
  }
  void handle(const Event& e, Trial& trial) override {
    trial.penalise_validators(e.entity, loss_gwei_[e.seq], LossCause::BeaconSlashing);
  }

 private:
  // Every slashing's penalty before any is applied: the correlation penalty of one slashing
  // depends on all slashings in its window, later ones too.
  void price(const Trial& trial) {
    const Model& m = trial.model();
    const auto& ev = trial.sampled_events();
    loss_gwei_.assign(ev.size(), 0);
    // Events are in time order, so the window around each slashing is a contiguous run of them:
    // prefix sums of slashed balance and a binary search on epochs find it in O(log n).
    epochs_.clear();
    prefix_.assign(1, 0);
    auto slashed = [&](const Event& e) { return e.kind == EventKind::OperatorFault ? trial.validators_hit(e) : 0; };
    for (const Event& e : ev) {
      if (slashed(e) == 0) continue;
      epochs_.push_back(static_cast<std::int64_t>(std::floor(e.day * kEpochsPerDay)));
      prefix_.push_back(prefix_.back() + slashed(e) * m.operators[e.entity].effective_balance_gwei);  // < T < 2^64
    }
    const ConsensusParams& cp = m.ethereum.consensus;
    const auto half = static_cast<std::int64_t>(cp.epochs_per_slashings_vector / 2);
    std::size_t k = 0;
    for (const Event& e : ev) {
      if (slashed(e) == 0) continue;
      // process_slashings runs at epoch + 4096 over slashings of epochs (epoch - 4096, epoch + 4096].
      const std::int64_t at = epochs_[k++];
      const auto lo = std::upper_bound(epochs_.begin(), epochs_.end(), at - half) - epochs_.begin();
      const auto hi = std::upper_bound(epochs_.begin(), epochs_.end(), at + half) - epochs_.begin();
      const Gwei window = prefix_[static_cast<std::size_t>(hi)] - prefix_[static_cast<std::size_t>(lo)];
      const Gwei eb = m.operators[e.entity].effective_balance_gwei;
      loss_gwei_[e.seq] = slashed(e) * slashing_penalty(cp, eb, window).total();
    }
  }

  std::vector<Gwei> loss_gwei_;  // [sampled event]
  std::vector<std::int64_t> epochs_;  // of each slashing, in time order
  std::vector<Gwei> prefix_;          // prefix sums of slashed effective balance
};

class BeaconSlashingType final : public MechanismType {
 public:
  std::string_view name() const override { return "beacon_slashing"; }
  std::vector<EventKind> handles() const override { return {EventKind::OperatorFault}; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<BeaconSlashing>(); }
};

}  // namespace

std::unique_ptr<const MechanismType> make_beacon_slashing(const Model&, const World&) {
  return std::make_unique<BeaconSlashingType>();
}

}  // namespace restake
