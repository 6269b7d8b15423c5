// The price paths of a run's worst trials: the trials re-run with their paths kept
// (trial/price_paths.hpp) (the tally itself: test_worst_trials.cpp).
#include "cli_support.hpp"
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "stats/worst_trials.hpp"
#include "support.hpp"
#include "trial/price_paths.hpp"

using namespace restake;
using namespace restake::test;

namespace {

const std::string kMarkets = RESTAKE_SOURCE_DIR "/scenarios/lrt-markets.toml";
const std::string kNoTokens = RESTAKE_SOURCE_DIR "/scenarios/steth.toml";

std::vector<RankedTrial> list(const WorstTrials& w, std::size_t token) { return {w.of(token).begin(), w.of(token).end()}; }

// A run's worst trials, tallied from its blocks.
WorstTrials tally_run(const Model& m, const RunSpec& spec, std::size_t k) {
  WorstTrials w(m.tokens.size(), k);
  run_trials(m, spec, [&](const TrialBlock& b) { w.add(b); });
  return w;
}

RunSpec spec_of(std::uint64_t trials, int threads, std::size_t block, std::uint64_t seed = 11) {
  RunSpec s;
  s.trials = trials;
  s.threads = threads;
  s.block_trials = block;
  s.seed = seed;
  return s;
}

}  // namespace

TEST_CASE("a worst trial re-run with its paths kept reproduces its tallied low, and its path reaches it") {
  const Model m = model_from(slurp(kMarkets));
  REQUIRE(m.tokens.size() == 4);
  const RunSpec spec = spec_of(3000, 2, 700);
  const WorstTrials worst = tally_run(m, spec, 5);
  const PricePaths p = price_paths_of(m, spec, worst);
  REQUIRE(p.of_token.size() == 4);
  const market::EpisodeGrid grid = episode_grid(m.market);
  std::size_t depegged = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    REQUIRE(p.of_token[k].size() == 5);
    for (std::size_t r = 0; r < 5; ++r) {
      const WorstTrialPaths& w = p.of_token[k][r];
      CAPTURE(k);
      CAPTURE(r);
      CHECK(w.ranked == worst.of(k)[r]);
      double low = 1.0;
      for (std::size_t e = 0; e < w.episodes.size(); ++e) {
        const EpisodePath& ep = w.episodes[e];
        CHECK(ep.token == k);
        CHECK(ep.episode == e);
        REQUIRE(ep.points.size() == grid.steps);  // a point per step of the grid
        for (std::size_t i = 1; i < ep.points.size(); ++i) CHECK(ep.points[i].day > ep.points[i - 1].day);
        for (const MarketPathPoint& q : ep.points) {
          low = std::min(low, q.price_eth);
          CHECK(q.nav_eth > 0.0);
          CHECK(q.nav_eth <= 1.0);
        }
      }
      CHECK(low == w.ranked.min_price);
      depegged += w.ranked.min_price < 0.99;
    }
  }
  CHECK(depegged > 0);  // the worst trials do move their markets
  // A tally that does not match the trials (another seed's) is caught, not written.
  const WorstTrials other = tally_run(m, spec_of(3000, 2, 700, 12), 5);
  CHECK_THROWS_AS(price_paths_of(m, spec, other), std::logic_error);
}

TEST_CASE("the worst trials and their paths are the same for any thread count and block size") {
  const Model m = model_from(slurp(kMarkets));
  const RunSpec one = spec_of(2000, 1, 4096), two = spec_of(2000, 2, 37);
  const WorstTrials a = tally_run(m, one, 4), b = tally_run(m, two, 4);
  for (std::size_t k = 0; k < m.tokens.size(); ++k) CHECK(list(a, k) == list(b, k));
  const PricePaths pa = price_paths_of(m, one, a), pb = price_paths_of(m, two, b);
  REQUIRE(pa.points() > 0);
  CHECK(pa.points() == pb.points());
  for (std::size_t k = 0; k < m.tokens.size(); ++k)
    for (std::size_t r = 0; r < 4; ++r) CHECK(pa.of_token[k][r].episodes == pb.of_token[k][r].episodes);
}
