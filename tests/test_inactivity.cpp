// Offline validators and the inactivity leak against the consensus specs' integer arithmetic,
// hand-worked epochs, and the continuous figures of domain.md section 2 (T = 32M ETH unless said).
#include <doctest/doctest.h>

#include <cmath>

#include "chain/inactivity.hpp"

using namespace restake;

namespace {
constexpr Gwei kEth = kGweiPerEth;
ConsensusParams with_leak(Fork f, Gwei total_eth = 32'000'000, bool leak = true) {
  ConsensusParams p = consensus_params(f, total_eth * kEth);
  p.inactivity_leak = leak;
  return p;
}
double left_share(const ConsensusParams& p, double q, std::uint64_t epochs, Gwei eb) {
  return 1.0 - offline_penalty(p, leak_course(p, q, epochs), eb).total() / static_cast<double>(eb);
}
}  // namespace

TEST_CASE("with a third of the stake or less offline the chain finalises and an offline validator pays only its attestations") {
  const ConsensusParams p = with_leak(Fork::Electra);
  // base_reward = 32 * (64e9 // isqrt(32e15)) = 11,424; source + target = 2,499 + 4,641 = 7,140 Gwei per epoch
  const LeakCourse c = leak_course(p, 0.3, 6750);
  CHECK(c.finalized_from == 1);
  CHECK(c.leak_epochs() == 0);
  const OfflinePenalty o = offline_penalty(p, c, 32 * kEth);
  CHECK(o.missed_duties == 7'140.0 * 6750);
  CHECK(o.inactivity == 0.0);
  CHECK(o.ejected_at == kNever);
}

TEST_CASE("Electra: the leak starts once the finality delay exceeds 4, scores rise by 4, penalty EB * score // 2^26") {
  const ConsensusParams p = with_leak(Fork::Electra);
  const LeakCourse c = leak_course(p, 0.5, 10);
  CHECK(c.finalized_from == kNever);
  // The last finalised epoch is two before the outage: missed epoch k is charged with delay k + 2.
  CHECK(c.finality_delay(0) == 2);
  CHECK_FALSE(c.in_leak(2));
  CHECK(c.in_leak(3));
  CHECK(c.leak_epochs() == 7);
  const OfflinePenalty o = offline_penalty(p, c, 32 * kEth);
  // missed epochs 3..9, scores 4 .. 28: 1,907 + 3,814 + 5,722 + 7,629 + 9,536 + 11,444 + 13,351 Gwei (each floored)
  CHECK(o.inactivity == 53'403.0);
  CHECK(o.missed_duties == 7'140.0 * 10);
}

TEST_CASE("Altair divides the inactivity penalty by 3 * 2^26 instead") {
  const OfflinePenalty o = offline_penalty(with_leak(Fork::Altair), leak_course(with_leak(Fork::Altair), 0.5, 10), 32 * kEth);
  CHECK(o.inactivity == 17'798.0);  // 635 + 1,271 + 1,907 + 2,543 + 3,178 + 3,814 + 4,450
}

TEST_CASE("phase0: in the leak a non-attester loses 4 base rewards less the proposer's share and EB * finality_delay // 2^26") {
  const ConsensusParams p = with_leak(Fork::Phase0);
  const OfflinePenalty o = offline_penalty(p, leak_course(p, 0.5, 7), 32 * kEth);
  // base_reward = 32e9 * 64 // isqrt(32e15) // 4 = 2,862: source, target, head 8,586 per epoch;
  // missed epochs 3..6 (delays 5..8): 4 * 2,862 - 2,862 // 8 = 11,091 each, plus 2,384, 2,861, 3,337, 3,814
  CHECK(o.missed_duties == 8'586.0 * 7);
  CHECK(o.inactivity == 4 * 11'091.0 + 2'384 + 2'861 + 3'337 + 3'814);
}

TEST_CASE("without the inactivity_leak switch the same outage costs only the attestations") {
  const ConsensusParams p = with_leak(Fork::Electra, 32'000'000, false);
  const LeakCourse c = leak_course(p, 0.5, 4101);
  CHECK(c.leak_epochs() == 0);
  const OfflinePenalty o = offline_penalty(p, c, 32 * kEth);
  CHECK(o.inactivity == 0.0);
  CHECK(o.missed_duties == 7'140.0 * 4101);
}

TEST_CASE("domain.md: an offline validator keeps about 60.6% after 4096 epochs of leak") {
  // Continuous limit: balance' = -balance * t / 2^24, so exp(-4096^2 / 2^25) = exp(-1/2) = 60.65%.
  // A 2048 ETH validator's effective balance follows its balance closely; a 32 ETH one's moves in
  // whole ETH with 0.25 ETH hysteresis, and pays slightly less.
  const ConsensusParams p = with_leak(Fork::Electra, 34'000'000);
  const std::uint64_t epochs = 4096 + 3;  // the leak starts at missed epoch 3
  CHECK(leak_course(p, 0.5, epochs).leak_epochs() == 4096);
  CHECK(left_share(p, 0.5, epochs, 2048 * kEth) == doctest::Approx(std::exp(-0.5)).epsilon(0.003));
  CHECK(left_share(p, 0.5, epochs, 32 * kEth) == doctest::Approx(std::exp(-0.5)).epsilon(0.01));
  // phase0's quotient 2^26 leaks four times slower: exp(-1/8)
  const ConsensusParams p0 = with_leak(Fork::Phase0, 34'000'000);
  CHECK(left_share(p0, 0.5, epochs, 32 * kEth) == doctest::Approx(std::exp(-0.125)).epsilon(0.01));
}

TEST_CASE("the chain finalises again once the online validators hold 2/3 of the active balance") {
  // 40% offline: the offline validators' effective balance must fall to 24 ETH (0.4 * 24/32 = 0.3 =
  // half the online 0.6), i.e. their balance below 24.75 ETH.
  const ConsensusParams p = with_leak(Fork::Electra);
  const LeakCourse c = leak_course(p, 0.4, 6750);
  REQUIRE(c.finalized_from != kNever);
  const std::uint64_t justified = c.finalized_from - 1;  // first epoch that sees 24 ETH
  const double fell = 7.25 * kEth;
  CHECK(offline_penalty(p, leak_course(p, 0.4, justified), 32 * kEth).total() > fell);
  CHECK(offline_penalty(p, leak_course(p, 0.4, justified - 1), 32 * kEth).total() <= fell);
  // about sqrt(2^25 ln(32/24.75)) + 3 = 2,939 epochs in the continuous limit
  CHECK(static_cast<double>(justified) == doctest::Approx(2939).epsilon(0.01));
  // After finality the scores fall by 16 - 4 per epoch, still charged while the validators stay offline.
  const OfflinePenalty until = offline_penalty(p, leak_course(p, 0.4, c.finalized_from), 32 * kEth);
  const OfflinePenalty longer = offline_penalty(p, c, 32 * kEth);
  CHECK(longer.inactivity > until.inactivity);
  CHECK(leak_course(p, 0.4, 6750).leak_epochs() == justified + 1 - 3);
}

TEST_CASE("ejection at 16 ETH waits in the exit queue: Electra's balance churn, earlier forks' validator churn") {
  const ConsensusParams p = with_leak(Fork::Electra, 34'000'000);
  const LeakCourse c = leak_course(p, 0.5, 30 * 225);
  REQUIRE(c.ejected_at != kNever);
  // close to the continuous sqrt(2^25 ln 2) = 4,823 epochs after the leak starts, earlier because
  // the effective balance drops a whole ETH at a time
  CHECK(static_cast<double>(c.ejected_at) == doctest::Approx(4823 + 3).epsilon(0.04));
  // ejected at the transition ending epoch k + 1: exit epoch k + 1 + 1 + 4, charged through missed epoch k + 5
  CHECK(c.exit_from == static_cast<double>(c.ejected_at + 6));
  // 17M ETH offline in 531,250 validators of 16 ETH; churn min(256, max(128, 34M // 65536 = 518)) = 256 ETH
  CHECK(c.exit_epochs == doctest::Approx(531'250.0 * 16 / 256).epsilon(1e-12));
  // 3.2M ETH: T // 65536 = 48 ETH, so the 128 ETH floor
  const ConsensusParams small = with_leak(Fork::Electra, 3'200'000);
  CHECK(leak_course(small, 0.5, 30 * 225).exit_epochs == doctest::Approx(50'000.0 * 16 / 128).epsilon(1e-12));
  // 10M ETH: T // 65536 = 152.59 ETH, floored to a whole 152 ETH
  const ConsensusParams mid = with_leak(Fork::Electra, 10'000'000);
  CHECK(leak_course(mid, 0.5, 30 * 225).exit_epochs == doctest::Approx(156'250.0 * 16 / 152).epsilon(1e-12));
  // Bellatrix: max(4, 1,062,500 validators // 65536 = 16) validators per epoch
  const ConsensusParams b = with_leak(Fork::Bellatrix, 34'000'000);
  CHECK(leak_course(b, 0.5, 30 * 225).exit_epochs == doctest::Approx(531'250.0 / 16).epsilon(1e-12));
}

TEST_CASE("with most stake offline, validators leak far past the ejection balance (the queue is months long)") {
  const ConsensusParams p = with_leak(Fork::Electra, 34'000'000);
  CHECK(left_share(p, 0.9, 60 * 225, 32 * kEth) * 32 < 4.0);
  CHECK(left_share(p, 0.9, 60 * 225, 2048 * kEth) < 0.1);
}

TEST_CASE("a validator ejected before the network's stops paying 5 epochs later, whatever the outage's length") {
  const ConsensusParams p = with_leak(Fork::Electra, 34'000'000);
  const LeakCourse c = leak_course(p, 0.5, 30 * 225);
  const OfflinePenalty o = offline_penalty(p, c, 17 * kEth);  // reaches 16 ETH long before the 32 ETH ones
  REQUIRE(o.ejected_at < c.ejected_at);
  const OfflinePenalty shorter = offline_penalty(p, leak_course(p, 0.5, o.ejected_at + 6), 17 * kEth);
  const OfflinePenalty one_less = offline_penalty(p, leak_course(p, 0.5, o.ejected_at + 5), 17 * kEth);
  CHECK(o.total() == shorter.total());
  CHECK(one_less.total() < shorter.total());
}

TEST_CASE("a validator ejected with the network's is charged in expectation over its place in the queue") {
  const ConsensusParams p = with_leak(Fork::Electra, 34'000'000);
  const LeakCourse c = leak_course(p, 0.9, 60 * 225);
  const OfflinePenalty o = offline_penalty(p, c, 32 * kEth);
  REQUIRE(o.ejected_at == c.ejected_at);
  CHECK(c.exited_share(static_cast<std::uint64_t>(c.exit_from) - 1) == 0.0);
  CHECK(c.exited_share(static_cast<std::uint64_t>(c.exit_from)) == doctest::Approx(1.0 / c.exit_epochs));
  // in expectation: more than a validator that leaves at the head of the queue
  const OfflinePenalty head = offline_penalty(p, leak_course(p, 0.9, static_cast<std::uint64_t>(c.exit_from)), 32 * kEth);
  CHECK(o.total() > head.total());
  CHECK(std::floor(o.total()) != o.total());  // not a whole number of Gwei: an expectation
}

TEST_CASE("a validator ejected after the network's waits behind its whole queue") {
  const ConsensusParams p = with_leak(Fork::Electra, 34'000'000);
  const LeakCourse c = leak_course(p, 0.9, 60 * 225);
  const OfflinePenalty o = offline_penalty(p, c, 40 * kEth);  // 40 ETH: reaches 16 ETH later than 32 ETH ones
  REQUIRE(o.ejected_at != kNever);
  REQUIRE(o.ejected_at > c.ejected_at);
  REQUIRE(static_cast<double>(o.ejected_at) + 20 < c.exit_from + c.exit_epochs);
  const auto upto = [&](std::uint64_t epochs) { return offline_penalty(p, leak_course(p, 0.9, epochs), 40 * kEth).total(); };
  CHECK(upto(o.ejected_at + 20) > upto(o.ejected_at + 6));  // still charged after its own 5 epochs
}

TEST_CASE("after finality returns, an offline validator's score falls by 16 - 4 = 12 per epoch until it is 0") {
  const ConsensusParams p = with_leak(Fork::Electra);
  const std::uint64_t f = leak_course(p, 0.4, 6750).finalized_from;
  REQUIRE(f != kNever);
  const std::uint64_t score = 4 * (f - 3);  // at the last leak epoch f - 1
  // epoch f + j charges a score of score - 12 (j + 1) while that is positive
  const std::uint64_t n = (score + 11) / 12 - 1;  // epochs f .. f + n - 1 still charge
  const auto inactivity = [&](std::uint64_t epochs) { return offline_penalty(p, leak_course(p, 0.4, epochs), 32 * kEth).inactivity; };
  CHECK(inactivity(f + n) > inactivity(f + n - 1));
  CHECK(inactivity(f + n + 1) == inactivity(f + n));
}

TEST_CASE("the expectation over the queue is the average over its exit epochs") {
  // A hand-made course: a 16 ETH validator is ejected at once (step 0) together with the network,
  // whose queue lets it leave at missed epoch 5, 6, 7 or 8 with probability 1/4 each.
  const ConsensusParams p = with_leak(Fork::Electra);
  auto course = [](std::uint64_t epochs, double exit_from, double exit_epochs) {
    LeakCourse c;
    c.epochs = epochs;
    c.leak_enabled = true;
    c.ejected_at = 0;
    c.exit_from = exit_from;
    c.exit_epochs = exit_epochs;
    return c;
  };
  // charged for missed epochs 0 .. x - 1: a queue that never reaches it, cut at x epochs
  auto leaving_at = [&](std::uint64_t x) { return offline_penalty(p, course(x, 1e9, 1), 16 * kEth).total(); };
  const double average = (leaving_at(5) + leaving_at(6) + leaving_at(7) + leaving_at(8)) / 4;
  const OfflinePenalty o = offline_penalty(p, course(100, 5, 4), 16 * kEth);
  REQUIRE(o.ejected_at == 0);
  CHECK(o.total() == doctest::Approx(average).epsilon(1e-14));
  CHECK(leaving_at(8) > leaving_at(5));
}

TEST_CASE("exits through the queue bring finality back when the remaining active stake allows it") {
  // A small chain (T = 3,200 ETH, 60% offline): the queue (128 ETH per epoch) clears the 60 ejected
  // validators of 16 ETH in 7.5 epochs, and finality needs only a third of them gone (0.6 * 16/32
  // * (1 - x) <= 0.2). Without the exits it would need the offline effective balance at 10 ETH.
  const ConsensusParams p = with_leak(Fork::Electra, 3'200);
  const LeakCourse c = leak_course(p, 0.6, 60 * 225);
  REQUIRE(c.ejected_at != kNever);
  CHECK(c.exit_epochs == doctest::Approx(60.0 * 16 / 128).epsilon(1e-12));
  REQUIRE(c.finalized_from != kNever);
  CHECK(static_cast<double>(c.finalized_from) >= c.exit_from);
  CHECK(static_cast<double>(c.finalized_from) <= c.exit_from + c.exit_epochs / 3 + 2);
}

TEST_CASE("with the leak switch off a ten-year outage costs only the attestations and ejects no one") {
  const ConsensusParams p = with_leak(Fork::Electra, 34'000'000, false);
  const LeakCourse c = leak_course(p, 0.6, 3650 * 225);
  CHECK(c.leak_epochs() == 0);
  CHECK(c.ejected_at == kNever);
  CHECK(offline_penalty(p, c, 32 * kEth).inactivity == 0.0);
}
