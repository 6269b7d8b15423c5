#include "stats/contributions.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <memory>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "stats/statistics.hpp"
#include "trial/engine.hpp"

namespace restake {

namespace {

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

// One holder's use of a re-run trial: in its ES or its VaR, with the trial's weight there, and
// the loss the run recorded for it (the re-run must give the same bits).
struct TrialUse {
  std::uint64_t trial = 0;
  std::uint32_t holder = 0;
  bool var = false;
  double u = 0.0, recorded = 0.0;
};

// A holder's sums over some re-run trials: u x each part, and u x the net loss.
struct PartSums {
  Contributions es, var;
  double es_loss = 0.0, var_loss = 0.0;
};

Contributions empty_contributions(const Model& m) {
  Contributions c;
  c.avs.assign(m.avs.size(), 0.0);
  c.op.assign(m.operators.size(), 0.0);
  return c;
}

// Adds u x holder h's parts of a re-run trial (its record, AVS x holder losses and booked losses)
// to `c`; returns u x its net loss.
double add_parts(const TrialRecord& r, const std::vector<AvsHolderShare>& avs_shares, const std::vector<BookedLoss>& losses,
                 std::size_t h, double u, Contributions& c) {
  double gross = 0.0;
  for (std::size_t k = 0; k < kLossCauseCount; ++k) {
    const double x = r.loss_by_cause[h * kLossCauseCount + k];
    c.cause[k] += u * x;
    gross += x;
  }
  double from_avs = 0.0;
  for (const AvsHolderShare& s : avs_shares)
    if (s.holder == h) {
      c.avs[s.avs] += u * s.share;
      from_avs += s.share;
    }
  c.other += u * (gross - from_avs);
  for (const BookedLoss& l : losses)
    if (l.holder == h) c.op[l.op] += u * l.gross;
  c.coverage -= u * r.covered_fraction[h];
  return u * r.loss_fraction[h];
}

void add(Contributions& to, const Contributions& from) {
  for (std::size_t k = 0; k < kLossCauseCount; ++k) to.cause[k] += from.cause[k];
  for (std::size_t k = 0; k < to.avs.size(); ++k) to.avs[k] += from.avs[k];
  for (std::size_t k = 0; k < to.op.size(); ++k) to.op[k] += from.op[k];
  to.other += from.other;
  to.coverage += from.coverage;
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
  std::vector<TrialUse> uses;
  for (std::size_t h = 0; h < H; ++h) {
    const std::vector<double> loss = loss_column(h);
    if (loss.size() != run.trials) throw std::logic_error(fmt::format("risk_contributions: {} losses for {} trials", loss.size(), run.trials));
    tails.push_back(tail_trials(loss, weight, kContributionLevel));
    const TailTrials& t = tails.back();
    const auto holder = static_cast<std::uint32_t>(h);
    for (std::size_t k = 0; k < t.es_trial.size(); ++k) uses.push_back({t.es_trial[k], holder, false, t.es_weight[k], loss[t.es_trial[k]]});
    for (std::size_t k = 0; k < t.var_trial.size(); ++k) uses.push_back({t.var_trial[k], holder, true, t.var_weight[k], loss[t.var_trial[k]]});
  }
  // Each trial once, in trial order, with every holder's uses of it (in the order above).
  std::stable_sort(uses.begin(), uses.end(), [](const TrialUse& a, const TrialUse& b) { return a.trial < b.trial; });
  std::vector<std::size_t> first_use;  // [k]: where the k-th trial's uses begin; then uses.size()
  for (std::size_t i = 0; i < uses.size(); ++i)
    if (i == 0 || uses[i].trial != uses[i - 1].trial) first_use.push_back(i);
  const std::size_t trials = first_use.size();
  first_use.push_back(uses.size());

  // Chunks of consecutive trials, re-run on every thread, each summed alone and the chunks' sums
  // added in chunk order: the same bits on any number of threads. A chunk adds each trial's parts
  // as it is re-run and drops its losses, so memory is chunks x holders x contributors. At most
  // 256 chunks whatever the threads, at least 32 trials each (a re-run's setup is not free).
  const std::size_t per_chunk = std::max<std::size_t>(32, (trials + 255) / 256);
  const std::size_t chunks = (trials + per_chunk - 1) / per_chunk;
  std::vector<std::vector<PartSums>> chunk_sums(chunks);
  struct Worker {
    std::unique_ptr<TrialRerun> rerun;  // built by the thread that first uses it
    std::vector<BookedLoss> losses;
  };
  tbb::enumerable_thread_specific<Worker> workers;
  tbb::task_arena arena(run.threads > 0 ? run.threads : tbb::task_arena::automatic);
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, chunks, 1), [&](const tbb::blocked_range<std::size_t>& r) {
      Worker& w = workers.local();
      if (!w.rerun) w.rerun = std::make_unique<TrialRerun>(m, run);
      for (std::size_t c = r.begin(); c != r.end(); ++c) {
        const PartSums zero{empty_contributions(m), empty_contributions(m)};
        std::vector<PartSums> sums(H, zero);
        for (std::size_t k = c * per_chunk; k < std::min(trials, (c + 1) * per_chunk); ++k) {
          const std::uint64_t trial = uses[first_use[k]].trial;
          w.losses.clear();
          const TrialRecord& out = w.rerun->run(run.first_trial + trial, [&](TrialRecord& o) { o.losses = &w.losses; });
          for (std::size_t i = first_use[k]; i < first_use[k + 1]; ++i) {
            const TrialUse& use = uses[i];
            if (const double again = out.loss_fraction[use.holder]; !same_bits(again, use.recorded))
              throw std::logic_error(fmt::format(
                  "risk contributions: trial {} of seed {} re-run gives holder \"{}\" a loss of {:.17g}, but the run recorded "
                  "{:.17g}: a trial is no longer a pure function of (model, seed, trial index)",
                  trial, run.seed, m.holders[use.holder].name, again, use.recorded));
            PartSums& p = sums[use.holder];
            if (use.var)
              p.var_loss += add_parts(out, w.rerun->avs_shares(), w.losses, use.holder, use.u, p.var);
            else
              p.es_loss += add_parts(out, w.rerun->avs_shares(), w.losses, use.holder, use.u, p.es);
          }
        }
        chunk_sums[c] = std::move(sums);
      }
    });
  });

  std::vector<HolderContributions> out(H);
  for (std::size_t h = 0; h < H; ++h) {
    const TailTrials& t = tails[h];
    Contributions es = empty_contributions(m), var = empty_contributions(m);
    double es_loss = 0.0, var_loss = 0.0;
    for (const std::vector<PartSums>& sums : chunk_sums) {
      add(es, sums[h].es);
      add(var, sums[h].var);
      es_loss += sums[h].es_loss;
      var_loss += sums[h].var_loss;
    }
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
