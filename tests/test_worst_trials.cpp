// The worst trials of a run by each token's lowest price (stats/worst_trials.hpp): the ranking,
// its ties, and tallies of parts merged in any order.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <vector>

#include "stats/worst_trials.hpp"

using namespace restake;

namespace {

std::vector<RankedTrial> list(const WorstTrials& w, std::size_t token) { return {w.of(token).begin(), w.of(token).end()}; }

}  // namespace

TEST_CASE("the worst trials are the lowest prices, a tie going to the lower trial index") {
  WorstTrials w(2, 3);
  for (const RankedTrial t : {RankedTrial{0.9, 7}, {0.5, 9}, {0.5, 3}, {1.0, 0}, {0.5, 4}, {0.2, 12}}) w.add(0, t);
  CHECK(list(w, 0) == std::vector<RankedTrial>{{0.2, 12}, {0.5, 3}, {0.5, 4}});
  CHECK(w.of(1).empty());
  // Fewer trials than K: all of them, worst first.
  WorstTrials few(1, 10);
  few.add(0, {1.0, 5});
  few.add(0, {0.7, 6});
  CHECK(list(few, 0) == std::vector<RankedTrial>{{0.7, 6}, {1.0, 5}});
  // K = 0 keeps nothing.
  WorstTrials none(1, 0);
  none.add(0, {0.1, 1});
  CHECK(none.of(0).empty());
}

TEST_CASE("worst trials tallied in parts and merged in any order are the same as one tally") {
  // Many ties (prices from a few values), trials split into uneven parts.
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> price(0, 6);
  const std::size_t n = 3000, k = 10;
  std::vector<double> prices(2 * n);
  for (double& p : prices) p = 0.4 + 0.1 * price(rng);
  WorstTrials whole(2, k);
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t j = 0; j < 2; ++j) whole.add(j, {prices[2 * t + j], t});
  std::vector<WorstTrials> parts;
  for (std::size_t from = 0; from < n;) {
    const std::size_t to = std::min(n, from + 1 + rng() % 500);
    WorstTrials part(2, k);
    for (std::size_t t = from; t < to; ++t)
      for (std::size_t j = 0; j < 2; ++j) part.add(j, {prices[2 * t + j], t});
    parts.push_back(part);
    from = to;
  }
  REQUIRE(parts.size() > 3);
  for (int order = 0; order < 5; ++order) {
    std::shuffle(parts.begin(), parts.end(), rng);
    WorstTrials merged(2, k);
    for (const WorstTrials& p : parts) merged.merge(p);
    CHECK(list(merged, 0) == list(whole, 0));
    CHECK(list(merged, 1) == list(whole, 1));
  }
  // The list is the k lowest (price, trial) pairs: the lowest price's trials in index order first.
  CHECK(whole.of(0).front().min_price == 0.4);
  CHECK(std::is_sorted(whole.of(0).begin(), whole.of(0).end(), ranks_before));
  CHECK_THROWS_AS(whole.merge(WorstTrials(2, 3)), std::logic_error);
}
