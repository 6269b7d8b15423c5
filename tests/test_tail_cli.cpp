// Importance sampling from the command line: `run --tail` and the scenario's [tail] table switch it
// on, `--no-tail` off; targets that cannot be met are refused before any file is written.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "cli_support.hpp"
#include "h5_dump.hpp"
#include "io/h5.hpp"
#include "io/results.hpp"
#include "stats/statistics.hpp"

using namespace restake;
using namespace restake::test;
namespace fs = std::filesystem;

namespace {

const std::string kDefault = RESTAKE_SOURCE_DIR "/scenarios/default.toml";

// |a - b| within k combined standard errors of two independent estimates.
bool agree(const Moments& a, const Moments& b, double k = 4.0) {
  return std::abs(a.mean - b.mean) <= k * std::hypot(a.stderr_mean, b.stderr_mean);
}

}  // namespace

TEST_CASE("run --tail finds a tilt by pilot rounds and its estimates agree with plain Monte Carlo") {
  TempDir dir;
  std::string err;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 40000 --seed 3 --no-progress --no-records", kDefault, dir / "plain.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 20000 --seed 3 --no-progress --no-records --tail rsETH-like:0.1", kDefault,
                          dir / "tail.h5"),
              dir, nullptr, &err) == 0);
  CHECK(err.find("cross-entropy pilot rounds (10000 trials each) for holder \"rsETH-like\", P(loss >= 0.1)") != std::string::npos);
  CHECK(err.find("round 1: elite level") != std::string::npos);
  CHECK(err.find("tilted towards loss >= 0.1") != std::string::npos);
  const RunSummary plain = read_summary(dir / "plain.h5"), tail = read_summary(dir / "tail.h5");
  REQUIRE(tail.holders.size() == plain.holders.size());
  for (std::size_t h = 0; h < plain.holders.size(); ++h) {
    CAPTURE(h);
    CHECK(agree(plain.holders[h].loss.moments, tail.holders[h].loss.moments));
  }
  // The target holder's mean loss is estimated more precisely per trial than by plain sampling.
  CHECK(tail.holders[0].loss.moments.stderr_mean * std::sqrt(20000.0) <
        plain.holders[0].loss.moments.stderr_mean * std::sqrt(40000.0));

  // A quantile target: the log names it.
  REQUIRE(cli(fmt::format("run {} -o {} --trials 2000 --no-progress --no-records --tail rsETH-like:quantile=0.999", kDefault,
                          dir / "q.h5"),
              dir, nullptr, &err) == 0);
  CHECK(err.find("its 99.9% loss quantile") != std::string::npos);
}

TEST_CASE("a scenario's [tail] table switches importance sampling on, and --no-tail off again, bit for bit") {
  TempDir dir;
  const std::string with_tail = dir / "tail.toml";
  {
    std::ofstream(with_tail) << slurp(kDefault) << "\n[tail]\nholder = \"native-restakers\"\nloss = 0.05\npilot_trials = 2000\n";
  }
  std::string plain_out, no_tail_out, err;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3000 --no-progress", kDefault, dir / "a.h5"), dir, &plain_out) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3000 --no-progress --no-tail", with_tail, dir / "b.h5"), dir, &no_tail_out,
              &err) == 0);
  CHECK(err.find("importance sampling") == std::string::npos);
  CHECK(no_tail_out == plain_out);
  std::string out;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3000 --no-progress", with_tail, dir / "c.h5"), dir, &out, &err) == 0);
  CHECK(err.find("for holder \"native-restakers\", P(loss >= 0.05)") != std::string::npos);
  CHECK(out.find("estimator: importance sampling - 3000 trials weighted by their likelihood ratios") != std::string::npos);
  {  // the file says how it was drawn: weights, and the tilt of rates and sizes
    const h5::File f = h5::File::open_read_only(dir / "c.h5");
    CHECK(f.attr_int("weighted") == 1);
    CHECK(f.open_group("trials").dims("weight") == std::vector<hsize_t>{3000});
    const std::vector<double> b = f.read_doubles("tilt/size_exponent"), r = f.read_doubles("tilt/rate_factor");
    CHECK(std::count_if(b.begin(), b.end(), [](double x) { return x < 1.0; }) > 0);
    CHECK(std::count_if(r.begin(), r.end(), [](double x) { return x > 1.0; }) > 0);
    CHECK(f.open_group("tilt").attr_double("defensive") == 0.1);
  }
  // --tail replaces the table's target and keeps its search options.
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3000 --no-progress --no-records --tail rsETH-like:loss=0.2", with_tail, dir / "d.h5"), dir,
              nullptr, &err) == 0);
  CHECK(err.find("pilot rounds (2000 trials each) for holder \"rsETH-like\", P(loss >= 0.2)") != std::string::npos);
  CHECK(cli(fmt::format("run {} -o {} --tail rsETH-like:0.2 --no-tail", with_tail, dir / "e.h5"), dir) != 0);
  CHECK_FALSE(fs::exists(dir / "e.h5"));
}

TEST_CASE("a --tail that names no holder or no valid target is refused before anything is written") {
  TempDir dir;
  const std::string out = dir / "r.h5";
  std::string err;
  for (const char* bad : {"rsETH-like", ":0.1", "rsETH-like:", "rsETH-like:0", "rsETH-like:1.5", "rsETH-like:nan",
                          "rsETH-like:quantile=1", "rsETH-like:quantile=0.3", "rsETH-like:level=0.9", "rsETH-like:0.1x"}) {
    CAPTURE(bad);
    CHECK(cli(fmt::format("run {} -o {} --trials 100 --tail '{}'", kDefault, out, bad), dir, nullptr, &err) == 105);
    CHECK(err.find("--tail: expected HOLDER:LOSS, HOLDER:loss=LOSS or HOLDER:quantile=LEVEL") != std::string::npos);
  }
  CHECK(cli(fmt::format("run {} -o {} --trials 100 --tail lrt-a:0.1", kDefault, out), dir, nullptr, &err) == 1);
  CHECK(err.find("--tail: no holder \"lrt-a\" in the scenario (holders: \"rsETH-like\", \"stETH-like\", \"native-restakers\")") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("a sweep over a scenario with a [tail] table draws every point with one tilt, and its shards merge bit for bit") {
  TempDir dir;
  {
    std::ofstream(dir / "tail.toml") << slurp(kDefault) << "\n[tail]\nholder = \"rsETH-like\"\nloss = 0.2\npilot_trials = 2000\n";
    std::ofstream(dir / "sweep.toml") << "[sweep]\nscenario = \"tail.toml\"\ntrials = 2000\nseed = 1\n"
                                         "[[sweep.parameter]]\npath = \"pool.lrt-coverage.balance_eth\"\nvalues = [0, 5000]\n";
  }
  std::string err;
  REQUIRE(cli(fmt::format("sweep {} -o {}", dir / "sweep.toml", dir / "s.h5"), dir, nullptr, &err) == 0);
  CHECK(err.find("importance sampling: one tilt for every point, towards loss >= 0.2 for holder \"rsETH-like\"") !=
        std::string::npos);
  {
    const h5::File f = h5::File::open_read_only(dir / "s.h5");
    CHECK(f.attr_int("weighted") == 1);
    const std::vector<double> b = f.read_doubles("tilt/size_exponent");
    CHECK(std::count_if(b.begin(), b.end(), [](double x) { return x < 1.0; }) > 0);
  }
  for (int k = 0; k < 2; ++k)
    REQUIRE(cli(fmt::format("sweep {} --shard {}/2 -o {} -q", dir / "sweep.toml", k, dir / fmt::format("p{}.h5", k)),
                dir) == 0);
  REQUIRE(cli(fmt::format("merge {} {} -o {} -q", dir / "p0.h5", dir / "p1.h5", dir / "m.h5"), dir) == 0);
  Dump single = dump_file(dir / "s.h5"), merged = dump_file(dir / "m.h5");
  single.erase("@created_utc");
  merged.erase("@created_utc");
  CHECK(single == merged);
}

TEST_CASE("an importance-sampled run reports its target's estimates with standard errors, stored and read back") {
  TempDir dir;
  const std::string out = dir / "q.h5";
  std::string printed;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 20000 --seed 4 --no-progress -q --tail rsETH-like:quantile=0.999", kDefault, out),
              dir, &printed) == 0);
  CHECK(printed.find("tail target, holder rsETH-like: P(loss >= ") != std::string::npos);
  CHECK(printed.find("loss quantile 99.9% = ") != std::string::npos);
  CHECK(printed.find("by batch means over 20 batches") != std::string::npos);

  const RunSummary s = read_summary(out);
  REQUIRE(s.info.tail.has_value());
  REQUIRE(s.tail.has_value());
  CHECK(s.info.tail->holder == 0);
  CHECK(s.info.tail->quantile_level == 0.999);
  // Against the records: P(loss >= x) is the mean of w 1{loss >= x}; the quantile, the weighted one.
  std::vector<double> loss, w;
  {
    const h5::File f = h5::File::open_read_only(out);
    loss = f.open_group("trials").read_column("loss_fraction", 0);
    w = f.read_doubles("trials/weight");
  }
  RunningMoments hits;
  for (std::size_t i = 0; i < loss.size(); ++i) hits.add(loss[i] >= s.info.tail->loss ? w[i] : 0.0);
  CHECK(s.tail->exceedance.mean == doctest::Approx(hits.result().mean).epsilon(1e-12));
  CHECK(s.tail->exceedance.stderr_mean == doctest::Approx(hits.result().stderr_mean).epsilon(1e-9));
  const QuantileEstimate q = batch_quantile(loss, w, 0.999, kBatches);
  CHECK(s.tail->quantile == q.value);
  CHECK(s.tail->quantile_stderr == q.stderr_value);
  CHECK(q.stderr_value > 0.0);
  // The pilots aimed at the quantile they estimated; the run's own estimate lies near it.
  CHECK(std::abs(s.tail->quantile - s.info.tail->loss) < 0.1);
  CHECK(s.tail->exceedance.mean == doctest::Approx(0.001).epsilon(0.5));

  std::string json;
  REQUIRE(cli(fmt::format("summary {} --json", out), dir, &json) == 0);
  CHECK(json.find("\"tail\": {\"holder\": \"rsETH-like\", \"loss\": ") != std::string::npos);
  CHECK(json.find("\"quantile_level\": 0.999") != std::string::npos);

  // A plain run has none; a hostile /tail is refused, naming the attribute.
  REQUIRE(cli(fmt::format("run {} -o {} --trials 200 --no-progress -q", kDefault, dir / "plain.h5"), dir) == 0);
  CHECK_FALSE(read_summary(dir / "plain.h5").tail.has_value());
  {
    const h5::Group root(h5::Handle(H5Fopen(out.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose));
    REQUIRE(root.id() >= 0);
    root.open_group("tail").set_attr("holder", std::uint64_t{7});
  }
  CHECK_THROWS_WITH_AS(read_summary(out), doctest::Contains("/tail attribute holder is 7, expected one of the 3 holders"),
                       std::runtime_error);
}
