#pragma once
// Exact, order-free sums of per-trial shares. Each share is rounded to a multiple of 2^-60 and the
// multiples are added as 128-bit integers: integer addition is associative, so a total accumulated
// per thread and combined in any order is the same for every thread, block or rank count (a sum of
// doubles would depend on the order). Used where per-trial rows would cost too much memory.
#include <stdexcept>
#include <string>
#include <cmath>
#include <cstdint>

namespace restake {

__extension__ typedef __int128 FixedSum;
inline constexpr double kFixedScale = 0x1p60;  // totals up to 2^67 fit in 128 bits

// Largest share to_fixed takes: with it, 2^27 additions fit before a sum could overflow.
inline constexpr double kMaxFixedShare = 0x1p40;

// A share of a holder's value lost at once (in [0, 1]) times the trial's weight (1 unless the run
// is importance-sampled). Rounded half away from zero, as std::llround, but into 128 bits: a
// weight may take it past the 8 that 64 bits hold. Throws std::range_error outside [0, 2^40)
// (NaN too): the conversion would be undefined there.
inline FixedSum to_fixed(double share) {
  if (!(share >= 0.0 && share < kMaxFixedShare))
    throw std::range_error("a weighted share of " + std::to_string(share) + " is outside [0, 2^40) (a weight too large?)");
  return static_cast<FixedSum>(std::round(share * kFixedScale));
}
inline double from_fixed(FixedSum sum) { return static_cast<double>(sum) / kFixedScale; }

}  // namespace restake
