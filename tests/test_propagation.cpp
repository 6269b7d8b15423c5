// Loss propagation on hand-worked examples: events are placed by hand, so every number below
// can be checked with pencil and paper.
#include <doctest/doctest.h>

#include <cmath>

#include "support.hpp"

using namespace restake;
using namespace restake::test;

namespace {

// One operator with a single 32 ETH validator; T chosen so a lone slashing costs exactly half
// (correlation penalty 3 * 32 / 192 = 1/2; no initial penalty, no missed duties).
const std::string kHalfPenaltyEthereum = R"(
[simulation]
name = "t"
[ethereum]
total_active_stake_eth = 192
base_apr = 0.0
[ethereum.penalties]
min_slashing_penalty_quotient = 1099511627776
missed_duties = false
)";

// In shared mode an AVS can slash the whole stake: allocations are not written (they are an error).
std::string secured_by_op(const std::string& mode, const char* allocation) {
  return mode == "unique" ? std::string("[{ operator = \"op\", allocation = ") + allocation + " }]" : "[\"op\"]";
}

// A beacon chain large enough for any of these worlds, with Electra penalties.
const std::string kEthereum = R"(
[simulation]
name = "t"
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = 0.0
)";

std::string two_avs_world(const char* mode) {
  return std::string(kEthereum) + R"(
[[operator]]
name = "op"
validators = 10
[[protocol]]
name = "p"
slashing_mode = ")" + mode + R"("
[[avs]]
name = "a1"
protocol = "p"
operators = )" + secured_by_op(mode, "0.3") + R"(
[[avs]]
name = "a2"
protocol = "p"
operators = )" + secured_by_op(mode, "0.5") + R"(
[[native]]
name = "staker"
protocol = "p"
positions = [{ operator = "op", stake_eth = 100 }]
)";
}

Event avs_slash(double day, std::size_t avs, double f) { return {day, EventKind::AvsSlashing, avs, 0, f}; }

}  // namespace

TEST_CASE("two AVSs slashing 50% each: unique stake loses 0.5*0.3 + 0.5*0.5, shared stake (1-0.5)^2") {
  const std::vector<Event> events = {avs_slash(10, 0, 0.5), avs_slash(20, 1, 0.5)};
  // Unique: magnitudes 0.3 / 0.5 / 0.2 unallocated. 50% of 0.3 then 50% of 0.5 leave 1 - 0.15 - 0.25.
  const Outcome unique = propagate_events(model_from(two_avs_world("unique")), events);
  CHECK(unique.loss_fraction[0] == doctest::Approx(0.40).epsilon(1e-12));
  CHECK(unique.avs_stake_lost[0] == doctest::Approx(15.0));
  CHECK(unique.avs_stake_lost[1] == doctest::Approx(25.0));
  // Shared: each AVS can slash everything left.
  const Outcome shared = propagate_events(model_from(two_avs_world("shared")), events);
  CHECK(shared.loss_fraction[0] == doctest::Approx(0.75).epsilon(1e-12));
  CHECK(shared.avs_stake_lost[0] == doctest::Approx(50.0));
  CHECK(shared.avs_stake_lost[1] == doctest::Approx(25.0));
  CHECK(shared.cause(0, LossCause::AvsSlashing) == doctest::Approx(0.75));
}

TEST_CASE("the AVS x holder ledger splits each holder's AVS losses by the AVS that slashed") {
  // Two holders on one operator (100 and 50 ETH); in shared mode a1 takes 50% of everything, then
  // a2 50% of what is left: each holder loses 0.5 of its value to a1 and 0.25 to a2.
  const std::string world = two_avs_world("shared") + R"(
[[native]]
name = "other"
protocol = "p"
positions = [{ operator = "op", stake_eth = 50 }]
)";
  const Outcome o = propagate_events(model_from(world), {avs_slash(10, 0, 0.5), avs_slash(20, 1, 0.5)});
  REQUIRE(o.avs_holder_loss.size() == 4);  // [avs][holder]
  CHECK(o.avs_holder_loss[0 * 2 + 0] == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(o.avs_holder_loss[0 * 2 + 1] == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(o.avs_holder_loss[1 * 2 + 0] == doctest::Approx(0.25).epsilon(1e-15));
  CHECK(o.avs_holder_loss[1 * 2 + 1] == doctest::Approx(0.25).epsilon(1e-15));
  // columns add up to each holder's AVS-slashing ledger
  CHECK(o.avs_holder_loss[0] + o.avs_holder_loss[2] == doctest::Approx(o.cause(0, LossCause::AvsSlashing)).epsilon(1e-15));
}

TEST_CASE("the AVS x holder ledger in unique mode with a faulty slashing reaching one holder only through one AVS") {
  // a1 (0.3) and a2 (0.5) on "op", where "staker" is; a2 also on "op2" (0.4), where "other" is.
  const std::string world = std::string(kEthereum) + R"(
[[operator]]
name = "op"
validators = 10
[[operator]]
name = "op2"
validators = 10
[[protocol]]
name = "p"
slashing_mode = "unique"
[[avs]]
name = "a1"
protocol = "p"
operators = [{ operator = "op", allocation = 0.3 }]
[[avs]]
name = "a2"
protocol = "p"
operators = [{ operator = "op", allocation = 0.5 }, { operator = "op2", allocation = 0.4 }]
[[native]]
name = "staker"
protocol = "p"
positions = [{ operator = "op", stake_eth = 100 }]
[[native]]
name = "other"
protocol = "p"
positions = [{ operator = "op2", stake_eth = 50 }]
)";
  // a1 slashes "op" by 50%: 0.15 of the staker; then a2's faulty slashing takes 50% from both operators.
  const Outcome o = propagate_events(model_from(world), {avs_slash(10, 0, 0.5), {20, EventKind::AvsFaultySlashing, 1, 0, 0.5}});
  CHECK(o.avs_holder_loss[0 * 2 + 0] == doctest::Approx(0.15).epsilon(1e-15));
  CHECK(o.avs_holder_loss[0 * 2 + 1] == 0.0);
  CHECK(o.avs_holder_loss[1 * 2 + 0] == doctest::Approx(0.25).epsilon(1e-15));
  CHECK(o.avs_holder_loss[1 * 2 + 1] == doctest::Approx(0.20).epsilon(1e-15));
  CHECK(o.avs_holder_loss[2] == doctest::Approx(o.cause(0, LossCause::AvsFaultySlashing)).epsilon(1e-15));
}

TEST_CASE("a unique-mode AVS slashing twice compounds on its own remaining allocation") {
  const Outcome o = propagate_events(model_from(two_avs_world("unique")), {avs_slash(1, 0, 0.5), avs_slash(2, 0, 0.5)});
  CHECK(o.loss_fraction[0] == doctest::Approx(0.3 * 0.75));  // 0.15 then 0.075
}

TEST_CASE("ELIP-002 worked example: a 50% slash by the first of three operator sets leaves 180 of 200 tokens") {
  const std::string toml = std::string(kEthereum) + R"(
[[operator]]
name = "op"
validators = 10
[[protocol]]
name = "eigen"
slashing_mode = "unique"
[[avs]]
name = "set1"
protocol = "eigen"
operators = [{ operator = "op", allocation = 0.20 }]
[[avs]]
name = "set2"
protocol = "eigen"
operators = [{ operator = "op", allocation = 0.25 }]
[[avs]]
name = "set3"
protocol = "eigen"
operators = [{ operator = "op", allocation = 0.20 }]
[[native]]
name = "staker"
protocol = "eigen"
positions = [{ operator = "op", stake_eth = 200 }]
)";
  const Outcome o = propagate_events(model_from(toml), {avs_slash(5, 0, 0.5)});
  CHECK(200.0 * (1.0 - o.loss_fraction[0]) == doctest::Approx(180.0));
  CHECK(o.avs_stake_lost[0] == doctest::Approx(20.0));
}

TEST_CASE("EigenLayer dual slashing (ELIP-004): a 75% AVS slash then a beacon loss of half leaves 32 ETH at 4 ETH") {
  const std::string toml = std::string(kHalfPenaltyEthereum) + R"(
[[operator]]
name = "op"
validators = 1
[[protocol]]
name = "eigen"
slashing_mode = "unique"
[[avs]]
name = "avs"
protocol = "eigen"
operators = [{ operator = "op", allocation = 1.0 }]
[[native]]
name = "pod"
protocol = "eigen"
positions = [{ operator = "op", stake_eth = 32 }]
)";
  const Model m = model_from(toml);
  const Outcome o = propagate_events(m, {avs_slash(1, 0, 0.75), {2, EventKind::OperatorFault, 0, 0, 1.0}});
  CHECK(32.0 * (1.0 - o.loss_fraction[0]) == doctest::Approx(4.0));
  CHECK(32.0 * o.cause(0, LossCause::AvsSlashing) == doctest::Approx(24.0));
  CHECK(32.0 * o.cause(0, LossCause::BeaconSlashing) == doctest::Approx(4.0));
  // The order does not change what is left; it changes which cause is booked for how much.
  const Outcome reversed = propagate_events(m, {{1, EventKind::OperatorFault, 0, 0, 1.0}, avs_slash(2, 0, 0.75)});
  CHECK(32.0 * (1.0 - reversed.loss_fraction[0]) == doctest::Approx(4.0));
  CHECK(32.0 * reversed.cause(0, LossCause::BeaconSlashing) == doctest::Approx(16.0));
}

TEST_CASE("beacon losses fall pro rata on every delegator of the operator, restaked or not") {
  const std::string toml = std::string(kHalfPenaltyEthereum) + R"(
[[operator]]
name = "op"
validators = 1
[[protocol]]
name = "eigen"
slashing_mode = "shared"
[[lst]]
name = "lst"
positions = [{ operator = "op", stake_eth = 8 }]
[[lrt]]
name = "lrt"
protocol = "eigen"
positions = [{ operator = "op", stake_eth = 24 }]
)";
  const Outcome o = propagate_events(model_from(toml), {{3, EventKind::OperatorFault, 0, 0, 1.0}});
  CHECK(o.loss_fraction[0] == doctest::Approx(0.5));
  CHECK(o.loss_fraction[1] == doctest::Approx(0.5));
}

namespace {
// Ten operators of 1,000 validators, T = 30,000 ETH of 32 ETH validators... scaled so that
// slashings in one window add to the correlation penalty.
std::string window_world() {
  return R"(
[simulation]
name = "w"
[ethereum]
total_active_stake_eth = 3_200_000
base_apr = 0.0
[ethereum.penalties]
missed_duties = false
[[operator]]
name = "a"
validators = 10_000
[[operator]]
name = "b"
validators = 10_000
[[lst]]
name = "on-a"
positions = [{ operator = "a", stake_eth = 320_000 }]
)";
}
}  // namespace

TEST_CASE("slashings in the same 8192-epoch window add to each other's correlation penalty, 40 days apart they do not") {
  const Model m = model_from(window_world());
  // 10,000 validators (320,000 ETH = 10% of T) each; alone: 3 * 0.1 = 30% correlation penalty.
  const double initial = 1.0 / 4096.0;
  const Outcome alone = propagate_events(m, {{0, EventKind::OperatorFault, 0, 0, 1.0}});
  CHECK(alone.loss_fraction[0] == doctest::Approx(initial + 0.3).epsilon(1e-9));
  const Outcome together = propagate_events(m, {{0, EventKind::OperatorFault, 0, 0, 1.0}, {10, EventKind::OperatorFault, 1, 0, 1.0}});
  CHECK(together.loss_fraction[0] == doctest::Approx(initial + 0.6).epsilon(1e-9));
  const Outcome apart = propagate_events(m, {{0, EventKind::OperatorFault, 0, 0, 1.0}, {40, EventKind::OperatorFault, 1, 0, 1.0}});
  CHECK(apart.loss_fraction[0] == doctest::Approx(initial + 0.3).epsilon(1e-9));
}

TEST_CASE("an incident slashes at least one validator and never the same validator twice") {
  const Model m = model_from(window_world());
  const Outcome tiny = propagate_events(m, {{0, EventKind::OperatorFault, 0, 0, 1e-9}});
  CHECK(tiny.loss_fraction[0] > 0.0);
  const Outcome twice = propagate_events(m, {{0, EventKind::OperatorFault, 0, 0, 1.0}, {1, EventKind::OperatorFault, 0, 0, 1.0}});
  const Outcome once = propagate_events(m, {{0, EventKind::OperatorFault, 0, 0, 1.0}});
  CHECK(twice.loss_fraction[0] == doctest::Approx(once.loss_fraction[0]));
}

namespace {
const std::string kContractWorld = R"(
[simulation]
name = "dag"
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = 0.0
[[operator]]
name = "op"
validators = 1000
[[contract]]
name = "core"
[[contract]]
name = "vault"
depends_on = ["core"]
[[contract]]
name = "wrapper"
depends_on = ["vault"]
[[contract]]
name = "other"
[[contract]]
name = "l2-bridge"
kind = "bridge"
[[protocol]]
name = "eigen"
slashing_mode = "shared"
contracts = ["core"]
[[lrt]]
name = "wrapped"
protocol = "eigen"
contracts = ["wrapper"]
positions = [{ operator = "op", stake_eth = 100 }]
[[lrt]]
name = "vaulted"
protocol = "eigen"
contracts = ["vault"]
bridged = [{ bridge = "l2-bridge", share = 0.25 }]
positions = [{ operator = "op", stake_eth = 100 }]
[[native]]
name = "native"
protocol = "eigen"
positions = [{ operator = "op", stake_eth = 100 }]
[[lst]]
name = "lst"
contracts = ["other"]
positions = [{ operator = "op", stake_eth = 100 }]
)";
Event fail(std::size_t c, double loss, double day = 1) { return {day, EventKind::ContractFailure, c, 0, loss}; }
}  // namespace

TEST_CASE("a contract failure reaches every balance held through it or through a contract that depends on it") {
  const Model m = model_from(kContractWorld);
  // vault fails: wrapper depends on vault -> 'wrapped' and 'vaulted' lose; 'native' sits on core only.
  const Outcome vault = propagate_events(m, {fail(1, 0.4)});
  CHECK(vault.loss_fraction[0] == doctest::Approx(0.4));
  CHECK(vault.loss_fraction[1] == doctest::Approx(0.4));
  CHECK(vault.loss_fraction[2] == 0.0);  // holders are ordered lrt, lst, native: 2 is the LST
  CHECK(vault.loss_fraction[3] == 0.0);
  CHECK(vault.cause(0, LossCause::Contract) == doctest::Approx(0.4));
  // core fails: everything restaked through the protocol loses, once each; the LST does not.
  const Outcome core = propagate_events(m, {fail(0, 0.5)});
  CHECK(core.loss_fraction[0] == doctest::Approx(0.5));
  CHECK(core.loss_fraction[1] == doctest::Approx(0.5));
  CHECK(core.loss_fraction[3] == doctest::Approx(0.5));
  CHECK(core.loss_fraction[2] == 0.0);
  // two failures compound on what is left
  const Outcome both = propagate_events(m, {fail(0, 0.5), fail(2, 0.5, 2)});
  CHECK(both.loss_fraction[0] == doctest::Approx(0.75));
  CHECK(both.loss_fraction[1] == doctest::Approx(0.5));
}

TEST_CASE("a bridge failure hits only the bridged share and is booked as a bridge loss") {
  const Outcome o = propagate_events(model_from(kContractWorld), {fail(4, 0.8)});
  CHECK(o.loss_fraction[1] == doctest::Approx(0.25 * 0.8));
  CHECK(o.cause(1, LossCause::Bridge) == doctest::Approx(0.2));
  CHECK(o.cause(1, LossCause::Contract) == 0.0);
  CHECK(o.loss_fraction[0] == 0.0);
}

namespace {
std::string pool_world(double balance, const char* covers) {
  return std::string(kHalfPenaltyEthereum) + R"(
[[operator]]
name = "op"
validators = 1
[[protocol]]
name = "eigen"
slashing_mode = "shared"
[[avs]]
name = "avs"
protocol = "eigen"
operators = ["op"]
[[lrt]]
name = "covered"
protocol = "eigen"
positions = [{ operator = "op", stake_eth = 20 }]
[[native]]
name = "uncovered"
protocol = "eigen"
positions = [{ operator = "op", stake_eth = 12 }]
[[pool]]
name = "first"
balance_eth = )" + std::to_string(balance) + R"(
covers = [)" + covers + R"(]
holders = ["covered"]
[[pool]]
name = "second"
balance_eth = 1
covers = ["avs_slashing"]
holders = ["covered"]
)";
}
}  // namespace

TEST_CASE("a coverage pool pays covered losses up to exactly its balance, then the next pool, then holders bear the rest") {
  // A 50% AVS slash: 'covered' loses 10 ETH gross; pool 'first' holds 4, 'second' 1.
  const Outcome o = propagate_events(model_from(pool_world(4.0, "\"avs_slashing\"")), {avs_slash(1, 0, 0.5)});
  CHECK(o.pool_drawdown[0] == doctest::Approx(4.0));
  CHECK(o.pool_drawdown[1] == doctest::Approx(1.0));
  CHECK(o.covered_fraction[0] == doctest::Approx(5.0 / 20.0));
  CHECK(o.loss_fraction[0] == doctest::Approx(5.0 / 20.0));
  CHECK(o.cause(0, LossCause::AvsSlashing) == doctest::Approx(0.5));  // the ledger keeps the gross loss
  CHECK(o.loss_fraction[1] == doctest::Approx(0.5));                  // not covered
  // A pool larger than the loss pays all of it.
  const Outcome big = propagate_events(model_from(pool_world(100.0, "\"avs_slashing\"")), {avs_slash(1, 0, 0.5)});
  CHECK(big.pool_drawdown[0] == doctest::Approx(10.0));
  CHECK(big.loss_fraction[0] == doctest::Approx(0.0));
}

TEST_CASE("a pool does not pay for causes it does not cover") {
  const Outcome o = propagate_events(model_from(pool_world(100.0, "\"beacon_slashing\"")), {avs_slash(1, 0, 0.5)});
  CHECK(o.pool_drawdown[0] == 0.0);
  CHECK(o.pool_drawdown[1] == doctest::Approx(1.0));
  const Outcome b = propagate_events(model_from(pool_world(100.0, "\"beacon_slashing\"")), {{1, EventKind::OperatorFault, 0, 0, 1.0}});
  CHECK(b.pool_drawdown[0] == doctest::Approx(10.0));  // half of 20 ETH
  CHECK(b.loss_fraction[0] == doctest::Approx(0.0));
}

namespace {
std::string reward_world(const char* mode, const char* rewards) {
  return std::string(R"(
[simulation]
name = "r"
horizon_days = 365
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = 0.04
[[operator]]
name = "op"
validators = 100
[[protocol]]
name = "p"
slashing_mode = ")") + mode + R"("
[[avs]]
name = "avs"
protocol = "p"
operators = )" + secured_by_op(mode, "0.5") + R"(
[avs.rewards]
)" + rewards + R"(
[[lrt]]
name = "lrt"
protocol = "p"
reward_fee = 0.1
positions = [{ operator = "op", stake_eth = 100 }]
[[lst]]
name = "lst"
positions = [{ operator = "op", stake_eth = 100 }]
)";
}
}  // namespace

TEST_CASE("yield: base APR plus AVS rewards with a subsidy half-life, less fees, on a year without losses") {
  const Model m = model_from(reward_world("unique", "initial_apr = 0.02\nfloor_apr = 0.0\nhalf_life_days = 365"));
  const Outcome o = propagate_events(m, {}, 0.04, {365.0});
  // AVS: 0.02 * integral_0^1 2^-t dt = 0.02 * 0.5 / ln 2 on the allocated half of the stake.
  const double avs = 0.5 * 0.02 * 0.5 / std::log(2.0);
  CHECK(o.net_return[0] == doctest::Approx(0.9 * (0.04 + avs)).epsilon(1e-12));
  CHECK(o.net_return[1] == doctest::Approx(0.04).epsilon(1e-12));
  // Shared mode earns the AVS's rate on the whole stake.
  const Outcome s = propagate_events(model_from(reward_world("shared", "initial_apr = 0.02\nfloor_apr = 0.0\nhalf_life_days = 365")),
                                     {}, 0.04, {365.0});
  CHECK(s.net_return[0] == doctest::Approx(0.9 * (0.04 + 2 * avs)).epsilon(1e-12));
}

TEST_CASE("yield: a subsidy cliff pays the initial rate until the cliff and the floor after it") {
  const Model m = model_from(reward_world("shared", "initial_apr = 0.03\nfloor_apr = 0.01\ncliff_days = 73"));
  const Outcome o = propagate_events(m, {}, 0.0, {73.0});
  CHECK(o.net_return[0] == doctest::Approx(0.9 * (0.03 * 0.2 + 0.01 * 0.8)).epsilon(1e-12));
}

TEST_CASE("yield: rewards accrue on the value left after a loss") {
  const Model m = model_from(reward_world("shared", "initial_apr = 0.0"));
  // Half of everything lost at mid-year: base rewards 0.04 * (0.5 + 0.5 * 0.5); net return = that*0.9 - 0.5.
  const Outcome o = propagate_events(m, {avs_slash(182.5, 0, 0.5)}, 0.04, {0.0});
  CHECK(o.net_return[0] == doctest::Approx(0.9 * 0.04 * 0.75 - 0.5).epsilon(1e-12));
}

TEST_CASE("a loss fully paid by a pool is exactly zero, whatever the order of causes") {
  const Model m = model_from(pool_world(100.0, "\"avs_slashing\", \"beacon_slashing\""));
  const Outcome o = propagate_events(m, {avs_slash(1, 0, 0.1), {2, EventKind::OperatorFault, 0, 0, 1.0}, avs_slash(3, 0, 0.3),
                                         avs_slash(4, 0, 0.7)});
  CHECK(o.loss_fraction[0] == 0.0);
  CHECK(o.covered_fraction[0] > 0.5);
}

TEST_CASE("unique-mode allocations summing to 1 within rounding never take more than the position holds") {
  const std::string toml = std::string(kEthereum) + R"(
[[operator]]
name = "op"
validators = 10
[[protocol]]
name = "eigen"
slashing_mode = "unique"
[[avs]]
name = "x"
protocol = "eigen"
operators = [{ operator = "op", allocation = 0.5 }]
[[avs]]
name = "y"
protocol = "eigen"
operators = [{ operator = "op", allocation = 0.5000000000009 }]
[[native]]
name = "staker"
protocol = "eigen"
positions = [{ operator = "op", stake_eth = 100 }]
)";
  const Outcome o = propagate_events(model_from(toml), {avs_slash(1, 0, 1.0), avs_slash(2, 1, 1.0)}, 0.05);
  CHECK(o.loss_fraction[0] <= 1.0);
  CHECK(o.loss_fraction[0] == doctest::Approx(1.0));
  CHECK(o.net_return[0] >= -1.0);
}

TEST_CASE("an LST restaker bears beacon losses of the operator staking its ETH and AVS slashes of the one it delegates to") {
  const std::string toml = std::string(kHalfPenaltyEthereum) + R"(
[[operator]]
name = "lido-op"
validators = 1
[[operator]]
name = "el-op"
validators = 1
[[protocol]]
name = "eigen"
slashing_mode = "shared"
[[avs]]
name = "avs"
protocol = "eigen"
operators = ["el-op"]
[[native]]
name = "lst-restaker"
protocol = "eigen"
positions = [{ operator = "el-op", staked_with = "lido-op", stake_eth = 32 }]
)";
  const Model m = model_from(toml);
  CHECK(m.holders[0].positions[0].validator_op == 0);
  // el-op's validators are slashed: not this holder's ETH
  CHECK(propagate_events(m, {{1, EventKind::OperatorFault, 1, 0, 1.0}}).loss_fraction[0] == 0.0);
  // lido-op's validators lose half: this holder loses half
  CHECK(propagate_events(m, {{1, EventKind::OperatorFault, 0, 0, 1.0}}).loss_fraction[0] == doctest::Approx(0.5));
  // the AVS slashes el-op: this holder is delegated to it
  CHECK(propagate_events(m, {avs_slash(1, 0, 0.25)}).loss_fraction[0] == doctest::Approx(0.25));
}

TEST_CASE("an operator bond pays only for losses from its own operator's faults and slashes") {
  const std::string toml = std::string(kHalfPenaltyEthereum) + R"(
[[operator]]
name = "bonded"
validators = 1
[[operator]]
name = "other"
validators = 1
[[lst]]
name = "lrt"
positions = [{ operator = "bonded", stake_eth = 32 }, { operator = "other", stake_eth = 32 }]
[[pool]]
name = "bond"
balance_eth = 100
covers = ["beacon_slashing"]
operators = ["bonded"]
)";
  const Model m = model_from(toml);
  const Outcome own = propagate_events(m, {{1, EventKind::OperatorFault, 0, 0, 1.0}});
  CHECK(own.pool_drawdown[0] == doctest::Approx(16.0));
  CHECK(own.loss_fraction[0] == 0.0);
  const Outcome other = propagate_events(m, {{1, EventKind::OperatorFault, 1, 0, 1.0}});
  CHECK(other.pool_drawdown[0] == 0.0);
  CHECK(other.loss_fraction[0] == doctest::Approx(16.0 / 64.0));
}

TEST_CASE("a covered loss is paid back into the position, so later losses fall on the restored value") {
  const std::string toml = std::string(kHalfPenaltyEthereum) + R"(
[[operator]]
name = "op"
validators = 1
[[contract]]
name = "vault"
[[lst]]
name = "covered"
contracts = ["vault"]
positions = [{ operator = "op", stake_eth = 32 }]
[[pool]]
name = "cover"
balance_eth = 100
covers = ["beacon_slashing"]
)";
  // Beacon loss of half (16 ETH), fully paid; then the vault loses half of the restored 32 ETH.
  const Outcome o = propagate_events(model_from(toml), {{1, EventKind::OperatorFault, 0, 0, 1.0}, fail(0, 0.5, 2)});
  CHECK(o.pool_drawdown[0] == doctest::Approx(16.0));
  CHECK(o.cause(0, LossCause::Contract) == doctest::Approx(0.5));
  CHECK(o.loss_fraction[0] == doctest::Approx(0.5));
}

TEST_CASE("a pool pays back an outage's penalties beside the validators too: a later slashing is not inflated") {
  const std::string toml = std::string(kHalfPenaltyEthereum) + R"(
[[operator]]
name = "op"
validators = 2
[[lst]]
name = "covered"
positions = [{ operator = "op", stake_eth = 64 }]
[[pool]]
name = "cover"
balance_eth = 1000
covers = ["inactivity"]
)";
  // A day offline (attestation penalties only), paid back; then one validator slashed alone: 16 ETH.
  Event outage{1, EventKind::Outage, 0, 0, 1.0, 1.0, 0.1};
  const Outcome o = propagate_events(model_from(toml), {outage, {100, EventKind::OperatorFault, 0, 0, 0.5}});
  CHECK(o.cause(0, LossCause::Inactivity) > 0.0);
  CHECK(o.pool_drawdown[0] == doctest::Approx(o.cause(0, LossCause::Inactivity) * 64).epsilon(1e-12));
  CHECK(o.cause(0, LossCause::BeaconSlashing) * 64 == doctest::Approx(16.0).epsilon(1e-12));
}

TEST_CASE("a pool pays back a beacon loss beside the validators: later penalties of those validators are not inflated") {
  const std::string toml = std::string(kHalfPenaltyEthereum) + R"(
[[operator]]
name = "op"
validators = 2
[[lst]]
name = "covered"
positions = [{ operator = "op", stake_eth = 64 }]
[[pool]]
name = "cover"
balance_eth = 1000
covers = ["beacon_slashing"]
)";
  // Two incidents each slash one 32 ETH validator alone (S = 32 each, 40+ days apart): 16 ETH each.
  const Outcome o = propagate_events(model_from(toml), {{1, EventKind::OperatorFault, 0, 0, 0.5}, {100, EventKind::OperatorFault, 0, 0, 1.0}});
  CHECK(o.cause(0, LossCause::BeaconSlashing) * 64 == doctest::Approx(32.0));
  CHECK(o.pool_drawdown[0] == doctest::Approx(32.0));
  CHECK(o.loss_fraction[0] == 0.0);
}
