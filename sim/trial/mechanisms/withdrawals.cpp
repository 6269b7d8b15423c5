// Withdrawals ([[withdrawal]], model.hpp): a holder redeems a share of its balance. The stake
// leaving stays in its positions - bearing every loss, earning nothing - until the withdrawal
// completes: at the end of its protocol's escrow (a restaked position) and, given an exit queue,
// once its validators have passed the beacon chain's exit churn, whichever is later. Then it is
// out: later losses no longer reach it. A withdrawal is not a loss.
#include <algorithm>

#include "chain/consensus.hpp"
#include "chain/inactivity.hpp"
#include "trial/mechanisms.hpp"
#include "trial/trial.hpp"

namespace restake {

namespace {

enum class Step : std::uint32_t { Request, Complete };

// A [[withdrawal]] entry's reach, derived once per run.
struct Entry {
  std::vector<std::size_t> positions;  // the holder's
  FaultReach reach;                    // its positions' validators and slots (after_fault)
};

class Withdrawals final : public Mechanism {
 public:
  explicit Withdrawals(const std::vector<Entry>& entries) : entries_(entries), units_(entries.size()), end_(entries.size()) {}

  void begin(Trial& trial) override {
    const Model& m = trial.model();
    for (std::size_t k = 0; k < entries_.size(); ++k) {
      Event e;
      e.day = departure_day(trial, trial.draws().withdrawals[k].day, m.withdrawals[k].after_fault, entries_[k].reach);
      e.entity = k;
      e.tag = static_cast<std::uint32_t>(Step::Request);
      trial.schedule(e, *this);  // past the horizon (or no fault, at infinity): never
    }
  }

  void handle(const Event& e, Trial& trial) override {
    if (static_cast<Step>(e.tag) == Step::Request) return request(e.entity, trial);
    complete(e.entity, e.day, trial);
  }

 private:
  void request(std::size_t k, Trial& trial) {
    const Model& m = trial.model();
    const World& w = trial.world();
    const Entry& entry = entries_[k];
    const TrialDraws::Withdrawal& d = trial.draws().withdrawals[k];
    const double now = trial.now();
    std::vector<double>& units = units_[k];
    units.assign(entry.positions.size(), 0.0);
    double eth = 0.0;  // value leaving, for the exit queue
    for (std::size_t j = 0; j < entry.positions.size(); ++j) {
      const std::size_t i = entry.positions[j];
      trial.touch(i);  // it earns on less from now
      const double left = trial.stake_left()[i];
      units[j] = d.share * (left - trial.leaving()[i]);
      trial.leaving()[i] += units[j];
      if (left > 0.0) eth += trial.nav(i) * units[j] / left;
    }
    const Withdrawal& wd = m.withdrawals[k];
    const double exit_days =
        wd.exit_queue_eth ? exit_queue_days(m.ethereum.consensus, d.exit_queue_eth + eth) +
                                static_cast<double>(kMinValidatorWithdrawabilityDelay) / static_cast<double>(kEpochsPerDay)
                          : 0.0;
    std::vector<double>& end = end_[k];
    end.assign(entry.positions.size(), now);
    for (std::size_t j = 0; j < entry.positions.size(); ++j) {
      const std::size_t slot = w.positions[entry.positions[j]].slot;
      const double escrow = slot == kNone ? now : m.protocols[w.slots[slot].protocol].escrow_end(now);
      end[j] = out_of_reach(std::max(escrow, now + exit_days), now);
    }
    std::vector<double> days = end;
    std::sort(days.begin(), days.end());
    days.erase(std::unique(days.begin(), days.end()), days.end());
    for (double day : days) {
      if (day == now) {
        complete(k, now, trial);
        continue;
      }
      Event e;
      e.day = day;
      e.entity = k;
      e.tag = static_cast<std::uint32_t>(Step::Complete);
      trial.schedule(e, *this);
    }
  }

  // Entry k's stake whose withdrawal completes on `day` leaves its positions.
  void complete(std::size_t k, double day, Trial& trial) {
    const Entry& entry = entries_[k];
    for (std::size_t j = 0; j < entry.positions.size(); ++j) {
      if (end_[k][j] != day || units_[k][j] == 0.0) continue;
      const std::size_t i = entry.positions[j];
      trial.touch(i);
      double& left = trial.stake_left()[i];
      double& leaving = trial.leaving()[i];
      left -= units_[k][j];
      leaving -= units_[k][j];
      units_[k][j] = 0.0;
      // All of it gone: exactly nothing left (and nothing leaving), whatever the rounding.
      if (left <= 0.0) left = leaving = 0.0;
      leaving = std::max(leaving, 0.0);
    }
  }

  const std::vector<Entry>& entries_;
  std::vector<std::vector<double>> units_;  // [entry][position of its holder]: units leaving
  std::vector<std::vector<double>> end_;    // [entry][position of its holder]: the day they are out
};

class WithdrawalsType final : public MechanismType {
 public:
  WithdrawalsType(const Model& m, const World& w) {
    for (const Withdrawal& wd : m.withdrawals) {
      Entry e;
      e.reach.validators_of.assign(m.operators.size(), false);
      e.reach.slots.assign(w.slots.size(), false);
      for (std::size_t i = 0; i < w.positions.size(); ++i) {
        const auto& p = w.positions[i];
        if (p.holder != wd.holder) continue;
        e.positions.push_back(i);
        e.reach.validators_of[p.op] = true;
        if (p.slot != kNone) e.reach.slots[p.slot] = true;
      }
      entries_.push_back(std::move(e));
    }
  }
  std::string_view name() const override { return "withdrawals"; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<Withdrawals>(entries_); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace

std::unique_ptr<const MechanismType> make_withdrawals(const Model& m, const World& w) {
  if (m.withdrawals.empty()) return nullptr;
  return std::make_unique<WithdrawalsType>(m, w);
}

}  // namespace restake
