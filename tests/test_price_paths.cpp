// The price paths of a run's worst trials: the trials re-run with their paths kept
// (trial/price_paths.hpp) and /price_paths in results files (the tally itself: test_worst_trials.cpp).
#include "cli_support.hpp"
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "io/h5.hpp"
#include "sweep_support.hpp"
#include "stats/worst_trials.hpp"
#include "support.hpp"
#include "trial/price_paths.hpp"
#include "weighted_run.hpp"

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

TEST_CASE("a weighted run's worst trials are re-run with its tilt: with it they reproduce their lows, without it they do not") {
  const Model m = model_from(slurp(kMarkets));
  const RunSpec tilted = tilted_run(m, 1000, 5, 3.0, 0.2);
  const WorstTrials worst = tally_run(m, tilted, 3);
  CHECK_NOTHROW(price_paths_of(m, tilted, worst));
  RunSpec plain = tilted;
  plain.tilt = {};
  CHECK_THROWS_AS(price_paths_of(m, plain, worst), std::logic_error);
}

TEST_CASE("run writes /price_paths of the worst trials, the same with 1 or 2 threads, with or without records") {
  TempDir dir;
  const auto run = [&](const std::string& name, const std::string& extra) {
    REQUIRE(cli(fmt::format("run {} -o {} --trials 1500 --seed 3 --no-progress -q {}", kMarkets, dir / name, extra), dir) == 0);
    return dump_file(dir / name);
  };
  Dump one = run("one.h5", "--threads 1 --price-paths 4"), two = run("two.h5", "--threads 2 --block 333 --price-paths 4");
  const Dump bare = run("bare.h5", "--threads 2 --no-records --price-paths 4");
  std::size_t compared = 0;
  for (const auto& [key, value] : one) {
    if (key.rfind("/price_paths", 0) != 0) continue;
    INFO(key);
    CHECK(two.at(key) == value);
    CHECK(bare.at(key) == value);
    ++compared;
  }
  CHECK(compared >= 9);  // the group's attribute and its eight datasets
  const h5::File f = h5::File::open_read_only(dir / "one.h5");
  CHECK(f.dims("price_paths/trial") == std::vector<hsize_t>{4, 4});
  CHECK(f.open_group("price_paths").attr_uint("asked") == 4);
  // The ranking metric is each listed trial's own record.
  const std::vector<std::uint64_t> trials = f.read_uint64s("price_paths/trial");
  const std::vector<double> lows = f.read_doubles("price_paths/min_price");
  for (std::size_t k = 0; k < 4; ++k)
    for (std::size_t r = 0; r < 4; ++r) {
      const std::vector<double> row = f.read_rows("trials/token_min_price", trials[4 * k + r], 1);
      CHECK(row.at(k) == lows[4 * k + r]);
    }
  CHECK(f.dims("price_paths/day") == f.dims("price_paths/price"));
}

TEST_CASE("a run without tokens, or with --price-paths 0, writes no price paths and an unchanged file") {
  TempDir dir;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 500 --no-progress -q", kNoTokens, dir / "a.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 500 --no-progress -q --price-paths 0", kNoTokens, dir / "b.h5"), dir) == 0);
  CHECK_FALSE(h5::File::open_read_only(dir / "a.h5").exists("price_paths"));
  same_file(dir / "a.h5", dir / "b.h5");
  // With a token, K = 0 leaves out /price_paths and nothing else.
  REQUIRE(cli(fmt::format("run {} -o {} --trials 500 --no-progress -q --price-paths 0", kMarkets, dir / "c.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 500 --no-progress -q", kMarkets, dir / "d.h5"), dir) == 0);
  CHECK_FALSE(h5::File::open_read_only(dir / "c.h5").exists("price_paths"));
  Dump c = dump_file(dir / "c.h5"), d = dump_file(dir / "d.h5");
  std::erase_if(d, [](const auto& kv) { return kv.first.rfind("/price_paths", 0) == 0; });
  c.erase("@created_utc");
  d.erase("@created_utc");
  CHECK(c == d);
}

TEST_CASE("--price-paths takes a count from 0 to 1000 and refuses anything else with the range") {
  TempDir dir;
  for (const char* bad : {"-1", "1001", "1e3", "ten", "99999999999999999999"}) {
    std::string err;
    CAPTURE(bad);
    CHECK(cli(fmt::format("run {} -o {} --trials 10 --no-progress --price-paths {}", kMarkets, dir / "x.h5", bad), dir, nullptr, &err) != 0);
    contains(err, "--price-paths");
    contains(err, "[0, 1000]");
    CHECK_FALSE(std::filesystem::exists(dir / "x.h5"));
  }
}
