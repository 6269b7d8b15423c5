// Contract and bridge failures: a failure reaches every contract built on the failed one (the
// dependency DAG), and through them the positions held via those contracts - the whole position,
// or the holder's bridged share of it for bridges.
#include <algorithm>

#include "trial/mechanisms.hpp"
#include "trial/trial.hpp"

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

namespace {

// A contract failure takes `share` x loss-given-failure of this position's value.
struct Reach {
  std::size_t position = 0;
  double share = 1.0;
};

class ContractFailures final : public Mechanism {
 public:
  explicit ContractFailures(const std::vector<std::vector<Reach>>& reach) : reach_(reach) {}
  void handle(const Event& e, Trial& trial) override {
    const LossCause cause = trial.model().contracts[e.entity].kind == ContractKind::Bridge ? LossCause::Bridge : LossCause::Contract;
    for (const Reach& r : reach_[e.entity]) {
      const double share = r.share * e.fraction;
      trial.touch(r.position);
      const double amount = trial.nav(r.position) * share;
      trial.contract_factor()[r.position] *= 1.0 - share;
      trial.book(r.position, cause, amount, kNone, e.entity);
    }
  }

 private:
  const std::vector<std::vector<Reach>>& reach_;
};

class ContractFailuresType final : public MechanismType {
 public:
  explicit ContractFailuresType(const Model& m) : reach_(m.contracts.size()) {
    // Per position: held through a reached contract of the holder's own, or through a protocol
    // whose core contracts are reached -> the whole position; otherwise the holder's bridged share
    // on reached bridges (shares add when several are reached).
    auto any_reached = [](const std::vector<std::size_t>& cs, const std::vector<bool>& reached) {
      return std::any_of(cs.begin(), cs.end(), [&](std::size_t x) { return reached[x]; });
    };
    for (std::size_t c = 0; c < m.contracts.size(); ++c) {
      const std::vector<bool> reached = reached_by_failure(m, c);
      std::size_t i = 0;  // flat position index: holder by holder, as World lists them
      for (const Holder& holder : m.holders) {
        const bool whole = any_reached(holder.contracts, reached);
        double bridged = 0.0;
        for (const BridgeExposure& b : holder.bridged)
          if (reached[b.contract]) bridged += b.share;
        for (const Position& pos : holder.positions) {
          const bool via_protocol = pos.protocol != kNoProtocol && any_reached(m.protocols[pos.protocol].contracts, reached);
          const double share = whole || via_protocol ? 1.0 : std::min(bridged, 1.0);
          if (share > 0.0) reach_[c].push_back({i, share});
          ++i;
        }
      }
    }
  }
  std::string_view name() const override { return "contract_failures"; }
  std::vector<EventKind> handles() const override { return {EventKind::ContractFailure}; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<ContractFailures>(reach_); }

 private:
  std::vector<std::vector<Reach>> reach_;  // [contract]
};

}  // namespace

std::unique_ptr<const MechanismType> make_contract_failures(const Model& m, const World&) {
  return std::make_unique<ContractFailuresType>(m);
}

}  // namespace restake
