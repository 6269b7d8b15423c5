// Beacon-chain penalties against the consensus specs' integer arithmetic and the worked figures
// in domain.md section 2 (T = 32M ETH, 32 ETH validators).
#include <doctest/doctest.h>

#include "chain/consensus.hpp"

using namespace restake;

namespace {
constexpr Gwei kEth = kGweiPerEth;
ConsensusParams electra(Gwei total_eth = 32'000'000) {
  ConsensusParams p;
  p.total_active_balance_gwei = total_eth * kEth;
  return p;
}
ConsensusParams bellatrix(Gwei total_eth = 32'000'000) { return consensus_params(Fork::Bellatrix, total_eth * kEth); }
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
  // 4097 epochs of duty penalties come first; the correlation penalty takes all that is left
  CHECK(p.missed_duties == 4097ULL * 7'140);
  CHECK(p.correlation == 32 * kEth - p.initial - p.missed_duties);
}

TEST_CASE("Bellatrix rules, one validator alone: 1 ETH, then penalties on an effective balance lowered to 30 ETH") {
  const SlashingPenalty p = slashing_penalty(bellatrix(), 32 * kEth, 32 * kEth);
  CHECK(p.initial == kEth);
  CHECK(p.correlation == 0);
  // one epoch at EB 32 (7,140 Gwei), then EB = floor(30.99999 ETH) = 30: 6,692 Gwei per epoch
  CHECK(p.missed_duties == 7'140 + 8191ULL * 6'692);
  CHECK(p.total() == 1'054'821'312);
}

TEST_CASE("Bellatrix rules: no correlation penalty until 3 S x EB reaches T, on the lowered effective balance") {
  const Gwei T = 32'000'000;
  // EB is 30 ETH by then, so the first whole ETH is charged at S = T/90, not T/96
  const SlashingPenalty below = slashing_penalty(bellatrix(T), 32 * kEth, (T * kEth) / 90 - 1);
  CHECK(below.correlation == 0);
  const SlashingPenalty at = slashing_penalty(bellatrix(T), 32 * kEth, (T * kEth) / 90 + 1);
  CHECK(at.correlation == kEth);
  const SlashingPenalty tenth = slashing_penalty(bellatrix(T), 32 * kEth, (T * kEth) / 10);
  CHECK(tenth.correlation == 9 * kEth);  // 30 * 0.3 = 9, floored to whole ETH
}

TEST_CASE("phase0 rules: Staked's 75 validators (Feb 2021) lost 18.75 ETH of initial penalties") {
  const ConsensusParams p = consensus_params(Fork::Phase0, 3'500'000 * kEth);
  const SlashingPenalty one = slashing_penalty(p, 32 * kEth, 75 * 32 * kEth);
  CHECK(75 * one.initial == 18'750'000'000ULL);
  CHECK(one.correlation == 0);
  // phase0 charges source, target and head: 3 base rewards of EB * 64 // isqrt(T) // 4 per epoch.
  // After the first epoch the balance is below 31.75 ETH, so EB drops to 31 for the other 8191.
  auto base = [](Gwei eb) { return eb * 64 / integer_sqrt(3'500'000 * kEth) / 4; };
  CHECK(3 * base(32 * kEth) == 25'962);
  CHECK(one.missed_duties == 3 * base(32 * kEth) + 8191ULL * 3 * base(31 * kEth));
  CHECK(one.missed_duties == 206'021'421);  // also from an epoch-by-epoch Python loop
}

TEST_CASE("2048 ETH validators do not overflow, and the correlation penalty uses the effective balance of the day") {
  const SlashingPenalty e = slashing_penalty(electra(34'000'000), 2048 * kEth, 1'000'000 * kEth);
  // 0.5 ETH initial + ~1.87 ETH of duties by epoch 4096 lower EB to 2045 ETH
  CHECK(e.correlation == (3'000'000 * kEth / 34'000'000) * 2045);
  const SlashingPenalty b = slashing_penalty(bellatrix(34'000'000), 2048 * kEth, 11'400'000 * kEth);
  CHECK(b.total() <= 2048 * kEth);
  // adj = T: the whole effective balance of the day, 2048 - 64 - ~1.07 ETH of duties floored to 1982
  CHECK(b.correlation == 1982 * kEth);
}

TEST_CASE("fork presets set the constants of domain.md's table") {
  const Gwei T = 32'000'000 * kEth;
  CHECK(consensus_params(Fork::Phase0, T).min_slashing_penalty_quotient == 128);
  CHECK(consensus_params(Fork::Phase0, T).proportional_slashing_multiplier == 1);
  CHECK(consensus_params(Fork::Altair, T).min_slashing_penalty_quotient == 64);
  CHECK(consensus_params(Fork::Altair, T).proportional_slashing_multiplier == 2);
  for (Fork f : {Fork::Bellatrix, Fork::Capella, Fork::Deneb}) {
    CHECK(consensus_params(f, T).min_slashing_penalty_quotient == 32);
    CHECK(consensus_params(f, T).proportional_slashing_multiplier == 3);
    CHECK(consensus_params(f, T).rounding == CorrelationRounding::WholeEth);
  }
  CHECK(consensus_params(Fork::Electra, T).min_slashing_penalty_quotient == 4096);
  CHECK(consensus_params(Fork::Electra, T).rounding == CorrelationRounding::PerIncrement);
  CHECK(fork_from_string("deneb") == Fork::Deneb);
  CHECK(!fork_from_string("dencun"));
}

TEST_CASE("without duty penalties the effective balance still drops after the initial penalty before the correlation penalty") {
  ConsensusParams p = bellatrix(3072);
  p.missed_duties = false;
  // 1 ETH initial leaves 31 ETH: EB drops to 31 after the first epoch, so the correlation penalty
  // at epoch + 4096 is floor(31 * 960 / 3072) = 9 ETH, not floor(32 * 960 / 3072) = 10 ETH.
  const SlashingPenalty s = slashing_penalty(p, 32 * kEth, 320 * kEth);
  CHECK(s.initial == kEth);
  CHECK(s.correlation == 9 * kEth);
  CHECK(s.total() == 10 * kEth);
}
