// AVS slashing through restaked stake (ELIP-002): a slash of f by an AVS removes f of the stake it
// can slash - its allocation in unique mode, the operator's whole (remaining) stake in shared mode -
// from the operator's maxMagnitude, for every position delegated to it through the AVS's protocol.
//
// In time (model.hpp, Protocol): a condition's slash is requested its delay after the fault and
// lapses past the protocol's slashing window; every slash executes the veto window after its
// request, and a faulty one may be cancelled until its funds are released. Key compromise
// (ELIP-006) drains token stake through redistribution: an AVS's stolen keys drain its members at
// once; an operator's stolen key first allocates its stake to the thief's own set, which takes
// effect after the allocation delay (and, for stake already allocated, a deallocation's escrow).
// An operator's own allocation changes ([[allocation_change]]) follow the same delays: a
// deallocation stays slashable until the escrow ends, an allocation waits for the allocation delay.
#include <algorithm>
#include <utility>

#include "trial/mechanisms.hpp"
#include "trial/trial.hpp"

namespace restake {

namespace {

// What a scheduled follow-up (Event::tag) does when it comes due.
enum class Step : std::uint32_t {
  Slash,                   // entity: AVS, member: allocation index
  Faulty,                  // entity: AVS; every member at once
  AvsDrain,                // entity: AVS; every member at once
  OperatorDrainFree,       // entity: slot; its unallocated stake (all of it in shared mode)
  OperatorDrainAllocated,  // entity: slot; its allocated stake (unique mode)
  ChangeRequest,           // entity: [[allocation_change]] entry
  ChangeEffect,            // entity: [[allocation_change]] entry
};

// The sum of slot's allocations in `alloc` (the trial's, or a split slot's token ones; flat, as
// Trial::allocation), in member order.
double sum_allocated(const std::vector<double>& alloc, const World::Slot& slot) {
  double sum = 0.0;
  for (std::size_t j = 0; j < slot.avs.size(); ++j) sum += alloc[slot.first_alloc + j];
  return sum;
}

// An [[allocation_change]]'s place in the world, derived once per run.
struct Change {
  std::size_t slot = 0, alloc = 0;     // its slot, and the allocation's index in the flat allocations
  FaultReach reach;                    // the operator's validators and this slot (after_fault)
};

class AvsSlashing final : public Mechanism {
 public:
  AvsSlashing(const std::vector<bool>& token, const std::vector<Change>& changes, const World& w)
      : world_(w), token_(token), changes_(changes), pending_(changes.size(), 0.0), decrease_(changes.size(), false), token_mag_(w.slots.size(), 1.0),
        token_alloc_(w.allocation_count, 0.0), split_(w.slots.size(), false) {}

  void begin(Trial& trial) override {
    const TrialRecord& out = trial.record();
    std::fill(out.avs_stake_lost.begin(), out.avs_stake_lost.end(), 0.0);
    for (std::size_t s : split_slots_) split_[s] = false;
    split_slots_.clear();
    for (std::size_t k = 0; k < changes_.size(); ++k) {
      Event e;
      e.day = departure_day(trial, trial.draws().allocation_change_days[k], trial.model().allocation_changes[k].after_fault,
                            changes_[k].reach);
      e.entity = k;
      e.tag = static_cast<std::uint32_t>(Step::ChangeRequest);
      trial.schedule(e, *this);  // past the horizon (or no fault, at infinity): never
    }
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
        if (p.cancels(e.cancel_days, p.veto_window_days)) return;  // vetoed or paused in time: it costs nothing
        at(e.day + p.veto_window_days, e, Step::Faulty, trial);
        return;
      }
      case EventKind::KeyCompromise:
        if (e.member == 0) {
          const Protocol& p = m.protocols[m.avs[e.entity].protocol];
          if (!p.cancels(e.cancel_days, p.veto_window_days)) at(e.day + p.veto_window_days, e, Step::AvsDrain, trial);
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
    const Model& m = trial.model();
    const World& w = trial.world();
    switch (step) {
      case Step::Slash: slash(trial, e.entity, e.member, e.fraction, LossCause::AvsSlashing); break;
      case Step::Faulty:
        for (std::size_t k = 0; k < m.avs[e.entity].allocations.size(); ++k)
          slash(trial, e.entity, k, e.fraction, LossCause::AvsFaultySlashing);
        break;
      case Step::AvsDrain:
        for (std::size_t k = 0; k < m.avs[e.entity].allocations.size(); ++k) {
          const std::size_t s = w.slot_of_avs_member[e.entity][k];
          drain(trial, s, e.fraction, e.entity, w.slots[s].first_alloc + w.index_in_slot[e.entity][k] + 1);
        }
        break;
      case Step::OperatorDrainFree: drain(trial, e.entity, e.fraction, kNone, kFree); break;
      case Step::OperatorDrainAllocated: drain(trial, e.entity, e.fraction, kNone, kAllocated); break;
      case Step::ChangeRequest: request_change(e, trial); break;
      case Step::ChangeEffect: change(e.entity, trial); break;
    }
  }

  // An [[allocation_change]] requested now: a decrease takes effect when the protocol's escrow
  // ends (slashable meanwhile), an increase after the operator's allocation delay. pending_ holds
  // the decrease as the ratio new / old allocation (slashes in between scale both), an increase
  // as the magnitude to add.
  void request_change(const Event& e, Trial& trial) {
    const Model& m = trial.model();
    const World& w = trial.world();
    const Change& c = changes_[e.entity];
    const double alloc = trial.allocation()[c.alloc];
    const double target = m.allocation_changes[e.entity].allocation * std::as_const(trial).max_magnitude()[c.slot];
    if (target == alloc) return;
    const bool decrease = target < alloc;
    pending_[e.entity] = decrease ? target / alloc : target - alloc;
    const double day = decrease ? out_of_reach(m.protocols[w.slots[c.slot].protocol].escrow_end(e.day), e.day)
                                : e.day + m.operators[w.slots[c.slot].op].allocation_delay_days;
    decrease_[e.entity] = decrease;
    at(day, e, Step::ChangeEffect, trial);
  }

  void change(std::size_t k, Trial& trial) {
    const World& w = trial.world();
    const Change& c = changes_[k];
    const World::Slot& slot = w.slots[c.slot];
    for (std::size_t i : w.positions_of_slot[c.slot]) trial.touch(i);  // reward weights change
    const auto free_of = [&](const std::vector<double>& alloc, double mag) { return std::max(0.0, mag - sum_allocated(alloc, slot)); };
    const std::vector<double>& alloc = std::as_const(trial).allocation();
    const std::size_t member = c.alloc - slot.first_alloc;
    if (decrease_[k]) {
      trial.set_allocation(c.slot, member, alloc[c.alloc] * pending_[k]);
      if (split_[c.slot]) token_alloc_[c.alloc] *= pending_[k];
    } else {
      // What was free at the request may since have been drained: never allocate more than is there.
      trial.set_allocation(c.slot, member, alloc[c.alloc] + std::min(pending_[k], free_of(alloc, std::as_const(trial).max_magnitude()[c.slot])));
      if (split_[c.slot]) token_alloc_[c.alloc] += std::min(pending_[k], free_of(token_alloc_, token_mag_[c.slot]));
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
      if (!p.redistribution) continue;
      // The thief sets the operator's ALLOCATION_DELAY to 0 if that is sooner (after the
      // configuration delay). Pausers who see the theft meanwhile have that long too.
      const double free = std::min(o.allocation_delay_days, p.allocation_configuration_days) + p.veto_window_days;
      Event x = e;
      x.entity = s;
      if (!p.cancels(e.cancel_days, free)) at(e.day + free, x, Step::OperatorDrainFree, trial);
      // Stake allocated to AVSs must be deallocated first: slashable by them, and out of the
      // thief's reach, until the escrow ends.
      const double allocated = p.escrow_end(e.day) - e.day + free;
      if (w.slots[s].mode == SlashingMode::Unique && !p.cancels(e.cancel_days, allocated))
        at(e.day + allocated, x, Step::OperatorDrainAllocated, trial);
    }
  }

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
      const std::size_t j = w.index_in_slot[avs][member];
      const double alloc = std::as_const(trial).allocation()[w.slots[s].first_alloc + j];
      removed = f * alloc;
      trial.set_allocation(s, j, alloc - removed);
    } else {
      removed = f * max_mag;
    }
    // Allocations may sum to 1 within rounding: never take more than is there.
    const double share = std::min(removed / max_mag, 1.0);
    // Token positions of a slot a drain has split off slash by their own magnitudes.
    const std::size_t a = w.slots[s].first_alloc + w.index_in_slot[avs][member];
    const double token_share = split_[s] ? take_token(s, f * token_alloc_[a], a + 1) : share;
    lost_.clear();
    for (std::size_t i : w.positions_of_slot[s]) {
      lost_.push_back(trial.nav(i) * (token_[i] ? token_share : share));
      out.avs_stake_lost[avs] += lost_.back();
    }
    max_mag = std::max(0.0, max_mag - removed);
    // The slot's magnitude fell by `share`; a token position's value must fall by `token_share`.
    if (token_share != share && share < 1.0)
      for (std::size_t i : w.positions_of_slot[s])
        if (token_[i]) trial.contract_factor()[i] *= (1.0 - token_share) / (1.0 - share);
    std::size_t k = 0;
    for (std::size_t i : w.positions_of_slot[s]) {
      const std::size_t h = w.positions[i].holder;
      out.avs_shares->push_back({static_cast<std::uint32_t>(avs), static_cast<std::uint32_t>(h), lost_[k] / w.holder_value[h]});
      trial.book(i, cause, lost_[k++], w.slots[s].op);
    }
  }

  // Drains f of the token stake of slot s that the thief reaches (`part`): an AVS's allocation for
  // its keys, or the unallocated (kFree) or allocated (kAllocated) stake for an operator's; all of
  // it in shared mode. `avs` (kNone: the
  // thief's own set) is charged with it. ELIP-006 redistributes token (ERC-20) stake only, and
  // EigenLayer keeps a maxMagnitude per strategy: the drain splits the slot's token magnitudes off
  // its native ones (which stay), and the drained value leaves the token positions.
  void drain(Trial& trial, std::size_t s, double f, std::size_t avs, std::size_t part) {
    const World& w = trial.world();
    const TrialRecord& out = trial.record();
    if (f <= 0.0) return;
    double share = f;  // shared mode: every set slashes the whole stake
    if (w.slots[s].mode == SlashingMode::Unique) {
      split(trial, s);
      const double allocated = sum_allocated(token_alloc_, w.slots[s]);
      const double reached = part == kFree ? std::max(0.0, token_mag_[s] - allocated) : part == kAllocated ? allocated : token_alloc_[part - 1];
      share = take_token(s, f * reached, part);
    }
    share = std::min(share, 1.0);
    if (share <= 0.0) return;
    for (std::size_t i : w.positions_of_slot[s]) {
      if (!token_[i]) continue;
      trial.mark_shocked();
      trial.touch(i);
      const double lost = trial.nav(i) * share;
      trial.contract_factor()[i] *= 1.0 - share;
      const std::size_t h = w.positions[i].holder;
      if (avs != kNone) {
        out.avs_stake_lost[avs] += lost;
        out.avs_shares->push_back({static_cast<std::uint32_t>(avs), static_cast<std::uint32_t>(h), lost / w.holder_value[h]});
      }
      trial.book(i, LossCause::KeyCompromise, lost, w.slots[s].op);
    }
  }

  // Gives unique-mode slot s token magnitudes of its own, equal to its native ones until now.
  void split(const Trial& trial, std::size_t s) {
    if (split_[s]) return;
    const World::Slot& slot = trial.world().slots[s];
    split_[s] = true;
    split_slots_.push_back(s);
    token_mag_[s] = trial.max_magnitude()[s];
    for (std::size_t j = 0; j < slot.avs.size(); ++j) token_alloc_[slot.first_alloc + j] = trial.allocation()[slot.first_alloc + j];
  }

  // Removes `removed` of split slot s's token magnitude: from one allocation (`part`), from every
  // allocation in proportion (kAllocated) or from the unallocated stake (kFree). Returns the share
  // of the token stake's value it was.
  double take_token(std::size_t s, double removed, std::size_t part) {
    double& mag = token_mag_[s];
    if (mag <= 0.0 || removed <= 0.0) return 0.0;
    const World::Slot& slot = world_.slots[s];
    if (part == kAllocated) {
      const double allocated = sum_allocated(token_alloc_, slot);
      if (allocated > 0.0)
        for (std::size_t j = 0; j < slot.avs.size(); ++j) token_alloc_[slot.first_alloc + j] -= removed * token_alloc_[slot.first_alloc + j] / allocated;
    } else if (part != kFree) {
      token_alloc_[part - 1] -= removed;
    }
    const double share = std::min(removed / mag, 1.0);
    mag = std::max(0.0, mag - removed);
    return share;
  }

  // What a drain reaches (`part`): the unallocated stake, all allocations, or one allocation, given
  // as its index in the flat allocations + 1.
  static constexpr std::size_t kFree = 0, kAllocated = static_cast<std::size_t>(-1);

  const World& world_;
  const std::vector<bool>& token_;  // [position] restaked as a token (an LST), not as native ETH
  const std::vector<Change>& changes_;
  std::vector<double> pending_;     // [change] requested: new / old allocation (a decrease) or the magnitude to add
  std::vector<bool> decrease_;      // [change]
  std::vector<double> lost_;        // per position of the slot being slashed
  // Unique-mode slots a drain split this trial: their token strategy's maxMagnitude and
  // allocations (flat, as Trial::allocation), apart from the native ones from the drain on.
  std::vector<double> token_mag_, token_alloc_;
  std::vector<bool> split_;
  std::vector<std::size_t> split_slots_;
};

class AvsSlashingType final : public MechanismType {
 public:
  AvsSlashingType(const Model& m, const World& w) : world_(w), token_(w.positions.size(), false) {
    for (const AllocationChange& ac : m.allocation_changes) {
      Change c;
      c.slot = w.slot_of_avs_member[ac.avs][ac.member];
      c.alloc = w.slots[c.slot].first_alloc + w.index_in_slot[ac.avs][ac.member];
      c.reach.validators_of.assign(m.operators.size(), false);
      c.reach.validators_of[w.slots[c.slot].op] = true;
      c.reach.slots.assign(w.slots.size(), false);
      c.reach.slots[c.slot] = true;
      changes_.push_back(std::move(c));
    }
    // Token stake: its validators are not those of the operator it is delegated to (stETH
    // restaked with an EigenLayer operator); native stake sits in the operator's own validators.
    for (std::size_t i = 0; i < w.positions.size(); ++i)
      token_[i] = w.positions[i].slot != kNone && w.positions[i].op != w.slots[w.positions[i].slot].op;
  }
  std::string_view name() const override { return "avs_slashing"; }
  std::vector<EventKind> handles() const override {
    return {EventKind::AvsSlashing, EventKind::AvsFaultySlashing, EventKind::KeyCompromise};
  }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<AvsSlashing>(token_, changes_, world_); }

 private:
  const World& world_;
  std::vector<bool> token_;
  std::vector<Change> changes_;
};

}  // namespace

std::unique_ptr<const MechanismType> make_avs_slashing(const Model& m, const World& w) {
  return std::make_unique<AvsSlashingType>(m, w);
}

}  // namespace restake
