// Beacon-chain penalties against the consensus specs' integer arithmetic and the worked figures
// in domain.md section 2 (T = 32M ETH, 32 ETH validators).
#include <doctest/doctest.h>

#include "consensus.hpp"

using namespace restake;

namespace {
constexpr Gwei kEth = kGweiPerEth;
ConsensusParams electra(Gwei total_eth = 32'000'000) {
  ConsensusParams p;
  p.total_active_balance_gwei = total_eth * kEth;
  return p;
}
ConsensusParams bellatrix(Gwei total_eth = 32'000'000) {
  ConsensusParams p = electra(total_eth);
  p.min_slashing_penalty_quotient = 32;
  p.proportional_slashing_multiplier = 3;
  p.rounding = CorrelationRounding::WholeEth;
  return p;
}
}  // namespace

TEST_CASE("integer_sqrt is the spec's floor square root") {
  CHECK(integer_sqrt(0) == 0);
  CHECK(integer_sqrt(1) == 1);
  CHECK(integer_sqrt(15) == 3);
  CHECK(integer_sqrt(16) == 4);
  CHECK(integer_sqrt(32'000'000 * kEth) == 178'885'438);
  CHECK(integer_sqrt(UINT64_MAX) == 4'294'967'295ULL);
}

TEST_CASE("Electra: one 32 ETH validator slashed alone loses 7,812,500 + 96,000 + 58,490,880 Gwei") {
  const SlashingPenalty p = slashing_penalty(electra(), 32 * kEth, 32 * kEth);
  CHECK(p.initial == 7'812'500);
  CHECK(p.correlation == 96'000);
  // base_reward = 32 * (64e9 // isqrt(32e15)) = 11,424; (2,499 + 4,641) Gwei per epoch for 8192 epochs
  CHECK(p.missed_duties == 7'140ULL * 8192);
  CHECK(p.total() == 66'399'380);
}

TEST_CASE("Electra: when 1% of all stake is slashed together each validator's correlation penalty is 0.96 ETH") {
  const SlashingPenalty p = slashing_penalty(electra(), 32 * kEth, 320'000 * kEth);
  CHECK(p.correlation == 960'000'000);
}

TEST_CASE("Electra: a third of all stake slashed together loses its whole balance") {
  const Gwei third = 10'666'667 * kEth;  // just over T/3
  const SlashingPenalty p = slashing_penalty(electra(), 32 * kEth, third);
  CHECK(p.total() == 32 * kEth);
  CHECK(p.correlation == 32 * kEth - p.initial);
  CHECK(p.missed_duties == 0);  // nothing is left to lose
}

TEST_CASE("Bellatrix rules: 1 ETH initial penalty and no correlation penalty until a 96th of stake is slashed") {
  const Gwei T = 32'000'000;
  const SlashingPenalty alone = slashing_penalty(bellatrix(T), 32 * kEth, 32 * kEth);
  CHECK(alone.initial == kEth);
  CHECK(alone.correlation == 0);
  const SlashingPenalty below = slashing_penalty(bellatrix(T), 32 * kEth, (T / 96) * kEth - 1);
  CHECK(below.correlation == 0);
  const SlashingPenalty at = slashing_penalty(bellatrix(T), 32 * kEth, (T * kEth) / 96 + 1);
  CHECK(at.correlation == kEth);  // floored to whole ETH
}

TEST_CASE("phase0 rules: Staked's 75 validators (Feb 2021) lost 18.75 ETH of initial penalties") {
  ConsensusParams p = bellatrix(3'000'000);
  p.min_slashing_penalty_quotient = 128;
  p.proportional_slashing_multiplier = 1;
  const SlashingPenalty one = slashing_penalty(p, 32 * kEth, 75 * 32 * kEth);
  CHECK(75 * one.initial == 18'750'000'000ULL);
}

TEST_CASE("2048 ETH validators do not overflow the correlation penalty") {
  ConsensusParams p = bellatrix(34'000'000);
  const SlashingPenalty s = slashing_penalty(p, 2048 * kEth, 11'400'000 * kEth);
  CHECK(s.total() == 2048 * kEth);
  const SlashingPenalty e = slashing_penalty(electra(34'000'000), 2048 * kEth, 1'000'000 * kEth);
  CHECK(e.correlation == (3'000'000 * kEth / 34'000'000) * 2048);
}
