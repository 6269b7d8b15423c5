#include "trial/trial.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <stdexcept>

#include <fmt/format.h>

namespace restake {

namespace {

// The largest net loss within a window [day_j, day_j + kLossWindowDays) that starts at a loss, of
// one holder's losses in time order. Each window counts as summed afresh in booking order, as
// loss_fraction is, so a trial whose losses all fall in one window gives exactly its
// loss_fraction. A running sum over two pointers visits the windows in O(k) but rounds
// differently, so only the windows whose running sum is within that rounding of the largest are
// summed afresh (usually one): the same value as summing every window afresh.
template <class TimedLoss>
double largest_week_loss(std::span<const TimedLoss> x) {
  const std::size_t k = x.size();
  // Calls `each(j, running sum of window j)` for every window, in time order.
  const auto windows = [&](const auto& each) {
    double running = 0.0;
    for (std::size_t j = 0, end = 0; j < k; ++j) {
      if (end == j) running = 0.0;  // the last window held none of this one's: start afresh
      else running -= x[j - 1].net;
      for (; end < k && x[end].day - x[j].day < kLossWindowDays; ++end) running += x[end].net;
      each(j, running);
    }
  };
  double top = 0.0, total = 0.0;  // total: sum |net|, a bound on every partial sum
  for (const TimedLoss& l : x) total += std::abs(l.net);
  windows([&](std::size_t, double s) { top = std::max(top, s); });
  // A running sum takes at most 2k roundings, a sum afresh k, each within eps / 2 x total.
  const double slack = 4.0 * static_cast<double>(k) * std::numeric_limits<double>::epsilon() * total;
  double best = 0.0;
  windows([&](std::size_t j, double s) {
    if (s < top - 2.0 * slack) return;
    double sum = 0.0;
    for (std::size_t i = j; i < k && x[i].day - x[j].day < kLossWindowDays; ++i) sum += x[i].net;
    best = std::max(best, sum);
  });
  return best;
}

}  // namespace

Trial::Trial(const Model& m, const World& world, const MechanismTypes& types)
    : m_(m), w_(world), handler_of_kind_(kEventKindCount, static_cast<std::uint32_t>(-1)) {
  for (const auto& type : types) {
    const auto index = static_cast<std::uint32_t>(mechanisms_.size());
    mechanisms_.push_back(type->instance());
    Mechanism* mech = mechanisms_.back().get();
    for (EventKind k : type->handles()) {
      std::uint32_t& owner = handler_of_kind_[static_cast<std::size_t>(k)];
      if (owner != static_cast<std::uint32_t>(-1))
        throw std::logic_error(fmt::format("two mechanisms handle event kind {}; the second is {}", static_cast<int>(k), type->name()));
      owner = index;
    }
    const MechanismHooks hooks = type->hooks();
    if (hooks.before_change) change_hooks_.push_back(mech);
    if (hooks.allocation_change) allocation_hooks_.push_back(mech);
    if (hooks.on_loss) loss_hooks_.push_back(mech);
    if (hooks.end) end_hooks_.push_back(mech);
  }
  for (const Operator& o : m.operators)
    full_balance_.push_back({static_cast<double>(o.validators) * static_cast<double>(o.effective_balance_gwei), o.asset == Asset::Eth});
}

void Trial::run(const TrialDraws& draws, const TrialRecord& out) {
  begin(draws, out);
  while (!queue_.empty()) {
    const Event e = queue_.pop();
    now_ = e.day;
    const std::uint32_t mech = e.kind == EventKind::Scheduled ? e.handler : handler_of_kind_[static_cast<std::size_t>(e.kind)];
    if (mech >= mechanisms_.size())
      throw std::logic_error(fmt::format("no mechanism handles event kind {}", static_cast<int>(e.kind)));
    mechanisms_[mech]->handle(e, *this);
  }
  now_ = m_.simulation.horizon_days;
  for (Mechanism* mech : end_hooks_) mech->end(*this);
  write_record();
}

void Trial::schedule(Event e, const Mechanism& by) {
  if (e.day > m_.simulation.horizon_days) return;
  e.kind = EventKind::Scheduled;
  const auto it = std::find_if(mechanisms_.begin(), mechanisms_.end(), [&](const auto& p) { return p.get() == &by; });
  if (it == mechanisms_.end()) throw std::logic_error("an event scheduled by a mechanism not in this trial");
  e.handler = static_cast<std::uint32_t>(it - mechanisms_.begin());
  queue_.push(e);
}

void Trial::set_allocation(std::size_t slot, std::size_t member, double value) {
  for (Mechanism* mech : allocation_hooks_) mech->before_allocation_change(slot, member, value, *this);
  changed_ = true;
  allocation_[w_.slots[slot].first_alloc + member] = value;
}

void Trial::begin(const TrialDraws& draws, const TrialRecord& out) {
  draws_ = &draws;
  out_ = &out;
  now_ = 0.0;
  shocked_ = false;
  queue_.reset(draws.events);
  if (changed_) reset_balances();  // else the last trial left them as every trial starts
  changed_ = false;
  holder_rewards_.assign(m_.holders.size(), 0.0);
  timed_.clear();
  count_validators_hit();
  for (auto& mech : mechanisms_) mech->begin(*this);
}

// The balances and the holders' losses as every trial starts.
void Trial::reset_balances() {
  const std::size_t ops = m_.operators.size(), holders = m_.holders.size(), positions = w_.positions.size();
  remaining_validators_.resize(ops);
  op_balance_gwei_.resize(ops);
  for (std::size_t o = 0; o < ops; ++o) {
    remaining_validators_[o] = m_.operators[o].validators;
    op_balance_gwei_[o] = m_.operators[o].validators * m_.operators[o].effective_balance_gwei;
  }
  max_magnitude_.assign(w_.slots.size(), 1.0);
  allocation_.resize(w_.allocation_count);
  for (const auto& slot : w_.slots)
    std::copy(slot.allocation.begin(), slot.allocation.end(), allocation_.begin() + static_cast<std::ptrdiff_t>(slot.first_alloc));
  contract_factor_.assign(positions, 1.0);
  stake_left_.assign(positions, 1.0);
  leaving_.assign(positions, 0.0);
  beacon_restored_.assign(positions, 0.0);
  offline_.clear();
  gross_.assign(holders * kLossCauseCount, 0.0);
  covered_.assign(holders, 0.0);
  uncovered_.assign(holders, 0.0);
}

void Trial::count_validators_hit() {
  if (sampled_count(EventKind::OperatorFault) == 0 && sampled_count(EventKind::Outage) == 0) return;
  changed_ = true;  // remaining_validators_
  const auto& ev = queue_.sampled();
  validators_hit_.assign(ev.size(), 0);
  for (std::size_t e = 0; e < ev.size(); ++e) {
    if (ev[e].kind != EventKind::OperatorFault && ev[e].kind != EventKind::Outage) continue;
    std::uint64_t& left = remaining_validators_[ev[e].entity];
    if (left == 0 || ev[e].fraction <= 0.0) continue;
    // An incident hits at least one of the validators not slashed yet, and never slashes one
    // twice; an outage takes validators offline without removing them.
    const auto hit = static_cast<std::uint64_t>(std::llround(ev[e].fraction * static_cast<double>(left)));
    validators_hit_[e] = std::clamp<std::uint64_t>(hit, 1, left);
    if (ev[e].kind == EventKind::OperatorFault) left -= validators_hit_[e];
  }
}

void Trial::penalise_validators(std::size_t op, Gwei loss, LossCause cause) {
  if (loss == 0) return;
  shocked_ = changed_ = true;
  const Gwei before = op_balance_gwei_[op];
  loss = std::min(loss, before);
  // Each position owns its stake's share of the validators' balance: it loses that share of the
  // Gwei taken (not of its value, which may include coverage paid back beside the validators).
  const double drop = static_cast<double>(loss) / full_balance_[op].gwei;
  auto& lost = position_loss_;
  lost.clear();
  for (std::size_t i : w_.positions_of_op[op]) {
    touch(i);
    lost.push_back(w_.positions[i].stake * stake_left_[i] * drop * magnitude(i) * contract_factor_[i]);
  }
  op_balance_gwei_[op] = before - loss;
  std::size_t k = 0;
  for (std::size_t i : w_.positions_of_op[op]) book(i, cause, lost[k++], op);
}

void Trial::book(std::size_t i, LossCause cause, double amount, std::size_t origin_op, std::size_t contract) {
  if (amount <= 0.0) return;
  changed_ = true;
  const std::size_t h = w_.positions[i].holder;
  gross_[h * kLossCauseCount + static_cast<std::size_t>(cause)] += amount;
  Loss loss{i, h, cause, amount, origin_op, amount, contract};
  for (Mechanism* mech : loss_hooks_) mech->on_loss(loss, *this);
  // What nothing paid, summed as it is booked: exactly 0 when everything was covered.
  if (loss.uncovered > 0.0) {
    uncovered_[h] += loss.uncovered;
    timed_.push_back({static_cast<std::uint32_t>(h), now_, loss.uncovered});
  }
  if (out_->losses) {
    const double v0 = w_.holder_value[h];
    // The operator the holder chose for the position: the one it delegated to when restaked.
    const World::FlatPosition& p = w_.positions[i];
    const std::size_t op = p.slot == kNone ? p.op : w_.slots[p.slot].op;
    out_->losses->push_back({now_, static_cast<std::uint32_t>(h), static_cast<std::uint32_t>(op), cause, amount / v0,
                             std::max(loss.uncovered, 0.0) / v0});
  }
  const double paid = amount - std::max(loss.uncovered, 0.0);
  if (paid <= 0.0) return;
  const double per_beacon_unit = w_.positions[i].stake * stake_left_[i] * magnitude(i) * contract_factor_[i];
  if (cause == LossCause::BeaconSlashing || cause == LossCause::Inactivity) {
    // Paid back beside the penalised validators: exposed to later AVS and contract losses, but
    // not to later penalties of those validators (it is not in them).
    if (per_beacon_unit > 0.0) beacon_restored_[i] += paid / per_beacon_unit;
  } else {
    const double v = nav(i);
    // A position wiped out entirely cannot be scaled back up; its payout stays outside it.
    if (v > 0.0) contract_factor_[i] *= (v + paid) / v;
  }
}

void Trial::write_record() {
  const TrialRecord& out = *out_;
  for (std::size_t h = 0; h < m_.holders.size(); ++h) {
    const double v0 = w_.holder_value[h];
    for (std::size_t c = 0; c < kLossCauseCount; ++c)
      out.loss_by_cause[h * kLossCauseCount + c] = gross_[h * kLossCauseCount + c] / v0;
    const double net_loss = uncovered_[h];
    out.loss_fraction[h] = net_loss / v0;
    out.covered_fraction[h] = covered_[h] / v0;
    out.net_return[h] = ((1.0 - m_.holders[h].reward_fee) * holder_rewards_[h] - net_loss) / v0;
    out.first_loss_day[h] = std::nan("");
    out.loss_7d_max[h] = 0.0;
  }
  if (timed_.empty()) return;
  // Each holder's losses together, in time order within (booking follows the clock).
  std::stable_sort(timed_.begin(), timed_.end(), [](const TimedLoss& a, const TimedLoss& b) { return a.holder < b.holder; });
  for (std::size_t from = 0; from < timed_.size();) {
    const std::size_t h = timed_[from].holder;
    std::size_t to = from;
    while (to < timed_.size() && timed_[to].holder == h) ++to;
    out.first_loss_day[h] = timed_[from].day;
    out.loss_7d_max[h] = largest_week_loss(std::span<const TimedLoss>(timed_).subspan(from, to - from)) / w_.holder_value[h];
    from = to;
  }
}

}  // namespace restake
