#pragma once
// A market episode: the days after a loss at net asset value (NAV), on a fine time grid, for one
// token - its pool, the holders who sell, the lending markets that take it as collateral, the
// arbitrageurs who buy it back to redeem (issue 11; docs/markets.md, "The episode"). A pure
// function of plain values: the trial's market mechanism calls it, tests call it directly.
//
// Units: the episode is scale-free in NAV. Prices and NAV are relative to the NAV per token just
// before the episode (1 = unchanged), and a token unit is what was worth 1 ETH then. So the pool
// starts at price 1 (balanced at NAV), borrowers' health factors are read at price 1, and the
// caller multiplies prices back by the NAV before the episode.
#include <cstddef>
#include <limits>
#include <span>
#include <variant>
#include <vector>

#include "chain/consensus.hpp"
#include "market/amm.hpp"
#include "market/lending.hpp"
#include "market/oracle.hpp"
#include "market/redemption.hpp"

namespace restake::market {

// Any two-coin pool of amm.hpp, dispatched by std::visit.
using Pool = std::variant<ConstantProductPool, WeightedPool, StableSwapPool>;
void check_pool(const Pool& p);
double spot_price(const Pool& p);
Swap<Pool> sell(const Pool& p, double token_in);
Swap<Pool> buy(const Pool& p, double eth_in);
// Quoting any of the pools: StableSwap's D found once (amm.hpp).
template <>
class Quote<Pool> {
 public:
  explicit Quote(const Pool& p);
  Swap<Pool> sell(double token_in) const;
  Swap<Pool> buy(double eth_in) const;

 private:
  const Pool& p_;
  double d_ = 0.0;  // a StableSwap pool's
};
Pool withdraw_liquidity(const Pool& p, double share);

// Holders who sell once the token has fallen: `share` of the supply, spread evenly over `hours`
// from the first step at which the fall - the larger of the market discount 1 - price and the NAV
// write-down 1 - NAV, both against the NAV before the episode - reaches `trigger`. The fall is read
// at step 3 (after the step's arbitrage and holders' sales); once triggered they keep selling. Each
// step sells share x supply x step / hours, the last of the ceil(hours / step) steps the remainder.
struct Sellers {
  double share = 0.0;    // of the supply, in [0, 1]
  double trigger = 0.0;  // in [0, 1]; 0: they sell from the first step
  double hours = 24.0;   // > 0; at least one step
  // They sell rather than redeem while the pool pays at least NAV / (1 + r W / 365) at this yearly
  // return r (arbitrage_floor); +infinity: at any price. Withdrawals closed: at any price.
  double required_return = std::numeric_limits<double>::infinity();
  // From this day of the episode they sell whatever the fall (a forced market shock); +infinity: never.
  double forced_from_day = std::numeric_limits<double>::infinity();
};

// Buyers who redeem at NAV: they buy below the floor NAV / (1 + r W / 365) (arbitrage_floor), W the
// wait for everything redeemed in the episode so far plus their purchase (and the time until
// withdrawals open). Capital spent comes back - NAV at the purchase x tokens bought - when the
// redemption pays, from the first step at or after that day, so it can be spent again.
struct Arbitrageurs {
  double capital_eth = 0.0;
  double required_return = 0.10;  // a year, simple interest
};

// Positions of similar borrowers in one bucket: `accounts` of them, together holding `position`.
struct BorrowerBucket {
  Borrower position;
  double accounts = 1.0;  // > 0: weighs the bucket in the share of borrowers liquidated
};

// A lending market that takes the token as collateral against ETH debt, priced by its oracle.
struct LendingBook {
  LendingMarket market;
  Oracle oracle;
  Reserve reserve;                      // covers deficits first
  std::vector<BorrowerBucket> borrowers;  // at the start of the episode
};

struct TokenMarket {
  double supply = 0.0;               // tokens (each worth 1 at the NAV before the episode)
  Pool pool;                         // all the token/ETH liquidity as one pool, at price 1
  LiquidityWithdrawalCurve lp;       // LPs leave as the discount 1 - price / NAV deepens
  Redemption redemption;
  // Withdrawals open this many days after the episode starts (0: open now); until then the wait
  // includes the time left. Ignored when redemption.open is false (never within the episode).
  double redemption_opens_days = 0.0;
  Arbitrageurs arbitrageurs;
  Sellers sellers;
  std::vector<LendingBook> lending;
};

struct EpisodeGrid {
  double step_days = 1.0 / 24.0;  // an hour
  std::size_t steps = 7 * 24;     // a week
  double depeg_threshold = 0.01;  // a step is depegged when price < (1 - threshold) x NAV
  // Liquidation rounds within a step before it gives up on a fixed point (and sells what is left):
  // a round per position priced at the pool's spot that the step's sales make liquidatable.
  std::size_t max_rounds = 4096;
};

// NAV per token over the episode, relative to the NAV before it: a step path in days from the
// episode's start, the first point at day 0 (the loss that starts it).
struct NavPoint {
  double day = 0.0;
  double nav = 1.0;
};

struct LendingOutcome {
  double liquidated_tokens = 0.0;     // collateral seized
  double repaid_eth = 0.0;
  double deficit_eth = 0.0;           // debt left without collateral (realised)
  double covered_eth = 0.0;           // of the deficit, paid by the reserve
  double bad_debt_eth = 0.0;          // deficit - covered: the lenders' loss
  double debt_eth = 0.0;              // at the start
  double accounts_liquidated = 0.0;   // share of accounts liquidated at least once, in [0, 1]
  double debt_left_eth = 0.0;         // at the end: debt_eth = repaid + deficit + debt left
  double reserve_left_eth = 0.0;      // the reserve at the end: the start's less what it covered
};

struct EpisodeResult {
  double min_price = 1.0;           // lowest pool price at the end of any step
  double min_price_to_nav = 1.0;    // lowest price / NAV at the end of any step
  double depeg_days = 0.0;          // steps depegged x step length
  double sold_by_holders = 0.0;     // tokens sold by the sellers and by holders while price > NAV
  double sold_by_sellers = 0.0;     // of those, the sellers' (the rest reprices the pool down to NAV)
  double sold_by_liquidators = 0.0; // seized collateral sold into the pool
  double bought_by_arbitrageurs = 0.0;
  double redeemed_by_liquidators = 0.0;  // seized tokens they redeemed rather than sell below the floor
  double redeemed_by_sellers = 0.0;      // the sellers' tokens redeemed rather than sold below the floor
  // Where the ETH went (so that the pool's balances can be accounted for).
  double eth_to_holders = 0.0;            // what the holders' and sellers' sales fetched
  double eth_to_liquidators = 0.0;        // what the seized collateral fetched
  double eth_spent_by_arbitrageurs = 0.0;
  double eth_redeemed = 0.0;  // NAV x tokens redeemed in the queue by arbitrageurs, sellers and liquidators
  double eth_returned_to_arbitrageurs = 0.0;  // of the arbitrageurs' part, paid out within the episode
  double lp_withdrawn_tokens = 0.0;
  double lp_withdrawn_eth = 0.0;
  Pool pool;                              // at the end of the episode
  std::vector<LendingOutcome> lending;  // [book]
  std::vector<PricePoint> path;         // the price at the end of each step, when asked for
};

// Each step at day t = k x step_days (NAV read at t, the step path's last point at or before t,
// serves the whole step: arbitrageurs know the NAV they redeem at):
//   1. arbitrageurs buy back towards their floor (the dip of the step before) with the capital
//      they have, and redeem; capital returns when the redemption pays;
//   2. while the pool pays more than NAV, holders sell into it down to NAV;
//   3. the sellers sell their step's amount once triggered (or forced), in one trade, but not below
//      what redeeming pays them at their required return: the rest they redeem;
//   4. liquidations to a fixed point: a round reads every book's oracle, liquidates every
//      liquidatable bucket (liquidate_until_healthy; the books' order does not matter), then sells
//      what was seized down to the next price at which a spot-priced position becomes liquidatable
//      (the next round liquidates it there), never below the arbitrage floor (what redeeming pays:
//      the rest is redeemed); until nothing is liquidated or left to sell (or grid.max_rounds).
//      Market oracles see each sale (the spot price, and the TWAP over the recorded path);
//   5. LPs withdraw to the curve's share at the discount 1 - price / NAV;
//   6. the price is recorded: it holds until the next step.
// Deficits are covered by the book's reserve first. Oracles read days of the episode (a CAPO
// snapshot day too). Throws std::invalid_argument on invalid input.
EpisodeResult run_episode(const TokenMarket& market, std::span<const NavPoint> nav, const ConsensusParams& cp,
                          const EpisodeGrid& grid, bool keep_path = false);

// A book away from the pool (a lending market on another chain, where the token is bridged): priced
// by exchange rate, liquidated at each NAV reading of `nav` (relative to the NAV before, as for an
// episode) as run_episode's step 4 would; the collateral seized never reaches the pool. Throws
// std::invalid_argument for a book priced by market, or invalid input.
LendingOutcome run_book_at_nav(const LendingBook& book, std::span<const NavPoint> nav);

}  // namespace restake::market
