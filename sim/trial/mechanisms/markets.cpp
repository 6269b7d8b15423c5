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

// A booked loss of a token's holder: the day, and NAV per token after it (on the pool's chain).
struct NavMark {
  double day = 0.0;
  double nav = 1.0;
  bool shock = false;  // a forced market shock ([[stress.market_shock]]): from it the sellers run whatever their trigger
  std::size_t chain_navs = kNone;  // tokens on several chains: where this mark's NAV per chain starts in chain_navs_
};

// A lending market away from the pool's chain (market/episode.hpp, run_book_at_nav).
struct RemoteBook {
  std::size_t market = 0;  // the model's lending market
  std::size_t chain = 0;
  market::LendingBook book;
};

// A token on several chains: its lending markets away from the pool's chain, and, when a bridge's
// loss is written down on its own chain (LossAllocation::AffectedChain), which chain bears it.
struct TokenChains {
  std::vector<double> shares;  // [chain] of the supply
  // [contract * chains + chain]: the share of a loss from that contract's failure that its chain
  // bears alone (the rest is spread over all supply); empty: every loss is spread.
  std::vector<double> route;
  std::vector<RemoteBook> remote;
  bool several() const { return shares.size() > 1; }
};

// What a run's episodes start from, built once from the model.
struct MarketSetup {
  std::vector<market::TokenMarket> tokens;             // [token] its market, lending books in books_of_token order
  std::vector<std::vector<std::size_t>> books_of_token;  // [token] the model's lending markets on it, on the pool's chain
  std::vector<TokenChains> chains;                     // [token]
  std::vector<std::size_t> token_of_holder;            // [holder] kNone: no token
  market::EpisodeGrid grid;
};

class Markets final : public Mechanism {
 public:
  explicit Markets(const MarketSetup& setup)
      : setup_(setup), scratch_(setup.tokens), marks_(setup.tokens.size()), backing_(setup.tokens.size()),
        chain_navs_(setup.tokens.size()) {}

  void begin(Trial&) override {
    for (auto& marks : marks_) marks.clear();
    for (std::size_t k = 0; k < backing_.size(); ++k) {
      backing_[k] = setup_.chains[k].shares;  // of the holder's initial value
      chain_navs_[k].clear();
    }
  }

  void on_loss(Loss& loss, Trial& trial) override {
    // What the coverage pools (earlier loss hooks) left: the trial's own sum, in the same order.
    if (loss.uncovered <= 0.0) return;
    // The holder's losses with this one: the trial adds it in the same way once the hooks are done
    // (this hook is the last).
    const double lost = trial.uncovered(loss.holder) + loss.uncovered;
    const std::size_t k = setup_.token_of_holder[loss.holder];
    if (k == kNone) return;
    const double v0 = trial.world().holder_value[loss.holder];
    const TokenChains& tc = setup_.chains[k];
    if (!tc.several()) {
      marks_[k].push_back({trial.now(), std::max(1.0 - lost / v0, kWipedOutNav)});
      return;
    }
    // NAV per chain, from each chain's backing (a share of the holder's initial value). A loss that
    // a chain bears alone (a bridge's, with AffectedChain) comes off its backing, at most all of it;
    // the rest comes off every chain's backing pro rata, as a loss of the assets behind all the
    // tokens. The backings sum to the holder's value: sum_j share_j NAV_j = 1 - lost / v0 (but for
    // a chain wiped out, at kWipedOutNav), whatever the order of the losses.
    const std::size_t at = chain_navs_[k].size();
    if (tc.route.empty()) {  // AllSupply: every chain at the holder's NAV
      for (std::size_t j = 0; j < tc.shares.size(); ++j) chain_navs_[k].push_back(std::max(1.0 - lost / v0, kWipedOutNav));
    } else {
      std::vector<double>& backing = backing_[k];
      const std::size_t n = backing.size();
      double rest = loss.uncovered / v0;
      if (loss.contract != kNone)
        for (std::size_t j = 0; j < n; ++j) {
          const double alone = std::min(loss.uncovered / v0 * tc.route[loss.contract * n + j], backing[j]);
          backing[j] -= alone;
          rest -= alone;
        }
      double total = 0.0;
      for (const double b : backing) total += b;
      if (rest > 0.0 && total > 0.0)
        for (double& b : backing) b -= std::min(rest, total) * (b / total);
      for (std::size_t j = 0; j < n; ++j) chain_navs_[k].push_back(std::max(backing[j] / tc.shares[j], kWipedOutNav));
    }
    marks_[k].push_back({trial.now(), chain_navs_[k][at], false, at});
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
      const std::size_t chain_navs = at == marks.begin() ? kNone : std::prev(at)->chain_navs;  // kNone: 1 on every chain
      marks.insert(at, {shock.day, nav, true, chain_navs});
    }
    for (std::size_t k = 0; k < marks_.size(); ++k)
      if (!marks_[k].empty()) run_episodes(k, trial);
    for (std::size_t h = 0; h < m.holders.size(); ++h) {
      const double at_nav = trial.uncovered(h) / trial.world().holder_value[h];
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
      // Sold in distress: the sellers' and the liquidators' sales. Holders selling while the pool
      // pays more than NAV (after a write-down) only reprice it, as much as its depth takes.
      out.token_sold[k] += r.sold_by_sellers + r.sold_by_liquidators;
      for (std::size_t b = 0; b < books.size(); ++b) {
        const market::LendingOutcome& l = r.lending[b];
        const std::size_t j = books[b];
        out.lending_liquidated[j] += l.liquidated_tokens;
        out.lending_bad_debt[j] += l.bad_debt_eth * nav_before;
        out.lending_accounts_liquidated[j] = std::max(out.lending_accounts_liquidated[j], l.accounts_liquidated);
      }
      run_remote_books(k, from, to, trial);
      nav_before = marks[to - 1].nav;
      from = to;
    }
  }

  // NAV on chain j at mark i (1 before any loss).
  double chain_nav(std::size_t k, const NavMark& mark, std::size_t j) const {
    return mark.chain_navs == kNone ? 1.0 : chain_navs_[k][mark.chain_navs + j];
  }

  // The token's lending markets away from the pool, over the episode of marks [from, to): each
  // from the scenario's book at its chain's NAV before the episode, liquidated at the NAV the
  // episode reads at each step's start (the last mark at or before it), as its own books are.
  void run_remote_books(std::size_t k, std::size_t from, std::size_t to, Trial& trial) {
    const TokenChains& tc = setup_.chains[k];
    if (tc.remote.empty()) return;
    const TrialRecord& out = trial.record();
    const std::vector<NavMark>& marks = marks_[k];
    const double step = setup_.grid.step_days;
    for (const RemoteBook& remote : tc.remote) {
      const std::size_t j = remote.chain;
      const double before = from == 0 ? 1.0 : chain_nav(k, marks[from - 1], j);
      nav_.clear();
      for (std::size_t i = from; i < to; ++i) {
        // The first step whose start k x step is at or after the mark (the episode's own test).
        const double d = marks[i].day - marks[from].day;
        double s = std::ceil(d / step);
        if (s > 0.0 && (s - 1.0) * step >= d) s -= 1.0;
        if (s * step < d) s += 1.0;
        const market::NavPoint p{s * step, chain_nav(k, marks[i], j) / before};
        if (!nav_.empty() && nav_.back().day == p.day) nav_.back() = p;
        else nav_.push_back(p);
      }
      const market::LendingOutcome l = market::run_book_at_nav(remote.book, nav_);
      out.lending_liquidated[remote.market] += l.liquidated_tokens;
      out.lending_bad_debt[remote.market] += l.bad_debt_eth * before;
      out.lending_accounts_liquidated[remote.market] = std::max(out.lending_accounts_liquidated[remote.market], l.accounts_liquidated);
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
  std::vector<std::vector<NavMark>> marks_;   // [token]
  std::vector<std::vector<double>> backing_;     // [token][chain] its backing, a share of the holder's initial value
  std::vector<std::vector<double>> chain_navs_;  // [token] NAV per chain at each mark, mark after mark
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
  for (const LendingMarketSpec& l : m.lending_markets)
    if (l.token == token && l.chain == 0) tm.lending.push_back(lending_book(l));
  return tm;
}

market::LendingBook lending_book(const LendingMarketSpec& l) {
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
  return book;
}

namespace {

// Token k's chains: shares, the remote books, and with AffectedChain the route of each contract's
// failure. A failure that reaches the holder's whole balance (its own contracts or its protocol's)
// is spread over all supply; one that reaches it through bridges falls on the chains those bridges
// serve, in proportion to the bridged shares (a reached bridge no chain lists: spread).
TokenChains token_chains(const Model& m, std::size_t k) {
  const Token& t = m.tokens[k];
  const Holder& h = m.holders[t.holder];
  TokenChains tc;
  for (const TokenChain& c : t.chains) tc.shares.push_back(c.share);
  for (std::size_t j = 0; j < m.lending_markets.size(); ++j) {
    const LendingMarketSpec& l = m.lending_markets[j];
    if (l.token != k || l.chain == 0) continue;
    tc.remote.push_back({j, l.chain, lending_book(l)});
  }
  if (t.loss_allocation != LossAllocation::AffectedChain) return tc;
  const std::size_t n = t.chains.size();
  tc.route.assign(m.contracts.size() * n, 0.0);
  for (std::size_t c = 0; c < m.contracts.size(); ++c) {
    const std::vector<bool> reached = reached_by_failure(m, c);
    bool whole = std::any_of(h.contracts.begin(), h.contracts.end(), [&](std::size_t x) { return reached[x]; });
    for (const Position& pos : h.positions)
      if (pos.protocol != kNoProtocol)
        for (const std::size_t x : m.protocols[pos.protocol].contracts) whole = whole || reached[x];
    if (whole) continue;
    double bridged = 0.0;
    for (const BridgeExposure& b : h.bridged)
      if (reached[b.contract]) bridged += b.share;
    if (bridged <= 0.0) continue;
    for (std::size_t j = 1; j < n; ++j)
      for (const std::size_t x : t.chains[j].bridges)
        if (reached[x])
          for (const BridgeExposure& b : h.bridged)
            if (b.contract == x) tc.route[c * n + j] += b.share / bridged;
  }
  return tc;
}

}  // namespace

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
  setup.chains.resize(m.tokens.size());
  for (std::size_t k = 0; k < m.tokens.size(); ++k) setup.chains[k] = token_chains(m, k);
  for (std::size_t j = 0; j < m.lending_markets.size(); ++j)
    if (m.lending_markets[j].chain == 0) setup.books_of_token[m.lending_markets[j].token].push_back(j);
  setup.grid = episode_grid(m.market);
  return std::make_unique<MarketsType>(std::move(setup));
}

}  // namespace restake
