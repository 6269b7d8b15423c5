#include "trial/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include <boost/random/poisson_distribution.hpp>
#include <boost/random/uniform_01.hpp>
#include <boost/random/uniform_int_distribution.hpp>

#include "chain/inactivity.hpp"
#include "stats/fixed_sum.hpp"
#include "trial/rng.hpp"

namespace restake {

SamplerPlan make_sampler_plan(const Model& m, const Tilt& tilt) {
  // Every potential source is listed, silent ones (rate 0) too: a source's substreams are keyed
  // by its place in this list, which must depend on the world's structure only, so that changing
  // one rate (even to or from 0) leaves every other source's draws unchanged.
  SamplerPlan p;
  p.horizon_days = m.simulation.horizon_days;
  using K = EventSource::Kind;
  for (std::size_t o = 0; o < m.operators.size(); ++o) p.sources.push_back({K::OperatorFault, o, 0, 0, m.operators[o].fault_rate_per_year});
  for (std::size_t g = 0; g < m.groups.size(); ++g) p.sources.push_back({K::GroupShock, g, 0, 0, m.groups[g].rate_per_year});
  for (std::size_t a = 0; a < m.avs.size(); ++a) {
    const Avs& avs = m.avs[a];
    for (std::size_t c = 0; c < avs.conditions.size(); ++c)
      for (std::size_t k = 0; k < avs.allocations.size(); ++k)
        p.sources.push_back({K::AvsCondition, a, c, k, avs.conditions[c].rate_per_year});
    p.sources.push_back({K::AvsFaulty, a, 0, 0, avs.faulty_rate_per_year});
  }
  for (std::size_t c = 0; c < m.contracts.size(); ++c)
    p.sources.push_back({K::ContractFailure, c, 0, 0, m.contracts[c].failure_rate_per_year});
  for (std::size_t o = 0; o < m.outages.size(); ++o) p.sources.push_back({K::Outage, o, 0, 0, m.outages[o].rate_per_year});
  // Key compromises last, so that a world without redistribution keeps every other source's place.
  // Listed by structure (a redistributable set, an operator whose stake a thief can reach).
  for (std::size_t a = 0; a < m.avs.size(); ++a)
    if (m.avs[a].redistributable) p.sources.push_back({K::AvsKeyCompromise, a, 0, 0, m.avs[a].key_compromise.rate_per_year});
  for (std::size_t o = 0; o < m.operators.size(); ++o)
    if (operator_key_reaches_stake(m, o)) p.sources.push_back({K::OperatorKeyCompromise, o, 0, 0, m.operators[o].key_compromise.rate_per_year});
  for (auto& s : p.sources) {
    s.mean_events = s.rate_per_year * p.horizon_days / kDaysPerYear;
    s.p_none = std::exp(-s.mean_events);
    s.tilted_mean = s.mean_events;
    s.tilted_p_none = s.p_none;
  }
  if (!tilt.active()) return p;
  if (tilt.rate_factor.size() != p.sources.size())
    throw std::invalid_argument(fmt::format("tilt: {} rate factors for {} event sources", tilt.rate_factor.size(), p.sources.size()));
  if (!(tilt.defensive >= 0.0 && tilt.defensive < 1.0))
    throw std::invalid_argument(fmt::format("tilt: defensive share {} is not in [0, 1)", tilt.defensive));
  p.tilted = true;
  p.defensive = tilt.defensive;
  for (std::size_t i = 0; i < p.sources.size(); ++i) {
    const double factor = tilt.rate_factor[i];
    if (!(std::isfinite(factor) && factor > 0.0))
      throw std::invalid_argument(fmt::format("tilt: rate factor {} of event source {} is not finite and > 0", factor, i));
    EventSource& s = p.sources[i];
    s.tilted_mean = s.mean_events * factor;
    s.tilted_p_none = std::exp(-s.tilted_mean);
    s.log_ratio = -std::log(factor);
    p.log_ratio_base += s.tilted_mean - s.mean_events;
  }
  if (tilt.size_exponent.empty()) return p;
  if (tilt.size_exponent.size() != p.sources.size())
    throw std::invalid_argument(
        fmt::format("tilt: {} size exponents for {} event sources", tilt.size_exponent.size(), p.sources.size()));
  for (std::size_t i = 0; i < p.sources.size(); ++i) {
    EventSource& s = p.sources[i];
    const double b = tilt.size_exponent[i];
    if (!takes_size_tilt(m, s)) {
      if (b != 1.0) throw std::invalid_argument(fmt::format("tilt: event source {} has no random sizes to tilt", i));
      continue;
    }
    if (!(std::isfinite(b) && b > 0.0))
      throw std::invalid_argument(fmt::format("tilt: size exponent {} of event source {} is not finite and > 0", b, i));
    s.inverted = true;
    s.size_exponent = b;
  }
  return p;
}

bool operator_key_reaches_stake(const Model& m, std::size_t op) {
  for (const Holder& h : m.holders)
    for (const Position& pos : h.positions)
      if (pos.op == op && pos.protocol != kNoProtocol && m.protocols[pos.protocol].redistribution && pos.validator_op != op) return true;
  return false;
}

bool takes_size_tilt(const Model& m, const EventSource& s) {
  switch (s.kind) {
    case EventSource::Kind::OperatorFault: return !m.operators[s.entity].fault_fraction.is_fixed();
    case EventSource::Kind::GroupShock: return !m.groups[s.entity].fraction.is_fixed();
    case EventSource::Kind::AvsCondition: return !m.avs[s.entity].conditions[s.condition].fraction.is_fixed();
    case EventSource::Kind::AvsFaulty: return !m.avs[s.entity].faulty_fraction.is_fixed();
    case EventSource::Kind::ContractFailure: return !m.contracts[s.entity].loss_given_failure.is_fixed();
    case EventSource::Kind::Outage: return false;
    case EventSource::Kind::AvsKeyCompromise: return !m.avs[s.entity].key_compromise.drain.is_fixed();
    case EventSource::Kind::OperatorKeyCompromise: return !m.operators[s.entity].key_compromise.drain.is_fixed();
  }
  return false;
}

std::size_t events_per_firing(const Model& m, const EventSource& s) {
  switch (s.kind) {
    case EventSource::Kind::GroupShock: return m.groups[s.entity].members.size();
    case EventSource::Kind::Outage: return m.outages[s.entity].operators.size();
    case EventSource::Kind::OperatorFault:
    case EventSource::Kind::AvsCondition:
    case EventSource::Kind::AvsFaulty:
    case EventSource::Kind::ContractFailure:
    case EventSource::Kind::AvsKeyCompromise:
    case EventSource::Kind::OperatorKeyCompromise: return 1;
  }
  return 1;
}

double expected_events(const Model& m, const SamplerPlan& p) {
  double total = 0.0;
  for (const EventSource& s : p.sources) total += s.tilted_mean * static_cast<double>(events_per_firing(m, s));
  return total;
}

std::string source_label(const Model& m, const EventSource& s) {
  using K = EventSource::Kind;
  switch (s.kind) {
    case K::OperatorFault: return fmt::format("operator {}: faults", m.operators[s.entity].name);
    case K::GroupShock: return fmt::format("group {}: shocks", m.groups[s.entity].name);
    case K::AvsCondition: {
      const Avs& a = m.avs[s.entity];
      return fmt::format("avs {}: condition {} on operator {}", a.name, a.conditions[s.condition].name,
                         m.operators[a.allocations[s.member].op].name);
    }
    case K::AvsFaulty: return fmt::format("avs {}: faulty slashings", m.avs[s.entity].name);
    case K::ContractFailure: return fmt::format("contract {}: failures", m.contracts[s.entity].name);
    case K::Outage: return fmt::format("outage {}", m.outages[s.entity].name);
    case K::AvsKeyCompromise: return fmt::format("avs {}: key compromise", m.avs[s.entity].name);
    case K::OperatorKeyCompromise: return fmt::format("operator {}: key compromise", m.operators[s.entity].name);
  }
  throw std::logic_error("source_label: unknown source kind");
}

std::uint32_t poisson_inverse(double mean, double u) {
  // Hand-written rather than boost::random::poisson_distribution: Boost draws its own uniforms,
  // whereas here the no-event test is one comparison against a word shared with three other
  // sources, and n is monotone in the mean for a fixed u (common random numbers in sweeps).
  double p = std::exp(-mean);
  double cdf = p;
  std::uint32_t n = 0;
  while (u >= cdf && n < 100000) {
    ++n;
    p *= mean / n;
    const double next = cdf + p;
    if (next == cdf) break;  // the tail underflowed: u lies in the last representable step
    cdf = next;
  }
  return n;
}

namespace {

// One event per member operator of an outage, all with the outage's duration and network share.
// The network share counts the members' offline validators: it is at least their stake over T
// (at most kMaxOfflineShare).
void push_outage(const Model& m, std::size_t outage, double day, TrialRng& rng, TrialDraws& out) {
  const Outage& o = m.outages[outage];
  const double duration = draw(o.duration_days, rng);
  const double network = draw(o.network_share, rng);
  const std::size_t first = out.events.size();
  double members_stake = 0.0;
  for (std::size_t op : o.operators) {
    const double fraction = draw(o.fraction, rng);
    members_stake += fraction * m.operators[op].stake();
    out.events.push_back({day, EventKind::Outage, op, 0, fraction, duration, 0.0});
  }
  const double network_stake = static_cast<double>(m.ethereum.consensus.total_active_balance_gwei) / kGweiPerEth;
  const double share = std::max(network, std::min(kMaxOfflineShare, members_stake / network_stake));
  for (std::size_t e = first; e < out.events.size(); ++e) out.events[e].network_share = share;
}

// When resolvers (or pausers) would cancel a request, in days after it: they act with probability p
// after a drawn delay. Both are drawn whatever p and the windows are (common random numbers: a
// longer window or a likelier veto cancels at least what a shorter or less likely one does).
double draw_cancel_days(double p, const Distribution& delay, TrialRng& rng) {
  const double u = boost::random::uniform_01<double>()(rng);
  const double reaction = draw(delay, rng);
  return u < p ? reaction : kNotCancelled;
}

// Stress events, each entry from its own substream (so adding one leaves the others' draws alone).
void sample_forced_events(const Model& m, std::uint64_t seed, std::uint64_t trial, TrialDraws& out) {
  const Stress& st = m.stress;
  std::uint64_t entry = 0;
  for (const auto& f : st.operator_faults) {
    TrialRng rng = trial_rng(seed, trial, Substream::Stress, entry++);
    const double day = draw(f.day, rng);
    out.events.push_back({day, EventKind::OperatorFault, f.op, 0, draw(f.fraction, rng)});
  }
  for (const auto& f : st.avs_failures) {
    TrialRng timing = trial_rng(seed, trial, Substream::StressTiming, entry);
    TrialRng rng = trial_rng(seed, trial, Substream::Stress, entry++);
    const double day = draw(f.day, rng);
    // k distinct members, uniformly: a partial Fisher-Yates shuffle of the set
    std::vector<std::size_t> set = f.avs;
    for (std::size_t i = 0; i < f.count; ++i) {
      const std::size_t j = boost::random::uniform_int_distribution<std::size_t>(i, set.size() - 1)(rng);
      std::swap(set[i], set[j]);
      out.events.push_back({day, EventKind::AvsFaultySlashing, set[i], 0, draw(f.fraction, rng)});
      const Protocol& proto = m.protocols[m.avs[set[i]].protocol];
      out.events.back().cancel_days = draw_cancel_days(proto.veto_probability, proto.veto_delay_days, timing);
    }
  }
  for (const auto& f : st.contract_failures) {
    TrialRng rng = trial_rng(seed, trial, Substream::Stress, entry++);
    const double day = draw(f.day, rng);
    out.events.push_back({day, EventKind::ContractFailure, f.contract, 0, draw(f.loss, rng)});
  }
  for (const auto& f : st.outages) {
    TrialRng rng = trial_rng(seed, trial, Substream::Stress, entry++);
    push_outage(m, f.outage, draw(f.day, rng), rng, out);
  }
}

// The events of source s, which fires in this trial at a mean of `mean` events over the horizon
// (the model's or the tilted one; u: its gate's uniform, at least exp(-mean)), with their sizes
// at size exponent `b` (1 in the defensive share of trials; Inverted: src.inverted, compiled apart
// so that a plain run's loop stays as tight as it was). Returns their count and sizes.
template <bool Inverted>
[[gnu::noinline]] TrialDraws::Fired sample_source(const Model& m, const SamplerPlan& plan, std::size_t s, double mean, double b, double u,
                                std::uint64_t seed, std::uint64_t trial, TrialDraws& out) {
  const EventSource& src = plan.sources[s];
  TrialRng rng = trial_rng(seed, trial, Substream::SourceEvents, s);
  // Slash delays and cancellations from a stream of their own: the events' times and sizes stay
  // what they are in a world without windows.
  TrialRng timing = trial_rng(seed, trial, Substream::SlashTiming, s);
  boost::random::uniform_01<double> unit;
  TrialDraws::Fired fired{static_cast<std::uint32_t>(s), 0};
  // A size by inversion at the upper-tail probability q = v^(1/b), v uniform on (0, 1): Beta(b, 1).
  const auto size = [&](const Distribution& d) {
    if constexpr (!Inverted) {
      return draw(d, rng);
    } else {
      const double log_q = std::log((std::floor(unit(rng) * 0x1p53) + 0.5) * 0x1p-53) / b;
      ++fired.sizes;
      fired.log_q += log_q;
      return inverse_cdf(d, -std::expm1(log_q), std::exp(log_q));
    }
  };
  // Inversion is exact and cheap for the rare events modelled here; very frequent sources
  // (a mean above 500 per horizon would underflow exp(-mean)) use Boost's sampler, whose count
  // is not monotone in the rate for a fixed stream.
  fired.events = mean < 500.0 ? poisson_inverse(mean, u) : boost::random::poisson_distribution<std::uint32_t, double>(mean)(rng);
  for (std::uint32_t k = 0; k < fired.events; ++k) {
    const double day = plan.horizon_days * unit(rng);
    switch (src.kind) {
      case EventSource::Kind::OperatorFault:
        out.events.push_back({day, EventKind::OperatorFault, src.entity, 0, size(m.operators[src.entity].fault_fraction)});
        break;
      case EventSource::Kind::GroupShock: {
        const CorrelationGroup& g = m.groups[src.entity];
        for (std::size_t op : g.members) out.events.push_back({day, EventKind::OperatorFault, op, 0, size(g.fraction)});
        break;
      }
      case EventSource::Kind::AvsCondition: {
        const Avs& a = m.avs[src.entity];
        out.events.push_back({day, EventKind::AvsSlashing, src.entity, src.member, size(a.conditions[src.condition].fraction)});
        out.events.back().delay_days = draw(a.slash_delay_days, timing);
        break;
      }
      case EventSource::Kind::AvsFaulty: {
        const Avs& a = m.avs[src.entity];
        const Protocol& proto = m.protocols[a.protocol];
        out.events.push_back({day, EventKind::AvsFaultySlashing, src.entity, 0, size(a.faulty_fraction)});
        out.events.back().cancel_days = draw_cancel_days(proto.veto_probability, proto.veto_delay_days, timing);
        break;
      }
      case EventSource::Kind::AvsKeyCompromise:
      case EventSource::Kind::OperatorKeyCompromise: {
        const bool by_avs = src.kind == EventSource::Kind::AvsKeyCompromise;
        const KeyCompromise& k = by_avs ? m.avs[src.entity].key_compromise : m.operators[src.entity].key_compromise;
        out.events.push_back({day, EventKind::KeyCompromise, src.entity, by_avs ? 0u : 1u, size(k.drain)});
        out.events.back().cancel_days = draw_cancel_days(k.pause_probability, k.pause_delay_days, timing);
        break;
      }
      case EventSource::Kind::ContractFailure:
        out.events.push_back({day, EventKind::ContractFailure, src.entity, 0, size(m.contracts[src.entity].loss_given_failure)});
        break;
      case EventSource::Kind::Outage: push_outage(m, src.entity, day, rng, out); break;
    }
  }
  return fired;
}

}  // namespace

void sample_trial(const Model& m, const SamplerPlan& plan, std::uint64_t seed, std::uint64_t trial, TrialDraws& out) {
  out.events.clear();
  {
    TrialRng rng = trial_rng(seed, trial, Substream::BaseApr, 0);
    out.base_apr = draw(m.ethereum.base_apr, rng);
  }
  out.subsidy_days.resize(m.avs.size());
  for (std::size_t a = 0; a < m.avs.size(); ++a) {
    const Distribution& d = m.avs[a].rewards.decay_days;
    if (d.is_fixed()) {
      out.subsidy_days[a] = d.a;
    } else {
      TrialRng rng = trial_rng(seed, trial, Substream::Subsidy, a);
      out.subsidy_days[a] = draw(d, rng);
    }
  }

  out.withdrawals.resize(m.withdrawals.size());
  for (std::size_t k = 0; k < m.withdrawals.size(); ++k) {
    const Withdrawal& wd = m.withdrawals[k];
    TrialRng rng = trial_rng(seed, trial, Substream::Withdrawal, k);
    TrialDraws::Withdrawal& d = out.withdrawals[k];
    d.share = draw(wd.share, rng);
    d.day = draw(wd.day, rng);
    d.exit_queue_eth = wd.exit_queue_eth ? draw(*wd.exit_queue_eth, rng) : 0.0;
  }
  out.allocation_change_days.resize(m.allocation_changes.size());
  for (std::size_t k = 0; k < m.allocation_changes.size(); ++k) {
    TrialRng rng = trial_rng(seed, trial, Substream::AllocationChange, k);
    out.allocation_change_days[k] = draw(m.allocation_changes[k].day, rng);
  }
  out.sellers.resize(m.tokens.size());
  for (std::size_t k = 0; k < m.tokens.size(); ++k) {
    TrialRng rng = trial_rng(seed, trial, Substream::Sellers, k);
    out.sellers[k] = {draw(m.tokens[k].sell_share, rng), draw(m.tokens[k].sell_trigger, rng)};
  }

  out.weight = 1.0;
  out.fired.clear();
  sample_forced_events(m, seed, trial, out);
  if (!m.stress.random_events) return;
  // A tilted plan draws at the tilted means, or - the defensive share of trials, chosen by a
  // stream of its own - at the model's.
  const bool tilted = plan.tilted && !(plan.defensive > 0.0 && to_unit(philox_block(seed, trial, Substream::Mixture, 0)[0]) < plan.defensive);
  double log_ratio = plan.log_ratio_base;  // log of (model's likelihood / tilted likelihood) of the counts and sizes
  Philox::ctr_type gate{};
  for (std::size_t s = 0; s < plan.sources.size(); ++s) {
    if (s % 4 == 0) gate = philox_block(seed, trial, Substream::SourceGate, s / 4);
    const EventSource& src = plan.sources[s];
    const double u = to_unit(gate[s % 4]);
    // Almost every source stays silent in a trial: this comparison is then all it costs.
    if (u < (tilted ? src.tilted_p_none : src.p_none)) continue;
    const double mean = tilted ? src.tilted_mean : src.mean_events;
    const TrialDraws::Fired fired =
        src.inverted ? sample_source<true>(m, plan, s, mean, tilted ? src.size_exponent : 1.0, u, seed, trial, out)
                     : sample_source<false>(m, plan, s, mean, 1.0, u, seed, trial, out);
    log_ratio += fired.events * src.log_ratio;
    // Each size's ratio is the tilted law's, 1 / (b q^(b-1)), whichever component drew it.
    if (src.inverted) log_ratio -= fired.sizes * std::log(src.size_exponent) + (src.size_exponent - 1.0) * fired.log_q;
    if (fired.events > 0) out.fired.push_back(fired);
  }
  if (plan.tilted) {
    const double ratio = std::exp(log_ratio);
    out.weight = plan.defensive > 0.0 ? 1.0 / (plan.defensive + (1.0 - plan.defensive) / ratio) : ratio;
    // A weight this large means one trial outweighs 2^40 ordinary ones: the tilt is unusable.
    if (!(out.weight < kMaxFixedShare))
      throw std::runtime_error(fmt::format("trial {}: its likelihood ratio {} is too large for the tilt to estimate anything; "
                                           "give a defensive share > 0 or tilt less", trial, out.weight));
  }
}

}  // namespace restake
