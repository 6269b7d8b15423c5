// The worst trials of a run by each token's lowest price (stats/worst_trials.hpp): the ranking,
// its ties, and tallies of parts merged in any order.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "stats/worst_trials.hpp"
#include "trial/trial_block.hpp"

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

TEST_CASE("a block's trials rank as the same trials added one by one, ties and NaN included") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Two tokens, 12 trials from index 100; token 0 ties at 0.5, token 1 has NaN among numbers.
  const std::vector<double> p0 = {0.9, 0.5, 1.0, 0.5, 0.7, 0.5, 0.5, 0.3, 1.0, 0.5, 0.8, 0.3};
  const std::vector<double> p1 = {nan, 1.0, 0.6, nan, 0.6, 0.2, 1.0, nan, 0.9, 0.6, 0.4, 0.6};
  RecordShape shape;
  shape.tokens = 2;
  TrialBlock b;
  b.reset(shape, 100, p0.size());
  for (std::size_t i = 0; i < p0.size(); ++i) {
    b.token_min_price[2 * i] = p0[i];
    b.token_min_price[2 * i + 1] = p1[i];
  }
  for (const std::size_t k : {0, 1, 3, 5, 12, 20}) {
    CAPTURE(k);
    WorstTrials blockwise(2, k), one_by_one(2, k);
    blockwise.add(b);
    for (std::size_t i = 0; i < p0.size(); ++i) {
      one_by_one.add(0, {p0[i], 100 + i});
      one_by_one.add(1, {p1[i], 100 + i});
    }
    for (std::size_t t = 0; t < 2; ++t) {
      const auto a = list(blockwise, t), o = list(one_by_one, t);
      REQUIRE(a.size() == o.size());
      CHECK(a.size() == std::min<std::size_t>(k, 12));
      for (std::size_t r = 0; r < a.size(); ++r) {
        CHECK(a[r].trial == o[r].trial);
        CHECK((a[r].min_price == o[r].min_price || (std::isnan(a[r].min_price) && std::isnan(o[r].min_price))));
      }
    }
  }
  WorstTrials three(2, 3);
  three.add(b);
  CHECK(list(three, 0) == std::vector<RankedTrial>{{0.3, 107}, {0.3, 111}, {0.5, 101}});
  // NaN ranks after every number: with 12 of 12 kept, the NaNs come last, by trial index.
  WorstTrials all(2, 12);
  all.add(b);
  CHECK(all.of(1)[8].min_price == 1.0);
  CHECK(all.of(1)[9].trial == 100);
  CHECK(all.of(1)[11].trial == 107);
}
