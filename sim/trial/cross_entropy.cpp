#include "trial/cross_entropy.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "stats/statistics.hpp"
#include "trial/engine.hpp"

namespace restake {

namespace {
constexpr std::uint64_t kFirstPilotTrial = std::uint64_t{1} << 62;
constexpr std::uint64_t kPilotRoundStride = std::uint64_t{1} << 40;
constexpr double kMinSizeExponent = 1e-6;
}  // namespace

CrossEntropyResult find_tilt(const Model& m, const TailSearch& o, std::uint64_t seed) {
  const TailTarget& target = o.target;
  if (target.holder >= m.holders.size()) throw std::invalid_argument(fmt::format("tail target: no holder {}", target.holder));
  if (target.is_quantile() ? !(target.quantile >= 0.5 && target.quantile < 1.0) || target.loss != 0.0
                           : !(target.loss > 0.0 && target.loss <= 1.0))
    throw std::invalid_argument(fmt::format("tail target: needs a loss in (0, 1] or a quantile level in [0.5, 1), got loss {} "
                                            "and quantile {}", target.loss, target.quantile));
  if (o.pilot_trials == 0 || o.max_rounds < 1)
    throw std::invalid_argument("tail search: needs at least one pilot round of at least one trial");
  if (!(o.elite_share > 0.0 && o.elite_share < 1.0))
    throw std::invalid_argument(fmt::format("tail search: an elite share of {} is not in (0, 1)", o.elite_share));
  if (!(o.smoothing > 0.0 && o.smoothing <= 1.0))
    throw std::invalid_argument(fmt::format("tail search: a smoothing of {} is not in (0, 1]", o.smoothing));
  if (!(o.defensive >= 0.0 && o.defensive < 1.0))
    throw std::invalid_argument(fmt::format("tail search: a defensive share of {} is not in [0, 1)", o.defensive));
  const std::size_t sources = make_sampler_plan(m).sources.size();
  const std::string& holder = m.holders[target.holder].name;
  CrossEntropyResult out;
  out.tilt.rate_factor.assign(sources, 1.0);
  out.tilt.size_exponent.assign(sources, 1.0);  // sizes by inversion from the first round: their q are the update's data
  out.target_loss = target.loss;

  const Plans plain = Plans::of(m);
  Trial trial(m, plain.world, plain.mechanisms);
  TrialDraws draws;
  TrialBlock row;
  row.reset(RecordShape::of(m), 0, 1);
  std::vector<double> loss(o.pilot_trials), weight(o.pilot_trials);
  std::vector<std::vector<TrialDraws::Fired>> fired(o.pilot_trials);
  std::vector<std::size_t> order(o.pilot_trials);
  std::vector<double> sorted_loss(o.pilot_trials), sorted_weight(o.pilot_trials);
  for (int round = 0; round < o.max_rounds && !out.reached; ++round) {
    const SamplerPlan plan = make_sampler_plan(m, out.tilt);
    const std::uint64_t first = kFirstPilotTrial + static_cast<std::uint64_t>(round) * kPilotRoundStride;
    for (std::uint64_t i = 0; i < o.pilot_trials; ++i) {
      sample_trial(m, plan, seed, first + i, draws);
      row.avs_shares.clear();
      trial.run(draws, row.row(0));
      loss[i] = row.loss_fraction[target.holder];
      weight[i] = draws.weight;
      fired[i] = draws.fired;
    }
    out.pilot_trials += o.pilot_trials;
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return loss[a] < loss[b]; });
    for (std::size_t k = 0; k < order.size(); ++k) sorted_loss[k] = loss[order[k]], sorted_weight[k] = weight[order[k]];
    // A quantile's value is not known in advance: each round estimates it from its own (weighted)
    // pilot, and the search ends when the elite reach that estimate.
    if (target.is_quantile()) out.target_loss = weighted_quantile_sorted(sorted_loss, sorted_weight, target.quantile);
    double level = std::min(out.target_loss, quantile_sorted(sorted_loss, 1.0 - o.elite_share));
    // Most trials lose nothing: start from those that lose anything at all.
    if (level <= 0.0) level = std::nextafter(0.0, 1.0);
    if (sorted_loss.back() < level)
      throw std::runtime_error(fmt::format("tail search: no pilot trial of {} has a loss for holder \"{}\"; raise the pilot "
                                           "trials or the event rates", o.pilot_trials, holder));
    out.levels.push_back(level);
    out.reached = level >= out.target_loss;
    // The update: each source's weighted mean count over the elite trials, over its model mean.
    // Sizes: the weighted maximum-likelihood Beta(b, 1) exponent of their elite q, b = n / -sum(log q).
    double elite_weight = 0.0;
    std::vector<double> counts(sources, 0.0), sizes(sources, 0.0), minus_log_q(sources, 0.0);
    for (std::uint64_t i = 0; i < o.pilot_trials; ++i) {
      if (loss[i] < level) continue;
      elite_weight += weight[i];
      for (const TrialDraws::Fired& f : fired[i]) {
        counts[f.source] += weight[i] * f.events;
        sizes[f.source] += weight[i] * f.sizes;
        minus_log_q[f.source] -= weight[i] * f.log_q;
      }
    }
    if (!(elite_weight > 0.0 && std::isfinite(elite_weight)))
      throw std::runtime_error(fmt::format("tail search: round {} (level {}): the elite trials' likelihood ratios sum to {}; "
                                           "the tilt has gone too far (more pilot trials or more smoothing)", round + 1, level,
                                           elite_weight));
    for (std::size_t s = 0; s < sources; ++s) {
      const double mean = plain.sampler.sources[s].mean_events;
      if (mean <= 0.0) continue;
      const double update = std::max(1.0, counts[s] / elite_weight / mean);
      double& factor = out.tilt.rate_factor[s];
      factor = o.smoothing * update + (1.0 - o.smoothing) * factor;
      // Never above 1 (small sizes stay at least as likely as large ones), at least
      // kMinSizeExponent (the elite's sizes all at the very top would otherwise ask for 0).
      const double b = sizes[s] > 0.0 ? std::clamp(sizes[s] / minus_log_q[s], kMinSizeExponent, 1.0) : 1.0;
      double& exponent = out.tilt.size_exponent[s];
      exponent = o.smoothing * b + (1.0 - o.smoothing) * exponent;
    }
    // A trial holds its events in memory: the tilt may not ask for more than a scenario may.
    if (const double events = expected_events(m, make_sampler_plan(m, out.tilt)); events > kMaxExpectedEventsPerTrial)
      throw std::runtime_error(fmt::format("tail search: round {} tilts the rates to {:.6g} events per trial, more than the {:.0f} "
                                           "one trial may hold; aim at a less extreme target for holder \"{}\"",
                                           round + 1, events, kMaxExpectedEventsPerTrial, holder));
  }
  out.tilt.defensive = o.defensive;
  return out;
}

CrossEntropyResult find_tilt(const Model& m, const TailSearch& search, const RunSpec& run) {
  if (run.first_trial > kFirstPilotTrial || run.trials > kFirstPilotTrial - run.first_trial)
    throw std::invalid_argument(fmt::format("importance sampling: trials {} to {} would reach the pilot trials' indices (2^62 "
                                            "and up): at most 2^62 trials in an importance-sampled run",
                                            run.first_trial, run.first_trial + run.trials - 1));
  return find_tilt(m, search, run.seed);
}

}  // namespace restake
