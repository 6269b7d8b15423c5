// AVS slashing through restaked stake (ELIP-002): a slash of f by an AVS removes f of the stake it
// can slash - its allocation in unique mode, the operator's whole (remaining) stake in shared mode -
// from the operator's maxMagnitude, for every position delegated to it through the AVS's protocol.
//
// In time (model.hpp, Protocol): a condition's slash is requested its delay after the fault and
// lapses past the protocol's slashing window; every slash executes the veto window after its
// request, and a faulty one may be cancelled meanwhile. Key compromise (ELIP-006) drains stake
// through redistribution: an AVS's stolen keys drain its members at once; an operator's stolen key
// first allocates its stake to the thief's own set, which takes effect after the allocation delay
// (and, for stake already allocated, a deallocation's escrow first).
#include <algorithm>

#include "trial/mechanisms.hpp"
#include "trial/trial.hpp"

namespace restake {

namespace {

// What a scheduled follow-up (Event::tag) does when it comes due.
enum class Step : std::uint32_t {
  Slash,               // entity: AVS, member: allocation index
  Faulty,              // entity: AVS; every member at once
  AvsDrain,            // entity: AVS; every member at once, as key compromise
  OperatorDrainFree,   // entity: slot; its unallocated stake (all of it in shared mode)
  OperatorDrainAllocated,  // entity: slot; its allocated stake (unique mode)
};

class AvsSlashing final : public Mechanism {
 public:
  void begin(Trial& trial) override {
    const TrialRecord& out = trial.record();
    std::fill(out.avs_stake_lost.begin(), out.avs_stake_lost.end(), 0.0);
  }

  void handle(const Event& e, Trial& trial) override {
    const Model& m = trial.model();
    switch (e.kind) {
      case EventKind::AvsSlashing: {
        const Protocol& p = m.protocols[m.avs[e.entity].protocol];
        if (e.delay_days > p.slashing_window_days) return;  // requested too late: the fault goes unpunished
        at(e.day + e.delay_days + p.veto_window_days, e, Step::Slash, trial);
        return;
      }
      case EventKind::AvsFaultySlashing: {
        const Protocol& p = m.protocols[m.avs[e.entity].protocol];
        if (p.cancels(e.cancel_days)) return;  // vetoed or paused in time: it costs nothing
        at(e.day + p.veto_window_days, e, Step::Faulty, trial);
        return;
      }
      case EventKind::KeyCompromise:
        if (e.member == 0) {
          const Protocol& p = m.protocols[m.avs[e.entity].protocol];
          if (!p.cancels(e.cancel_days)) at(e.day + p.veto_window_days, e, Step::AvsDrain, trial);
        } else {
          steal_operator(e, trial);
        }
        return;
      case EventKind::Scheduled: run(e, static_cast<Step>(e.tag), trial); return;
      default: return;
    }
  }

 private:
  // Runs `step` on `day`: now (no window delays it: the event's own moment, as before windows
  // existed), or as a follow-up.
  void at(double day, const Event& e, Step step, Trial& trial) {
    if (day == trial.now()) return run(e, step, trial);
    Event later = e;
    later.day = day;
    later.tag = static_cast<std::uint32_t>(step);
    trial.schedule(later, *this);
  }

  void run(const Event& e, Step step, Trial& trial) {
    switch (step) {
      case Step::Slash: slash(trial, e.entity, e.member, e.fraction, LossCause::AvsSlashing); break;
      case Step::Faulty:
      case Step::AvsDrain: {
        const LossCause cause = step == Step::Faulty ? LossCause::AvsFaultySlashing : LossCause::KeyCompromise;
        for (std::size_t k = 0; k < trial.model().avs[e.entity].allocations.size(); ++k) slash(trial, e.entity, k, e.fraction, cause);
        break;
      }
      case Step::OperatorDrainFree:
      case Step::OperatorDrainAllocated: drain_slot(trial, e.entity, e.fraction, step == Step::OperatorDrainFree); break;
    }
  }

  // An operator's stolen key: in each protocol that lets operator sets redistribute, the thief
  // allocates the operator's stake to a set of its own and drains it, unless a pause stops it.
  void steal_operator(const Event& e, Trial& trial) {
    const Model& m = trial.model();
    const World& w = trial.world();
    const Operator& o = m.operators[e.entity];
    for (std::size_t s : w.slots_of_op[e.entity]) {
      const Protocol& p = m.protocols[w.slots[s].protocol];
      if (!p.redistribution || p.cancels(e.cancel_days)) continue;
      // The thief sets the operator's ALLOCATION_DELAY to 0 if that is sooner (after the
      // configuration delay).
      const double delay = std::min(o.allocation_delay_days, p.allocation_configuration_days) + p.veto_window_days;
      Event x = e;
      x.entity = s;
      at(e.day + delay, x, Step::OperatorDrainFree, trial);
      // Stake allocated to AVSs must be deallocated first: slashable by them, and out of the
      // thief's reach, until the escrow ends.
      if (w.slots[s].mode == SlashingMode::Unique) at(p.escrow_end(e.day) + delay, x, Step::OperatorDrainAllocated, trial);
    }
  }

  void slash(Trial& trial, std::size_t avs, std::size_t member, double f, LossCause cause) {
    const World& w = trial.world();
    const std::size_t s = w.slot_of_avs_member[avs][member];
    const double max_mag = trial.max_magnitude()[s];
    if (max_mag <= 0.0 || f <= 0.0) return;
    take(trial, s, cause, avs, [&](double mag) {
      if (w.slots[s].mode == SlashingMode::Shared) return f * mag;
      double& alloc = trial.allocation()[w.slots[s].first_alloc + w.index_in_slot[avs][member]];
      const double removed = f * alloc;
      alloc -= removed;
      return removed;
    });
  }

  // Drains f of slot s's unallocated stake (`free`; all of it in shared mode) or of every
  // allocation in it.
  void drain_slot(Trial& trial, std::size_t s, double f, bool free) {
    const World& w = trial.world();
    const World::Slot& slot = w.slots[s];
    if (trial.max_magnitude()[s] <= 0.0 || f <= 0.0) return;
    take(trial, s, LossCause::KeyCompromise, kNone, [&](double mag) {
      if (slot.mode == SlashingMode::Shared) return f * mag;
      auto alloc = trial.allocation().begin() + static_cast<std::ptrdiff_t>(slot.first_alloc);
      double allocated = 0.0;
      for (std::size_t j = 0; j < slot.avs.size(); ++j) allocated += alloc[static_cast<std::ptrdiff_t>(j)];
      if (free) return f * std::max(0.0, mag - allocated);
      for (std::size_t j = 0; j < slot.avs.size(); ++j) alloc[static_cast<std::ptrdiff_t>(j)] -= f * alloc[static_cast<std::ptrdiff_t>(j)];
      return f * allocated;
    });
  }

  // Removes `remove(maxMagnitude)` of slot s's maxMagnitude (`remove` updates the allocations it
  // takes from) for every position delegated through it, booking the loss as `cause`; `avs`
  // (kNone: none) is the AVS that slashed.
  template <class Remove>
  void take(Trial& trial, std::size_t s, LossCause cause, std::size_t avs, Remove remove) {
    const World& w = trial.world();
    const TrialRecord& out = trial.record();
    double& max_mag = trial.max_magnitude()[s];
    trial.mark_shocked();
    for (std::size_t i : w.positions_of_slot[s]) trial.touch(i);  // value and reward weights change
    const double removed = remove(max_mag);
    // Allocations may sum to 1 within rounding: never take more than is there.
    const double share = std::min(removed / max_mag, 1.0);
    lost_.clear();
    for (std::size_t i : w.positions_of_slot[s]) {
      lost_.push_back(trial.nav(i) * share);
      if (avs != kNone) out.avs_stake_lost[avs] += lost_.back();
    }
    max_mag = std::max(0.0, max_mag - removed);
    std::size_t k = 0;
    for (std::size_t i : w.positions_of_slot[s]) {
      const std::size_t h = w.positions[i].holder;
      if (avs != kNone)
        out.avs_shares->push_back({static_cast<std::uint32_t>(avs), static_cast<std::uint32_t>(h), lost_[k] / w.holder_value[h]});
      trial.book(i, cause, lost_[k++], w.slots[s].op);
    }
  }

  std::vector<double> lost_;  // per position of the slot being slashed
};

class AvsSlashingType final : public MechanismType {
 public:
  std::string_view name() const override { return "avs_slashing"; }
  std::vector<EventKind> handles() const override {
    return {EventKind::AvsSlashing, EventKind::AvsFaultySlashing, EventKind::KeyCompromise};
  }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<AvsSlashing>(); }
};

}  // namespace

std::unique_ptr<const MechanismType> make_avs_slashing(const Model&, const World&) {
  return std::make_unique<AvsSlashingType>();
}

}  // namespace restake
