#pragma once
// Exact, order-free sums of per-trial shares. Each share is rounded to a multiple of 2^-60 and the
// multiples are added as 128-bit integers: integer addition is associative, so a total accumulated
// per thread and combined in any order is the same for every thread, block or rank count (a sum of
// doubles would depend on the order). Used where per-trial rows would cost too much memory.
#include <cassert>
#include <cmath>
#include <cstdint>

namespace restake {

__extension__ typedef __int128 FixedSum;
inline constexpr double kFixedScale = 0x1p60;  // shares up to 8 per addition fit in 64 bits

inline FixedSum to_fixed(double share) {
  assert(share >= 0.0 && share < 8.0);  // a share of a holder's value lost at once: in [0, 1]
  return static_cast<FixedSum>(std::llround(share * kFixedScale));
}
inline double from_fixed(FixedSum sum) { return static_cast<double>(sum) / kFixedScale; }

}  // namespace restake
