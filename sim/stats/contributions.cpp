#include "stats/contributions.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "stats/statistics.hpp"
#include "trial/engine.hpp"

namespace restake {

namespace {

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

// What a re-run keeps of a trial: its record's rows and every loss it booked.
struct Rerun {
  std::vector<double> loss, covered, by_cause;  // [holder], [holder], [holder * cause]
  std::vector<AvsHolderShare> avs_shares;
  std::vector<BookedLoss> losses;
};

Contributions empty_contributions(const Model& m) {
  Contributions c;
  c.avs.assign(m.avs.size(), 0.0);
  c.op.assign(m.operators.size(), 0.0);
  return c;
}

// Adds u x holder h's parts of the trial to `c`; returns u x its net loss.
double add_parts(const Rerun& r, std::size_t h, double u, Contributions& c) {
  double gross = 0.0;
  for (std::size_t k = 0; k < kLossCauseCount; ++k) {
    const double x = r.by_cause[h * kLossCauseCount + k];
    c.cause[k] += u * x;
    gross += x;
  }
  double from_avs = 0.0;
  for (const AvsHolderShare& s : r.avs_shares)
    if (s.holder == h) {
      c.avs[s.avs] += u * s.share;
      from_avs += s.share;
    }
  c.other += u * (gross - from_avs);
  for (const BookedLoss& l : r.losses)
    if (l.holder == h) c.op[l.op] += u * l.gross;
  c.coverage -= u * r.covered[h];
  return u * r.loss[h];
}

void scale(Contributions& c, double f) {
  for (double& x : c.cause) x *= f;
  for (double& x : c.avs) x *= f;
  for (double& x : c.op) x *= f;
  c.other *= f;
  c.coverage *= f;
}

}  // namespace

TailTrials tail_trials(std::span<const double> loss, std::span<const double> w, double p) {
  if (!w.empty() && w.size() != loss.size()) throw std::logic_error("tail_trials: weights and losses differ in length");
  const std::size_t n = loss.size();
  TailTrials t;
  if (n == 0) return t;
  std::vector<std::uint64_t> order(n);
  std::iota(order.begin(), order.end(), std::uint64_t{0});
  std::sort(order.begin(), order.end(), [&](std::uint64_t a, std::uint64_t b) { return loss[a] > loss[b] || (loss[a] == loss[b] && a < b); });
  const auto weight = [&](std::uint64_t i) { return w.empty() ? 1.0 : w[i]; };
  t.es_denominator = static_cast<double>(n) * (1.0 - p);
  double taken = 0.0;
  for (std::size_t k = 0; k < n && taken < t.es_denominator; ++k) {
    const double u = std::min(weight(order[k]), t.es_denominator - taken);
    if (u <= 0.0) continue;  // a trial of weight 0 adds nothing
    t.es_trial.push_back(order[k]);
    t.es_weight.push_back(u);
    taken += u;
  }
  // Weights adding up to less than n (1 - p): the rest lies at the smallest loss, as
  // weighted_expected_shortfall_sorted puts it. (Plain Monte Carlo always reaches n (1 - p).)
  if (!w.empty() && taken < t.es_denominator) {
    t.es_trial.push_back(order.back());
    t.es_weight.push_back(t.es_denominator - taken);
  }
  // The VaR's rank in the descending order: the first trial at or below the quantile.
  std::vector<double> sorted(loss.begin(), loss.end()), sorted_w;
  if (w.empty()) {
    std::sort(sorted.begin(), sorted.end());
    t.var = quantile_sorted(sorted, p);
  } else {
    std::vector<std::size_t> up(n);
    std::iota(up.begin(), up.end(), std::size_t{0});
    std::sort(up.begin(), up.end(), [&](std::size_t a, std::size_t b) { return loss[a] < loss[b]; });
    for (std::size_t k = 0; k < n; ++k) {
      sorted[k] = loss[up[k]];
      sorted_w.push_back(w[up[k]]);
    }
    t.var = weighted_quantile_sorted(sorted, sorted_w, p);
  }
  const std::size_t at = static_cast<std::size_t>(
      std::find_if(order.begin(), order.end(), [&](std::uint64_t i) { return loss[i] <= t.var; }) - order.begin());
  // sqrt(n (1 - p)) / 2 ranks either side: wide enough to average, narrow against the tail's slope.
  const auto half = static_cast<std::size_t>(std::max(1.0, std::round(0.5 * std::sqrt(t.es_denominator))));
  if (t.var == 0.0 || at == n) return t;  // no loss at the VaR: nothing to attribute
  // An atom: trials tied at the VaR (fixed slashing fractions make them common). E[part | loss =
  // VaR] is then their own mean - a window around the rank would reach the larger losses above.
  // Up to 2 half + 1 of them, in trial order (which says nothing of their parts: unbiased).
  std::size_t tied = at;
  while (tied < n && loss[order[tied]] == t.var) ++tied;
  const bool atom = tied - at > 1;
  const std::size_t from = atom ? at : (at > half ? at - half : 0), to = atom ? std::min(tied, at + 2 * half + 1) : std::min(n, at + half + 1);
  for (std::size_t k = from; k < to; ++k) {
    t.var_trial.push_back(order[k]);
    t.var_weight.push_back(weight(order[k]));
  }
  return t;
}

std::vector<HolderContributions> risk_contributions(const Model& m, const RunSpec& run,
                                                    const std::function<std::vector<double>(std::size_t holder)>& loss_column,
                                                    const std::vector<double>& weight) {
  const std::size_t H = m.holders.size();
  std::vector<TailTrials> tails;
  std::map<std::uint64_t, Rerun> reruns;
  std::map<std::pair<std::size_t, std::uint64_t>, double> recorded;  // (holder, trial) -> its loss in the records
  for (std::size_t h = 0; h < H; ++h) {
    const std::vector<double> loss = loss_column(h);
    if (loss.size() != run.trials) throw std::logic_error(fmt::format("risk_contributions: {} losses for {} trials", loss.size(), run.trials));
    tails.push_back(tail_trials(loss, weight, kContributionLevel));
    for (const auto* list : {&tails.back().es_trial, &tails.back().var_trial})
      for (const std::uint64_t t : *list) {
        reruns.try_emplace(t);
        recorded[{h, t}] = loss[t];
      }
  }
  if (!reruns.empty()) {
    TrialRerun rerunner(m, run);
    for (auto& entry : reruns) {  // not a structured binding: clang 14 cannot capture one
      Rerun& r = entry.second;
      const TrialRecord& out = rerunner.run(run.first_trial + entry.first, [&](TrialRecord& o) { o.losses = &r.losses; });
      r.loss.assign(out.loss_fraction.begin(), out.loss_fraction.end());
      r.covered.assign(out.covered_fraction.begin(), out.covered_fraction.end());
      r.by_cause.assign(out.loss_by_cause.begin(), out.loss_by_cause.end());
      r.avs_shares = rerunner.avs_shares();
    }
  }
  for (const auto& [key, loss] : recorded)
    if (const double again = reruns.at(key.second).loss[key.first]; !same_bits(again, loss))
      throw std::logic_error(fmt::format("risk contributions: trial {} of seed {} re-run gives holder \"{}\" a loss of {:.17g}, but the "
                                         "run recorded {:.17g}: a trial is no longer a pure function of (model, seed, trial index)",
                                         key.second, run.seed, m.holders[key.first].name, again, loss));

  std::vector<HolderContributions> out(H);
  for (std::size_t h = 0; h < H; ++h) {
    const TailTrials& t = tails[h];
    Contributions es = empty_contributions(m), var = empty_contributions(m);
    double es_loss = 0.0, var_loss = 0.0;
    for (std::size_t k = 0; k < t.es_trial.size(); ++k) es_loss += add_parts(reruns.at(t.es_trial[k]), h, t.es_weight[k], es);
    for (std::size_t k = 0; k < t.var_trial.size(); ++k) var_loss += add_parts(reruns.at(t.var_trial[k]), h, t.var_weight[k], var);
    if (t.es_denominator > 0.0) scale(es, 1.0 / t.es_denominator);
    es.total = t.es_denominator > 0.0 ? es_loss / t.es_denominator : 0.0;
    // E[part | loss near VaR], scaled to add up to the VaR; a VaR of 0 has no parts.
    scale(var, var_loss > 0.0 ? t.var / var_loss : 0.0);
    var.total = t.var;
    out[h] = {std::move(es), std::move(var)};
  }
  return out;
}

}  // namespace restake
