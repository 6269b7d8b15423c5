// The market layer in a trial ([[token]], [[lending_market]]; docs/markets.md): a loss hook that
// follows each token's NAV as its holder's losses are booked, and an end hook that runs a market
// episode (market/episode.hpp) from the first loss, for `episode_days`; a loss after the episode's
// last NAV read (its last step's start) starts another, from a market that has recovered (the
// scenario's at the NAV of that moment). A trial without a loss or a forced shock runs no episode.
#include <algorithm>
#include <cmath>
#include <limits>

#include "market/episode.hpp"
#include "trial/mechanisms.hpp"
#include "trial/trial.hpp"

namespace restake {

namespace {

// A token unit is worth 1 ETH at the start; NAV per token is the holder's value net of coverage
// over its initial value. A holder wiped out entirely has a NAV of 0, at which no price exists:
// the episode sees this tiny positive NAV instead, the limit in which its collateral is worthless.
constexpr double kWipedOutNav = 1e-12;

// A booked loss of a token's holder: the day, and NAV per token after it.
struct NavMark {
  double day = 0.0;
  double nav = 1.0;
  bool shock = false;  // a forced market shock ([[stress.market_shock]]): from it the sellers run whatever their trigger
};

// What a run's episodes start from, built once from the model.
struct MarketSetup {
  std::vector<market::TokenMarket> tokens;             // [token] its market, lending books in books_of_token order
  std::vector<std::vector<std::size_t>> books_of_token;  // [token] the model's lending markets on it
  std::vector<std::size_t> token_of_holder;            // [holder] kNone: no token
  market::EpisodeGrid grid;
};

class Markets final : public Mechanism {
 public:
  explicit Markets(const MarketSetup& setup) : setup_(setup), scratch_(setup.tokens), marks_(setup.tokens.size()) {}

  void begin(Trial& trial) override {
    lost_.assign(trial.model().holders.size(), 0.0);
    for (auto& marks : marks_) marks.clear();
  }

  void on_loss(Loss& loss, Trial& trial) override {
    // What the coverage pools (earlier loss hooks) left: the trial's own sum, in the same order.
    if (loss.uncovered <= 0.0) return;
    lost_[loss.holder] += loss.uncovered;
    const std::size_t k = setup_.token_of_holder[loss.holder];
    if (k == kNone) return;
    const double v0 = trial.world().holder_value[loss.holder];
    marks_[k].push_back({trial.now(), std::max(1.0 - lost_[loss.holder] / v0, kWipedOutNav)});
  }

  void end(Trial& trial) override {
    const Model& m = trial.model();
    const TrialRecord& out = trial.record();
    std::fill(out.token_min_price.begin(), out.token_min_price.end(), 1.0);
    for (auto span : {out.token_max_discount, out.token_depeg_days, out.token_sold, out.lending_liquidated, out.lending_bad_debt,
                      out.lending_accounts_liquidated})
      std::fill(span.begin(), span.end(), 0.0);
    for (const ForcedMarketShock& shock : m.stress.market_shocks) {
      // An episode at NAV as it stands that day: a mark after the losses booked up to then.
      std::vector<NavMark>& marks = marks_[shock.token];
      const auto at = std::upper_bound(marks.begin(), marks.end(), shock.day, [](double d, const NavMark& mk) { return d < mk.day; });
      const double nav = at == marks.begin() ? 1.0 : std::prev(at)->nav;
      marks.insert(at, {shock.day, nav, true});
    }
    for (std::size_t k = 0; k < marks_.size(); ++k)
      if (!marks_[k].empty()) run_episodes(k, trial);
    for (std::size_t h = 0; h < m.holders.size(); ++h) {
      const double at_nav = lost_[h] / trial.world().holder_value[h];
      const std::size_t k = setup_.token_of_holder[h];
      // Selling at the worst moment: the lowest price, unless NAV ended lower still.
      out.loss_at_market[h] = k == kNone ? at_nav : std::max(at_nav, 1.0 - out.token_min_price[k]);
    }
  }

 private:
  // The token's episodes: each from the first loss not yet in one, for the grid's length.
  void run_episodes(std::size_t k, Trial& trial) {
    const TrialRecord& out = trial.record();
    const std::vector<NavMark>& marks = marks_[k];
    const std::vector<std::size_t>& books = setup_.books_of_token[k];
    market::TokenMarket& tm = scratch_[k];
    tm.sellers.share = trial.draws().sellers[k].share;
    tm.sellers.trigger = trial.draws().sellers[k].trigger;
    // The episode reads NAV at the start of each step: a mark after its last step's start belongs
    // to the next episode (the same expression on both sides, so rounding cannot split them).
    const double last_step = static_cast<double>(setup_.grid.steps - 1) * setup_.grid.step_days;
    std::vector<EpisodePath>* paths = out.price_paths;  // asked for by the caller (a re-run), never by the model
    double nav_before = 1.0;
    for (std::size_t from = 0, episode = 0; from < marks.size(); ++episode) {
      const double start = marks[from].day;
      tm.sellers.forced_from_day = std::numeric_limits<double>::infinity();
      nav_.clear();
      nav_eth_.clear();
      std::size_t to = from;
      for (; to < marks.size() && marks[to].day - start <= last_step; ++to) {
        const market::NavPoint p{marks[to].day - start, marks[to].nav / nav_before};
        if (marks[to].shock) tm.sellers.forced_from_day = std::min(tm.sellers.forced_from_day, p.day);
        if (!nav_.empty() && nav_.back().day == p.day) {  // losses of one moment: NAV after the last
          nav_.back() = p;
          nav_eth_.back() = marks[to].nav;
        } else {
          nav_.push_back(p);
          nav_eth_.push_back(marks[to].nav);
        }
      }
      const market::EpisodeResult r =
          market::run_episode(tm, nav_, trial.model().ethereum.consensus, setup_.grid, paths != nullptr);
      if (paths != nullptr) paths->push_back(episode_path(k, episode, start, nav_before, r.path));
      // The episode's prices are relative to the NAV before it: its market is the scenario's at
      // that NAV - the same token amounts, its ETH amounts (pool, debt, reserve, capital) scaled by
      // it. Tokens count as they are; ETH and prices scale back by nav_before.
      out.token_min_price[k] = std::min(out.token_min_price[k], r.min_price * nav_before);
      out.token_max_discount[k] = std::max(out.token_max_discount[k], 1.0 - r.min_price_to_nav);
      out.token_depeg_days[k] += r.depeg_days;
      out.token_sold[k] += r.sold_by_holders + r.sold_by_liquidators;
      for (std::size_t b = 0; b < books.size(); ++b) {
        const market::LendingOutcome& l = r.lending[b];
        const std::size_t j = books[b];
        out.lending_liquidated[j] += l.liquidated_tokens;
        out.lending_bad_debt[j] += l.bad_debt_eth * nav_before;
        out.lending_accounts_liquidated[j] = std::max(out.lending_accounts_liquidated[j], l.accounts_liquidated);
      }
      nav_before = marks[to - 1].nav;
      from = to;
    }
  }

  // The episode's price path in the trial's days and ETH per token, with the NAV each step read
  // (the last NAV point at or before the step's start, as run_episode reads it).
  EpisodePath episode_path(std::size_t k, std::size_t episode, double start, double nav_before,
                           const std::vector<market::PricePoint>& path) const {
    EpisodePath e{k, episode, {}};
    e.points.reserve(path.size());
    std::size_t n = 0;
    for (const market::PricePoint& p : path) {
      while (n + 1 < nav_.size() && nav_[n + 1].day <= p.day) ++n;
      e.points.push_back({start + p.day, p.price_eth * nav_before, nav_eth_[n]});
    }
    return e;
  }

  const MarketSetup& setup_;
  std::vector<market::TokenMarket> scratch_;  // [token] the markets with this trial's sellers
  std::vector<double> lost_;                  // [holder] net of coverage, as booked
  std::vector<std::vector<NavMark>> marks_;   // [token]
  std::vector<market::NavPoint> nav_;         // an episode's NAV path
  std::vector<double> nav_eth_;               // the same points' NAV per token in ETH (read for kept paths)
};

class MarketsType final : public MechanismType {
 public:
  explicit MarketsType(MarketSetup setup) : setup_(std::move(setup)) {}
  std::string_view name() const override { return "markets"; }
  MechanismHooks hooks() const override { return {.on_loss = true, .end = true}; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<Markets>(setup_); }

 private:
  MarketSetup setup_;
};

}  // namespace

market::TokenMarket token_market(const Model& m, std::size_t token) {
  const Token& t = m.tokens[token];
  market::TokenMarket tm;
  tm.supply = m.holders[t.holder].value();
  const PoolSpec& p = t.pool;
  switch (p.kind) {  // balanced at NAV: the token side holds the ETH side's value at price 1
    case PoolKind::ConstantProduct: tm.pool = market::ConstantProductPool{p.eth, p.eth, p.fee}; break;
    case PoolKind::Weighted: tm.pool = market::WeightedPool{p.eth * p.token_weight / (1.0 - p.token_weight), p.eth, p.token_weight, p.fee}; break;
    case PoolKind::StableSwap: tm.pool = market::StableSwapPool{p.eth, p.eth, p.amplification, p.fee}; break;
  }
  for (const auto& [discount, share] : p.lp_withdrawal) tm.lp.points.push_back({discount, share});
  const RedemptionSpec& r = t.redemption;
  tm.redemption = {r.open, r.buffer_eth, r.protocol_delay_days, r.escrow_days, r.exit_queue_eth};
  tm.redemption_opens_days = r.opens_after_days;
  tm.arbitrageurs = {r.arbitrage_capital_eth, r.required_return};
  tm.sellers.hours = t.sell_hours;
  tm.sellers.required_return = t.sell_required_return;
  for (const LendingMarketSpec& l : m.lending_markets) {
    if (l.token != token) continue;
    market::LendingBook book;
    book.market = l.rules == LendingRulesKind::AaveV3 ? market::aave_v3_market(l.ltv, l.liquidation_threshold, l.liquidation_bonus)
                                                      : market::morpho_blue_market(l.liquidation_threshold);
    book.oracle.kind = l.oracle == OracleSpecKind::ExchangeRate ? market::OracleKind::ExchangeRate
                       : l.oracle == OracleSpecKind::MarketSpot ? market::OracleKind::MarketSpot
                                                                : market::OracleKind::MarketTwap;
    book.oracle.twap_window_days = l.twap_window_days;
    book.reserve.balance_eth = l.reserve_eth;
    // Equal slices of the debt; at price 1, HF = collateral x LT / debt gives the collateral.
    const double debt = l.debt_eth / static_cast<double>(l.health_factors.size());
    for (const double hf : l.health_factors)
      book.borrowers.push_back({{hf * debt / l.liquidation_threshold, debt}, 1.0});
    tm.lending.push_back(std::move(book));
  }
  return tm;
}

market::EpisodeGrid episode_grid(const MarketGrid& g) {
  market::EpisodeGrid grid;
  grid.step_days = g.step_hours / 24.0;
  // A whole number of steps covering the episode (the last may end a little after it).
  grid.steps = static_cast<std::size_t>(std::ceil(g.episode_days * 24.0 / g.step_hours - 1e-9));
  grid.depeg_threshold = g.depeg_threshold;
  return grid;
}

std::unique_ptr<const MechanismType> make_markets(const Model& m, const World&) {
  if (m.tokens.empty()) return nullptr;
  MarketSetup setup;
  setup.token_of_holder.assign(m.holders.size(), kNone);
  setup.books_of_token.resize(m.tokens.size());
  for (std::size_t k = 0; k < m.tokens.size(); ++k) {
    setup.tokens.push_back(token_market(m, k));
    setup.token_of_holder[m.tokens[k].holder] = k;
  }
  for (std::size_t j = 0; j < m.lending_markets.size(); ++j) setup.books_of_token[m.lending_markets[j].token].push_back(j);
  setup.grid = episode_grid(m.market);
  return std::make_unique<MarketsType>(std::move(setup));
}

}  // namespace restake
