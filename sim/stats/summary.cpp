#include "stats/summary.hpp"

#include "io/json.hpp"
#include "trial/world.hpp"

#include <algorithm>
#include <functional>
#include <span>
#include <cmath>
#include <stdexcept>

#include <boost/math/distributions/students_t.hpp>
#include <fmt/format.h>

namespace restake {

namespace {

using TailFiller = std::function<void(std::size_t holder, HolderSummary&)>;

// The market layer's means and probabilities; its quantiles are left to the caller.
void summarize_markets(const Model& m, const TallyTotals& t, double n, RunSummary& s) {
  for (std::size_t k = 0; k < m.tokens.size(); ++k) {
    TokenSummary ts;
    ts.name = m.tokens[k].name;
    ts.holder = m.holders.at(m.tokens[k].holder).name;
    ts.min_price_mean = t.token_min_price_sum[k] / n;
    ts.p_depeg = t.token_depegged[k] / n;
    ts.depeg_days_mean = t.token_depeg_days_sum[k] / n;
    ts.sold_mean = t.token_sold_sum[k] / n;
    s.tokens.push_back(std::move(ts));
  }
  for (std::size_t l = 0; l < m.lending_markets.size(); ++l) {
    const LendingMarketSpec& spec = m.lending_markets[l];
    LendingSummary ls;
    ls.name = spec.name;
    ls.token = m.tokens.at(spec.token).name;
    ls.debt_eth = spec.debt_eth;
    ls.usd_price = m.usd_price[static_cast<std::size_t>(Asset::Eth)];
    ls.liquidated_mean = t.lending_liquidated_sum[l] / n;
    ls.bad_debt_mean = t.lending_bad_debt_sum[l] / n;
    ls.p_bad_debt = t.lending_with_bad_debt[l] / n;
    ls.p_bad_debt_1pct = t.lending_bad_debt_over_1pct[l] / n;
    ls.accounts_liquidated_mean = t.lending_accounts_sum[l] / n;
    s.lending.push_back(std::move(ls));
  }
  for (std::size_t h = 0; h < t.market_loss_sum.size(); ++h) s.holders[h].loss_at_market.mean = t.market_loss_sum[h] / n;
}

// The market layer's order statistics, from `order_statistics(field, i)` of the quantity `field`
// for entity i (the stored records sorted, or a sketch).
template <class Stats>
void set_market_tails(RunSummary& s, bool tokens, Stats&& order_statistics) {
  for (std::size_t k = 0; k < s.tokens.size(); ++k)
    s.tokens[k].min_price_p05 = order_statistics(&TrialBlock::token_min_price, k).quantile(0.05);
  for (std::size_t l = 0; l < s.lending.size(); ++l) {
    s.lending[l].liquidated_p95 = order_statistics(&TrialBlock::lending_liquidated, l).quantile(0.95);
    s.lending[l].bad_debt_var95 = order_statistics(&TrialBlock::lending_bad_debt, l).quantile(0.95);
  }
  for (std::size_t h = 0; h < s.holders.size(); ++h)
    s.holders[h].timing.loss_7d_var99 = order_statistics(&TrialBlock::loss_7d_max, h).quantile(0.99);
  if (!tokens) return;
  for (std::size_t h = 0; h < s.holders.size(); ++h) {
    const auto loss = order_statistics(&TrialBlock::loss_at_market, h);
    s.holders[h].loss_at_market.var95 = loss.quantile(0.95);
    s.holders[h].loss_at_market.var99 = loss.quantile(0.99);
    s.holders[h].loss_at_market.es99 = loss.expected_shortfall(0.99);
  }
}

// The tally's sketches of the market record `field`.
const SketchSet& market_sketches(const TallyTotals& t, std::vector<double> TrialBlock::*field) {
  if (field == &TrialBlock::token_min_price) return t.token_min_price_sketch;
  if (field == &TrialBlock::lending_liquidated) return t.lending_liquidated_sketch;
  if (field == &TrialBlock::lending_bad_debt) return t.lending_bad_debt_sketch;
  if (field == &TrialBlock::loss_at_market) return t.market_loss_sketch;
  if (field == &TrialBlock::loss_7d_max) return t.loss_7d_sketch;
  throw std::logic_error("summarize_run: no sketch of that market record");
}

// One sketch of a SketchSet read as a sample.
struct SketchView {
  const SketchSet& set;
  std::size_t i;
  bool weighted;
  double quantile(double p) const { return set.quantile(i, p, weighted); }
  double expected_shortfall(double p) const { return set.expected_shortfall(i, p, weighted); }
};

RunSummary summarize(const Model& m, const RunInfo& info, const TallyTotals& t, const TailFiller& fill_tail) {
  RunSummary s;
  s.info = info;
  if (t.weighted && t.weight_sum > 0.0)
    s.weights = {t.weight_sum * t.weight_sum / t.weight_squares, t.max_weight / t.weight_sum};
  else if (t.weighted)
    s.weights = {0.0, std::nan("")};
  const double n = t.trials > 0 ? static_cast<double>(t.trials) : 1.0;
  if (t.thresholds != info.thresholds) throw std::logic_error("summarize_run: the tally's thresholds are not the run's");
  const std::vector<Concentration> books = concentration(m, make_world(m));
  for (std::size_t h = 0; h < m.holders.size(); ++h) {
    HolderSummary hs;
    hs.name = m.holders[h].name;
    hs.kind = to_string(m.holders[h].kind);
    hs.asset = to_string(m.holders[h].asset);
    hs.value = m.holders[h].value();
    hs.usd_price = m.usd_price[static_cast<std::size_t>(m.holders[h].asset)];
    hs.loss.moments = t.loss[h].result();
    hs.loss.p_loss = static_cast<double>(t.loss_positive[h]) / n;
    hs.net_return.moments = t.net_return[h].result();
    hs.net_return.p_negative = static_cast<double>(t.return_negative[h]) / n;
    if (t.weighted) {  // the spread of the loss itself, not of w x
      hs.loss.moments.sd = t.loss_spread[h].sd();
      hs.net_return.moments.sd = t.return_spread[h].sd();
    }
    fill_tail(h, hs);
    const std::size_t T = t.thresholds.size();
    for (std::size_t k = 0; k < T; ++k)
      hs.loss.exceedance.push_back(exceedance_estimate(t.threshold_w[h * T + k], t.threshold_w2[h * T + k], n, t.weighted));
    hs.covered_mean = t.covered_sum[h] / n;
    hs.concentration = books[h];
    hs.timing.first_loss_day_mean = t.loss_positive[h] > 0.0 ? t.first_loss_day_sum[h] / t.loss_positive[h] : std::nan("");
    hs.timing.loss_7d_mean = t.loss_7d_sum[h] / n;
    for (std::size_t c = 0; c < kLossCauseCount; ++c) hs.loss_by_cause_mean[c] = t.cause_sum[h * kLossCauseCount + c] / n;
    s.holders.push_back(std::move(hs));
  }
  const std::size_t H = m.holders.size();
  for (std::size_t a = 0; a < m.avs.size(); ++a) {
    std::vector<double> holder_loss(H);
    for (std::size_t h = 0; h < H; ++h) holder_loss[h] = from_fixed(t.avs_holder_loss[a * H + h]) / n;
    s.avs.push_back({m.avs[a].name, to_string(m.avs[a].asset), t.avs_lost_sum[a] / n, static_cast<double>(t.avs_slashed[a]) / n,
                     std::move(holder_loss)});
  }
  for (std::size_t k = 0; k < m.coverage_pools.size(); ++k)
    s.pools.push_back({m.coverage_pools[k].name, to_string(m.coverage_pools[k].asset), m.coverage_pools[k].balance, t.pool_drawdown_sum[k] / n,
                       static_cast<double>(t.pool_exhausted[k]) / n});
  summarize_markets(m, t, n, s);
  if (t.tail) {
    if (!info.tail) throw std::logic_error("summarize_run: the tally has a tail target the run's info does not");
    s.tail = TailSummary{t.exceedance.result()};
  }
  return s;
}

}  // namespace

TiltInfo TiltInfo::of(const Model& m, const Tilt& tilt) {
  TiltInfo out;
  if (!tilt.active()) return out;
  for (const EventSource& s : make_sampler_plan(m, tilt).sources) out.sources.push_back(source_label(m, s));  // checks the tilt
  out.rate_factor = tilt.rate_factor;
  out.size_exponent = tilt.size_exponent.empty() ? std::vector<double>(tilt.rate_factor.size(), 1.0) : tilt.size_exponent;
  out.defensive = tilt.defensive;
  return out;
}

std::vector<double> avs_holder_loss_means(const RunSummary& s) {
  std::vector<double> out;
  for (const AvsSummary& a : s.avs) out.insert(out.end(), a.holder_loss_mean.begin(), a.holder_loss_mean.end());
  return out;
}

std::vector<double> avs_holder_row(const std::vector<double>& table, std::size_t avs_count, std::size_t holders, std::size_t a) {
  if (table.size() != avs_count * holders) return {};
  const auto row = table.begin() + static_cast<std::ptrdiff_t>(a * holders);
  return {row, row + static_cast<std::ptrdiff_t>(holders)};
}

RunSummary summarize_run(const Model& m, const RunInfo& info, const Tally& tally, const QuantileSource& col) {
  const TallyTotals t = tally.totals();
  const std::vector<double> weight = col.weight ? col.weight() : std::vector<double>{};
  if (t.weighted != !weight.empty()) throw std::logic_error("summarize_run: the records' weights do not match the tally's");
  const bool quantile_target = t.tail && t.tail->quantile_level > 0.0;
  std::vector<double> target_loss;  // the target holder's column, kept rather than read twice
  RunSummary s = summarize(m, info, t, [&](std::size_t h, HolderSummary& hs) {
    std::vector<double> loss = col.loss_fraction(h);
    if (quantile_target && h == t.tail->holder) target_loss = loss;
    set_loss_tail(hs.loss, std::move(loss), weight);
    set_return_quantiles(hs.net_return, col.net_return(h), weight);
  });
  {
    if (!col.market) throw std::logic_error("summarize_run: the records' columns of the markets and loss_7d_max are needed");
    set_market_tails(s, !m.tokens.empty(), [&](std::vector<double> TrialBlock::*field, std::size_t i) {
      return SortedSample(col.market(field, i), weight);
    });
  }
  if (s.tail && quantile_target) {
    const QuantileEstimate q = batch_quantile(target_loss, weight, t.tail->quantile_level, kBatches);
    s.tail->quantile = q.value;
    s.tail->quantile_stderr = q.stderr_value;
  }
  return s;
}

RunSummary summarize_run(const Model& m, const RunInfo& info, const Tally& tally) {
  const TallyTotals t = tally.totals();
  if (t.loss_sketch.size() != m.holders.size()) throw std::logic_error("summarize_run: the tally kept no sketches");
  auto tail = [](const auto& loss, const auto& ret, HolderSummary& hs) {
    for (std::size_t i = 0; i < kLossQuantileLevels.size(); ++i) hs.loss.quantiles[i] = loss.quantile(kLossQuantileLevels[i]);
    hs.loss.var95 = loss.quantile(0.95);
    hs.loss.var99 = loss.quantile(0.99);
    hs.loss.es95 = loss.expected_shortfall(0.95);
    hs.loss.es99 = loss.expected_shortfall(0.99);
    for (std::size_t i = 0; i < kReturnQuantileLevels.size(); ++i) hs.net_return.quantiles[i] = ret.quantile(kReturnQuantileLevels[i]);
  };
  RunSummary s = summarize(m, info, t, [&](std::size_t h, HolderSummary& hs) {
    if (t.weighted) {
      tail(t.weighted_loss_sketch[h], t.weighted_return_sketch[h], hs);
      // Which trials lie beyond a VaR needs the trials themselves.
      hs.loss.beyond_var95 = hs.loss.beyond_var99 = {std::nan(""), std::nan("")};
    } else {
      tail(t.loss_sketch[h], t.return_sketch[h], hs);
    }
  });
  set_market_tails(s, !m.tokens.empty(), [&](std::vector<double> TrialBlock::*field, std::size_t i) {
    return SketchView{market_sketches(t, field), i, t.weighted};
  });
  return s;
}

namespace {
std::string pct(double x) { return fmt::format("{:.4f}%", 100.0 * x); }
std::string usd(double x) {
  if (x >= 1e9) return fmt::format("${:.2f}B", x / 1e9);
  if (x >= 1e6) return fmt::format("${:.2f}M", x / 1e6);
  if (x >= 1e3) return fmt::format("${:.1f}k", x / 1e3);
  return fmt::format("${:.0f}", x);
}
// One trial has no spread: its sd and standard error are not 0 but undefined ("n/a", JSON null).
bool has_spread(const RunSummary& s) { return s.info.trials > 1; }
// NaN (no trial to measure, or no records) is "n/a".
std::string count(double x) { return std::isfinite(x) ? fmt::format("{:.1f}", x) : "n/a"; }
std::string share(double x) { return std::isfinite(x) ? fmt::format("{:.2f}%", 100.0 * x) : "n/a"; }
bool is_tilted(const TiltInfo& t, std::size_t i) { return t.rate_factor[i] != 1.0 || t.size_exponent[i] != 1.0; }
std::size_t tilted_sources(const TiltInfo& t) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < t.rate_factor.size(); ++i) n += is_tilted(t, i);
  return n;
}
// Which estimator produced the figures; a plain run prints none (its output is as it always was).
// The run's target (run --tail), its estimates with standard errors and 95% intervals.
std::string tail_line(const RunSummary& s) {
  const TailInfo& t = *s.info.tail;
  const TailSummary& e = *s.tail;
  // z for a mean over all trials; Student's t with B - 1 degrees of freedom for batch means.
  const auto interval = [](double x, double se, double z, auto show) {
    return fmt::format("{} (se {}, 95% CI {} to {})", show(x), show(se), show(x - z * se), show(x + z * se));
  };
  const double t_batches = boost::math::quantile(boost::math::students_t(static_cast<double>(kBatches - 1)), 0.975);
  const auto p = [](double x) { return fmt::format("{:.4g}", x); };
  std::string out = fmt::format("tail target, holder {}: P(loss >= {}) = {}", s.holders.at(t.holder).name, pct(t.loss),
                                interval(e.exceedance.mean, e.exceedance.stderr_mean, 1.959963984540054, p));
  if (t.quantile_level > 0.0)
    out += std::isfinite(e.quantile)
               ? fmt::format("; loss quantile {:g}% = {}, by batch means over {} batches", 100.0 * t.quantile_level,
                             interval(e.quantile, e.quantile_stderr, t_batches, pct), kBatches)
               : fmt::format("; loss quantile {:g}%: n/a without per-trial records", 100.0 * t.quantile_level);
  return out + "\n";
}

std::string estimator_line(const RunSummary& s) {
  const double n = static_cast<double>(s.info.trials);
  return fmt::format("estimator: importance sampling - {} trials weighted by their likelihood ratios, effective sample size {} "
                     "({} of the trials), largest single weight {} of the total; {} of {} event sources tilted, defensive "
                     "share {}\n",
                     s.info.trials, count(s.weights.effective_sample_size), share(s.weights.effective_sample_size / n),
                     share(s.weights.max_weight_share), tilted_sources(s.info.tilt), s.info.tilt.rate_factor.size(),
                     s.info.tilt.defensive);
}

// The market layer: token prices, lending markets, and each holder with a token's loss valued at
// market beside its loss at NAV. Amounts in ETH, and in USD where the scenario prices ETH.
std::string markets_table(const RunSummary& s) {
  std::string out = "\nMarkets (prices in ETH per token, 1 at the start; bad debt in ETH after the reserve)\n";
  if (!s.tokens.empty()) {
    out += fmt::format("{:<16} {:<16} {:>14} {:>14} {:>10} {:>15} {:>14}\n", "token", "holder", "mean min price",
                       "min price q5%", "P(depeg)", "mean depeg days", "mean sold");
    for (const TokenSummary& t : s.tokens)
      out += fmt::format("{:<16} {:<16} {:>14.4f} {:>14.4f} {:>10} {:>15.3f} {:>14.1f}\n", t.name, t.holder, t.min_price_mean,
                         t.min_price_p05, pct(t.p_depeg), t.depeg_days_mean, t.sold_mean);
  }
  if (!s.lending.empty()) {
    // Names as wide as the longest; USD columns only when the scenario prices ETH.
    std::size_t name_width = 14, token_width = 10;
    bool priced = false;
    for (const LendingSummary& l : s.lending) {
      name_width = std::max(name_width, l.name.size());
      token_width = std::max(token_width, l.token.size());
      priced = priced || l.usd_price > 0;
    }
    out += fmt::format("\n{:<{}} {:<{}} {:>9} {:>11} {:>12} {:>12} {:>11} {:>11}\n", "lending market", name_width, "token",
                       token_width, "P(bad>0)", "P(>1% debt)", "bad debt ETH", "VaR95 ETH", "liq. mean", "liq. p95");
    for (const LendingSummary& l : s.lending)
      out += fmt::format("{:<{}} {:<{}} {:>9} {:>11} {:>12.3f} {:>12.3f} {:>11.2f} {:>11.2f}\n", l.name, name_width, l.token,
                         token_width, pct(l.p_bad_debt), pct(l.p_bad_debt_1pct), l.bad_debt_mean, l.bad_debt_var95,
                         l.liquidated_mean, l.liquidated_p95);
    if (priced) {
      out += fmt::format("\n{:<{}} {:>14} {:>14} {:>14}\n", "lending market", name_width, "debt USD", "bad debt USD", "VaR95 USD");
      for (const LendingSummary& l : s.lending) {
        // NaN: an amount the file does not hold (a sweep file stores no debt_eth).
        const auto in_usd = [&](double eth) { return l.usd_price > 0 && std::isfinite(eth) ? usd(eth * l.usd_price) : std::string("-"); };
        out += fmt::format("{:<{}} {:>14} {:>14} {:>14}\n", l.name, name_width, in_usd(l.debt_eth), in_usd(l.bad_debt_mean),
                           in_usd(l.bad_debt_var95));
      }
    }
  }
  if (!s.tokens.empty()) {
    out += fmt::format("\n{:<16} {:<16} {:>13} {:>14} {:>12} {:>14} {:>12} {:>14}\n", "holder", "token", "mean loss NAV",
                       "mean at market", "VaR 99% NAV", "VaR 99% market", "ES 99% NAV", "ES 99% market");
    for (const TokenSummary& t : s.tokens)
      for (const HolderSummary& h : s.holders)
        if (h.name == t.holder)
          out += fmt::format("{:<16} {:<16} {:>13} {:>14} {:>12} {:>14} {:>12} {:>14}\n", h.name, t.name, pct(h.loss.moments.mean),
                             pct(h.loss_at_market.mean), pct(h.loss.var99), pct(h.loss_at_market.var99), pct(h.loss.es99),
                             pct(h.loss_at_market.es99));
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::size_t, std::size_t>> holder_groups(const RunSummary& s, std::size_t first, std::size_t width) {
  std::vector<std::pair<std::size_t, std::size_t>> groups;
  for (std::size_t from = 0; from < s.holders.size();) {
    std::size_t to = from, used = first;
    while (to < s.holders.size()) {
      const std::size_t column = 1 + std::max<std::size_t>(s.holders[to].name.size(), 9);
      if (width > 0 && to > from && used + column > width) break;
      used += column;
      ++to;
    }
    groups.emplace_back(from, to);
    from = to;
  }
  return groups;
}

std::string format_summary_table(const RunSummary& s, std::size_t width) {
  return fmt::format("scenario {} | {} trials | seed {} | horizon {} days | restake-sim {} ({})\n\n", s.info.scenario_name,
                     s.info.trials, s.info.seed, s.info.horizon_days, s.info.program_version, s.info.git_commit.substr(0, 12)) +
         format_summary_body(s, width);
}

std::string format_summary_body(const RunSummary& s, std::size_t width) {
  std::string out;
  if (s.info.weighted()) out += estimator_line(s) + (s.tail ? "" : "\n");
  if (s.tail) out += tail_line(s) + "\n";
  // The tables fit 120 columns for the usual names: a USD column only when some holder is priced,
  // and the causes as rows (only those with a loss), the holders as columns.
  std::size_t name_width = 16;
  bool priced = false;
  for (const auto& h : s.holders) {
    name_width = std::max(name_width, h.name.size());
    priced = priced || h.usd_price > 0;
  }
  out += "Loss (share of initial value, net of coverage) and net return over the horizon\n";
  out += fmt::format("{:<{}} {:<6} {:>14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}\n", "holder", name_width, "kind",
                     "value", "P(loss>0)", "mean loss", "+/- se", "VaR 99%", "ES 99%", "q99.9", "net ret", "net ret q1%");
  for (const auto& h : s.holders)
    out += fmt::format("{:<{}} {:<6} {:>10.1f} {:<3} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}\n", h.name, name_width, h.kind,
                       h.value, h.asset, pct(h.loss.p_loss), pct(h.loss.moments.mean),
                       has_spread(s) ? pct(h.loss.moments.stderr_mean) : "n/a",
                       pct(h.loss.var99), pct(h.loss.es99), pct(h.loss.quantiles[4]), pct(h.net_return.moments.mean),
                       pct(h.net_return.quantiles[0]));
  if (priced) {
    // The same losses as amounts: in the holder's own asset, and in USD where the scenario prices it.
    out += "\nLoss amounts (in the holder's asset; in USD at the scenario's price)\n";
    out += fmt::format("{:<{}} {:>16} {:>16} {:>16} {:>11} {:>11} {:>11}\n", "holder", name_width, "mean loss", "VaR 99%", "ES 99%",
                       "mean USD", "VaR 99% USD", "ES 99% USD");
    for (const auto& h : s.holders) {
      const auto amount = [&](double share) { return fmt::format("{:.1f} {}", share * h.value, h.asset); };
      const auto in_usd = [&](double share) { return h.usd_price > 0 ? usd(share * h.value * h.usd_price) : std::string("-"); };
      out += fmt::format("{:<{}} {:>16} {:>16} {:>16} {:>11} {:>11} {:>11}\n", h.name, name_width, amount(h.loss.moments.mean),
                         amount(h.loss.var99), amount(h.loss.es99), in_usd(h.loss.moments.mean), in_usd(h.loss.var99),
                         in_usd(h.loss.es99));
    }
  }
  if (!s.info.thresholds.empty()) {
    // A lending analyst's buffers: how often a holder loses at least each, with Wilson's 95% interval
    // (normal with weights).
    const auto short_pct = [](double x) { return fmt::format("{:.3g}", 100.0 * x); };
    out += "\nP(loss >= x), net of coverage, with its 95% interval (%)\n";
    // 23 columns a threshold: as many as fit the width (at least one), the holders again below a
    // blank line for the next ones, as the tables of holder columns are cut; --wide: one table.
    const std::size_t T = s.info.thresholds.size(), column = 23;
    const std::size_t per = width == 0 ? T : std::max<std::size_t>(1, width > name_width ? (width - name_width) / column : 0);
    for (std::size_t from = 0; from < T; from += per) {
      const std::size_t to = std::min(T, from + per);
      if (from > 0) out += "\n";
      out += fmt::format("{:<{}}", "holder", name_width);
      for (std::size_t k = from; k < to; ++k) out += fmt::format(" {:>22}", fmt::format("x = {}%", short_pct(s.info.thresholds[k])));
      out += "\n";
      for (const auto& h : s.holders) {
        out += fmt::format("{:<{}}", h.name, name_width);
        for (std::size_t k = from; k < to; ++k) {
          const Exceedance& e = h.loss.exceedance[k];
          out += fmt::format(" {:>22}", fmt::format("{} [{}, {}]", short_pct(e.p), short_pct(e.ci_low), short_pct(e.ci_high)));
        }
        out += "\n";
      }
    }
  }
  // Files written before these existed read them as NaN: no table.
  const bool timed = std::any_of(s.holders.begin(), s.holders.end(), [](const auto& h) { return std::isfinite(h.timing.loss_7d_mean); });
  const bool books = std::any_of(s.holders.begin(), s.holders.end(), [](const auto& h) { return std::isfinite(h.concentration.hhi_operators); });
  if (timed) out += "\nWhen losses come: the first loss's day (mean over trials with a loss), the largest loss within 7 days\n";
  if (timed) out += fmt::format("{:<{}} {:>15} {:>16} {:>16} {:>12}\n", "holder", name_width, "first loss day", "7-day loss mean",
                                "7-day loss VaR99", "VaR 99%");
  for (const auto& h : timed ? s.holders : std::vector<HolderSummary>{})
    out += fmt::format("{:<{}} {:>15} {:>16} {:>16} {:>12}\n", h.name, name_width,
                       std::isfinite(h.timing.first_loss_day_mean) ? fmt::format("{:.1f}", h.timing.first_loss_day_mean) : std::string("-"),
                       pct(h.timing.loss_7d_mean), pct(h.timing.loss_7d_var99), pct(h.loss.var99));
  if (books) out += "\nConcentration: Herfindahl index of stake over operators and of exposure over AVSs (1/k: k equal shares)\n";
  if (books) out += fmt::format("{:<{}} {:>14} {:>10} {:>9} {:>15}\n", "holder", name_width, "HHI operators", "HHI AVSs", "restaked",
                     "restaking ratio");
  for (const auto& h : books ? s.holders : std::vector<HolderSummary>{}) {
    const Concentration& c = h.concentration;
    out += fmt::format("{:<{}} {:>14.4f} {:>10} {:>9} {:>14.2f}x\n", h.name, name_width, c.hhi_operators,
                       c.hhi_avs > 0.0 ? fmt::format("{:.4f}", c.hhi_avs) : std::string("-"), fmt::format("{:.1f}%", 100.0 * c.restaked_share),
                       c.restaking_ratio);
  }
  out += "\nMean loss by cause (gross, before coverage; causes with a loss)\n";
  const auto column = [](const std::string& name) { return std::max<std::size_t>(name.size(), 9); };
  // Too many holders for the width: the table again for the next ones, below a blank line.
  const auto groups = holder_groups(s, 20, width);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto [from, to] = groups[g];
    const std::span holders(s.holders.begin() + static_cast<std::ptrdiff_t>(from), to - from);
    if (g > 0) out += "\n";
    out += fmt::format("{:<20}", "cause");
    for (const auto& h : holders) out += fmt::format(" {:>{}}", h.name, column(h.name));
    out += "\n";
    for (std::size_t c = 0; c < kLossCauseCount; ++c) {
      bool any = false;  // over every holder: each table has the same rows
      for (const auto& h : s.holders) any = any || h.loss_by_cause_mean[c] > 0.0;
      if (!any) continue;
      out += fmt::format("{:<20}", to_string(static_cast<LossCause>(c)));
      for (const auto& h : holders) out += fmt::format(" {:>{}}", pct(h.loss_by_cause_mean[c]), column(h.name));
      out += "\n";
    }
    out += fmt::format("{:<20}", "covered");
    for (const auto& h : holders) out += fmt::format(" {:>{}}", pct(h.covered_mean), column(h.name));
    out += "\n";
  }
  if (!s.avs.empty()) {
    out += fmt::format("\n{:<20} {:>26} {:>12}\n", "AVS", "mean stake slashed", "P(slash)");
    for (const auto& a : s.avs)
      out += fmt::format("{:<20} {:>22.3f} {:<3} {:>12}\n", a.name, a.stake_lost_mean, a.asset, pct(a.p_slashed));
  }
  if (!s.pools.empty()) {
    out += fmt::format("\n{:<20} {:>18} {:>18} {:>14}\n", "pool", "balance", "mean drawdown", "P(exhausted)");
    for (const auto& p : s.pools)
      out += fmt::format("{:<20} {:>14.1f} {:<3} {:>14.3f} {:<3} {:>14}\n", p.name, p.balance, p.asset, p.drawdown_mean, p.asset,
                         pct(p.p_exhausted));
  }
  if (!s.tokens.empty() || !s.lending.empty()) out += markets_table(s);
  if (s.info.weighted()) {
    out += "\nTrials beyond each VaR (importance sampling): effective sample size, and the largest weight's share of their "
           "weight; standard errors of VaR 99% and ES 99% by batch means (20 batches; 95% CI +/- 2.093 se)\n";
    out += fmt::format("{:<16} {:>16} {:>16} {:>16} {:>16} {:>14} {:>14}\n", "holder", "ESS > VaR 95%", "max w share",
                       "ESS > VaR 99%", "max w share", "VaR 99% se", "ES 99% se");
    const auto se = [](double x) { return std::isfinite(x) ? pct(x) : std::string("n/a"); };
    for (const auto& h : s.holders)
      out += fmt::format("{:<16} {:>16} {:>16} {:>16} {:>16} {:>14} {:>14}\n", h.name,
                         count(h.loss.beyond_var95.effective_sample_size), share(h.loss.beyond_var95.max_weight_share),
                         count(h.loss.beyond_var99.effective_sample_size), share(h.loss.beyond_var99.max_weight_share),
                         se(h.loss.var99_stderr), se(h.loss.es99_stderr));
  }
  return out;
}

std::string format_contributions(const RunSummary& s, std::size_t width) {
  if (!s.contributions) return "";
  std::size_t name_width = 22;
  for (const auto& a : s.avs) name_width = std::max(name_width, a.name.size() + 2);
  for (const auto& o : s.operators) name_width = std::max(name_width, o.size() + 2);
  const auto column = [](const std::string& name) { return std::max<std::size_t>(name.size(), 9); };
  std::string out;
  // Not a structured binding: clang 14 (the fuzzing build) cannot capture one in a lambda.
  for (const auto& statistic : {std::pair{"ES 99%", &HolderContributions::es99}, std::pair{"VaR 99%", &HolderContributions::var99}}) {
    const char* label = statistic.first;
    const auto stat = statistic.second;
    const auto part = [&](const HolderSummary& h) -> const Contributions& { return h.contributions.*stat; };
    out += fmt::format("\nRisk contributions to {} (Euler allocation: each part's mean over the {} trials; they add up to it)\n",
                       label, label);
    // The rows first (a section's title has no values), then printed for each group of holders.
    std::vector<std::pair<std::string, std::function<double(const Contributions&)>>> rows;
    const auto row = [&](const std::string& name, auto&& value) { rows.emplace_back(name, value); };
    const auto title = [&](const std::string& name) { rows.emplace_back(name, nullptr); };
    // A contributor is listed when it adds something to some holder.
    const auto any = [&](auto&& value) {
      for (const auto& h : s.holders)
        if (value(part(h)) != 0.0) return true;
      return false;
    };
    title("by cause");
    for (std::size_t c = 0; c < kLossCauseCount; ++c)
      if (any([&](const Contributions& x) { return x.cause[c]; }))
        row("  " + std::string(to_string(static_cast<LossCause>(c))), [c](const Contributions& x) { return x.cause[c]; });
    if (any([](const Contributions& x) { return x.coverage; })) row("  coverage", [](const Contributions& x) { return x.coverage; });
    title("by AVS");
    for (std::size_t a = 0; a < s.avs.size(); ++a)
      if (any([&](const Contributions& x) { return x.avs[a]; })) row("  " + s.avs[a].name, [a](const Contributions& x) { return x.avs[a]; });
    if (any([](const Contributions& x) { return x.other; })) row("  (no AVS)", [](const Contributions& x) { return x.other; });
    if (any([](const Contributions& x) { return x.coverage; })) row("  coverage", [](const Contributions& x) { return x.coverage; });
    // Operators: the largest few (by their largest contribution to any holder), the rest summed.
    constexpr std::size_t kShown = 10;
    std::vector<std::size_t> ops;
    std::vector<double> size(s.operators.size(), 0.0);
    for (std::size_t o = 0; o < s.operators.size(); ++o) {
      for (const auto& h : s.holders) size[o] = std::max(size[o], std::abs(part(h).op[o]));
      if (size[o] > 0.0) ops.push_back(o);
    }
    std::stable_sort(ops.begin(), ops.end(), [&](std::size_t a, std::size_t b) { return size[a] > size[b]; });
    title(ops.size() > kShown ? fmt::format("by operator (the {} largest of {})", kShown, ops.size()) : std::string("by operator"));
    for (std::size_t k = 0; k < std::min(kShown, ops.size()); ++k)
      row("  " + s.operators[ops[k]], [o = ops[k]](const Contributions& x) { return x.op[o]; });
    if (ops.size() > kShown)
      row(fmt::format("  ({} others)", ops.size() - kShown), [ops](const Contributions& x) {
        double rest = 0.0;
        for (std::size_t k = kShown; k < ops.size(); ++k) rest += x.op[ops[k]];
        return rest;
      });
    if (any([](const Contributions& x) { return x.coverage; })) row("  coverage", [](const Contributions& x) { return x.coverage; });
    row(fmt::format("total ({})", label), [](const Contributions& x) { return x.total; });
    const auto groups = holder_groups(s, name_width, width);
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const auto [from, to] = groups[g];
      if (g > 0) out += "\n";
      out += fmt::format("{:<{}}", "", name_width);
      for (std::size_t h = from; h < to; ++h) out += fmt::format(" {:>{}}", s.holders[h].name, column(s.holders[h].name));
      out += "\n";
      for (const auto& [name, value] : rows) {
        out += fmt::format("{:<{}}", name, name_width);
        // A remainder of roundings (a few 1e-18) would print as -0.0000%.
        for (std::size_t h = from; h < to && value; ++h) {
          const double x = value(part(s.holders[h]));
          out += fmt::format(" {:>{}}", pct(std::abs(x) < 1e-12 ? 0.0 : x), column(s.holders[h].name));
        }
        out += "\n";
      }
    }
  }
  return out;
}

std::string format_summary_json(const RunSummary& s) {
  const auto spread = [&](double x) { return has_spread(s) ? json_number(x) : std::string("null"); };
  std::string out = "{\n";
  out += fmt::format(
      "  \"scenario\": {}, \"trials\": {}, \"seed\": {}, \"horizon_days\": {}, \"program_version\": {}, \"git_commit\": {},\n",
      json_string(s.info.scenario_name), s.info.trials, s.info.seed, json_number(s.info.horizon_days),
      json_string(s.info.program_version), json_string(s.info.git_commit));
  if (s.info.weighted()) {  // absent for plain Monte Carlo, whose output is as it always was
    std::string tilted;
    for (std::size_t i = 0; i < s.info.tilt.rate_factor.size(); ++i)
      if (is_tilted(s.info.tilt, i))
        tilted += fmt::format("{}{}: {{\"rate_factor\": {}, \"size_exponent\": {}}}", tilted.empty() ? "" : ", ",
                              json_string(s.info.tilt.sources[i]), json_number(s.info.tilt.rate_factor[i]),
                              json_number(s.info.tilt.size_exponent[i]));
    out += fmt::format(
        "  \"estimator\": \"importance sampling\", \"weights\": {{\"effective_sample_size\": {}, \"max_weight_share\": {}, "
        "\"defensive\": {}, \"tilted_sources\": {{{}}}}},\n",
        json_number(s.weights.effective_sample_size), json_number(s.weights.max_weight_share), json_number(s.info.tilt.defensive),
        tilted);
  }
  if (s.tail)
    out += fmt::format("  \"tail\": {{\"holder\": {}, \"loss\": {}, \"quantile_level\": {}, \"probability\": {}, "
                       "\"probability_stderr\": {}, \"quantile\": {}, \"quantile_stderr\": {}}},\n",
                       json_string(s.holders.at(s.info.tail->holder).name), json_number(s.info.tail->loss),
                       json_number(s.info.tail->quantile_level), json_number(s.tail->exceedance.mean),
                       json_number(s.tail->exceedance.stderr_mean), json_number(s.tail->quantile),
                       json_number(s.tail->quantile_stderr));
  out += "  \"holders\": [\n";
  for (std::size_t i = 0; i < s.holders.size(); ++i) {
    const auto& h = s.holders[i];
    std::string lq, rq, causes;
    for (std::size_t q = 0; q < kLossQuantileLevels.size(); ++q)
      lq += fmt::format("{}\"{}\": {}", q ? ", " : "", kLossQuantileLevels[q], json_number(h.loss.quantiles[q]));
    for (std::size_t q = 0; q < kReturnQuantileLevels.size(); ++q)
      rq += fmt::format("{}\"{}\": {}", q ? ", " : "", kReturnQuantileLevels[q], json_number(h.net_return.quantiles[q]));
    for (std::size_t c = 0; c < kLossCauseCount; ++c)
      causes += fmt::format("{}\"{}\": {}", c ? ", " : "", to_string(static_cast<LossCause>(c)), json_number(h.loss_by_cause_mean[c]));
    // Weighted runs: what each tail rests on (in "loss", after the quantiles).
    std::string beyond;
    if (s.info.weighted())
      for (const auto& [level, w] : {std::pair{"95", h.loss.beyond_var95}, std::pair{"99", h.loss.beyond_var99}})
        beyond += fmt::format(", \"beyond_var{}\": {{\"effective_sample_size\": {}, \"max_weight_share\": {}}}", level,
                              json_number(w.effective_sample_size), json_number(w.max_weight_share));
    if (s.info.weighted())
      beyond += fmt::format(", \"var99_stderr\": {}, \"es99_stderr\": {}", json_number(h.loss.var99_stderr),
                            json_number(h.loss.es99_stderr));
    // Runs with tokens: the loss valued at market (absent otherwise, whose output is as it was).
    const std::string at_market =
        s.tokens.empty() ? ""
                         : fmt::format(", \"loss_at_market\": {{\"mean\": {}, \"var95\": {}, \"var99\": {}, \"es99\": {}}}",
                                       json_number(h.loss_at_market.mean), json_number(h.loss_at_market.var95),
                                       json_number(h.loss_at_market.var99), json_number(h.loss_at_market.es99));
    // The same losses as amounts, in the holder's asset and in USD where the scenario prices it.
    const auto amounts = [&](double unit_price) {
      if (!(unit_price > 0)) return std::string("null");
      const auto a = [&](double share) { return json_number(share * h.value * unit_price); };
      return fmt::format("{{\"mean\": {}, \"var95\": {}, \"var99\": {}, \"es95\": {}, \"es99\": {}}}", a(h.loss.moments.mean),
                         a(h.loss.var95), a(h.loss.var99), a(h.loss.es95), a(h.loss.es99));
    };
    std::string exceed;
    for (std::size_t k = 0; k < h.loss.exceedance.size(); ++k) {
      const Exceedance& e = h.loss.exceedance[k];
      exceed += fmt::format("{}{{\"threshold\": {}, \"p\": {}, \"stderr\": {}, \"ci_low\": {}, \"ci_high\": {}}}", k ? ", " : "",
                            json_number(s.info.thresholds.at(k)), json_number(e.p), json_number(e.stderr_p), json_number(e.ci_low),
                            json_number(e.ci_high));
    }
    if (!s.info.thresholds.empty()) beyond += fmt::format(", \"p_exceed\": [{}]", exceed);
    std::string contributions = fmt::format(
        ",\n     \"timing\": {{\"first_loss_day_mean\": {}, \"loss_7d_mean\": {}, \"loss_7d_var99\": {}}}",
        std::isfinite(h.timing.first_loss_day_mean) ? json_number(h.timing.first_loss_day_mean) : std::string("null"),
        json_number(h.timing.loss_7d_mean), json_number(h.timing.loss_7d_var99));
    contributions += fmt::format(
        ",\n     \"concentration\": {{\"hhi_operators\": {}, \"hhi_avs\": {}, \"restaked_share\": {}, \"restaking_ratio\": {}}}",
        json_number(h.concentration.hhi_operators), json_number(h.concentration.hhi_avs), json_number(h.concentration.restaked_share),
        json_number(h.concentration.restaking_ratio));
    if (s.contributions) {
      const auto named = [](const std::vector<std::string>& names, const std::vector<double>& v) {
        std::string o;
        for (std::size_t k = 0; k < v.size() && k < names.size(); ++k) o += fmt::format("{}{}: {}", k ? ", " : "", json_string(names[k]), json_number(v[k]));
        return "{" + o + "}";
      };
      std::vector<std::string> avs_names, cause_names;
      for (const auto& a : s.avs) avs_names.push_back(a.name);
      for (std::size_t c = 0; c < kLossCauseCount; ++c) cause_names.emplace_back(to_string(static_cast<LossCause>(c)));
      const auto one = [&](const Contributions& c) {
        return fmt::format("{{\"total\": {}, \"cause\": {}, \"avs\": {}, \"avs_other\": {}, \"operator\": {}, \"coverage\": {}}}",
                           json_number(c.total), named(cause_names, std::vector<double>(c.cause.begin(), c.cause.end())),
                           named(avs_names, c.avs), json_number(c.other), named(s.operators, c.op), json_number(c.coverage));
      };
      contributions += fmt::format(",\n     \"contributions\": {{\"es99\": {}, \"var99\": {}}}", one(h.contributions.es99),
                                  one(h.contributions.var99));
    }
    out += fmt::format(
        "    {{\"name\": {}, \"kind\": {}, \"asset\": {}, \"value\": {}, \"usd_price\": {},\n"
        "     \"loss_amount\": {}, \"loss_usd\": {},\n"
        "     \"loss\": {{\"mean\": {}, \"stderr\": {}, \"sd\": {}, \"p_loss\": {}, \"var95\": {}, \"var99\": {}, \"es95\": {}, \"es99\": {}, \"quantiles\": {{{}}}{}}},\n"
        "     \"net_return\": {{\"mean\": {}, \"stderr\": {}, \"sd\": {}, \"p_negative\": {}, \"quantiles\": {{{}}}}},\n"
        "     \"covered_mean\": {}, \"loss_by_cause_mean\": {{{}}}{}}}{}\n",
        json_string(h.name), json_string(h.kind), json_string(h.asset), json_number(h.value), json_number(h.usd_price), amounts(1.0),
        amounts(h.usd_price), json_number(h.loss.moments.mean),
        spread(h.loss.moments.stderr_mean), spread(h.loss.moments.sd), json_number(h.loss.p_loss),
        json_number(h.loss.var95), json_number(h.loss.var99), json_number(h.loss.es95), json_number(h.loss.es99), lq, beyond,
        json_number(h.net_return.moments.mean), spread(h.net_return.moments.stderr_mean),
        spread(h.net_return.moments.sd), json_number(h.net_return.p_negative), rq, json_number(h.covered_mean),
        causes, at_market + contributions, i + 1 < s.holders.size() ? "," : "");
  }
  out += "  ],\n  \"avs\": [";
  for (std::size_t i = 0; i < s.avs.size(); ++i) {
    // by holder name: the share of its initial value this AVS's slashings took (empty for old files)
    std::string by_holder;
    for (std::size_t h = 0; h < s.avs[i].holder_loss_mean.size() && h < s.holders.size(); ++h)
      by_holder += fmt::format("{}{}: {}", h ? ", " : "", json_string(s.holders[h].name), json_number(s.avs[i].holder_loss_mean[h]));
    out += fmt::format("{}{{\"name\": {}, \"asset\": {}, \"stake_lost_mean\": {}, \"p_slashed\": {}, \"holder_loss_mean\": {}}}",
                       i ? ", " : "", json_string(s.avs[i].name), json_string(s.avs[i].asset),
                       json_number(s.avs[i].stake_lost_mean), json_number(s.avs[i].p_slashed),
                       s.avs[i].holder_loss_mean.empty() ? std::string("null") : "{" + by_holder + "}");
  }
  out += "],\n  \"pools\": [";
  for (std::size_t i = 0; i < s.pools.size(); ++i)
    out += fmt::format("{}{{\"name\": {}, \"asset\": {}, \"balance\": {}, \"drawdown_mean\": {}, \"p_exhausted\": {}}}",
                       i ? ", " : "", json_string(s.pools[i].name), json_string(s.pools[i].asset), json_number(s.pools[i].balance),
                       json_number(s.pools[i].drawdown_mean), json_number(s.pools[i].p_exhausted));
  out += "]";
  if (!s.tokens.empty()) {
    out += ",\n  \"tokens\": [";
    for (std::size_t i = 0; i < s.tokens.size(); ++i) {
      const TokenSummary& t = s.tokens[i];
      out += fmt::format("{}{{\"name\": {}, \"holder\": {}, \"min_price_mean\": {}, \"min_price_p05\": {}, \"p_depeg\": {}, "
                         "\"depeg_days_mean\": {}, \"sold_mean\": {}}}",
                         i ? ", " : "", json_string(t.name), json_string(t.holder), json_number(t.min_price_mean),
                         json_number(t.min_price_p05), json_number(t.p_depeg), json_number(t.depeg_days_mean), json_number(t.sold_mean));
    }
    out += "]";
  }
  if (!s.lending.empty()) {
    out += ",\n  \"lending_markets\": [";
    for (std::size_t i = 0; i < s.lending.size(); ++i) {
      const LendingSummary& l = s.lending[i];
      out += fmt::format("{}{{\"name\": {}, \"token\": {}, \"debt_eth\": {}, \"usd_price\": {}, \"liquidated_mean\": {}, "
                         "\"liquidated_p95\": {}, \"bad_debt_mean\": {}, \"bad_debt_var95\": {}, \"p_bad_debt\": {}, "
                         "\"p_bad_debt_1pct\": {}, \"accounts_liquidated_mean\": {}}}",
                         i ? ", " : "", json_string(l.name), json_string(l.token), json_number(l.debt_eth),
                         json_number(l.usd_price), json_number(l.liquidated_mean), json_number(l.liquidated_p95),
                         json_number(l.bad_debt_mean), json_number(l.bad_debt_var95), json_number(l.p_bad_debt),
                         json_number(l.p_bad_debt_1pct), json_number(l.accounts_liquidated_mean));
    }
    out += "]";
  }
  out += "\n}\n";
  return out;
}

}  // namespace restake
