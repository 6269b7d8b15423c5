// The market episode (sim/market/episode): sellers, holders, arbitrage, liquidations to a fixed point
// and LP withdrawal on an hourly grid, checked against closed forms and hand-worked cases
// (docs/markets.md, "The episode").
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "chain/consensus.hpp"
#include "market/episode.hpp"

using namespace restake;
using namespace restake::market;

namespace {
const ConsensusParams kElectra = consensus_params(Fork::Electra, 34'000'000 * kGweiPerEth);
constexpr double kHour = 1.0 / 24.0;
const std::vector<NavPoint> kFlatNav{{0.0, 1.0}};

// 100,000 tokens, a constant-product pool of `depth` tokens and ETH at price 1, withdrawals closed
// (no arbitrage), nobody selling, no lending.
TokenMarket cp_market(double depth, double fee = 0.0) {
  TokenMarket m;
  m.supply = 100'000;
  m.pool = ConstantProductPool{depth, depth, fee};
  m.redemption.open = false;
  return m;
}

// Sellers who dump `tokens` in the first step.
Sellers dump(const TokenMarket& m, double tokens) { return {.share = tokens / m.supply, .trigger = 0.0, .hours = 1.0}; }

EpisodeGrid hourly(std::size_t steps) {
  EpisodeGrid g;
  g.steps = steps;
  return g;
}

// A bucket at health factor `hf` read at price 1, owing `debt` ETH.
BorrowerBucket at_hf(const LendingMarket& m, double hf, double debt, double accounts = 1.0) {
  return {{hf * debt / m.liquidation_threshold, debt}, accounts};
}

// Redemption paid at once from a buffer no purchase exhausts.
Redemption instant() {
  Redemption r;
  r.buffer_eth = 1e12;
  return r;
}

double pool_token(const Pool& p) { return std::visit([](const auto& q) { return q.token; }, p); }
double pool_eth(const Pool& p) { return std::visit([](const auto& q) { return q.eth; }, p); }
}  // namespace

TEST_CASE("the pool variant dispatches to each pool's own functions") {
  const Pool cp = ConstantProductPool{1'000, 1'000, 0.003};
  const Pool w = WeightedPool{800, 200, 0.8, 0.003};
  const Pool ss = StableSwapPool{1'000, 1'500, 50.0, 0.0004};
  CHECK(spot_price(cp) == 1.0);
  CHECK(spot_price(w) == doctest::Approx(1.0).epsilon(1e-15));  // (200 / 0.2) / (800 / 0.8)
  CHECK(spot_price(ss) == spot_price(std::get<StableSwapPool>(ss)));
  const auto s = sell(ss, 100);
  CHECK(s.out == sell(std::get<StableSwapPool>(ss), 100).out);
  CHECK(std::get<StableSwapPool>(s.pool).token == 1'100);
  const auto b = buy(w, 10);
  CHECK(b.out == buy(std::get<WeightedPool>(w), 10).out);
  CHECK(std::get<ConstantProductPool>(withdraw_liquidity(cp, 0.25)).eth == 750);
  CHECK_THROWS_WITH_AS(check_pool(Pool{ConstantProductPool{0, 1, 0}}),
                       "constant-product pool: token reserve must be finite and > 0, got 0", std::invalid_argument);
}

TEST_CASE("an infinitely deep pool does not depeg under sell pressure") {
  for (const double depth : {1e15, 1e3}) {
    TokenMarket m = cp_market(depth, 0.003);
    m.sellers = {.share = 0.5, .trigger = 0.0, .hours = 24.0};  // 50,000 tokens over a day
    const EpisodeResult r = run_episode(m, kFlatNav, kElectra, hourly(48));
    CAPTURE(depth);
    if (depth == 1e15)
      CHECK(std::abs(r.min_price_to_nav - 1.0) < 1e-9);
    else
      CHECK(r.min_price_to_nav < 0.01);  // the same sale through 1,000 of depth: (1,000 / 51,000)^2
    CHECK(r.sold_by_holders == doctest::Approx(50'000).epsilon(1e-15));
  }
}

TEST_CASE("sellers alone on a constant-product pool: the low is k / (x0 + S)^2, depegged from their first step") {
  // k = 10^8; S = 5% of 100,000 = 5,000 over 24 hours; no fee, no arbitrage: the price only falls,
  // to 10^8 / 15,000^2 = 4/9, and the first hour's 208.3 tokens already take it to
  // (10,000 / 10,208.3)^2 = 0.960 < 0.99: all 48 steps are depegged, 2 days.
  TokenMarket m = cp_market(10'000);
  m.sellers = {.share = 0.05, .trigger = 0.0, .hours = 24.0};
  const EpisodeResult r = run_episode(m, kFlatNav, kElectra, hourly(48), true);
  CHECK(r.min_price == doctest::Approx(1e8 / (15'000.0 * 15'000.0)).epsilon(1e-13));
  CHECK(r.min_price_to_nav == r.min_price);
  CHECK(r.depeg_days == doctest::Approx(2.0).epsilon(1e-15));
  CHECK(r.sold_by_holders == doctest::Approx(5'000).epsilon(1e-15));
  CHECK(r.sold_by_sellers == r.sold_by_holders);  // below NAV only the sellers sell
  REQUIRE(r.path.size() == 48);
  CHECK(r.path[0].price_eth == doctest::Approx(1e8 / std::pow(10'000 + 5'000 / 24.0, 2)).epsilon(1e-13));
  CHECK(r.path[22].price_eth > r.min_price);  // the 24th hour sells the remainder
  CHECK(r.path[23].price_eth == r.min_price);
  CHECK(r.path[47].price_eth == r.min_price);
  CHECK(r.bought_by_arbitrageurs == 0.0);

  // Triggered by a 5% NAV write-down at day 1: holders first sell down to NAV 0.95 (the pool then
  // holds sqrt(k / 0.95) tokens), then the sellers add their 5,000. Depegged from step 24: 1 day.
  m.sellers.trigger = 0.05;
  const std::vector<NavPoint> nav{{0.0, 1.0}, {1.0, 0.95}};
  const EpisodeResult w = run_episode(m, nav, kElectra, hourly(48), true);
  const double x = std::sqrt(1e8 / 0.95) + 5'000;
  CHECK(w.min_price == doctest::Approx(1e8 / (x * x)).epsilon(1e-13));
  CHECK(w.min_price_to_nav == doctest::Approx(1e8 / (x * x) / 0.95).epsilon(1e-13));
  CHECK(w.depeg_days == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(w.path[23].price_eth == 1.0);  // nothing happens before the trigger
  CHECK(w.sold_by_holders == doctest::Approx(std::sqrt(1e8 / 0.95) - 10'000 + 5'000).epsilon(1e-13));
}

TEST_CASE("sellers sell share x supply x step / hours per step, the last step the remainder") {
  // 2,500 tokens over 2.5 hours: 1,000, 1,000, then the remaining 500.
  TokenMarket m = cp_market(10'000);
  m.sellers = {.share = 0.025, .trigger = 0.0, .hours = 2.5};
  const EpisodeResult r = run_episode(m, kFlatNav, kElectra, hourly(4), true);
  CHECK(r.path[0].price_eth == doctest::Approx(1.0 / (1.1 * 1.1)).epsilon(1e-13));
  CHECK(r.path[1].price_eth == doctest::Approx(1.0 / (1.2 * 1.2)).epsilon(1e-13));
  CHECK(r.path[2].price_eth == doctest::Approx(1.0 / (1.25 * 1.25)).epsilon(1e-13));
  CHECK(r.path[3].price_eth == r.path[2].price_eth);
  CHECK(r.sold_by_holders == doctest::Approx(2'500).epsilon(1e-15));
  // Spread over longer than the episode: only the episode's share of it is sold.
  m.sellers.hours = 1e6;
  CHECK(run_episode(m, kFlatNav, kElectra, hourly(4)).sold_by_holders == doctest::Approx(2'500 * 4 / 1e6).epsilon(1e-12));
}

TEST_CASE("while the pool pays more than NAV holders sell down to exactly NAV, on every kind of pool") {
  const std::vector<NavPoint> nav{{0.0, 0.9}};
  for (const Pool& pool : {Pool{ConstantProductPool{10'000, 10'000, 0.003}}, Pool{WeightedPool{8'000, 2'000, 0.8, 0.003}},
                           Pool{StableSwapPool{10'000, 10'000, 50.0, 0.0004}}}) {
    TokenMarket m = cp_market(1);
    m.pool = pool;
    const EpisodeResult r = run_episode(m, nav, kElectra, hourly(3), true);
    CAPTURE(pool.index());
    CHECK(r.path[0].price_eth == doctest::Approx(0.9).epsilon(1e-12));
    CHECK(r.path[2].price_eth == r.path[0].price_eth);
    CHECK(r.min_price_to_nav == doctest::Approx(1.0).epsilon(1e-12));
    CHECK(r.depeg_days == 0.0);
    CHECK(r.sold_by_holders > 0.0);
  }
  // Constant product: the sale is sell_to_price's closed form.
  TokenMarket m = cp_market(10'000, 0.003);
  const EpisodeResult r = run_episode(m, nav, kElectra, hourly(1));
  CHECK(r.sold_by_holders == sell_to_price(ConstantProductPool{10'000, 10'000, 0.003}, 0.9));
  CHECK(r.sold_by_sellers == 0.0);  // repricing to NAV, not a sellers' sale
}

TEST_CASE("an exchange-rate oracle: a market depeg liquidates nobody, a 7% write-down exactly HF < 1 / 0.93") {
  const LendingMarket aave = aave_lrt_emode();
  const double threshold = 1.0 / 0.93;  // 1.0753
  LendingBook book{.market = aave, .oracle = {.kind = OracleKind::ExchangeRate}, .reserve = {}, .borrowers = {}};
  book.borrowers = {at_hf(aave, threshold * (1 - 1e-6), 100, 3), at_hf(aave, threshold * (1 + 1e-6), 100, 5),
                    at_hf(aave, 1.001, 100, 2)};

  // The pool falls to (10,000 / 15,000)^2 = 0.444 with NAV unchanged: the oracle still reads 1.
  TokenMarket m = cp_market(10'000);
  m.sellers = dump(m, 5'000);
  m.lending = {book};
  const EpisodeResult depeg = run_episode(m, kFlatNav, kElectra, hourly(24));
  REQUIRE(depeg.min_price < 0.45);
  CHECK(depeg.lending[0].accounts_liquidated == 0.0);
  CHECK(depeg.lending[0].liquidated_tokens == 0.0);
  CHECK(depeg.sold_by_liquidators == 0.0);

  // NAV -7%, nobody selling: the oracle reads 0.93, so the first bucket (HF x 0.93 just below 1) is
  // liquidated and the second (just above) is not, whatever the pool does after the holders' and
  // liquidators' sales; the HF 1.001 bucket falls too. Accounts: (3 + 2) / 10.
  book.borrowers = {at_hf(aave, threshold * (1 - 1e-6), 100, 3), at_hf(aave, threshold * (1 + 1e-6), 100, 5)};
  m = cp_market(10'000);
  m.lending = {book};
  const std::vector<NavPoint> nav{{0.0, 0.93}};
  const EpisodeResult down = run_episode(m, nav, kElectra, hourly(24));
  CHECK(down.lending[0].accounts_liquidated == doctest::Approx(3.0 / 8.0).epsilon(1e-15));
  CHECK(down.lending[0].liquidated_tokens > 0.0);
  CHECK(down.lending[0].deficit_eth == 0.0);  // HF 0.99999 heals: above the spiral threshold 0.9595
  CHECK(down.sold_by_liquidators == down.lending[0].liquidated_tokens);
  CHECK(down.min_price < 0.93);  // the seized collateral sold below NAV
}

TEST_CASE("a market spot oracle on a pure depeg liquidates below the threshold, and the spiral reaches further") {
  // Hand-worked: k = 10^6, 50 tokens dumped: p1 = (1,000 / 1,050)^2 = 0.907029. Morpho LLTV 86%
  // (LIF 1.043841), three buckets owing 20 ETH at HF 1.05, 1.12, 1.5 (read at 1): only
  // HF < 1 / p1 = 1.1025 is liquidatable, so only A.
  //   round 1: A repays 20, seizes s_a = 20 x LIF / p1 = 23.016701 (of 24.418605). Sold at once it
  //            would take the price to (1,000 / (1,050 + s_a))^2 = 0.868534, past B's trigger
  //            1 / 1.12 = 0.892857: it is sold down to that trigger (less a hair, 1e-9), at
  //            x1 = 1,000 / sqrt(0.892857) = 1,058.300524 tokens in the pool;
  //   round 2: B, at HF 1 - 1e-9, repays 20 and seizes s_b = 20 x LIF / 0.892857 = 23.381; the rest
  //            of both, sold, leaves x = 1,050 + s_a + s_b and p3 = 0.831884, above C's trigger 2/3;
  //   round 3: C at 1.5 x p3 = 1.248 is healthy; A and B owe nothing. The fixed point.
  const LendingMarket morpho = morpho_blue_market(0.86);
  const double lif = morpho_incentive_factor(0.86);
  TokenMarket m = cp_market(1'000);
  m.supply = 1'000;
  m.sellers = dump(m, 50);
  m.lending = {LendingBook{.market = morpho,
                           .oracle = {.kind = OracleKind::MarketSpot},
                           .reserve = {},
                           .borrowers = {at_hf(morpho, 1.05, 20), at_hf(morpho, 1.12, 20), at_hf(morpho, 1.5, 20)}}};
  const EpisodeResult r = run_episode(m, kFlatNav, kElectra, hourly(3), true);

  const double p1 = 1e6 / (1'050.0 * 1'050.0);
  CHECK(1.12 * p1 > 1.0);  // B is safe at the first price: only the spiral reaches it
  const double s_a = 20 * lif / p1;
  CHECK(s_a == doctest::Approx(23.016701461377870564).epsilon(1e-14));
  CHECK(1e6 / std::pow(1'050 + s_a, 2) < 1 / 1.12);  // sold at once, A's collateral would overshoot B's trigger
  const double p_b = (1 / 1.12) * (1 - 1e-9);
  const double s_b = 20 * lif / p_b;
  const double x_end = 1'050 + s_a + s_b;
  const double p3 = 1e6 / (x_end * x_end);
  CHECK(p3 == doctest::Approx(0.831884).epsilon(1e-6));
  CHECK(r.sold_by_liquidators == doctest::Approx(s_a + s_b).epsilon(1e-12));
  CHECK(r.min_price == doctest::Approx(p3).epsilon(1e-12));
  CHECK(r.path[0].price_eth == r.min_price);  // all within the first step
  CHECK(r.path[2].price_eth == r.min_price);
  const LendingOutcome& o = r.lending[0];
  CHECK(o.accounts_liquidated == doctest::Approx(2.0 / 3.0).epsilon(1e-15));
  CHECK(o.repaid_eth == doctest::Approx(40).epsilon(1e-14));
  CHECK(o.debt_left_eth == 20);
  CHECK(o.deficit_eth == 0.0);
  // No fee: the ETH out of the pool is k / 1,050 - k / x_end, however the sales were cut.
  CHECK(r.eth_to_liquidators == doctest::Approx(1e6 / 1'050 - 1e6 / x_end).epsilon(1e-12));

  // At most one round: A alone; the rounds run out and the rest is sold at once, so the price
  // stops at p2 = (1,000 / (1,050 + s_a))^2, where B is liquidated in the next step.
  const double p2 = 1e6 / std::pow(1'050 + s_a, 2);
  EpisodeGrid one = hourly(3);
  one.max_rounds = 1;
  CHECK(run_episode(m, kFlatNav, kElectra, one).lending[0].accounts_liquidated == doctest::Approx(2.0 / 3.0).epsilon(1e-15));
  one.steps = 1;
  const EpisodeResult first = run_episode(m, kFlatNav, kElectra, one);
  CHECK(first.min_price == doctest::Approx(p2).epsilon(1e-13));
  CHECK(first.lending[0].accounts_liquidated == doctest::Approx(1.0 / 3.0).epsilon(1e-15));
}

TEST_CASE("a one-day TWAP sees a one-hour dip to p as 23/24 + p/24") {
  // 5,000 tokens dumped into 10,000 x 10,000 at hour 0: p = 4/9 for that hour; arbitrageurs with an
  // instant redemption at r = 0 bring it back to 1 at hour 1. The TWAP at hour 1 is then
  // 23/24 + (4/9)/24 = 211/216 whatever is sold at hour 1 (it has held for no time yet): exactly the
  // buckets with HF < 216/211 = 1.0237 are liquidated. At hour 0 the dip has held for no time either.
  const LendingMarket aave = aave_lrt_emode();
  const double threshold = 216.0 / 211.0;
  TokenMarket m = cp_market(10'000);
  m.sellers = dump(m, 5'000);
  m.redemption = instant();
  m.arbitrageurs = {.capital_eth = 1e9, .required_return = 0.0};
  m.lending = {LendingBook{.market = aave,
                           .oracle = {.kind = OracleKind::MarketTwap, .twap_window_days = 1.0},
                           .reserve = {},
                           .borrowers = {at_hf(aave, threshold * (1 - 1e-4), 10), at_hf(aave, threshold * (1 + 1e-4), 10)}}};
  EpisodeGrid g = hourly(2);
  const EpisodeResult one_step = [&] {
    EpisodeGrid first = g;
    first.steps = 1;
    return run_episode(m, kFlatNav, kElectra, first);
  }();
  CHECK(one_step.min_price == doctest::Approx(4.0 / 9.0).epsilon(1e-13));
  CHECK(one_step.lending[0].accounts_liquidated == 0.0);
  const EpisodeResult r = run_episode(m, kFlatNav, kElectra, g, true);
  CHECK(r.lending[0].accounts_liquidated == 0.5);
  CHECK(r.lending[0].liquidated_tokens > 0.0);
  // The seized collateral is not sold: redeeming at once at NAV pays more than the pool's 1.
  CHECK(r.redeemed_by_liquidators == r.lending[0].liquidated_tokens);
  CHECK(r.sold_by_liquidators == 0.0);
  CHECK(r.path[1].price_eth == doctest::Approx(1.0).epsilon(1e-12));

  // A spot oracle liquidates both at hour 0.
  m.lending[0].oracle = {.kind = OracleKind::MarketSpot};
  CHECK(run_episode(m, kFlatNav, kElectra, g).lending[0].accounts_liquidated == 1.0);
}

TEST_CASE("arbitrage with an instant redemption and r = 0 brings the price back to NAV, and the capital back") {
  // Step 0: 5,000 dumped, x = 15,000, y = 10^8 / 15,000. Step 1: the floor is NAV = 1, so the pool
  // returns to x = y = 10,000: 5,000 tokens bought for 10,000 - 6,666.67 ETH, redeemed for 5,000 ETH,
  // paid at once and back in hand from step 2.
  TokenMarket m = cp_market(10'000);
  m.sellers = dump(m, 5'000);
  m.redemption = instant();
  m.arbitrageurs = {.capital_eth = 1e9, .required_return = 0.0};
  const EpisodeResult r = run_episode(m, kFlatNav, kElectra, hourly(3), true);
  CHECK(r.path[0].price_eth == doctest::Approx(4.0 / 9.0).epsilon(1e-13));
  CHECK(std::abs(r.path[1].price_eth - 1.0) < 1e-12);
  CHECK(std::abs(r.path[2].price_eth - 1.0) < 1e-12);
  CHECK(r.bought_by_arbitrageurs == doctest::Approx(5'000).epsilon(1e-12));
  CHECK(r.eth_spent_by_arbitrageurs == doctest::Approx(10'000 - 1e8 / 15'000).epsilon(1e-12));
  CHECK(r.eth_redeemed == doctest::Approx(5'000).epsilon(1e-12));
  CHECK(r.eth_returned_to_arbitrageurs == r.eth_redeemed);
  CHECK(r.depeg_days == doctest::Approx(kHour).epsilon(1e-15));
}

TEST_CASE("arbitrage: closed withdrawals buy nothing, capital locked past the episode does not come back") {
  TokenMarket m = cp_market(10'000);
  m.sellers = dump(m, 5'000);
  m.arbitrageurs = {.capital_eth = 1'000, .required_return = 0.0};
  // Closed: no floor, the dip stays.
  const EpisodeResult closed = run_episode(m, kFlatNav, kElectra, hourly(24));
  CHECK(closed.bought_by_arbitrageurs == 0.0);
  CHECK(closed.min_price == doctest::Approx(4.0 / 9.0).epsilon(1e-13));
  CHECK(closed.depeg_days == doctest::Approx(1.0).epsilon(1e-15));

  // Open, but everything waits for a 30-day escrow: the 1,000 ETH are spent at hour 1 and nothing
  // comes back within the day, so the price stays where 1,000 ETH left it.
  m.redemption.open = true;
  m.redemption.escrow_days = 30;
  const EpisodeResult locked = run_episode(m, kFlatNav, kElectra, hourly(24), true);
  CHECK(locked.eth_spent_by_arbitrageurs == 1'000);
  CHECK(locked.eth_returned_to_arbitrageurs == 0.0);
  const double y = 1e8 / 15'000 + 1'000;  // the pool's ETH after the purchase; x y = 10^8
  CHECK(locked.path[1].price_eth == doctest::Approx(y * y / 1e8).epsilon(1e-13));
  CHECK(locked.path[23].price_eth == locked.path[1].price_eth);

  // Paid at once instead: the same 1,000 ETH come back (as NAV) every hour and are spent again.
  m.redemption = instant();
  const EpisodeResult recycled = run_episode(m, kFlatNav, kElectra, hourly(24), true);
  CHECK(recycled.eth_spent_by_arbitrageurs > 2'000);
  CHECK(recycled.eth_returned_to_arbitrageurs > 0.0);
  CHECK(recycled.path[23].price_eth > locked.path[23].price_eth);
}

TEST_CASE("until withdrawals open the wait includes the time left: the floor is NAV / (1 + r D / 365)") {
  // NAV rises to 1.02 at day 0 with the pool at 1: arbitrageurs buy up to the floor. Withdrawals
  // open at day 10, then pay at once from the buffer; r = 10% a year.
  TokenMarket m = cp_market(10'000);
  m.redemption = instant();
  m.redemption_opens_days = 10;
  m.arbitrageurs = {.capital_eth = 1e9, .required_return = 0.10};
  const std::vector<NavPoint> nav{{0.0, 1.02}};
  const EpisodeResult r = run_episode(m, nav, kElectra, hourly(2), true);
  CHECK(r.path[0].price_eth == doctest::Approx(1.02 / (1 + 0.10 * 10 / 365)).epsilon(1e-12));
  CHECK(r.path[1].price_eth == doctest::Approx(1.02 / (1 + 0.10 * (10 - kHour) / 365)).epsilon(1e-12));
  CHECK(r.sold_by_holders == 0.0);  // below NAV: nobody sells
  // What the arbitrageurs redeem at day 0 is paid at day 10, after the episode.
  CHECK(r.eth_returned_to_arbitrageurs == 0.0);
  CHECK(r.eth_redeemed == doctest::Approx(1.02 * r.bought_by_arbitrageurs).epsilon(1e-15));
}

TEST_CASE("a floor that depends on the purchase: within the buffer it is NAV, beyond it lower") {
  // r = 10%, a 14-day escrow beyond a 500 ETH buffer: redeeming within the buffer is instant (floor
  // NAV = 1), beyond it the floor is 1 / (1 + 0.1 x 14 / 365) = 0.99618.
  TokenMarket m = cp_market(10'000);
  m.redemption.open = true;
  m.redemption.buffer_eth = 500;
  m.redemption.escrow_days = 14;
  m.arbitrageurs = {.capital_eth = 1e9, .required_return = 0.10};
  const double far_floor = 1.0 / (1 + 0.1 * 14 / 365);

  // A dump of 510: x = 10,510. Buying the buffer's 500 tokens leaves x = 10,010, price
  // (10,000 / 10,010)^2 = 0.998003: still below 1 but above the floor beyond the buffer, so the
  // arbitrageurs stop at the buffer. Paid at once, back at hour 2; then anything more would wait 14
  // days, and 0.998 is above that floor: no more buying.
  m.sellers = dump(m, 510);
  const EpisodeResult small = run_episode(m, kFlatNav, kElectra, hourly(3), true);
  REQUIRE(std::pow(10'000 / 10'010.0, 2) > far_floor);
  CHECK(small.bought_by_arbitrageurs == doctest::Approx(500).epsilon(1e-12));
  CHECK(small.path[1].price_eth == doctest::Approx(std::pow(10'000 / 10'010.0, 2)).epsilon(1e-12));
  CHECK(small.path[2].price_eth == small.path[1].price_eth);
  CHECK(small.eth_returned_to_arbitrageurs == doctest::Approx(500).epsilon(1e-12));

  // A dump of 5,000 to 4/9: beyond the buffer the price is still far below 0.99618, so they buy on,
  // up to that floor, and the whole purchase waits for the escrow.
  m.sellers = dump(m, 5'000);
  const EpisodeResult large = run_episode(m, kFlatNav, kElectra, hourly(3), true);
  CHECK(large.path[1].price_eth == doctest::Approx(far_floor).epsilon(1e-12));
  CHECK(large.eth_returned_to_arbitrageurs == 0.0);
}

TEST_CASE("conservation: tokens and ETH through the pool, debt and the reserve through the books") {
  TokenMarket m = cp_market(20'000, 0.003);
  m.sellers = {.share = 0.04, .trigger = 0.02, .hours = 12.0};
  m.redemption.open = true;
  m.redemption.buffer_eth = 500;
  m.redemption.escrow_days = 30;  // a floor of 1 / (1 + 2 x 30 / 365) = 0.859: liquidators sell above it, redeem below
  m.arbitrageurs = {.capital_eth = 2'000, .required_return = 2.0};
  m.lp.points = {{0.02, 0.0}, {0.2, 0.5}};
  const LendingMarket morpho = morpho_blue_market(0.945);
  const LendingMarket aave = aave_lrt_emode();
  m.lending = {LendingBook{.market = morpho,
                           .oracle = {.kind = OracleKind::MarketSpot},
                           .reserve = {.balance_eth = 1.0},
                           .borrowers = {at_hf(morpho, 1.01, 100), at_hf(morpho, 1.05, 300, 4), at_hf(morpho, 1.3, 50)}},
               LendingBook{.market = aave,
                           .oracle = {.kind = OracleKind::ExchangeRate},
                           .reserve = {.balance_eth = 50.0},
                           .borrowers = {at_hf(aave, 1.02, 500, 10), at_hf(aave, 1.2, 100)}}};
  const std::vector<NavPoint> nav{{0.0, 1.0}, {0.5, 0.97}};
  const EpisodeResult r = run_episode(m, nav, kElectra, hourly(96));
  REQUIRE(r.sold_by_liquidators > 0.0);
  REQUIRE(r.bought_by_arbitrageurs > 0.0);
  REQUIRE(r.lp_withdrawn_tokens > 0.0);
  REQUIRE(r.lending[0].bad_debt_eth > 0.0);

  const double tokens_in = 20'000 + r.sold_by_holders + r.sold_by_liquidators;
  CHECK(pool_token(r.pool) == doctest::Approx(tokens_in - r.bought_by_arbitrageurs - r.lp_withdrawn_tokens).epsilon(1e-12));
  const double eth_in = 20'000 + r.eth_spent_by_arbitrageurs;
  CHECK(pool_eth(r.pool) == doctest::Approx(eth_in - r.eth_to_holders - r.eth_to_liquidators - r.lp_withdrawn_eth).epsilon(1e-12));
  CHECK(r.sold_by_holders > 4'000);  // the sellers' 4% of the supply, and the holders at the write-down
  CHECK(r.sold_by_sellers <= 4'000 + 1e-9);
  CHECK(r.sold_by_sellers > 0.0);
  CHECK(r.sold_by_holders > r.sold_by_sellers);
  CHECK(r.eth_returned_to_arbitrageurs <= r.eth_redeemed);
  CHECK(r.eth_spent_by_arbitrageurs <= 2'000 + r.eth_returned_to_arbitrageurs + 1e-9);

  double seized = 0.0;
  for (std::size_t b = 0; b < r.lending.size(); ++b) {
    const LendingOutcome& o = r.lending[b];
    const double reserve = m.lending[b].reserve.balance_eth;
    CAPTURE(b);
    CHECK(o.covered_eth + o.bad_debt_eth == doctest::Approx(o.deficit_eth).epsilon(1e-15));
    CHECK(o.reserve_left_eth == doctest::Approx(reserve - o.covered_eth).epsilon(1e-15));
    CHECK(o.repaid_eth + o.deficit_eth + o.debt_left_eth == doctest::Approx(o.debt_eth).epsilon(1e-13));
    seized += o.liquidated_tokens;
  }
  CHECK(r.lending[0].debt_eth == 450);
  CHECK(r.lending[0].covered_eth == 1.0);  // the reserve is used up first
  CHECK(seized == doctest::Approx(r.sold_by_liquidators + r.redeemed_by_liquidators).epsilon(1e-15));
}

namespace {
// A pure market depeg (NAV flat) on a pool of `depth`: 3% of the supply sold over six hours,
// withdrawals closed (nothing pulls the price back, and liquidators sell all they seize), LPs
// leaving, Morpho borrowers priced by the pool.
EpisodeResult pure_depeg(double depth, std::vector<BorrowerBucket> borrowers) {
  const LendingMarket morpho = morpho_blue_market(0.945);
  TokenMarket m = cp_market(depth, 0.003);
  m.sellers = {.share = 0.03, .trigger = 0.0, .hours = 6.0};
  m.lp.points = {{0.0, 0.0}, {0.3, 0.6}};
  m.lending = {LendingBook{
      .market = morpho, .oracle = {.kind = OracleKind::MarketSpot}, .reserve = {.balance_eth = 5.0}, .borrowers = std::move(borrowers)}};
  return run_episode(m, kFlatNav, kElectra, hourly(96));
}
std::vector<BorrowerBucket> five_buckets() {
  const LendingMarket morpho = morpho_blue_market(0.945);
  return {at_hf(morpho, 1.01, 200), at_hf(morpho, 1.05, 300), at_hf(morpho, 1.1, 500), at_hf(morpho, 1.2, 400), at_hf(morpho, 1.3, 800)};
}
}  // namespace

TEST_CASE("on a pure market depeg a deeper pool gives a higher low, and here less bad debt") {
  // Common random numbers: the same sellers, LPs and borrowers on a grid of depths. The low is
  // monotone; bad debt is not in general (the test after next), but it vanishes with depth.
  const LendingMarket morpho = morpho_blue_market(0.945);
  double low_before = 0.0;
  for (const double depth : {1'000.0, 2'000.0, 3'000.0, 5'000.0, 8'000.0, 13'000.0, 21'000.0, 34'000.0, 1e6}) {
    CAPTURE(depth);
    const EpisodeResult r = pure_depeg(depth, five_buckets());
    CHECK(r.min_price >= low_before);
    low_before = r.min_price;
  }
  CHECK(low_before > 0.99);
  CHECK(pure_depeg(1'000, {at_hf(morpho, 1.05, 1'000)}).lending[0].bad_debt_eth > 100.0);
  CHECK(pure_depeg(1e6, {at_hf(morpho, 1.05, 1'000)}).lending[0].bad_debt_eth == 0.0);
}

TEST_CASE("seized collateral is sold down to the next threshold: a deeper pool no longer leaves more bad debt") {
  // Five buckets under Morpho at LLTV 94.5% (LIF 1 / (1 - 0.3 x 0.055) = 1.016777), a reserve of 5.
  // The first hour's 500 tokens (fee 0.3%) leave the price at p = y' / x' with x' = depth + 500 and
  // y' = depth^2 / (depth + 498.5). A bucket at HF h (collateral h debt / LLTV at price 1) liquidated
  // at p leaves debt (1 - h p / (LLTV LIF)) when that is positive.
  //   Depth 3,000: p = 0.735009, below every trigger 1 / h (the HF 1.3 bucket's is 0.769): all five
  //   are liquidated in the first round at p.
  //   Depth 5,000: p = 0.826671; the HF 1.3 bucket survives the first round, whose collateral is
  //   sold only down to its trigger, where the second round liquidates it without bad debt (at HF 1
  //   its collateral is worth debt / LLTV > debt x LIF); the HF 1.2 bucket, at h p / LLTV = 1.0497,
  //   leaves none either. Selling the first round's collateral at once would have taken the price to
  //   about 0.49 and liquidated the HF 1.3 bucket there, leaving the deeper pool with more bad debt.
  const double lif = morpho_incentive_factor(0.945);
  const auto expected = [&](double depth, std::initializer_list<double> liquidated_at_p) {
    const double p = depth * depth / (depth + 498.5) / (depth + 500.0);
    const std::vector<std::pair<double, double>> buckets{{1.01, 200}, {1.05, 300}, {1.1, 500}, {1.2, 400}, {1.3, 800}};
    double bad = 0.0;
    for (const auto& hd : buckets)
      if (std::find(liquidated_at_p.begin(), liquidated_at_p.end(), hd.first) != liquidated_at_p.end())
        bad += hd.second * std::max(0.0, 1.0 - hd.first * p / (0.945 * lif));
    return bad - 5.0;  // the reserve covers the first 5
  };
  const EpisodeResult shallow = pure_depeg(3'000, five_buckets());
  const EpisodeResult deeper = pure_depeg(5'000, five_buckets());
  CHECK(shallow.lending[0].bad_debt_eth == doctest::Approx(expected(3'000, {1.01, 1.05, 1.1, 1.2, 1.3})).epsilon(1e-12));
  CHECK(deeper.lending[0].bad_debt_eth == doctest::Approx(expected(5'000, {1.01, 1.05, 1.1, 1.2})).epsilon(1e-12));
  CHECK(deeper.lending[0].bad_debt_eth < shallow.lending[0].bad_debt_eth - 100.0);
  CHECK(deeper.min_price > shallow.min_price);
}

TEST_CASE("a deeper pool can leave more bad debt: it delays a liquidation to a sellers' trade that overshoots") {
  // One bucket owing 1,000 ETH at HF 1.05 (threshold 1 / 1.05 = 0.952). At depth 13,000 the first
  // hour's 500 tokens take the price just below it: liquidated near its threshold, no bad debt. At
  // depth 21,000 the first hour stays above it; LPs leave as the discount grows, and a later hour's
  // 500 tokens, one trade, carry the price past the threshold in one move: it is liquidated below
  // it, where its collateral no longer pays debt x LIF. Path dependence that a real market has too
  // (a dump is one transaction); docs/markets.md, "The episode".
  const LendingMarket morpho = morpho_blue_market(0.945);
  const EpisodeResult shallow = pure_depeg(13'000, {at_hf(morpho, 1.05, 1'000)});
  const EpisodeResult deeper = pure_depeg(21'000, {at_hf(morpho, 1.05, 1'000)});
  CHECK(shallow.lending[0].bad_debt_eth == 0.0);
  CHECK(deeper.lending[0].bad_debt_eth > 1.0);
  CHECK(deeper.min_price > shallow.min_price);
}

TEST_CASE("with a write-down a deeper pool can leave more bad debt: liquidated later, at a worse price") {
  // One Morpho bucket (LLTV 86%, LIF 1.043841) owing 100 ETH at HF 1.05: liquidatable below
  // 1 / 1.05 = 0.952381. 30 tokens are dumped at hour 0; NAV falls to 0.8 at hour 1.
  // Shallow (1,000 x 1,000): the dump leaves (1,000 / 1,030)^2 = 0.942596 < 0.952381, so it is
  // liquidated at hour 0, when collateral x price = 1.220930 x 0.942596 x 100 = 115.08 ETH still
  // pays the debt and the bonus (104.38): no bad debt. Deep (10^6 x 10^6): the dump barely moves the
  // price; at hour 1 holders sell down to NAV 0.8 and it is liquidated there: 1.220930 x 0.8 x 100 =
  // 97.674 ETH of collateral pays 97.674 / 1.043841 = 93.572 of the debt, 6.428 ETH bad debt.
  const LendingMarket morpho = morpho_blue_market(0.86);
  const std::vector<NavPoint> nav{{0.0, 1.0}, {kHour, 0.8}};
  const auto bad_debt = [&](double depth) {
    TokenMarket m = cp_market(depth);
    m.sellers = dump(m, 30);
    m.lending = {LendingBook{.market = morpho, .oracle = {.kind = OracleKind::MarketSpot}, .reserve = {}, .borrowers = {at_hf(morpho, 1.05, 100)}}};
    return run_episode(m, nav, kElectra, hourly(3)).lending[0].bad_debt_eth;
  };
  CHECK(bad_debt(1'000) == 0.0);
  CHECK(bad_debt(1e6) == doctest::Approx(100 - 1.05 / 0.86 * 0.8 * 100 / morpho_incentive_factor(0.86)).epsilon(1e-12));
  CHECK(bad_debt(1e6) == doctest::Approx(6.428).epsilon(1e-4));
}

TEST_CASE("LPs leaving by the curve deepen the same sale") {
  // 2,000 tokens over two hours into 10,000 x 10,000: after the first hour the discount is
  // 1 - (10,000 / 11,000)^2 = 17.4% and the curve takes 17.4% of the depth; the price holds, but the
  // second hour's 1,000 then fall on a shallower pool.
  TokenMarket m = cp_market(10'000);
  m.sellers = {.share = 0.02, .trigger = 0.0, .hours = 2.0};
  const EpisodeResult without = run_episode(m, kFlatNav, kElectra, hourly(3), true);
  m.lp.points = {{0.0, 0.0}, {0.5, 0.5}};
  const EpisodeResult with = run_episode(m, kFlatNav, kElectra, hourly(3), true);
  const double p1 = 1e8 / (11'000.0 * 11'000.0);
  CHECK(with.path[0].price_eth == doctest::Approx(p1).epsilon(1e-13));
  CHECK(without.path[0].price_eth == with.path[0].price_eth);
  CHECK(without.min_price == doctest::Approx(1e8 / (12'000.0 * 12'000.0)).epsilon(1e-13));
  // With: the pool (1 - s) (11,000, 10^8 / 11,000), s = 1 - p1, then 1,000 more tokens.
  const double s = 1 - p1;
  const double x = (1 - s) * 11'000, y = (1 - s) * 1e8 / 11'000;
  const double x2 = x + 1'000, y2 = x * y / x2;
  CHECK(with.path[1].price_eth == doctest::Approx(y2 / x2).epsilon(1e-12));
  CHECK(with.min_price < without.min_price);
  CHECK(with.lp_withdrawn_tokens > 0.0);
}

TEST_CASE("invalid episode inputs are refused, naming the value") {
  const TokenMarket ok = cp_market(1'000);
  const EpisodeGrid g = hourly(2);
  const auto run = [&](const TokenMarket& m, std::vector<NavPoint> nav = kFlatNav, EpisodeGrid grid = hourly(2)) {
    return run_episode(m, nav, kElectra, grid);
  };
  CHECK_NOTHROW(run(ok));
  TokenMarket m = ok;
  m.supply = -1;
  CHECK_THROWS_WITH_AS(run(m), "market episode: supply must be finite and >= 0, got -1", std::invalid_argument);
  m = ok;
  m.supply = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(run(m), "market episode: supply must be finite and >= 0, got inf", std::invalid_argument);
  m = ok;
  m.pool = ConstantProductPool{1'000, 1'100, 0.0};
  CHECK_THROWS_WITH_AS(run(m), "market episode: the pool's price at the start (relative to the NAV before the episode) must be 1 within 1e-9, got 1.1", std::invalid_argument);
  m.pool = ConstantProductPool{1'000, 1'000, 1.5};
  CHECK_THROWS_WITH_AS(run(m), "constant-product pool: fee must be in [0, 1), got 1.5", std::invalid_argument);
  m = ok;
  m.sellers.share = 1.5;
  CHECK_THROWS_WITH_AS(run(m), "market episode: sellers' share of the supply must be in [0, 1], got 1.5", std::invalid_argument);
  m = ok;
  m.sellers.trigger = -0.1;
  CHECK_THROWS_WITH_AS(run(m), "market episode: sellers' trigger must be in [0, 1], got -0.1", std::invalid_argument);
  m = ok;
  m.sellers.hours = 0;
  CHECK_THROWS_WITH_AS(run(m), "market episode: sellers' hours must be finite and > 0, got 0", std::invalid_argument);
  m = ok;
  m.arbitrageurs.capital_eth = -5;
  CHECK_THROWS_WITH_AS(run(m), "market episode: arbitrageurs' capital (ETH) must be finite and >= 0, got -5", std::invalid_argument);
  m = ok;
  m.arbitrageurs.required_return = std::nan("");
  CHECK_THROWS_WITH_AS(run(m), "market episode: arbitrageurs' required return must be finite and >= 0, got nan", std::invalid_argument);
  m = ok;
  m.redemption_opens_days = -1;
  CHECK_THROWS_WITH_AS(run(m), "market episode: redemption_opens_days must be finite and >= 0, got -1", std::invalid_argument);
  m = ok;
  m.redemption.open = true;
  m.redemption.escrow_days = -2;
  CHECK_THROWS_WITH_AS(run(m), "redemption: escrow must be finite and >= 0, got -2 days", std::invalid_argument);
  m = ok;
  m.lp.points = {{0.1, 0.2}, {0.05, 0.3}};
  CHECK_THROWS_WITH_AS(run(m), "liquidity withdrawal curve: point 2's discount must be above the previous point's (0.1), got 0.05", std::invalid_argument);

  const LendingMarket aave = aave_lrt_emode();
  m = ok;
  m.lending = {LendingBook{.market = aave, .oracle = {}, .reserve = {}, .borrowers = {at_hf(aave, 1.1, 10, 0.0)}}};
  CHECK_THROWS_WITH_AS(run(m), "market episode: book 1's bucket 1's accounts must be finite and > 0, got 0", std::invalid_argument);
  m.lending[0].borrowers = {at_hf(aave, 1.1, 10), {{-1.0, 10.0}, 1.0}};
  CHECK_THROWS_WITH_AS(run(m), "market episode: book 1's bucket 2's collateral (tokens) must be finite and >= 0, got -1", std::invalid_argument);
  m.lending[0].borrowers = {{{1.0, std::nan("")}, 1.0}};
  CHECK_THROWS_WITH_AS(run(m), "market episode: book 1's bucket 1's debt (ETH) must be finite and >= 0, got nan", std::invalid_argument);
  m.lending[0].borrowers = {};
  m.lending[0].reserve.balance_eth = -3;
  CHECK_THROWS_WITH_AS(run(m), "market episode: book 1's reserve (ETH) must be finite and >= 0, got -3", std::invalid_argument);
  m.lending[0].reserve.balance_eth = 0;
  m.lending[0].oracle = {.kind = OracleKind::MarketTwap, .twap_window_days = -1};
  CHECK_THROWS_WITH_AS(run(m), "market episode: book 1's TWAP window (days) must be finite and >= 0, got -1", std::invalid_argument);

  CHECK_THROWS_WITH_AS(run(ok, {}), "market episode: the NAV path is empty (it starts with a point at day 0)", std::invalid_argument);
  CHECK_THROWS_WITH_AS(run(ok, {{0.5, 1.0}}), "market episode: the NAV path's first day must be 0, got 0.5", std::invalid_argument);
  CHECK_THROWS_WITH_AS(run(ok, {{0.0, 1.0}, {2.0, 0.9}, {1.0, 0.8}}), "market episode: NAV point 3's day must be at least the previous point's (2), got 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(run(ok, {{0.0, 1.0}, {1.0, 0.0}}), "market episode: NAV point 2's NAV must be finite and > 0, got 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS(run(ok, {{0.0, 1.0}, {std::nan(""), 0.9}}), "market episode: NAV point 2's day must be finite, got nan", std::invalid_argument);

  EpisodeGrid bad = g;
  bad.step_days = 0;
  CHECK_THROWS_WITH_AS(run(ok, kFlatNav, bad), "market episode: the grid's step (days) must be finite and > 0, got 0", std::invalid_argument);
  bad = g;
  bad.steps = 0;
  CHECK_THROWS_WITH_AS(run(ok, kFlatNav, bad), "market episode: the grid's steps must be at least 1, got 0", std::invalid_argument);
  bad = g;
  bad.depeg_threshold = 1.0;
  CHECK_THROWS_WITH_AS(run(ok, kFlatNav, bad), "market episode: the depeg threshold must be in [0, 1), got 1", std::invalid_argument);
  bad = g;
  bad.max_rounds = 0;
  CHECK_THROWS_WITH_AS(run(ok, kFlatNav, bad), "market episode: the grid's max_rounds must be at least 1, got 0", std::invalid_argument);
}

TEST_CASE("sellers who require a return redeem rather than sell below their floor, and without withdrawals they sell at any price") {
  // 5,000 tokens dumped into 10,000 x 10,000 (no fee) would leave (10,000 / 15,000)^2 = 4/9. With
  // withdrawals open after a 30-day escrow (no buffer) and a required 100% a year, the floor is
  // 1 / (1 + 30 / 365) = 0.924051: they sell down to it and redeem the rest.
  TokenMarket m = cp_market(10'000);
  m.sellers = dump(m, 5'000);
  m.sellers.required_return = 1.0;
  m.redemption.open = true;
  m.redemption.escrow_days = 30;
  const EpisodeResult r = run_episode(m, kFlatNav, kElectra, hourly(2));
  const double floor = 1.0 / (1.0 + 30.0 / 365.0);
  CHECK(r.min_price == doctest::Approx(floor).epsilon(1e-12));
  CHECK(r.sold_by_holders == doctest::Approx(10'000 / std::sqrt(floor) - 10'000).epsilon(1e-12));
  CHECK(r.redeemed_by_sellers == doctest::Approx(5'000 - r.sold_by_holders).epsilon(1e-12));
  // Closed withdrawals: nothing to redeem into, they sell it all.
  m.redemption.open = false;
  CHECK(run_episode(m, kFlatNav, kElectra, hourly(2)).min_price == doctest::Approx(4.0 / 9.0).epsilon(1e-13));
}

TEST_CASE("sellers forced from a day sell from it whatever the fall, and not before") {
  TokenMarket m = cp_market(10'000);
  m.sellers = dump(m, 5'000);
  m.sellers.trigger = 0.9;  // a fall they never see on their own
  CHECK(run_episode(m, kFlatNav, kElectra, hourly(4)).sold_by_holders == 0.0);
  m.sellers.forced_from_day = 2 * kHour;
  const EpisodeResult r = run_episode(m, kFlatNav, kElectra, hourly(4), true);
  CHECK(r.path[1].price_eth == 1.0);
  CHECK(r.path[2].price_eth == doctest::Approx(4.0 / 9.0).epsilon(1e-13));
  m.sellers.forced_from_day = -1.0;
  CHECK_THROWS_WITH_AS(run_episode(m, kFlatNav, kElectra, hourly(4)), "market episode: sellers' forced start must be >= 0 days (infinite: never), got -1",
                       std::invalid_argument);
}

TEST_CASE("a quiet hour does not end the episode while the arbitrage floor still rises") {
  // A dump leaves the price at p0 < 1; withdrawals open in 60 days, arbitrageurs require 100% a
  // year: the floor 1 / (1 + (60 - t) / 365) starts at 0.859 and passes p0 after some days, when they
  // start buying. Nothing happens in between, yet the episode must not stop there.
  TokenMarket m = cp_market(10'000);
  const double p0 = 0.87;
  m.sellers = dump(m, 10'000 / std::sqrt(p0) - 10'000);
  m.redemption.open = true;
  m.redemption_opens_days = 60;
  m.redemption.buffer_eth = 1e9;
  m.arbitrageurs = {.capital_eth = 1e6, .required_return = 1.0};
  const EpisodeResult r = run_episode(m, kFlatNav, kElectra, hourly(7 * 24), true);
  CHECK(r.path[0].price_eth == doctest::Approx(p0).epsilon(1e-12));
  const double crossing = 60.0 - 365.0 * (1.0 / p0 - 1.0);  // the floor reaches p0: 5.46 days
  const auto hour = static_cast<std::size_t>(std::ceil(crossing / kHour));
  CHECK(r.path[hour - 1].price_eth == doctest::Approx(p0).epsilon(1e-12));
  CHECK(r.path[hour + 1].price_eth > p0);
  CHECK(r.path.back().price_eth == doctest::Approx(1.0 / (1.0 + (60.0 - 167 * kHour) / 365.0)).epsilon(1e-9));
}

TEST_CASE("a book away from the pool, priced by exchange rate, liquidates at each NAV reading as the episode does") {
  const LendingMarket aave = aave_lrt_emode();  // LT 95%, bonus 1%
  LendingBook book{.market = aave, .oracle = {.kind = OracleKind::ExchangeRate}, .reserve = {.balance_eth = 1.0}, .borrowers = {}};
  book.borrowers = {at_hf(aave, 1.05, 100, 2), at_hf(aave, 1.2, 100, 3), at_hf(aave, 1.5, 100, 5)};
  // NAV 0.85 at hour 2: HF 1.05 x 0.85 = 0.8925 is under the spiral threshold 0.95 x 1.01 = 0.9595,
  // so all its collateral goes, worth 1.05 x 100 / 0.95 x 0.85 = 93.947 ETH, repaying 93.947 / 1.01
  // = 93.017 of its 100 ETH: a deficit of 6.983, 1 ETH of it from the reserve. HF 1.2 x 0.85 = 1.02
  // and 1.5 x 0.85 stay healthy; then NAV 0.75 at hour 5: HF 1.2 x 0.75 = 0.9 spirals too.
  const std::vector<NavPoint> nav{{0.0, 1.0}, {2 * kHour, 0.85}, {5 * kHour, 0.75}};
  const LendingOutcome away = run_book_at_nav(book, nav);
  const double deficit1 = 100.0 - 1.05 * 100.0 / 0.95 * 0.85 / 1.01;
  const double deficit2 = 100.0 - 1.2 * 100.0 / 0.95 * 0.75 / 1.01;
  CHECK(away.deficit_eth == doctest::Approx(deficit1 + deficit2).epsilon(1e-12));
  CHECK(away.covered_eth == 1.0);
  CHECK(away.bad_debt_eth == doctest::Approx(deficit1 + deficit2 - 1.0).epsilon(1e-12));
  CHECK(away.liquidated_tokens == doctest::Approx((1.05 + 1.2) * 100.0 / 0.95).epsilon(1e-12));
  CHECK(away.accounts_liquidated == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(away.reserve_left_eth == 0.0);
  CHECK(away.debt_eth == 300.0);
  CHECK(away.debt_left_eth == 100.0);
  // The same book in an episode, on a pool deep enough to leave NAV alone: the same outcome to the bit.
  TokenMarket m = cp_market(1e9);
  m.lending = {book};
  const LendingOutcome in_episode = run_episode(m, nav, kElectra, hourly(24)).lending[0];
  CHECK(in_episode.liquidated_tokens == away.liquidated_tokens);
  CHECK(in_episode.repaid_eth == away.repaid_eth);
  CHECK(in_episode.bad_debt_eth == away.bad_debt_eth);
  CHECK(in_episode.accounts_liquidated == away.accounts_liquidated);
  // A market-priced book has no price away from the pool.
  book.oracle.kind = OracleKind::MarketSpot;
  CHECK_THROWS_WITH_AS(run_book_at_nav(book, nav), doctest::Contains("reads the exchange rate"), std::invalid_argument);
  book.oracle.kind = OracleKind::ExchangeRate;
  CHECK_THROWS_WITH_AS(run_book_at_nav(book, std::vector<NavPoint>{{1.0, 0.9}}), doctest::Contains("the NAV path's first day"),
                       std::invalid_argument);
}
