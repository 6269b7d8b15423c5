// Coverage pools (insurance funds, operator bonds): a loss hook. After each loss is booked, the
// pools that cover its holder and cause (and, for a bond, the operator whose fault it is) pay, in
// the scenario's order, until the loss is paid or they are empty.
#include <algorithm>

#include "trial/mechanisms.hpp"
#include "trial/trial.hpp"

namespace restake {

namespace {

class CoveragePools final : public Mechanism {
 public:
  explicit CoveragePools(const std::vector<std::vector<std::size_t>>& pools_of_holder) : pools_of_holder_(pools_of_holder) {}
  void begin(Trial& trial) override {
    const auto& pools = trial.model().coverage_pools;
    left_.resize(pools.size());
    for (std::size_t k = 0; k < pools.size(); ++k) left_[k] = pools[k].balance;
    const TrialRecord& out = trial.record();
    std::fill(out.pool_drawdown.begin(), out.pool_drawdown.end(), 0.0);
  }
  void on_loss(Loss& loss, Trial& trial) override {
    const TrialRecord& out = trial.record();
    for (std::size_t k : pools_of_holder_[loss.holder]) {
      const CoveragePool& pool = trial.model().coverage_pools[k];
      if (!pool.covers[static_cast<std::size_t>(loss.cause)] || left_[k] <= 0.0) continue;
      if (!pool.operators.empty() && std::find(pool.operators.begin(), pool.operators.end(), loss.origin_op) == pool.operators.end())
        continue;
      const double pay = std::min(loss.uncovered, left_[k]);
      left_[k] -= pay;
      out.pool_drawdown[k] += pay;
      trial.add_covered(loss.holder, pay);
      loss.uncovered -= pay;
      if (loss.uncovered <= 0.0) break;
    }
  }

 private:
  const std::vector<std::vector<std::size_t>>& pools_of_holder_;
  std::vector<double> left_;  // [pool] balance left
};

class CoveragePoolsType final : public MechanismType {
 public:
  explicit CoveragePoolsType(const Model& m) : pools_of_holder_(m.holders.size()) {
    for (std::size_t k = 0; k < m.coverage_pools.size(); ++k)
      for (std::size_t h : m.coverage_pools[k].holders) pools_of_holder_[h].push_back(k);
  }
  std::string_view name() const override { return "coverage_pools"; }
  MechanismHooks hooks() const override { return {.on_loss = true}; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<CoveragePools>(pools_of_holder_); }

 private:
  std::vector<std::vector<std::size_t>> pools_of_holder_;  // in paying order
};

}  // namespace

std::unique_ptr<const MechanismType> make_coverage_pools(const Model& m, const World&) {
  return std::make_unique<CoveragePoolsType>(m);
}

}  // namespace restake
