// The concentration of a holder's book (stats/concentration.hpp), worked out by hand.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "io/scenario.hpp"
#include "stats/concentration.hpp"
#include "support.hpp"

using namespace restake;
using namespace restake::test;

namespace {

// 60,000 ETH with op-a and 40,000 with op-b, restaked in `mode`; op-a secures a1 (allocation 0.5
// in unique mode) and a2 (0.25), op-b secures a2 (0.5). A 992 ETH LST stakes with op-b, not
// restaked. Shared mode has no allocations: every AVS may slash the whole stake.
std::string book(const std::string& mode) {
  const bool unique = mode == "unique";
  const auto member = [&](const char* op, const char* allocation) {
    return fmt::format("{{ operator = \"{}\"{} }}", op, unique ? fmt::format(", allocation = {}", allocation) : "");
  };
  return R"(
[simulation]
name = "books"
trials = 10
seed = 1
horizon_days = 365
[ethereum]
total_active_stake_eth = 34_000_000
base_apr = 0.0
[[operator]]
name = "op-a"
stake_eth = 60_000
[[operator]]
name = "op-b"
stake_eth = 40_992
[[protocol]]
name = "restaking"
slashing_mode = ")" + mode + R"("
[[avs]]
name = "a1"
protocol = "restaking"
operators = [)" + member("op-a", "0.5") + R"(]
[[avs]]
name = "a2"
protocol = "restaking"
operators = [)" + member("op-a", "0.25") + ", " + member("op-b", "0.5") + R"(]
[[native]]
name = "restakers"
protocol = "restaking"
positions = [{ operator = "op-a", stake_eth = 60_000 }, { operator = "op-b", stake_eth = 40_000 }]
[[lst]]
name = "lst"
positions = [{ operator = "op-b", stake_eth = 992 }]
)";
}

}  // namespace

TEST_CASE("concentration: Herfindahl indices over operators and AVSs, the share restaked and the restaking ratio, by hand") {
  for (const std::string mode : {"unique", "shared"}) {
    CAPTURE(mode);
    const Model m = model_from(book(mode));
    const std::vector<Concentration> all = concentration(m, make_world(m));
    REQUIRE(all.size() == 2);
    const auto of = [&](const char* name) {
      for (std::size_t h = 0; h < m.holders.size(); ++h)
        if (m.holders[h].name == name) return all[h];
      FAIL("no holder ", name);
      return Concentration{};
    };
    const Concentration c[2] = {of("restakers"), of("lst")};
    CHECK(c[0].hhi_operators == doctest::Approx(0.6 * 0.6 + 0.4 * 0.4).epsilon(1e-14));
    CHECK(c[0].restaked_share == 1.0);
    if (mode == "unique") {
      // Exposure: a1 = 0.5 x 60,000 = 30,000; a2 = 0.25 x 60,000 + 0.5 x 40,000 = 35,000.
      CHECK(c[0].hhi_avs == doctest::Approx((30.0 * 30.0 + 35.0 * 35.0) / (65.0 * 65.0)).epsilon(1e-14));
      CHECK(c[0].restaking_ratio == doctest::Approx(0.65).epsilon(1e-14));
    } else {
      // Every AVS of an operator can slash all of its stake: a1 = 60,000, a2 = 100,000.
      CHECK(c[0].hhi_avs == doctest::Approx((0.6 * 0.6 + 1.0) / (1.6 * 1.6)).epsilon(1e-14));
      CHECK(c[0].restaking_ratio == doctest::Approx(1.6).epsilon(1e-14));
    }
    // The LST: one operator, no AVS.
    CHECK(c[1].hhi_operators == 1.0);
    CHECK(c[1].hhi_avs == 0.0);
    CHECK(c[1].restaked_share == 0.0);
    CHECK(c[1].restaking_ratio == 0.0);
  }
}
