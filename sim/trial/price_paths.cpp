#include "trial/price_paths.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "trial/engine.hpp"

namespace restake {

namespace {

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

}  // namespace

std::size_t PricePaths::points() const {
  std::size_t n = 0;
  for (const auto& token : of_token)
    for (const WorstTrialPaths& t : token)
      for (const EpisodePath& e : t.episodes) n += e.points.size();
  return n;
}

PricePaths price_paths_of(const Model& m, const RunSpec& run, const WorstTrials& worst) {
  if (worst.tokens() != m.tokens.size())
    throw std::logic_error(fmt::format("price paths: a tally of {} tokens for a model with {}", worst.tokens(), m.tokens.size()));
  // Each trial once, in trial order, with its records and every token's paths.
  struct Rerun {
    std::vector<double> min_price;  // [token]
    std::vector<EpisodePath> paths;
  };
  std::map<std::uint64_t, Rerun> reruns;
  for (std::size_t k = 0; k < worst.tokens(); ++k)
    for (const RankedTrial& t : worst.of(k)) reruns.try_emplace(t.trial);
  if (!reruns.empty()) {
    TrialRerun rerunner(m, run);
    for (auto& entry : reruns) {  // not a structured binding: clang 14 cannot capture one
      Rerun& rerun = entry.second;
      const TrialRecord& out = rerunner.run(entry.first, [&](TrialRecord& o) { o.price_paths = &rerun.paths; });
      rerun.min_price.assign(out.token_min_price.begin(), out.token_min_price.end());
    }
  }

  PricePaths p;
  p.of_token.resize(worst.tokens());
  for (std::size_t k = 0; k < worst.tokens(); ++k) {
    for (const RankedTrial& t : worst.of(k)) {
      const Rerun& rerun = reruns.at(t.trial);
      WorstTrialPaths w{t, {}};
      double path_low = 1.0;
      for (const EpisodePath& e : rerun.paths) {
        if (e.token != k) continue;
        for (const MarketPathPoint& q : e.points) path_low = std::min(path_low, q.price_eth);
        w.episodes.push_back(e);
      }
      // The low is the same product min(price) x NAV before the episode either way (rounding is
      // monotone), so the path's low equals the record exactly.
      if (!same_bits(rerun.min_price[k], t.min_price) || !same_bits(path_low, t.min_price))
        throw std::logic_error(fmt::format(
            "price paths: trial {} of seed {} re-run gives token \"{}\" a lowest price of {:.17g} (its path's low {:.17g}), "
            "but the run tallied {:.17g}: a trial is no longer a pure function of (model, seed, trial index)",
            t.trial, run.seed, m.tokens[k].name, rerun.min_price[k], path_low, t.min_price));
      p.of_token[k].push_back(std::move(w));
    }
  }
  return p;
}

}  // namespace restake
