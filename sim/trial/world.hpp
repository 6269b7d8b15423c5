#pragma once
// The balance sheet's structure, derived once from the model and read-only during a run: every
// holder's positions flattened, and the restaking slots (operator x protocol) whose magnitudes AVS
// slashing removes. Mechanisms index into it; a trial's balances (trial.hpp) follow it.
#include <cstddef>
#include <vector>

#include "model/model.hpp"

namespace restake {

inline constexpr std::size_t kNone = static_cast<std::size_t>(-1);

struct World {
  // A restaked (operator, protocol) pair: one maxMagnitude and one allocation per AVS member.
  struct Slot {
    std::size_t op = 0;
    std::size_t protocol = 0;
    SlashingMode mode = SlashingMode::Shared;
    std::vector<std::size_t> avs;    // AVSs this operator secures through the protocol
    std::vector<double> allocation;  // initial magnitude per AVS (unique mode)
    std::size_t first_alloc = 0;     // offset into the trial's flat allocation array
  };
  struct FlatPosition {
    std::size_t holder = 0;
    std::size_t op = 0;        // whose validators hold it (beacon-chain losses)
    std::size_t slot = kNone;  // restaked (delegated operator, protocol); kNone: staked, not restaked
    double stake = 0.0;        // units of the holder's asset
  };

  std::vector<Slot> slots;
  std::size_t allocation_count = 0;
  std::vector<FlatPosition> positions;                       // holder by holder, in the model's order
  std::vector<std::vector<std::size_t>> positions_of_op;     // by the operator whose validators hold them
  std::vector<std::vector<std::size_t>> positions_of_slot;
  std::vector<std::vector<std::size_t>> slot_of_avs_member;  // [avs][allocation index] -> slot
  std::vector<std::vector<std::size_t>> index_in_slot;       // [avs][allocation index] -> member in slot
  std::vector<std::vector<std::size_t>> slots_of_op;         // restaked slots of each operator
  std::vector<double> holder_value;                          // initial, units of its asset
};
World make_world(const Model& m);

}  // namespace restake
