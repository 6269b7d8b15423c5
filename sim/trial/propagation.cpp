#include "trial/propagation.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace restake {

std::vector<bool> reached_by_failure(const Model& m, std::size_t c) {
  // A failure travels from a contract to everything built on it: walk depends_on backwards.
  std::vector<bool> reached(m.contracts.size(), false);
  reached[c] = true;
  for (bool grew = true; grew;) {
    grew = false;
    for (std::size_t d = 0; d < m.contracts.size(); ++d) {
      if (reached[d]) continue;
      for (std::size_t dep : m.contracts[d].depends_on) {
        if (reached[dep]) {
          reached[d] = grew = true;
          break;
        }
      }
    }
  }
  return reached;
}

PropagationPlan make_propagation_plan(const Model& m) {
  PropagationPlan p;
  std::map<std::pair<std::size_t, std::size_t>, std::size_t> slot_index;  // (op, protocol) -> slot
  auto slot_for = [&](std::size_t op, std::size_t protocol) {
    auto [it, inserted] = slot_index.try_emplace({op, protocol}, p.slots.size());
    if (inserted) p.slots.push_back({op, protocol, m.protocols[protocol].mode, {}, {}, 0});
    return it->second;
  };

  p.slot_of_avs_member.resize(m.avs.size());
  p.index_in_slot.resize(m.avs.size());
  for (std::size_t a = 0; a < m.avs.size(); ++a) {
    for (const Allocation& al : m.avs[a].allocations) {
      const std::size_t s = slot_for(al.op, m.avs[a].protocol);
      p.slot_of_avs_member[a].push_back(s);
      p.index_in_slot[a].push_back(p.slots[s].avs.size());
      p.slots[s].avs.push_back(a);
      p.slots[s].allocation.push_back(al.magnitude);
    }
  }

  p.positions_of_op.resize(m.operators.size());
  p.holder_value.resize(m.holders.size());
  for (std::size_t h = 0; h < m.holders.size(); ++h) {
    p.holder_value[h] = m.holders[h].value();
    for (const Position& pos : m.holders[h].positions) {
      const std::size_t slot = pos.protocol == kNoProtocol ? kNone : slot_for(pos.op, pos.protocol);
      p.positions_of_op[pos.validator_op].push_back(p.positions.size());
      p.positions.push_back({h, pos.validator_op, slot, pos.stake});
    }
  }
  p.positions_of_slot.resize(p.slots.size());
  for (std::size_t i = 0; i < p.positions.size(); ++i)
    if (p.positions[i].slot != kNone) p.positions_of_slot[p.positions[i].slot].push_back(i);
  for (auto& s : p.slots) {
    s.first_alloc = p.allocation_count;
    p.allocation_count += s.avs.size();
  }

  // Contract reach, per position: held through a reached contract of the holder's own, or through
  // a protocol whose core contracts are reached -> the whole position; otherwise the holder's
  // bridged share on reached bridges (shares add when several are reached).
  p.reach_of_contract.resize(m.contracts.size());
  auto any_reached = [](const std::vector<std::size_t>& cs, const std::vector<bool>& reached) {
    return std::any_of(cs.begin(), cs.end(), [&](std::size_t x) { return reached[x]; });
  };
  for (std::size_t c = 0; c < m.contracts.size(); ++c) {
    const std::vector<bool> reached = reached_by_failure(m, c);
    std::size_t i = 0;  // flat position index, in holder then position order as built above
    for (std::size_t h = 0; h < m.holders.size(); ++h) {
      const Holder& holder = m.holders[h];
      const bool whole = any_reached(holder.contracts, reached);
      double bridged = 0.0;
      for (const BridgeExposure& b : holder.bridged)
        if (reached[b.contract]) bridged += b.share;
      for (const Position& pos : holder.positions) {
        const bool via_protocol = pos.protocol != kNoProtocol && any_reached(m.protocols[pos.protocol].contracts, reached);
        const double share = whole || via_protocol ? 1.0 : std::min(bridged, 1.0);
        if (share > 0.0) p.reach_of_contract[c].push_back({h, i, share});
        ++i;
      }
    }
  }

  p.slots_of_op.resize(m.operators.size());
  for (std::size_t s = 0; s < p.slots.size(); ++s) p.slots_of_op[p.slots[s].op].push_back(s);
  if (m.cascade_in_trials) {
    p.cascade_graph = make_restaking_graph(m);
    p.unshocked_attack = largest_attack(*p.cascade_graph);
  }

  p.pools_of_holder.resize(m.holders.size());
  for (std::size_t k = 0; k < m.coverage_pools.size(); ++k)
    for (std::size_t h : m.coverage_pools[k].holders) p.pools_of_holder[h].push_back(k);
  return p;
}

namespace {

// Integral over [0, t] days of the subsidised share of an AVS's reward rate (1 at t = 0).
double subsidy_integral(const RewardSchedule& r, double decay_days, double t) {
  switch (r.decay) {
    case SubsidyDecay::None: return t;
    case SubsidyDecay::Cliff: return std::min(t, decay_days);
    case SubsidyDecay::HalfLife: return decay_days / std::log(2.0) * (1.0 - std::exp2(-t / decay_days));
  }
  return t;
}

class TrialState {
 public:
  TrialState(const Model& m, const PropagationPlan& plan, const TrialDraws& draws, TrialWorkspace& s, const TrialRecord& out)
      : m_(m), plan_(plan), draws_(draws), s_(s), out_(out) {
    s_.remaining_validators.resize(m.operators.size());
    s_.op_balance_gwei.resize(m.operators.size());
    for (std::size_t o = 0; o < m.operators.size(); ++o) {
      s_.remaining_validators[o] = m.operators[o].validators;
      s_.op_balance_gwei[o] = m.operators[o].validators * m.operators[o].effective_balance_gwei;
    }
    s_.max_magnitude.assign(plan.slots.size(), 1.0);
    s_.allocation.resize(plan.allocation_count);
    for (const auto& slot : plan.slots)
      std::copy(slot.allocation.begin(), slot.allocation.end(), s_.allocation.begin() + static_cast<std::ptrdiff_t>(slot.first_alloc));
    s_.contract_factor.assign(plan.positions.size(), 1.0);
    s_.beacon_restored.assign(plan.positions.size(), 0.0);
    s_.rewards.assign(plan.positions.size(), 0.0);
    s_.accrued_until.assign(plan.positions.size(), 0.0);
    s_.subsidy_to_horizon.resize(m.avs.size());
    for (std::size_t a = 0; a < m.avs.size(); ++a)
      s_.subsidy_to_horizon[a] = subsidy_integral(m.avs[a].rewards, draws.subsidy_days[a], m.simulation.horizon_days);
    s_.gross.assign(m.holders.size() * kLossCauseCount, 0.0);
    s_.covered.assign(m.holders.size(), 0.0);
    s_.uncovered.assign(m.holders.size(), 0.0);
    s_.pool_left.resize(m.coverage_pools.size());
    for (std::size_t k = 0; k < m.coverage_pools.size(); ++k) s_.pool_left[k] = m.coverage_pools[k].balance;
    std::fill(out_.avs_stake_lost.begin(), out_.avs_stake_lost.end(), 0.0);
    std::fill(out_.pool_drawdown.begin(), out_.pool_drawdown.end(), 0.0);
  }

  void run() {
    s_.events.assign(draws_.events.begin(), draws_.events.end());
    std::stable_sort(s_.events.begin(), s_.events.end(), [](const Event& a, const Event& b) { return a.day < b.day; });
    price_beacon_penalties();
    for (std::size_t e = 0; e < s_.events.size(); ++e) {
      const Event& ev = s_.events[e];
      now_ = ev.day;
      switch (ev.kind) {
        case EventKind::OperatorFault: apply_beacon(ev.entity, s_.beacon_loss_gwei[e], LossCause::BeaconSlashing); break;
        case EventKind::Outage: apply_beacon(ev.entity, s_.beacon_loss_gwei[e], LossCause::Inactivity); break;
        case EventKind::AvsSlashing: apply_avs(ev.entity, ev.member, ev.fraction, LossCause::AvsSlashing); break;
        case EventKind::AvsFaultySlashing:
          for (std::size_t k = 0; k < m_.avs[ev.entity].allocations.size(); ++k)
            apply_avs(ev.entity, k, ev.fraction, LossCause::AvsFaultySlashing);
          break;
        case EventKind::ContractFailure: apply_contract(ev.entity, ev.fraction); break;
      }
    }
    now_ = m_.simulation.horizon_days;
    for (std::size_t i = 0; i < plan_.positions.size(); ++i) accrue(i);
    if (plan_.cascade_graph) attack_after_shock();
    write_record();
  }

 private:
  double value(std::size_t i) const {
    const auto& p = plan_.positions[i];
    return p.stake * (beacon_factor(p.op) + s_.beacon_restored[i]) * magnitude(i) * s_.contract_factor[i];
  }

  // Restaking: the operator's remaining maxMagnitude (1 for a position that is not restaked).
  double magnitude(std::size_t i) const {
    const std::size_t slot = plan_.positions[i].slot;
    return slot == kNone ? 1.0 : s_.max_magnitude[slot];
  }

  // The operator's validator balance as a share of its initial balance (1 for BTC operators).
  double beacon_factor(std::size_t op_index) const {
    const Operator& op = m_.operators[op_index];
    if (op.asset != Asset::Eth) return 1.0;
    return static_cast<double>(s_.op_balance_gwei[op_index]) /
           (static_cast<double>(op.validators) * static_cast<double>(op.effective_balance_gwei));
  }

  // Validators hit and Gwei lost by every operator fault and outage, before any loss is applied: the
  // correlation penalty of one slashing depends on all slashings in its window, later ones too.
  void price_beacon_penalties() {
    const auto& ev = s_.events;
    s_.slashed_validators.assign(ev.size(), 0);
    s_.beacon_loss_gwei.assign(ev.size(), 0);
    s_.offline.clear();
    for (std::size_t e = 0; e < ev.size(); ++e) {
      if (ev[e].kind != EventKind::OperatorFault && ev[e].kind != EventKind::Outage) continue;
      std::uint64_t& left = s_.remaining_validators[ev[e].entity];
      if (left == 0 || ev[e].fraction <= 0.0) continue;
      // An incident hits at least one of the validators not slashed yet, and never slashes one twice.
      const auto hit = static_cast<std::uint64_t>(std::llround(ev[e].fraction * static_cast<double>(left)));
      const std::uint64_t validators = std::clamp<std::uint64_t>(hit, 1, left);
      if (ev[e].kind == EventKind::Outage) {
        // At most the operator's balance (< 1.9e19 Gwei), which apply_beacon caps it to anyway.
        s_.beacon_loss_gwei[e] = static_cast<Gwei>(std::round(static_cast<double>(validators) * offline_gwei(ev[e])));
        const double share = static_cast<double>(validators) / static_cast<double>(m_.operators[ev[e].entity].validators);
        s_.offline.push_back({ev[e].entity, ev[e].day, ev[e].day + ev[e].duration_days, share});
        continue;
      }
      s_.slashed_validators[e] = validators;
      left -= validators;
    }
    // Events are in time order, so the window around each slashing is a contiguous run of them:
    // prefix sums of slashed balance and a binary search on epochs find it in O(log n).
    const ConsensusParams& cp = m_.ethereum.consensus;
    const auto half = static_cast<std::int64_t>(cp.epochs_per_slashings_vector / 2);
    auto& epochs = s_.beacon_epoch;
    auto& prefix = s_.beacon_prefix_gwei;
    epochs.clear();
    prefix.assign(1, 0);
    for (std::size_t e = 0; e < ev.size(); ++e) {
      if (s_.slashed_validators[e] == 0) continue;
      epochs.push_back(static_cast<std::int64_t>(std::floor(ev[e].day * kEpochsPerDay)));
      prefix.push_back(prefix.back() + s_.slashed_validators[e] * m_.operators[ev[e].entity].effective_balance_gwei);  // < T < 2^64
    }
    std::size_t k = 0;
    for (std::size_t e = 0; e < ev.size(); ++e) {
      if (s_.slashed_validators[e] == 0) continue;
      // process_slashings runs at epoch + 4096 over slashings of epochs (epoch - 4096, epoch + 4096].
      const std::int64_t at = epochs[k++];
      const auto lo = std::upper_bound(epochs.begin(), epochs.end(), at - half) - epochs.begin();
      const auto hi = std::upper_bound(epochs.begin(), epochs.end(), at + half) - epochs.begin();
      const Gwei window = prefix[static_cast<std::size_t>(hi)] - prefix[static_cast<std::size_t>(lo)];
      const Gwei eb = m_.operators[ev[e].entity].effective_balance_gwei;
      s_.beacon_loss_gwei[e] = s_.slashed_validators[e] * slashing_penalty(cp, eb, window).total();
    }
  }

  // Gwei an outage costs one validator of the event's operator that is offline through it.
  double offline_gwei(const Event& ev) {
    OutagePriceCache& c = s_.outage_price;
    const auto epochs = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(ev.duration_days * kEpochsPerDay)));
    const ConsensusParams& cp = m_.ethereum.consensus;
    if (c.network_share != ev.network_share || c.epochs != epochs) {
      c.network_share = ev.network_share;
      c.epochs = epochs;
      c.course = leak_course(cp, ev.network_share, epochs);
      c.effective_balance = 0;
    }
    const Gwei eb = m_.operators[ev.entity].effective_balance_gwei;
    if (c.effective_balance != eb) {
      c.effective_balance = eb;
      c.per_validator_gwei = offline_penalty(cp, c.course, eb).total();
    }
    return c.per_validator_gwei;
  }

  // Durvasula-Roughgarden inside a trial: the trial's slashings are the shock; on what they left,
  // the coalition of operators with the most stake that can now corrupt services for more than
  // that stake does, and loses all of it (cause cascade_attack). Applied at the horizon: the
  // model has no attack timing. Without slashing the answer is the unshocked one, computed once.
  void attack_after_shock() {
    const Coalition* attack = &plan_.unshocked_attack;
    Coalition shocked;
    if (shocked_) {
      RestakingGraph& g = s_.cascade_graph;
      g = *plan_.cascade_graph;
      for (std::size_t v = 0; v < g.validators.size(); ++v) {
        double magnitude = 1.0;  // the most-slashed of its restaking slots
        for (std::size_t slot : plan_.slots_of_op[v]) magnitude = std::min(magnitude, s_.max_magnitude[slot]);
        g.validators[v].stake *= beacon_factor(v) * magnitude;
      }
      shocked = largest_attack(g);
      attack = &shocked;
    }
    if (attack->validators.empty()) return;
    auto attacker = [&](std::size_t op) {
      return std::find(attack->validators.begin(), attack->validators.end(), op) != attack->validators.end();
    };
    for (std::size_t i = 0; i < plan_.positions.size(); ++i) {
      const auto& p = plan_.positions[i];
      const bool delegated_to_attacker = p.slot != kNone && attacker(plan_.slots[p.slot].op);
      if (!attacker(p.op) && !delegated_to_attacker) continue;
      const double amount = value(i);
      s_.contract_factor[i] = 0.0;
      book(i, LossCause::CascadeAttack, amount, p.slot != kNone ? plan_.slots[p.slot].op : p.op);
    }
  }

  // Beacon-chain penalties of `op`'s validators: slashings, or an outage's inactivity penalties.
  void apply_beacon(std::size_t op, Gwei loss, LossCause cause) {
    if (loss == 0) return;
    shocked_ = true;
    const Gwei before = s_.op_balance_gwei[op];
    loss = std::min(loss, before);
    // Each position owns its stake's share of the validators' balance: it loses that share of the
    // Gwei slashed (not of its value, which may include coverage paid back beside the validators).
    const Operator& o = m_.operators[op];
    const double drop = static_cast<double>(loss) / (static_cast<double>(o.validators) * static_cast<double>(o.effective_balance_gwei));
    auto& lost = s_.position_loss;
    lost.clear();
    for (std::size_t i : plan_.positions_of_op[op]) {
      accrue(i);
      lost.push_back(plan_.positions[i].stake * drop * magnitude(i) * s_.contract_factor[i]);
    }
    s_.op_balance_gwei[op] = before - loss;
    std::size_t k = 0;
    for (std::size_t i : plan_.positions_of_op[op]) book(i, cause, lost[k++], op);
  }

  // ELIP-002: a slash of f by an AVS removes f of the stake it can slash - its allocation in
  // unique mode, the operator's whole (remaining) stake in shared mode - from maxMagnitude.
  void apply_avs(std::size_t avs, std::size_t member, double f, LossCause cause) {
    const std::size_t s = plan_.slot_of_avs_member[avs][member];
    double& max_mag = s_.max_magnitude[s];
    if (max_mag <= 0.0 || f <= 0.0) return;
    shocked_ = true;
    for (std::size_t i : plan_.positions_of_slot[s]) accrue(i);  // value and reward weights change
    double removed = 0.0;
    if (plan_.slots[s].mode == SlashingMode::Unique) {
      double& alloc = s_.allocation[plan_.slots[s].first_alloc + plan_.index_in_slot[avs][member]];
      removed = f * alloc;
      alloc -= removed;
    } else {
      removed = f * max_mag;
    }
    // Allocations may sum to 1 within rounding: never take more than is there.
    const double share = std::min(removed / max_mag, 1.0);
    auto& lost = s_.position_loss;
    lost.clear();
    for (std::size_t i : plan_.positions_of_slot[s]) {
      lost.push_back(value(i) * share);
      out_.avs_stake_lost[avs] += lost.back();
    }
    max_mag = std::max(0.0, max_mag - removed);
    std::size_t k = 0;
    for (std::size_t i : plan_.positions_of_slot[s]) {
      const std::size_t h = plan_.positions[i].holder;
      out_.avs_holder_loss[avs * m_.holders.size() + h] += to_fixed(lost[k] / plan_.holder_value[h]);
      book(i, cause, lost[k++], plan_.slots[s].op);
    }
  }

  void apply_contract(std::size_t c, double loss_given_failure) {
    const LossCause cause = m_.contracts[c].kind == ContractKind::Bridge ? LossCause::Bridge : LossCause::Contract;
    for (const auto& r : plan_.reach_of_contract[c]) {
      const double share = r.share * loss_given_failure;
      accrue(r.position);
      const double amount = value(r.position) * share;
      s_.contract_factor[r.position] *= 1.0 - share;
      book(r.position, cause, amount, kNone);
    }
  }

  // Records a gross loss of position i, already taken from its value; coverage pools that cover
  // its holder and this cause (and the operator whose fault it is, for operator bonds; kNone for
  // contract losses) pay first, in order. What they pay goes back into the position - the holder's
  // balance is made whole and stays staked - so a covered loss has no knock-on effect on later ones.
  void book(std::size_t i, LossCause cause, double amount, std::size_t origin_op) {
    if (amount <= 0.0) return;
    const std::size_t h = plan_.positions[i].holder;
    const double before_pay = amount;
    s_.gross[h * kLossCauseCount + static_cast<std::size_t>(cause)] += amount;
    for (std::size_t k : plan_.pools_of_holder[h]) {
      const CoveragePool& pool = m_.coverage_pools[k];
      if (!pool.covers[static_cast<std::size_t>(cause)] || s_.pool_left[k] <= 0.0) continue;
      if (!pool.operators.empty() && std::find(pool.operators.begin(), pool.operators.end(), origin_op) == pool.operators.end())
        continue;
      const double pay = std::min(amount, s_.pool_left[k]);
      s_.pool_left[k] -= pay;
      out_.pool_drawdown[k] += pay;
      s_.covered[h] += pay;
      amount -= pay;
      if (amount <= 0.0) break;
    }
    // What no pool paid, summed as it is booked: exactly 0 when everything was covered.
    if (amount > 0.0) s_.uncovered[h] += amount;
    const double paid = before_pay - std::max(amount, 0.0);
    if (paid > 0.0) {
      const double per_beacon_unit = plan_.positions[i].stake * magnitude(i) * s_.contract_factor[i];
      if (cause == LossCause::BeaconSlashing || cause == LossCause::Inactivity) {
        // Paid back beside the penalised validators: exposed to later AVS and contract losses, but
        // not to later penalties of those validators (it is not in them).
        if (per_beacon_unit > 0.0) s_.beacon_restored[i] += paid / per_beacon_unit;
      } else {
        const double v = value(i);
        // A position wiped out entirely cannot be scaled back up; its payout stays outside it.
        if (v > 0.0) s_.contract_factor[i] *= (v + paid) / v;
      }
    }
  }

  // Validator-days of `op` offline within [t0, t1], per validator: each outage's overlap times the
  // share of its validators it took offline (at most the whole interval when outages overlap).
  double offline_days(std::size_t op, double t0, double t1) const {
    double days = 0.0;
    for (const OfflineWindow& w : s_.offline)
      if (w.op == op) days += std::max(0.0, std::min(t1, w.to) - std::max(t0, w.from)) * w.share;
    return std::min(days, t1 - t0);
  }

  // Subsidised-share integral of AVS a over [0, t] days; the full horizon is the common case
  // (a position untouched all trial) and is computed once per trial.
  double subsidy(std::size_t a, double t) const {
    if (t == 0.0) return 0.0;
    if (t == m_.simulation.horizon_days) return s_.subsidy_to_horizon[a];
    return subsidy_integral(m_.avs[a].rewards, draws_.subsidy_days[a], t);
  }

  // Base staking and AVS rewards on position i's value since it last changed, up to now. Called
  // before anything changes its value or reward weights, and once at the horizon.
  void accrue(std::size_t i) {
    const double t0 = s_.accrued_until[i], t1 = now_;
    if (t1 <= t0) return;
    s_.accrued_until[i] = t1;
    const auto& p = plan_.positions[i];
    // Base staking yield is Ethereum's; BTC time-locked on Bitcoin earns only what its services pay.
    // Validators offline in an outage earn nothing (neither attestations nor proposals).
    double rate_days = m_.operators[p.op].asset == Asset::Eth ? draws_.base_apr * (t1 - t0 - offline_days(p.op, t0, t1)) : 0.0;
    if (p.slot != kNone) {
      const auto& slot = plan_.slots[p.slot];
      const double max_mag = s_.max_magnitude[p.slot];
      for (std::size_t j = 0; j < slot.avs.size(); ++j) {
        // Unique mode pays on the allocated share of the stake; shared mode on all of it.
        const double w = slot.mode == SlashingMode::Shared
                             ? 1.0
                             : (max_mag > 0.0 ? s_.allocation[slot.first_alloc + j] / max_mag : 0.0);
        if (w == 0.0) continue;
        const std::size_t a = slot.avs[j];
        const RewardSchedule& r = m_.avs[a].rewards;
        rate_days += w * (r.floor_apr * (t1 - t0) + (r.initial_apr - r.floor_apr) * (subsidy(a, t1) - subsidy(a, t0)));
      }
    }
    s_.rewards[i] += value(i) * rate_days / kDaysPerYear;
  }

  void write_record() {
    const std::size_t holders = m_.holders.size();
    std::vector<double>& rewards = s_.holder_rewards;
    rewards.assign(holders, 0.0);
    for (std::size_t i = 0; i < plan_.positions.size(); ++i) rewards[plan_.positions[i].holder] += s_.rewards[i];
    for (std::size_t h = 0; h < holders; ++h) {
      const double v0 = plan_.holder_value[h];
      for (std::size_t c = 0; c < kLossCauseCount; ++c)
        out_.loss_by_cause[h * kLossCauseCount + c] = s_.gross[h * kLossCauseCount + c] / v0;
      const double net_loss = s_.uncovered[h];
      out_.loss_fraction[h] = net_loss / v0;
      out_.covered_fraction[h] = s_.covered[h] / v0;
      out_.net_return[h] = ((1.0 - m_.holders[h].reward_fee) * rewards[h] - net_loss) / v0;
    }
  }

  const Model& m_;
  const PropagationPlan& plan_;
  const TrialDraws& draws_;
  TrialWorkspace& s_;
  const TrialRecord& out_;
  double now_ = 0.0;      // day of the event being applied
  bool shocked_ = false;  // any stake lost to the beacon chain or AVSs in this trial (the cascade's shock)
};

}  // namespace

void propagate(const Model& m, const PropagationPlan& plan, const TrialDraws& draws, TrialWorkspace& scratch,
               const TrialRecord& out) {
  TrialState(m, plan, draws, scratch, out).run();
}

}  // namespace restake
