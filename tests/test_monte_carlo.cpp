// The sampler and engine against closed forms, and reproducibility across thread counts.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <iterator>
#include <numeric>

#include <tbb/global_control.h>

#include "cli_support.hpp"
#include "io/h5.hpp"
#include "trial/rng.hpp"
#include "stats/statistics.hpp"
#include "stats/summary.hpp"
#include "support.hpp"
#include "weighted_run.hpp"

using namespace restake;
using namespace restake::test;

namespace {
double sample_variance_stderr(const std::vector<double>& x, double mean, double var) {
  // SE of the sample variance: sqrt((m4 - var^2) / n)
  double m4 = 0.0;
  for (double v : x) m4 += std::pow(v - mean, 4);
  m4 /= static_cast<double>(x.size());
  return std::sqrt((m4 - var * var) / static_cast<double>(x.size()));
}

}  // namespace

TEST_CASE("independent slashing events: mean and variance of the loss match the Poisson closed form within 4 standard errors") {
  // N ~ Poisson(lambda) slashes of f each leave (1-f)^N: E = exp(-lambda f), E[(1-f)^2N] = exp(-lambda (2f - f^2)).
  const double lambda = 0.7, f = 0.2;
  const Records r = run_in_memory(model_from(shared_avs_world(lambda, f)), 200'000, 2);
  const std::vector<double> x = r.loss_column(0);
  const Moments m = moments(x);
  const double mean = 1.0 - std::exp(-lambda * f);
  const double var = std::exp(-lambda * (2 * f - f * f)) - std::exp(-2 * lambda * f);
  CHECK(std::abs(m.mean - mean) < 4 * m.stderr_mean);
  const double sample_var = m.sd * m.sd;
  CHECK(std::abs(sample_var - var) < 4 * sample_variance_stderr(x, m.mean, sample_var));
  // and P(loss > 0) = 1 - exp(-lambda)
  const LossSummary s = summarize_loss(x);
  const double p = 1 - std::exp(-lambda);
  CHECK(std::abs(s.p_loss - p) < 4 * std::sqrt(p * (1 - p) / 200'000.0));
}

TEST_CASE("a correlation group makes operators fail together, independent faults do not") {
  const std::string base = R"(
[simulation]
name = "grp"
[ethereum]
total_active_stake_eth = 34_000_000
base_apr = 0.0
[[group]]
name = "cloud"
annual_probability = GROUP_P
fraction = 0.5
[[operator]]
name = "a"
validators = 100
annual_fault_probability = OP_P
fault_fraction = 0.5
groups = ["cloud"]
[[operator]]
name = "b"
validators = 100
annual_fault_probability = OP_P
fault_fraction = 0.5
groups = ["cloud"]
[[lst]]
name = "on-a"
positions = [{ operator = "a", stake_eth = 3200 }]
[[lst]]
name = "on-b"
positions = [{ operator = "b", stake_eth = 3200 }]
)";
  auto world = [&](const char* group_p, const char* op_p) {
    std::string s = base;
    s.replace(s.find("GROUP_P"), 7, group_p);
    for (std::size_t at; (at = s.find("OP_P")) != std::string::npos;) s.replace(at, 4, op_p);
    return model_from(s);
  };
  auto joint = [](const Records& r) {
    double both = 0, a = 0, b = 0;
    for (std::size_t t = 0; t < r.trials; ++t) {
      const bool la = r.loss(t, 0) > 0, lb = r.loss(t, 1) > 0;
      a += la;
      b += lb;
      both += la && lb;
    }
    const double n = static_cast<double>(r.trials);
    return std::array<double, 3>{a / n, b / n, both / n};
  };
  const auto grouped = joint(run_in_memory(world("0.1", "0"), 50'000, 2));
  CHECK(grouped[0] == doctest::Approx(0.1).epsilon(0.05));
  CHECK(grouped[2] == doctest::Approx(grouped[0]));  // always together
  const auto independent = joint(run_in_memory(world("0", "0.1"), 50'000, 2));
  CHECK(independent[2] == doctest::Approx(independent[0] * independent[1]).epsilon(0.15));
}

TEST_CASE("contract failures: P(loss > 0) = 1 - exp(-rate * horizon) and the mean loss is p * E[loss given failure]") {
  const std::string toml = R"(
[simulation]
name = "c"
horizon_days = 730
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = 0.0
[[operator]]
name = "op"
validators = 10
[[contract]]
name = "vault"
annual_failure_probability = 0.05
loss_given_failure = { dist = "beta", alpha = 2, beta = 3 }
[[lst]]
name = "lst"
contracts = ["vault"]
positions = [{ operator = "op", stake_eth = 320 }]
)";
  const Records r = run_in_memory(model_from(toml), 200'000, 2);
  const LossSummary s = summarize_loss(r.loss_column(0));
  const double lambda_h = -std::log(0.95) * 2.0;
  const double p = 1 - std::exp(-lambda_h);
  CHECK(std::abs(s.p_loss - p) < 4 * std::sqrt(p * (1 - p) / 200'000.0));
  // E[1 - prod (1 - L_i)] with N ~ Poisson: 1 - exp(-lambda_h * E[L]), E[L] = 2/5
  const double mean = 1 - std::exp(-lambda_h * 0.4);
  CHECK(std::abs(s.moments.mean - mean) < 4 * s.moments.stderr_mean);
}

TEST_CASE("poisson_inverse matches the Poisson CDF and is monotone in the mean for a fixed uniform") {
  CHECK(poisson_inverse(0.5, 0.0) == 0);
  CHECK(poisson_inverse(0.5, std::exp(-0.5) - 1e-12) == 0);
  CHECK(poisson_inverse(0.5, std::exp(-0.5) + 1e-12) == 1);
  CHECK(poisson_inverse(0.5, std::exp(-0.5) * 1.5 + 1e-12) == 2);  // P(N<=1) = e^-0.5 (1 + 0.5)
  for (double u : {0.1, 0.5, 0.9, 0.999}) {
    std::uint32_t last = 0;
    for (double mean = 0.01; mean < 20; mean *= 1.3) {
      const std::uint32_t n = poisson_inverse(mean, u);
      CHECK(n >= last);
      last = n;
    }
  }
}

TEST_CASE("a trial's stream depends only on (seed, trial, purpose, index)") {
  TrialRng a = trial_rng(1, 5, Substream::SourceEvents, 2);
  TrialRng b = trial_rng(1, 5, Substream::SourceEvents, 2);
  TrialRng c = trial_rng(1, 6, Substream::SourceEvents, 2);
  TrialRng d = trial_rng(2, 5, Substream::SourceEvents, 2);
  const auto x = a();
  CHECK(x == b());
  CHECK(x != c());
  CHECK(x != d());
}

TEST_CASE("1, 2 and 8 threads give bit-identical per-trial results on the default scenario") {
  const Model m = parse_scenario(
      [] {
        std::ifstream in(RESTAKE_SOURCE_DIR "/scenarios/default.toml");
        return std::string(std::istreambuf_iterator<char>(in), {});
      }(),
      "default.toml");
  // Allow more workers than cores, so that 8 threads really are 8.
  const tbb::global_control allow(tbb::global_control::max_allowed_parallelism, 8);
  const Records one = run_in_memory(m, 20'000, 1, 3000);
  const Records two = run_in_memory(m, 20'000, 2, 3000);
  const Records eight = run_in_memory(m, 20'000, 8, 3000);
  const Records other_blocks = run_in_memory(m, 20'000, 2, 7777);
  for (const Records* r : {&two, &eight, &other_blocks}) {
    CHECK(r->loss_fraction == one.loss_fraction);
    CHECK(r->net_return == one.net_return);
    CHECK(r->loss_by_cause == one.loss_by_cause);
    CHECK(r->covered_fraction == one.covered_fraction);
    CHECK(r->avs_stake_lost == one.avs_stake_lost);
    CHECK(r->pool_drawdown == one.pool_drawdown);
  }
  // something happened, so the comparison means something
  CHECK(std::count_if(one.loss_fraction.begin(), one.loss_fraction.end(), [](double v) { return v > 0; }) > 100);
  const Records reseeded = run_in_memory(m, 20'000, 2, 3000, 8);
  CHECK(reseeded.loss_fraction != one.loss_fraction);
}

TEST_CASE("common random numbers: raising one AVS's slash rate never lowers any trial's loss") {
  const Records low = run_in_memory(model_from(shared_avs_world(0.3, 0.1)), 20'000, 2);
  const Records high = run_in_memory(model_from(shared_avs_world(0.6, 0.1)), 20'000, 2);
  std::size_t raised = 0;
  for (std::size_t t = 0; t < low.trials; ++t) {
    CHECK(high.loss(t, 0) >= low.loss(t, 0));
    raised += high.loss(t, 0) > low.loss(t, 0);
  }
  CHECK(raised > 1000);
}

TEST_CASE("common random numbers: switching one source from silent to active leaves the other sources' draws alone") {
  const std::string world = R"(
[simulation]
name = "crn"
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = { dist = "uniform", min = 0.02, max = 0.04 }
[ethereum.penalties]
proportional_slashing_multiplier = 0   # a's slashings would otherwise raise b's correlation penalty
[[operator]]
name = "a"
validators = 100
fault_rate_per_year = RATE_A
fault_fraction = 0.1
[[operator]]
name = "b"
validators = 100
annual_fault_probability = 0.3
fault_fraction = 0.1
[[lst]]
name = "on-a"
positions = [{ operator = "a", stake_eth = 100 }]
[[lst]]
name = "on-b"
positions = [{ operator = "b", stake_eth = 100 }]
)";
  auto with_rate = [&](const char* rate) {
    std::string s = world;
    s.replace(s.find("RATE_A"), 6, rate);
    return model_from(s);
  };
  const Records silent = run_in_memory(with_rate("0"), 20'000, 2), active = run_in_memory(with_rate("0.5"), 20'000, 2);
  std::size_t a_losses = 0;
  for (std::size_t t = 0; t < silent.trials; ++t) {
    CHECK(active.loss(t, 1) == silent.loss(t, 1));
    CHECK(active.net_return[t * 2 + 1] == silent.net_return[t * 2 + 1]);
    a_losses += active.loss(t, 0) > 0;
  }
  CHECK(a_losses > 1000);
}

TEST_CASE("the exact AVS x holder means are the same for any threads and blocks, and add up to the ledger") {
  const Model m = model_from(slurp(RESTAKE_SOURCE_DIR "/scenarios/default.toml"));
  auto summary = [&](int threads, std::size_t block) {
    RunSpec o;
    o.trials = 30'000;
    o.seed = 9;
    o.threads = threads;
    o.block_trials = block;
    Tally t(m, 1e-4);
    run_trials(m, o, [&](const TrialBlock& b) { t.add(b); });
    return summarize_run(m, RunInfo{}, t);
  };
  // Many threads on small blocks: a shared accumulator would lose additions here.
  const tbb::global_control allow(tbb::global_control::max_allowed_parallelism, 8);
  const RunSummary one = summary(1, 4096), two = summary(8, 256);
  const std::vector<double> a = avs_holder_loss_means(one), b = avs_holder_loss_means(two);
  REQUIRE(a.size() == m.avs.size() * m.holders.size());
  CHECK(a == b);  // bit for bit: integer sums do not depend on the order
  const std::size_t H = m.holders.size();
  bool some = false;
  for (std::size_t h = 0; h < H; ++h) {
    double by_avs = 0.0;
    for (std::size_t k = 0; k < m.avs.size(); ++k) by_avs += a[k * H + h];
    const auto& c = one.holders[h].loss_by_cause_mean;
    const double ledger = c[static_cast<std::size_t>(LossCause::AvsSlashing)] + c[static_cast<std::size_t>(LossCause::AvsFaultySlashing)];
    CHECK(by_avs == doctest::Approx(ledger).epsilon(1e-9));
    some = some || by_avs > 0.0;
  }
  CHECK(some);
}

TEST_CASE("AVS x holder sums survive many threads adding at once") {
  // 50 slashes per trial on one AVS and holder: threads would collide on a shared accumulator.
  const Model m = model_from(shared_avs_world(50.0, 0.01));
  const tbb::global_control allow(tbb::global_control::max_allowed_parallelism, 8);
  auto sums = [&](int threads, std::size_t block) {
    RunSpec o;
    o.trials = 40'000;
    o.seed = 3;
    o.threads = threads;
    o.block_trials = block;
    Tally t(m);
    run_trials(m, o, [&](const TrialBlock& b) { t.add(b); });
    return t.totals().avs_holder_loss.at(0);
  };
  const FixedSum one = sums(1, 40'000);
  CHECK(one > 0);
  CHECK(sums(8, 1'000) == one);
}

TEST_CASE("a run whose stop hook says stop ends within a few trials, hands over only whole blocks, and throws RunStopped") {
  const Model m = model_from(slurp(RESTAKE_SOURCE_DIR "/scenarios/default.toml"));
  RunSpec o;
  o.seed = 5;
  o.threads = 2;
  // The stop hook is asked before each trial; it says stop from its n-th call on.
  auto run = [&](std::uint64_t trials, std::size_t block, std::uint64_t n, std::vector<TrialBlock>& seen) {
    o.trials = trials;
    o.block_trials = block;
    std::atomic<std::uint64_t> calls{0};
    CHECK_THROWS_AS(run_trials(m, o, [&](const TrialBlock& b) { seen.push_back(b); }, [&] { return ++calls >= n; }),
                    RunStopped);
    return calls.load();
  };
  // One huge block: stopped within it, nothing handed over, far fewer than its trials simulated.
  std::vector<TrialBlock> seen;
  CHECK(run(1'000'000, 1'000'000, 1'000, seen) < 20'000);
  CHECK(seen.empty());
  // Small blocks: those handed over are whole and in order; the one cut short is not among them.
  CHECK(run(1'000'000, 1'000, 5'500, seen) < 20'000);
  REQUIRE(!seen.empty());
  CHECK(seen.size() <= 5);
  for (std::size_t k = 0; k < seen.size(); ++k) {
    CHECK(seen[k].count == 1'000);
    CHECK(seen[k].first_trial == k * 1'000);
  }
  // A hook that never says stop changes nothing.
  o.trials = 3'000;
  std::uint64_t trials = 0;
  run_trials(m, o, [&](const TrialBlock& b) { trials += b.count; }, [] { return false; });
  CHECK(trials == 3'000);
}

TEST_CASE("records of several whole chunks, compressed on every thread, hold each trial's row as the engine wrote it") {
  const Model m = model_from(slurp(RESTAKE_SOURCE_DIR "/scenarios/default.toml"));
  const std::uint64_t trials = 2 * 16384 + 5000;  // two whole chunks of kChunkTrials and part of a third
  const Records r = run_in_memory(m, trials, 2, 777, 5);
  TempDir dir;
  RunSpec spec;
  spec.trials = trials;
  spec.seed = 5;
  spec.threads = 2;
  spec.block_trials = 777;  // blocks that cut the chunks anywhere
  write_results(dir / "r.h5", m, spec);
  const h5::File f = h5::File::open_read_only(dir / "r.h5");
  CHECK(f.read_doubles("trials/loss_fraction") == r.loss_fraction);
  CHECK(f.read_doubles("trials/net_return") == r.net_return);
  CHECK(f.read_doubles("trials/loss_by_cause") == r.loss_by_cause);
  CHECK(f.read_doubles("trials/avs_stake_lost") == r.avs_stake_lost);
}
