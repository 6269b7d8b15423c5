// [[allocation_change]] (ELIP-002): a deallocation stays slashable until the protocol's escrow
// ends, an allocation waits for the operator's allocation delay; hand-worked against forced slashes.
#include <doctest/doctest.h>

#include <string>

#include "support.hpp"

using namespace restake;
using namespace restake::test;

namespace {

// One operator, one unique-mode set holding `allocation` of its stake, one native holder. The
// operator changes its allocation to `to` on day 100 (`change` adds keys to that table and the
// operator's); a faulty slashing of `fraction` is forced on `slash_day`. Rewards: the AVS pays
// 10% a year on the allocated share, the chain nothing.
std::string world(double allocation, double to, double slash_day, double fraction = 1.0, const std::string& operator_keys = "",
                  const std::string& protocol_keys = "escrow_days = 14") {
  return R"(
[simulation]
name = "allocation-change"
trials = 1
seed = 1
horizon_days = 365
[ethereum]
total_active_stake_eth = 34_000_000
base_apr = 0.0
[[operator]]
name = "op"
validators = 100
)" + operator_keys + R"(
[[protocol]]
name = "el"
slashing_mode = "unique"
)" + protocol_keys + R"(
[[avs]]
name = "set"
protocol = "el"
operators = [{ operator = "op", allocation = )" + std::to_string(allocation) + R"( }]
rewards = { initial_apr = 0.1 }
[[native]]
name = "n"
protocol = "el"
positions = [{ operator = "op", stake_eth = 3200 }]
[[allocation_change]]
operator = "op"
avs = "set"
allocation = )" + std::to_string(to) + R"(
day = 100
[stress]
random_events = false
  [[stress.avs_failures]]
  avs = ["set"]
  day = )" + std::to_string(slash_day) + R"(
  fraction = )" + std::to_string(fraction) + "\n";
}

double loss_of(const std::string& toml) { return run_in_memory(model_from(toml), 1, 1).loss(0, 0); }

}  // namespace

TEST_CASE("a deallocation stays slashable at the old allocation until the escrow ends") {
  // 0.5 -> 0.1 requested on day 100, out of the set's reach on day 114.
  CHECK(loss_of(world(0.5, 0.1, 50)) == doctest::Approx(0.5).epsilon(1e-15));   // before the request
  CHECK(loss_of(world(0.5, 0.1, 113.9)) == doctest::Approx(0.5).epsilon(1e-15));  // in the escrow
  CHECK(loss_of(world(0.5, 0.1, 114.1)) == doctest::Approx(0.1).epsilon(1e-15));  // after it
  // Symbiotic-style epochs of 30 days: requested in epoch 3 (day 100), out once epoch 4 ends (day 150).
  CHECK(loss_of(world(0.5, 0.1, 149, 1.0, "", "epoch_days = 30")) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(loss_of(world(0.5, 0.1, 151, 1.0, "", "epoch_days = 30")) == doctest::Approx(0.1).epsilon(1e-15));
  // Slashable through the escrow's last moment: a slash requested on day 113 that executes after a
  // 1-day veto window, exactly when the escrow ends, still takes the old allocation.
  CHECK(loss_of(world(0.5, 0.1, 113, 1.0, "", "escrow_days = 14\nveto_window_days = 1")) == doctest::Approx(0.5).epsilon(1e-15));
  // Without an escrow the deallocation is immediate.
  CHECK(loss_of(world(0.5, 0.1, 100.5, 1.0, "", "escrow_days = 0")) == doctest::Approx(0.1).epsilon(1e-15));
}

TEST_CASE("a slash during the escrow takes the pending deallocation pro rata") {
  // 0.5 -> 0.1 on day 100; a 50% slash on day 105 leaves 0.25 allocated, of which the kept part is
  // 0.25 x 0.1 / 0.5 = 0.05 once the escrow ends; a second 50% slash (day 120) takes half of that.
  std::string toml = world(0.5, 0.1, 105, 0.5);
  toml += "  [[stress.avs_failures]]\n  avs = [\"set\"]\n  day = 120\n  fraction = 0.5\n";
  CHECK(loss_of(toml) == doctest::Approx(0.25 + 0.025).epsilon(1e-14));
}

TEST_CASE("an allocation takes effect after the operator's allocation delay") {
  const std::string delay = "allocation_delay_days = 5";
  CHECK(loss_of(world(0.5, 0.9, 104.9, 1.0, delay)) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(loss_of(world(0.5, 0.9, 105.1, 1.0, delay)) == doctest::Approx(0.9).epsilon(1e-15));
  // An increase does not wait for the escrow, nor a decrease for the allocation delay.
  CHECK(loss_of(world(0.5, 0.9, 100.5)) == doctest::Approx(0.9).epsilon(1e-15));
  CHECK(loss_of(world(0.5, 0.1, 105.1, 1.0, "allocation_delay_days = 30")) == doctest::Approx(0.5).epsilon(1e-15));
}

TEST_CASE("the AVS pays on the allocation as it changes") {
  // No slash (it falls after the horizon's end in effect: fraction 0). Rewards 10% a year on the
  // allocated share: 0.5 until day 114 (the deallocation's end), 0.1 after.
  const Records r = run_in_memory(model_from(world(0.5, 0.1, 200, 0.0)), 1, 1);
  CHECK(r.net_return[0] == doctest::Approx(0.1 * (0.5 * 114 + 0.1 * (365 - 114)) / 365).epsilon(1e-12));
  // An increase to 0.9 after a 5-day delay: 0.5 until day 105, 0.9 after.
  const Records up = run_in_memory(model_from(world(0.5, 0.9, 200, 0.0, "allocation_delay_days = 5")), 1, 1);
  CHECK(up.net_return[0] == doctest::Approx(0.1 * (0.5 * 105 + 0.9 * (365 - 105)) / 365).epsilon(1e-12));
}

TEST_CASE("an operator that leaves after a fault is caught by the slashes its escrow still covers") {
  // A 50% faulty slashing on day 300; the operator deallocates everything a day later, so the set
  // keeps its reach until day 315: a second slash on day 310 still takes half of what is left.
  std::string caught = world(0.5, 0.0, 300, 0.5);
  caught.replace(caught.find("day = 100"), 9, "after_fault_days = 1");
  caught += "  [[stress.avs_failures]]\n  avs = [\"set\"]\n  day = 310\n  fraction = 0.5\n";
  CHECK(loss_of(caught) == doctest::Approx(0.25 + 0.125).epsilon(1e-14));
  // A third on day 320 finds nothing allocated any more.
  caught += "  [[stress.avs_failures]]\n  avs = [\"set\"]\n  day = 320\n  fraction = 0.5\n";
  CHECK(loss_of(caught) == doctest::Approx(0.25 + 0.125).epsilon(1e-14));
  // Without a fault there is nothing to leave after: the allocation stays, and the day-320 slash
  // alone takes half of it.
  std::string calm = world(0.5, 0.0, 320, 0.5);
  calm.replace(calm.find("day = 100"), 9, "after_fault_days = 1");
  CHECK(loss_of(calm) == doctest::Approx(0.25).epsilon(1e-14));
}
