#include "stats/concentration.hpp"

namespace restake {

namespace {

double hhi(const std::vector<double>& amounts) {
  double total = 0.0, squares = 0.0;
  for (const double x : amounts) total += x;
  if (!(total > 0.0)) return 0.0;
  for (const double x : amounts) squares += (x / total) * (x / total);
  return squares;
}

}  // namespace

std::vector<Concentration> concentration(const Model& m, const World& w) {
  const std::size_t H = m.holders.size();
  std::vector<std::vector<double>> by_op(H, std::vector<double>(m.operators.size(), 0.0));
  std::vector<std::vector<double>> by_avs(H, std::vector<double>(m.avs.size(), 0.0));
  std::vector<double> restaked(H, 0.0);
  for (const World::FlatPosition& p : w.positions) {
    if (p.slot == kNone) {
      by_op[p.holder][p.op] += p.stake;
      continue;
    }
    const World::Slot& slot = w.slots[p.slot];
    by_op[p.holder][slot.op] += p.stake;
    restaked[p.holder] += p.stake;
    for (std::size_t k = 0; k < slot.avs.size(); ++k)
      by_avs[p.holder][slot.avs[k]] += p.stake * (slot.mode == SlashingMode::Unique ? slot.allocation[k] : 1.0);
  }
  std::vector<Concentration> out(H);
  for (std::size_t h = 0; h < H; ++h) {
    const double value = w.holder_value[h];
    double exposure = 0.0;
    for (const double x : by_avs[h]) exposure += x;
    out[h] = {hhi(by_op[h]), hhi(by_avs[h]), value > 0.0 ? restaked[h] / value : 0.0, value > 0.0 ? exposure / value : 0.0};
  }
  return out;
}

}  // namespace restake
