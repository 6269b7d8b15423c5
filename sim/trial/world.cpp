#include "trial/world.hpp"

#include <map>

namespace restake {

World make_world(const Model& m) {
  World w;
  std::map<std::pair<std::size_t, std::size_t>, std::size_t> slot_index;  // (op, protocol) -> slot
  auto slot_for = [&](std::size_t op, std::size_t protocol) {
    auto [it, inserted] = slot_index.try_emplace({op, protocol}, w.slots.size());
    if (inserted) w.slots.push_back({op, protocol, m.protocols[protocol].mode, {}, {}, 0});
    return it->second;
  };

  w.slot_of_avs_member.resize(m.avs.size());
  w.index_in_slot.resize(m.avs.size());
  for (std::size_t a = 0; a < m.avs.size(); ++a) {
    for (const Allocation& al : m.avs[a].allocations) {
      const std::size_t s = slot_for(al.op, m.avs[a].protocol);
      w.slot_of_avs_member[a].push_back(s);
      w.index_in_slot[a].push_back(w.slots[s].avs.size());
      w.slots[s].avs.push_back(a);
      w.slots[s].allocation.push_back(al.magnitude);
    }
  }

  w.positions_of_op.resize(m.operators.size());
  w.holder_value.resize(m.holders.size());
  for (std::size_t h = 0; h < m.holders.size(); ++h) {
    w.holder_value[h] = m.holders[h].value();
    for (const Position& pos : m.holders[h].positions) {
      const std::size_t slot = pos.protocol == kNoProtocol ? kNone : slot_for(pos.op, pos.protocol);
      w.positions_of_op[pos.validator_op].push_back(w.positions.size());
      w.positions.push_back({h, pos.validator_op, slot, pos.stake});
    }
  }
  w.positions_of_slot.resize(w.slots.size());
  for (std::size_t i = 0; i < w.positions.size(); ++i)
    if (w.positions[i].slot != kNone) w.positions_of_slot[w.positions[i].slot].push_back(i);
  for (auto& s : w.slots) {
    s.first_alloc = w.allocation_count;
    w.allocation_count += s.avs.size();
  }
  w.slots_of_op.resize(m.operators.size());
  for (std::size_t s = 0; s < w.slots.size(); ++s) w.slots_of_op[w.slots[s].op].push_back(s);
  return w;
}

}  // namespace restake
