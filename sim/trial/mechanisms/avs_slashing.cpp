// AVS slashing through restaked stake (ELIP-002): a slash of f by an AVS removes f of the stake it
// can slash - its allocation in unique mode, the operator's whole (remaining) stake in shared mode -
// from the operator's maxMagnitude, for every position delegated to it through the AVS's protocol.
#include <algorithm>

#include "trial/mechanisms.hpp"
#include "trial/trial.hpp"

namespace restake {

namespace {

class AvsSlashing final : public Mechanism {
 public:
  void begin(Trial& trial) override {
    const TrialRecord& out = trial.record();
    std::fill(out.avs_stake_lost.begin(), out.avs_stake_lost.end(), 0.0);
  }
  void handle(const Event& e, Trial& trial) override {
    if (e.kind == EventKind::AvsSlashing) {
      slash(trial, e.entity, e.member, e.fraction, LossCause::AvsSlashing);
    } else {  // a faulty slashing: every operator of the AVS at once
      for (std::size_t k = 0; k < trial.model().avs[e.entity].allocations.size(); ++k)
        slash(trial, e.entity, k, e.fraction, LossCause::AvsFaultySlashing);
    }
  }

 private:
  void slash(Trial& trial, std::size_t avs, std::size_t member, double f, LossCause cause) {
    const World& w = trial.world();
    const TrialRecord& out = trial.record();
    const std::size_t s = w.slot_of_avs_member[avs][member];
    double& max_mag = trial.max_magnitude()[s];
    if (max_mag <= 0.0 || f <= 0.0) return;
    trial.mark_shocked();
    for (std::size_t i : w.positions_of_slot[s]) trial.touch(i);  // value and reward weights change
    double removed = 0.0;
    if (w.slots[s].mode == SlashingMode::Unique) {
      double& alloc = trial.allocation()[w.slots[s].first_alloc + w.index_in_slot[avs][member]];
      removed = f * alloc;
      alloc -= removed;
    } else {
      removed = f * max_mag;
    }
    // Allocations may sum to 1 within rounding: never take more than is there.
    const double share = std::min(removed / max_mag, 1.0);
    lost_.clear();
    for (std::size_t i : w.positions_of_slot[s]) {
      lost_.push_back(trial.nav(i) * share);
      out.avs_stake_lost[avs] += lost_.back();
    }
    max_mag = std::max(0.0, max_mag - removed);
    std::size_t k = 0;
    for (std::size_t i : w.positions_of_slot[s]) {
      const std::size_t h = w.positions[i].holder;
      out.avs_shares->push_back({static_cast<std::uint32_t>(avs), static_cast<std::uint32_t>(h), lost_[k] / w.holder_value[h]});
      trial.book(i, cause, lost_[k++], w.slots[s].op);
    }
  }

  std::vector<double> lost_;  // per position of the slot being slashed
};

class AvsSlashingType final : public MechanismType {
 public:
  std::string_view name() const override { return "avs_slashing"; }
  std::vector<EventKind> handles() const override { return {EventKind::AvsSlashing, EventKind::AvsFaultySlashing}; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<AvsSlashing>(); }
};

}  // namespace

std::unique_ptr<const MechanismType> make_avs_slashing(const Model&, const World&) {
  return std::make_unique<AvsSlashingType>();
}

}  // namespace restake
