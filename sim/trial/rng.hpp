#pragma once
// Counter-based random streams (Random123 Philox4x64). A stream is addressed by
// (seed, trial, purpose, index): it never depends on which thread or rank runs the trial, and
// each purpose has its own substream so that changing one parameter leaves the other draws of a
// trial untouched (common random numbers across sweep points).
#include <cstdint>

// philox.h first: it sets up the feature macros MicroURNG.hpp relies on.
#include <Random123/philox.h>
#include <Random123/MicroURNG.hpp>

namespace restake {

using Philox = r123::Philox4x64;
using TrialRng = r123::MicroURNG<Philox>;  // a URNG Boost.Random's distributions accept

enum class Substream : std::uint64_t {
  SourceGate = 0,   // one 64-bit word per event source: does it fire at all this trial?
  BaseApr = 1,
  Subsidy = 2,      // index: AVS
  SourceEvents = 3, // index: event source; times and marks of its events
  Stress = 4,       // index: forced event entry
  Mixture = 5,      // importance sampling: is the trial one of the defensive share?
  SlashTiming = 6,  // index: event source; each event's slash delay and cancellation, in order
  StressTiming = 7, // index: forced event entry; likewise
  Withdrawal = 8,   // index: [[withdrawal]] entry
  AllocationChange = 9,  // index: [[allocation_change]] entry
  Sellers = 10,     // index: [[token]]; its sellers' share and trigger
};

inline TrialRng trial_rng(std::uint64_t seed, std::uint64_t trial, Substream purpose, std::uint64_t index) {
  // The last counter word stays zero: MicroURNG counts its own draws in its high bits.
  const Philox::ctr_type ctr = {{trial, static_cast<std::uint64_t>(purpose), index, 0}};
  const Philox::ukey_type key = {{seed, 0}};
  return TrialRng(ctr, key);
}

// Four raw 64-bit words from one Philox call: block `index` of a substream.
inline Philox::ctr_type philox_block(std::uint64_t seed, std::uint64_t trial, Substream purpose, std::uint64_t index) {
  const Philox::ctr_type ctr = {{trial, static_cast<std::uint64_t>(purpose), index, 0}};
  const Philox::key_type key = {{seed, 0}};
  return Philox()(ctr, key);
}

// A uniform in [0, 1) from the top 53 bits of a word.
inline double to_unit(std::uint64_t w) { return static_cast<double>(w >> 11) * 0x1.0p-53; }

}  // namespace restake
