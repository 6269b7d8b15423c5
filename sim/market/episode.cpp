#include "market/episode.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "market/solve.hpp"

namespace restake::market {

// --- any pool ---

void check_pool(const Pool& p) {
  std::visit([](const auto& q) { check_pool(q); }, p);
}

double spot_price(const Pool& p) {
  return std::visit([](const auto& q) { return spot_price(q); }, p);
}

Swap<Pool> sell(const Pool& p, double token_in) {
  return std::visit(
      [token_in](const auto& q) {
        const auto s = sell(q, token_in);
        return Swap<Pool>{s.out, Pool{s.pool}};
      },
      p);
}

Swap<Pool> buy(const Pool& p, double eth_in) {
  return std::visit(
      [eth_in](const auto& q) {
        const auto s = buy(q, eth_in);
        return Swap<Pool>{s.out, Pool{s.pool}};
      },
      p);
}

Quote<Pool>::Quote(const Pool& p) : p_(p) {
  if (const auto* s = std::get_if<StableSwapPool>(&p)) d_ = stableswap_d(*s);
}

Swap<Pool> Quote<Pool>::sell(double token_in) const {
  if (const auto* s = std::get_if<StableSwapPool>(&p_)) {
    const auto r = market::sell(*s, token_in, d_);
    return {r.out, Pool{r.pool}};
  }
  return market::sell(p_, token_in);
}

Swap<Pool> Quote<Pool>::buy(double eth_in) const {
  if (const auto* s = std::get_if<StableSwapPool>(&p_)) {
    const auto r = market::buy(*s, eth_in, d_);
    return {r.out, Pool{r.pool}};
  }
  return market::buy(p_, eth_in);
}

Pool withdraw_liquidity(const Pool& p, double share) {
  return std::visit([share](const auto& q) { return Pool{withdraw_liquidity(q, share)}; }, p);
}

namespace {

[[noreturn]] void refuse(std::string_view what, std::string_view rule, double value) {
  throw std::invalid_argument(fmt::format("market episode: {} must be {}, got {}", what, rule, value));
}
void check_non_negative(std::string_view what, double v) {
  if (!std::isfinite(v) || v < 0.0) refuse(what, "finite and >= 0", v);
}
bool non_negative(double v) { return std::isfinite(v) && v >= 0.0; }
void check_unit(std::string_view what, double v) {
  if (!std::isfinite(v) || v < 0.0 || v > 1.0) refuse(what, "in [0, 1]", v);
}

// The pool's price starts at the NAV before the episode: every relative figure is read against it.
constexpr double kStartPriceTolerance = 1e-9;

// Book b's reserve, window and borrowers (b counts from 0; errors name it from 1).
void check_book(const LendingBook& book, std::size_t b) {
  // Names are formatted only for an error: episodes run inside trials, checked every time.
  if (!non_negative(book.reserve.balance_eth)) check_non_negative(fmt::format("book {}'s reserve (ETH)", b + 1), book.reserve.balance_eth);
  if (book.oracle.kind == OracleKind::MarketTwap && !non_negative(book.oracle.twap_window_days))
    check_non_negative(fmt::format("book {}'s TWAP window (days)", b + 1), book.oracle.twap_window_days);
  for (std::size_t i = 0; i < book.borrowers.size(); ++i) {
    const BorrowerBucket& bucket = book.borrowers[i];
    if (!std::isfinite(bucket.accounts) || bucket.accounts <= 0.0)
      refuse(fmt::format("book {}'s bucket {}'s accounts", b + 1, i + 1), "finite and > 0", bucket.accounts);
    if (!non_negative(bucket.position.collateral_tokens))
      check_non_negative(fmt::format("book {}'s bucket {}'s collateral (tokens)", b + 1, i + 1), bucket.position.collateral_tokens);
    if (!non_negative(bucket.position.debt_eth))
      check_non_negative(fmt::format("book {}'s bucket {}'s debt (ETH)", b + 1, i + 1), bucket.position.debt_eth);
  }
}

void check_nav_path(std::span<const NavPoint> nav) {
  if (nav.empty()) throw std::invalid_argument("market episode: the NAV path is empty (it starts with a point at day 0)");
  if (nav.front().day != 0.0) refuse("the NAV path's first day", "0", nav.front().day);
  for (std::size_t i = 0; i < nav.size(); ++i) {
    if (!std::isfinite(nav[i].day)) refuse(fmt::format("NAV point {}'s day", i + 1), "finite", nav[i].day);
    if (i > 0 && nav[i].day < nav[i - 1].day)  // (formatted only when refused)
      refuse(fmt::format("NAV point {}'s day", i + 1), fmt::format("at least the previous point's ({})", nav[i - 1].day),
             nav[i].day);
    if (!std::isfinite(nav[i].nav) || nav[i].nav <= 0.0) refuse(fmt::format("NAV point {}'s NAV", i + 1), "finite and > 0", nav[i].nav);
  }
}

void check_inputs(const TokenMarket& m, std::span<const NavPoint> nav, const ConsensusParams& cp, const EpisodeGrid& g) {
  check_non_negative("supply", m.supply);
  check_pool(m.pool);
  const double p0 = spot_price(m.pool);
  if (!(std::abs(p0 - 1.0) <= kStartPriceTolerance))
    refuse("the pool's price at the start (relative to the NAV before the episode)", "1 within 1e-9", p0);
  check_curve(m.lp);
  check_non_negative("redemption_opens_days", m.redemption_opens_days);
  // The redemption's own fields, named by redemption_wait_days.
  if (m.redemption.open) (void)redemption_wait_days(m.redemption, cp, 0.0);
  check_non_negative("arbitrageurs' capital (ETH)", m.arbitrageurs.capital_eth);
  check_non_negative("arbitrageurs' required return", m.arbitrageurs.required_return);
  check_unit("sellers' share of the supply", m.sellers.share);
  check_unit("sellers' trigger", m.sellers.trigger);
  if (!std::isfinite(m.sellers.hours) || m.sellers.hours <= 0.0) refuse("sellers' hours", "finite and > 0", m.sellers.hours);
  if (std::isnan(m.sellers.required_return) || m.sellers.required_return < 0.0)
    refuse("sellers' required return", ">= 0 (infinite: any price)", m.sellers.required_return);
  if (std::isnan(m.sellers.forced_from_day) || m.sellers.forced_from_day < 0.0)
    refuse("sellers' forced start", ">= 0 days (infinite: never)", m.sellers.forced_from_day);

  for (std::size_t b = 0; b < m.lending.size(); ++b) check_book(m.lending[b], b);

  check_nav_path(nav);

  if (!std::isfinite(g.step_days) || g.step_days <= 0.0) refuse("the grid's step (days)", "finite and > 0", g.step_days);
  if (g.steps < 1) throw std::invalid_argument("market episode: the grid's steps must be at least 1, got 0");
  if (!std::isfinite(g.depeg_threshold) || g.depeg_threshold < 0.0 || g.depeg_threshold >= 1.0)
    refuse("the depeg threshold", "in [0, 1)", g.depeg_threshold);
  if (g.max_rounds < 1) throw std::invalid_argument("market episode: the grid's max_rounds must be at least 1, got 0");
}

// How far past a position's liquidation threshold the liquidators' sales stop (relative): where its
// HF is below 1, not at it.
constexpr double kPastThreshold = 1e-9;
// A price this close below the arbitrage floor (relative) is at it: a purchase solved to the floor
// leaves the price within rounding of it.
constexpr double kAtFloor = 1e-12;

// The sale that leaves the pool's price at `price` or just below (below the current one): closed form
// for constant product; otherwise a root of the price after a sale, which falls with its size.
double sale_to_price(const Pool& pool, double price) {
  if (const auto* cp = std::get_if<ConstantProductPool>(&pool)) return sell_to_price(*cp, price);
  if (spot_price(pool) <= price) return 0.0;
  const Quote<Pool> quote(pool);
  const auto gap = [&](double sale) { return price - spot_price(quote.sell(sale).pool); };
  double hi = std::visit([](const auto& q) { return q.token; }, pool);
  for (int i = 0; i < 200 && gap(hi) < 0.0; ++i) hi *= 2.0;
  return sign_change(gap, 0.0, hi).second;
}

// A redemption queued for payment: the capital it returns.
struct Payout {
  double day;
  double eth;
};

// Everything a book carries through the episode.
struct BookState {
  std::vector<Borrower> positions;
  std::vector<char> liquidated;  // [bucket]: ever liquidated
  Reserve reserve;
  double total_accounts = 0.0;
  double oracle_price = 0.0;  // this round's
};

// A book at the start: its borrowers' positions, its reserve, and the debt it starts with.
BookState open_book(const LendingBook& book, LendingOutcome& out) {
  BookState s;
  s.positions.reserve(book.borrowers.size());
  for (const BorrowerBucket& bucket : book.borrowers) {
    s.positions.push_back(bucket.position);
    s.total_accounts += bucket.accounts;
    out.debt_eth += bucket.position.debt_eth;
  }
  s.liquidated.assign(book.borrowers.size(), 0);
  s.reserve = book.reserve;
  return s;
}

// Liquidates every bucket liquidatable at `price` (liquidate_until_healthy); deficits go to the
// reserve first. Adds the collateral seized to `seized`, bucket by bucket (a round's sum over its
// books, in one order).
void liquidate_book(const LendingBook& book, BookState& s, double price, LendingOutcome& out, double& seized) {
  for (std::size_t i = 0; i < s.positions.size(); ++i) {
    if (!liquidatable(book.market, s.positions[i], price)) continue;
    const LiquidationRun run = liquidate_until_healthy(book.market, s.positions[i], price);
    s.positions[i] = run.after;
    s.liquidated[i] = 1;
    seized += run.seized_tokens;
    out.liquidated_tokens += run.seized_tokens;
    out.repaid_eth += run.repaid_eth;
    if (run.deficit_eth > 0.0) {
      const DeficitCover c = cover_deficit(s.reserve, run.deficit_eth);
      s.reserve = c.after;
      out.deficit_eth += run.deficit_eth;
      out.covered_eth += c.covered_eth;
      out.bad_debt_eth += c.bad_debt_eth;
    }
  }
}

// The book at the end: debt left, the share of accounts liquidated, the reserve left.
void close_book(const LendingBook& book, const BookState& s, LendingOutcome& out) {
  double accounts = 0.0;
  for (std::size_t i = 0; i < s.positions.size(); ++i) {
    out.debt_left_eth += s.positions[i].debt_eth;
    if (s.liquidated[i]) accounts += book.borrowers[i].accounts;
  }
  out.accounts_liquidated = s.total_accounts > 0.0 ? accounts / s.total_accounts : 0.0;
  out.reserve_left_eth = s.reserve.balance_eth;
}

// The highest price below `spot` at which a position of a book priced at the pool's spot becomes
// liquidatable (collateral x price x LT < debt); 0 when none will.
double next_spot_trigger(const TokenMarket& market, const std::vector<BookState>& books, double spot) {
  double next = 0.0;
  for (std::size_t b = 0; b < books.size(); ++b) {
    const LendingBook& book = market.lending[b];
    if (book.oracle.kind != OracleKind::MarketSpot) continue;
    for (const Borrower& p : books[b].positions) {
      if (p.debt_eth <= 0.0 || p.collateral_tokens <= 0.0) continue;
      const double trigger = p.debt_eth / (p.collateral_tokens * book.market.liquidation_threshold);
      if (trigger < spot && trigger > next) next = trigger;
    }
  }
  return next;
}

}  // namespace

EpisodeResult run_episode(const TokenMarket& market, std::span<const NavPoint> nav, const ConsensusParams& cp,
                          const EpisodeGrid& grid, bool keep_path) {
  check_inputs(market, nav, cp, grid);

  EpisodeResult r;
  // Every step's price is read (steps >= 1): the lows start above any price.
  r.min_price = r.min_price_to_nav = std::numeric_limits<double>::infinity();
  Pool pool = market.pool;
  const auto sell_into_pool = [&pool](double tokens) {
    const Swap<Pool> s = sell(pool, tokens);
    pool = s.pool;
    return s.out;
  };

  // Lending books: positions as they evolve, and whether each bucket has been liquidated.
  std::vector<BookState> books(market.lending.size());
  r.lending.resize(market.lending.size());
  bool market_oracle = false;
  double keep_days = 0.0;
  for (std::size_t b = 0; b < books.size(); ++b) {
    const LendingBook& book = market.lending[b];
    books[b] = open_book(book, r.lending[b]);
    if (book.oracle.kind != OracleKind::ExchangeRate) market_oracle = true;
    if (book.oracle.kind == OracleKind::MarketTwap) keep_days = std::max(keep_days, book.oracle.twap_window_days);
  }
  // The market path the oracles read: the price was 1 before the episode, over any window.
  PriceHistory history{.keep_days = keep_days};
  // At most a window's worth of steps (or all of them), the point before it and the seed.
  const double window_steps = std::min(keep_days / grid.step_days, static_cast<double>(grid.steps));
  history.points.reserve(static_cast<std::size_t>(window_steps) + 4);
  history.points.push_back({-keep_days, 1.0});

  // Arbitrage: capital in hand, and what is queued to come back.
  const bool arbitrage_on = market.redemption.open;
  const double required_return = market.arbitrageurs.required_return;
  const auto closed_for = [&market](double t) { return std::max(0.0, market.redemption_opens_days - t); };
  // The wait for `eth` more redeemed after everything redeemed in the episode so far.
  const auto wait_for = [&](double eth) { return redemption_wait_days(market.redemption, cp, r.eth_redeemed + eth); };
  double t = 0.0, nav_t = 1.0;  // the step's day and NAV
  // The lowest price at which a holder of `tokens` who requires `rate` a year sells rather than
  // redeems them (0 without withdrawals, or without a required return: they sell at any price).
  const auto redemption_floor = [&](double tokens, double rate) {
    if (!arbitrage_on || !std::isfinite(rate)) return 0.0;
    return arbitrage_floor(nav_t, closed_for(t) + wait_for(nav_t * tokens), rate);
  };
  double capital = market.arbitrageurs.capital_eth;
  std::vector<Payout> payouts;
  if (arbitrage_on) payouts.reserve(grid.steps);

  // Sellers: ceil(hours / step) steps of share x supply x step / hours, the last the remainder.
  const double step_hours = 24.0 * grid.step_days;
  const double sellers_total = market.sellers.share * market.supply;
  const double sellers_per_step = sellers_total * std::min(1.0, step_hours / market.sellers.hours);
  // Less a hair: 24 x (1 / 24.0) may round below 1. Capped past the grid's end (they would not finish
  // selling within it), so the cast stays in range.
  const double steps_to_sell = std::max(1.0, std::ceil(market.sellers.hours / step_hours - 1e-9));
  const auto sellers_steps = static_cast<std::size_t>(std::min(steps_to_sell, static_cast<double>(grid.steps) + 1.0));
  bool triggered = false;
  std::size_t seller_steps_done = 0;
  double sellers_sold = 0.0;

  double lp_gone = 0.0;  // share of the original depth withdrawn
  double last_change = 0.0;  // the day of the last step that changed anything
  bool capped_oracle = false;  // a CAPO cap moves with the day
  for (const LendingBook& book : market.lending) capped_oracle = capped_oracle || book.oracle.capped;
  std::size_t depegged_steps = 0;
  if (keep_path) r.path.reserve(grid.steps);
  std::size_t nav_index = 0;

  for (std::size_t k = 0; k < grid.steps; ++k) {
    t = static_cast<double>(k) * grid.step_days;
    while (nav_index + 1 < nav.size() && nav[nav_index + 1].day <= t) ++nav_index;
    nav_t = nav[nav_index].nav;
    bool changed = false;  // a trade, a liquidation, LPs leaving or capital coming back this step

    // 1. Arbitrage. Capital whose redemption has paid is back in hand.
    if (arbitrage_on) {
      const auto due = [t](const Payout& p) { return p.day <= t; };
      for (const Payout& p : payouts)
        if (due(p)) {
          changed = true;
          capital += p.eth;
          r.eth_returned_to_arbitrageurs += p.eth;
        }
      payouts.erase(std::remove_if(payouts.begin(), payouts.end(), due), payouts.end());

      const auto wait_after = [&](double tokens) { return closed_for(t) + wait_for(nav_t * tokens); };
      const double rr = required_return;  // the arbitrageurs' 
      const double floor0 = arbitrage_floor(nav_t, wait_after(0.0), rr);
      // A relative hair below the floor does not count: a purchase solved to the floor leaves the
      // price within rounding of it, and buying that back every step would never let a step be quiet.
      if (capital > 0.0 && spot_price(pool) < floor0 * (1.0 - kAtFloor)) {
        // The price after a purchase rises with its size and the floor falls (a longer wait):
        // the purchase is the largest at which the price is still at most the floor.
        const Quote<Pool> quote(pool);
        const Swap<Pool> all = quote.buy(capital);
        const double floor_all = arbitrage_floor(nav_t, wait_after(all.out), rr);
        Swap<Pool> bought{0.0, pool};
        double spent = 0.0;
        if (spot_price(all.pool) <= floor_all) {
          bought = all;
          spent = capital;
        } else if (floor_all == floor0) {
          // The floor does not depend on the size here: the generic purchase to a fixed floor.
          const Arbitrage<Pool> a = arbitrage(pool, floor0, capital);
          bought = {a.tokens_bought, a.pool};
          spent = a.eth_spent;
        } else {
          const auto gap = [&](double eth) {
            const Swap<Pool> s = quote.buy(eth);
            return spot_price(s.pool) - arbitrage_floor(nav_t, wait_after(s.out), rr);
          };
          spent = sign_change(gap, 0.0, capital).first;
          bought = quote.buy(spent);
        }
        if (spent > 0.0) {
          changed = true;
          const double wait = wait_after(bought.out);
          pool = bought.pool;
          capital -= spent;
          r.eth_spent_by_arbitrageurs += spent;
          r.bought_by_arbitrageurs += bought.out;
          r.eth_redeemed += nav_t * bought.out;
          payouts.push_back({t + wait, nav_t * bought.out});
        }
      }
    }

    // 2. Holders sell while the pool pays more than NAV.
    if (spot_price(pool) > nav_t) {
      const double sale = sale_to_price(pool, nav_t);
      changed = changed || sale > 0.0;
      r.sold_by_holders += sale;
      r.eth_to_holders += sell_into_pool(sale);
    }

    // 3. The sellers, once the fall reaches their trigger.
    if (!triggered && sellers_total > 0.0)
      triggered = t >= market.sellers.forced_from_day || std::max(1.0 - spot_price(pool), 1.0 - nav_t) >= market.sellers.trigger;
    if (triggered && seller_steps_done < sellers_steps) {
      ++seller_steps_done;
      const double amount = seller_steps_done < sellers_steps ? sellers_per_step : sellers_total - sellers_sold;
      sellers_sold += amount;
      changed = true;
      // They never sell below what redeeming pays them at their own required return: the rest
      // they redeem. Without withdrawals (ezETH, April 2024), or without a required return, they
      // sell it all.
      const double keep_below = redemption_floor(amount, market.sellers.required_return);
      const double sale =
          keep_below > 0.0 && spot_price(sell(pool, amount).pool) < keep_below ? std::min(amount, sale_to_price(pool, keep_below)) : amount;
      r.sold_by_holders += sale;
      r.sold_by_sellers += sale;
      r.eth_to_holders += sell_into_pool(sale);
      if (sale < amount) {
        r.redeemed_by_sellers += amount - sale;
        r.eth_redeemed += nav_t * (amount - sale);
      }
    }

    // 4. Liquidations to a fixed point: each round's seized collateral is sold before the next
    // round reads the oracles - down to the next price at which a position priced at the pool's
    // spot becomes liquidatable, which the next round liquidates there before the rest is sold.
    // Liquidators act as the price passes each threshold; selling a round's collateral at once
    // would overshoot the next one, and a deeper pool could then liquidate it at a lower price
    // than a shallower one. The sellers' step is one trade: a dump overshoots thresholds, which
    // is how a market depeg leaves bad debt (a position liquidated at its own threshold does not:
    // its collateral is worth debt / LT > debt x (1 + bonus)).
    double unsold = 0.0;  // seized, not sold yet
    for (std::size_t round = 0; round < grid.max_rounds && !books.empty(); ++round) {
      if (market_oracle) record(history, {t, spot_price(pool)});
      double seized = 0.0;
      for (std::size_t b = 0; b < books.size(); ++b) {
        const LendingBook& book = market.lending[b];
        BookState& s = books[b];
        if (s.positions.empty()) continue;
        liquidate_book(book, s, oracle_price(book.oracle, nav_t, history.points, t), r.lending[b], seized);
      }
      unsold += seized;
      if (unsold == 0.0) break;
      changed = true;
      // Liquidators never sell below what redeeming pays them (the arbitrage floor of what they
      // hold): the rest they redeem at NAV. With withdrawals that never open they sell it all.
      const double keep_below = redemption_floor(unsold, required_return);
      const double next = next_spot_trigger(market, books, spot_price(pool));
      const double stop = std::max(next * (1.0 - kPastThreshold), keep_below);
      const double sale = stop > 0.0 && spot_price(sell(pool, unsold).pool) < stop ? std::min(unsold, sale_to_price(pool, stop)) : unsold;
      unsold -= sale;
      r.sold_by_liquidators += sale;
      r.eth_to_liquidators += sell_into_pool(sale);
      // What is left at the floor is redeemed; also what a round could neither sell nor use (a
      // threshold that rounding left unreached), rather than spinning through the rounds.
      const bool last_round = round + 1 == grid.max_rounds;
      if (unsold > 0.0 && (stop == keep_below || (seized == 0.0 && sale == 0.0) || last_round)) {
        const double rest = unsold;
        unsold = 0.0;
        if (keep_below == 0.0) {  // nothing to redeem into: sold at once
          r.sold_by_liquidators += rest;
          r.eth_to_liquidators += sell_into_pool(rest);
        } else {
          const double more = spot_price(sell(pool, rest).pool) < keep_below ? std::min(rest, sale_to_price(pool, keep_below)) : rest;
          r.sold_by_liquidators += more;
          r.eth_to_liquidators += sell_into_pool(more);
          r.redeemed_by_liquidators += rest - more;
          r.eth_redeemed += nav_t * (rest - more);
        }
      }
    }

    // 5. LPs leave as the discount deepens (never come back within the episode).
    const double lp_share = withdrawn_share(market.lp, 1.0 - spot_price(pool) / nav_t);
    if (lp_share > lp_gone) {
      const double share = (lp_share - lp_gone) / (1.0 - lp_gone);
      std::visit(
          [&](const auto& q) {
            r.lp_withdrawn_tokens += q.token * share;
            r.lp_withdrawn_eth += q.eth * share;
          },
          pool);
      pool = withdraw_liquidity(pool, share);
      lp_gone = lp_share;
      changed = true;
    }

    // 6. The step's price.
    const double price = spot_price(pool);
    if (market_oracle) record(history, {t, price});
    if (keep_path) r.path.push_back({t, price});
    r.min_price = std::min(r.min_price, price);
    r.min_price_to_nav = std::min(r.min_price_to_nav, price / nav_t);
    const bool depegged = price < (1.0 - grid.depeg_threshold) * nav_t;
    if (depegged) ++depegged_steps;

    // A quiet step after which nothing can change repeats to the end: no NAV point, sale or payout
    // within the episode ahead, a floor that no longer moves (or no capital to buy with), and every TWAP window past
    // the last change. Most episodes after a small loss are quiet from their first hours.
    if (changed) last_change = t;
    const double last_step = static_cast<double>(grid.steps - 1) * grid.step_days;
    const bool forced_ahead = market.sellers.forced_from_day > t && market.sellers.forced_from_day <= last_step;
    const bool sellers_idle = sellers_total == 0.0 || seller_steps_done >= sellers_steps || (!triggered && !forced_ahead);
    const bool floor_fixed = !arbitrage_on || capital <= 0.0 || market.redemption_opens_days <= t;
    const bool no_payout_ahead = std::all_of(payouts.begin(), payouts.end(), [&](const Payout& p) { return p.day > last_step; });
    if (!changed && nav_index + 1 == nav.size() && no_payout_ahead && sellers_idle && floor_fixed && !capped_oracle &&
        t - last_change >= keep_days) {
      const std::size_t rest = grid.steps - 1 - k;
      if (depegged) depegged_steps += rest;
      for (std::size_t j = 1; keep_path && j <= rest; ++j) r.path.push_back({t + static_cast<double>(j) * grid.step_days, price});
      break;
    }
  }

  r.depeg_days = static_cast<double>(depegged_steps) * grid.step_days;
  r.pool = pool;
  for (std::size_t b = 0; b < books.size(); ++b) close_book(market.lending[b], books[b], r.lending[b]);
  return r;
}

LendingOutcome run_book_at_nav(const LendingBook& book, std::span<const NavPoint> nav) {
  if (book.oracle.kind != OracleKind::ExchangeRate)
    throw std::invalid_argument("run_book_at_nav: a book away from the pool reads the exchange rate (its oracle reads a market price)");
  check_book(book, 0);
  check_nav_path(nav);
  LendingOutcome out;
  BookState s = open_book(book, out);
  double seized = 0.0;
  for (const NavPoint& p : nav) liquidate_book(book, s, oracle_price(book.oracle, p.nav, {}, p.day), out, seized);
  close_book(book, s, out);
  return out;
}

}  // namespace restake::market
