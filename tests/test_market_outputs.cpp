// The market layer's outputs (issue 11): per-trial records of tokens, lending markets and each
// holder's loss at market price, their tallies and summaries, and their files. The numbers here are
// put into blocks by hand: what the market mechanism computes is tested with it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <tbb/global_control.h>

#include "cli_support.hpp"
#include "h5_dump.hpp"
#include "io/outputs.hpp"
#include "io/results.hpp"
#include "io/schema.hpp"
#include "stats/summary.hpp"
#include "stats/tally.hpp"
#include "support.hpp"
#include "sweep/block_codec.hpp"
#include "sweep_support.hpp"
#include "weighted_run.hpp"

using namespace restake;
namespace fs = std::filesystem;

namespace {

// Two holders, one of them with a token; two lending markets on it (debts 400 and 100 ETH).
const std::string kMarketWorld = R"toml(
[simulation]
name = "markets"
horizon_days = 365
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = 0.0
[prices_usd]
ETH = 3_000
[[operator]]
name = "op"
validators = 100
annual_fault_probability = 0.2
fault_fraction = 0.01
[[protocol]]
name = "p"
slashing_mode = "shared"
[[avs]]
name = "avs"
protocol = "p"
operators = ["op"]
  [[avs.slashing]]
  name = "fault"
  rate_per_year = 0.5
  fraction = 0.2
[[lrt]]
name = "lrt-x"
protocol = "p"
positions = [{ operator = "op", stake_eth = 1000 }]
[[lst]]
name = "lst-y"
positions = [{ operator = "op", stake_eth = 2000 }]
[market]
episode_days = 5
[[token]]
name = "tok-x"
holder = "lrt-x"
pool = { kind = "constant_product", eth = 500 }
[[lending_market]]
name = "aave-x"
token = "tok-x"
rules = "aave_v3"
ltv = 0.93
liquidation_threshold = 0.95
liquidation_bonus = 0.01
oracle = "exchange_rate"
debt_eth = 400
health_factor = { dist = "uniform", min = 1.0, max = 1.2 }
buckets = 4
[[lending_market]]
name = "morpho-x"
token = "tok-x"
rules = "morpho_blue"
lltv = 0.86
oracle = "market_twap"
twap_window_days = 0.5
debt_eth = 100
leverage = 4
)toml";

// Trial t's market numbers, made up so that every statistic has something to find: prices and
// losses spread over (0, 1], bad debts on both sides of 1% of each market's debt (4 and 1 ETH),
// and exactly at it (which does not count: the threshold is strict).
struct Synthetic {
  static double price(std::size_t t) { return 1.0 - 0.03 * static_cast<double>((t * 7) % 11); }
  static double depeg(std::size_t t) { return t % 4 == 0 ? 0.0 : 0.25 * static_cast<double>(t % 4); }
  static double sold(std::size_t t) { return static_cast<double>(t % 5); }
  static double liquidated(std::size_t t, std::size_t l) { return static_cast<double>((t * 3 + l) % 7) * (l + 1); }
  static double bad_debt(std::size_t t, std::size_t l) {
    const double threshold = l == 0 ? 4.0 : 1.0;
    switch (t % 5) {
      case 0: return 0.0;
      case 1: return threshold;                     // at 1%: bad debt, but not over 1%
      case 2: return threshold * 1.5;               // over
      case 3: return 0.5 * threshold;               // under
      default: return static_cast<double>(t % 13);  // anything
    }
  }
  static double accounts(std::size_t t, std::size_t l) { return static_cast<double>((t + l) % 4) / 4.0; }
  static double market_loss(std::size_t t, std::size_t h) { return h == 0 ? 0.01 * static_cast<double>((t * 13) % 17) : 0.0; }
  static double weight(std::size_t t) { return 0.5 + 0.25 * static_cast<double>(t % 3); }
};

// Trials [first, first + n) as one block, weighted or not.
TrialBlock block_of(const Model& m, std::size_t first, std::size_t n, bool weighted) {
  TrialBlock b;
  b.reset(RecordShape::of(m), first, n);
  const std::size_t H = m.holders.size(), K = m.tokens.size(), L = m.lending_markets.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t t = first + i;
    for (std::size_t h = 0; h < H; ++h) {
      b.loss_fraction[i * H + h] = 0.0;
      b.net_return[i * H + h] = 0.0;
      b.covered_fraction[i * H + h] = 0.0;
      if (!b.loss_at_market.empty()) b.loss_at_market[i * H + h] = Synthetic::market_loss(t, h);
    }
    std::fill(b.loss_by_cause.begin(), b.loss_by_cause.end(), 0.0);
    for (std::size_t k = 0; k < K; ++k) {
      b.token_min_price[i * K + k] = Synthetic::price(t);
      b.token_max_discount[i * K + k] = 1.0 - Synthetic::price(t);
      b.token_depeg_days[i * K + k] = Synthetic::depeg(t);
      b.token_sold[i * K + k] = Synthetic::sold(t);
    }
    for (std::size_t l = 0; l < L; ++l) {
      b.lending_liquidated[i * L + l] = Synthetic::liquidated(t, l);
      b.lending_bad_debt[i * L + l] = Synthetic::bad_debt(t, l);
      b.lending_accounts_liquidated[i * L + l] = Synthetic::accounts(t, l);
    }
    if (weighted) b.weight.push_back(Synthetic::weight(t));
    b.end_row(i);
  }
  return b;
}

// The tally of `trials` in blocks of `block`.
Tally tally_of(const Model& m, std::size_t trials, std::size_t block, bool weighted, double sketch_accuracy = 0.0) {
  Tally tally(m, sketch_accuracy);
  for (std::size_t first = 0; first < trials; first += block) tally.add(block_of(m, first, std::min(block, trials - first), weighted));
  return tally;
}

// The records' columns, as the results file or a sweep point would give them.
QuantileSource columns_of(const Model& m, std::size_t trials, bool weighted) {
  const TrialBlock all = block_of(m, 0, trials, weighted);
  QuantileSource cols;
  const std::size_t H = m.holders.size();
  auto column = [all](const std::vector<double>& v, std::size_t width, std::size_t i) {
    std::vector<double> out;
    for (std::size_t t = 0; t < all.count; ++t) out.push_back(v[t * width + i]);
    return out;
  };
  cols.loss_fraction = [=](std::size_t h) { return column(all.loss_fraction, H, h); };
  cols.net_return = [=](std::size_t h) { return column(all.net_return, H, h); };
  if (weighted) cols.weight = [all] { return all.weight; };
  cols.market = [=](std::vector<double> TrialBlock::*field, std::size_t i) {
    const std::vector<double>& v = all.*field;
    return column(v, v.size() / all.count, i);
  };
  return cols;
}

std::vector<double> sorted(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  return x;
}

struct Sample {
  std::vector<double> x, w;  // w empty: every trial weighs 1
  double mean() const {
    double s = 0.0;
    for (std::size_t t = 0; t < x.size(); ++t) s += (w.empty() ? 1.0 : w[t]) * x[t];
    return s / static_cast<double>(x.size());
  }
  double share(bool (*yes)(double, double), double level) const {
    double s = 0.0;
    for (std::size_t t = 0; t < x.size(); ++t) s += yes(x[t], level) ? (w.empty() ? 1.0 : w[t]) : 0.0;
    return s / static_cast<double>(x.size());
  }
  double quantile(double p) const { return SortedSample(x, w).quantile(p); }
};

Sample sample(std::size_t trials, bool weighted, double (*f)(std::size_t)) {
  Sample s;
  for (std::size_t t = 0; t < trials; ++t) {
    s.x.push_back(f(t));
    if (weighted) s.w.push_back(Synthetic::weight(t));
  }
  return s;
}

bool above(double x, double level) { return x > level; }

std::vector<const SummarySpec*> market_summaries(const RunSummary& s) {
  std::vector<const SummarySpec*> out;
  for (const SummarySpec* spec : summaries(Presence::of(s)))
    if (spec->out.needs == Needs::Tokens || spec->out.needs == Needs::LendingMarkets) out.push_back(spec);
  return out;
}

}  // namespace

TEST_CASE("a run with a token and lending markets declares their records and summaries, a run without none") {
  const Model m = test::model_from(kMarketWorld);
  const RecordShape shape = RecordShape::of(m);
  CHECK(shape.tokens == 1);
  CHECK(shape.lending == 2);
  CHECK(shape.market_holders() == 2);
  const auto with = trial_records(Presence::of(shape, false));
  const auto paths = [](const auto& specs) {
    std::vector<std::string> out;
    for (const auto* s : specs) out.emplace_back(s->out.path);
    return out;
  };
  for (const char* p : {"trials/token_min_price", "trials/token_max_discount", "trials/token_depeg_days", "trials/token_sold",
                        "trials/lending_liquidated", "trials/lending_bad_debt", "trials/lending_accounts_liquidated",
                        "trials/loss_at_market"}) {
    INFO(p);
    const auto all = paths(with);
    CHECK(std::find(all.begin(), all.end(), p) != all.end());
    const auto plain = paths(trial_records(Presence{}));
    CHECK(std::find(plain.begin(), plain.end(), p) == plain.end());
  }
  // Lending markets without tokens cannot exist, but the conditions are separate: the token ones
  // alone.
  const auto tokens_only = paths(summaries(Presence{false, true, false}));
  CHECK(std::find(tokens_only.begin(), tokens_only.end(), "summary/token/p_depeg") != tokens_only.end());
  CHECK(std::find(tokens_only.begin(), tokens_only.end(), "summary/loss_at_market/es99") != tokens_only.end());
  CHECK(std::find(tokens_only.begin(), tokens_only.end(), "summary/lending/p_bad_debt") == tokens_only.end());
  CHECK(extent(Dim::Token, Extents::of(shape)) == 1);
  CHECK(extent(Dim::Lending, Extents::of(shape)) == 2);
  CHECK(std::string(dimension(Dim::Token).scale) == "tokens/names");
  CHECK(std::string(dimension(Dim::Lending).scale) == "lending_markets/names");

  // A block of a run without markets has no market vectors at all; one with them starts neutral.
  TrialBlock plain;
  plain.reset(RecordShape::of(test::model_from(test::shared_avs_world(1.0, 0.1))), 0, 3);
  CHECK(plain.token_min_price.empty());
  CHECK(plain.loss_at_market.empty());
  TrialBlock b;
  b.reset(shape, 0, 3);
  CHECK(b.token_min_price == std::vector<double>(3, 1.0));
  CHECK(b.lending_bad_debt == std::vector<double>(6, 0.0));
  CHECK(b.loss_at_market == std::vector<double>(6, 0.0));
  CHECK(b.row(2).token_min_price.size() == 1);
  CHECK(b.row(2).lending_liquidated.data() == b.lending_liquidated.data() + 4);
  CHECK(b.row(1).loss_at_market.data() == b.loss_at_market.data() + 2);
}

TEST_CASE("the market summaries are the means, shares and order statistics of the trials, weighted or not") {
  const Model m = test::model_from(kMarketWorld);
  constexpr std::size_t N = 40;
  for (const bool weighted : {false, true}) {
    CAPTURE(weighted);
    const RunSummary s = summarize_run(m, RunInfo{}, tally_of(m, N, 7, weighted), columns_of(m, N, weighted));
    REQUIRE(s.tokens.size() == 1);
    REQUIRE(s.lending.size() == 2);
    const TokenSummary& tok = s.tokens[0];
    CHECK(tok.name == "tok-x");
    CHECK(tok.holder == "lrt-x");
    const Sample price = sample(N, weighted, Synthetic::price), depeg = sample(N, weighted, Synthetic::depeg),
                 sold = sample(N, weighted, Synthetic::sold);
    CHECK(tok.min_price_mean == doctest::Approx(price.mean()).epsilon(1e-14));
    CHECK(tok.p_depeg == doctest::Approx(depeg.share(above, 0.0)).epsilon(1e-14));
    CHECK(tok.depeg_days_mean == doctest::Approx(depeg.mean()).epsilon(1e-14));
    CHECK(tok.sold_mean == doctest::Approx(sold.mean()).epsilon(1e-14));
    CHECK(tok.min_price_p05 == price.quantile(0.05));
    if (!weighted) {
      // By hand: 40 trials, 30 of them with a depegged day; the 5% quantile is the 2nd lowest price.
      CHECK(tok.p_depeg == 0.75);
      CHECK(tok.min_price_p05 == sorted(price.x)[1]);
      CHECK(tok.min_price_p05 == doctest::Approx(0.70));
    }

    for (std::size_t l = 0; l < 2; ++l) {
      CAPTURE(l);
      const LendingSummary& ls = s.lending[l];
      CHECK(ls.name == (l == 0 ? "aave-x" : "morpho-x"));
      CHECK(ls.token == "tok-x");
      CHECK(ls.debt_eth == (l == 0 ? 400.0 : 100.0));
      CHECK(ls.usd_price == 3000.0);
      Sample seized, bad, accounts;
      for (std::size_t t = 0; t < N; ++t) {
        seized.x.push_back(Synthetic::liquidated(t, l));
        bad.x.push_back(Synthetic::bad_debt(t, l));
        accounts.x.push_back(Synthetic::accounts(t, l));
        if (weighted)
          for (Sample* x : {&seized, &bad, &accounts}) x->w.push_back(Synthetic::weight(t));
      }
      CHECK(ls.liquidated_mean == doctest::Approx(seized.mean()).epsilon(1e-14));
      CHECK(ls.liquidated_p95 == seized.quantile(0.95));
      CHECK(ls.bad_debt_mean == doctest::Approx(bad.mean()).epsilon(1e-14));
      CHECK(ls.bad_debt_var95 == bad.quantile(0.95));
      CHECK(ls.p_bad_debt == doctest::Approx(bad.share(above, 0.0)).epsilon(1e-14));
      CHECK(ls.p_bad_debt_1pct == doctest::Approx(bad.share(above, 0.01 * ls.debt_eth)).epsilon(1e-14));
      CHECK(ls.accounts_liquidated_mean == doctest::Approx(accounts.mean()).epsilon(1e-14));
      if (!weighted) {
        // By hand, 8 trials of each t % 5: 0 none; 1 exactly 1% of the debt (bad debt, not over 1%);
        // 2 over; 3 under; 4 t % 13 = 4, 9, 1, 6, 11, 3, 8, 0 (t = 4, 9, ..., 39).
        CHECK(ls.p_bad_debt == 31.0 / 40.0);
        // Over 1%: the 8 of t % 5 == 2, and of t % 5 == 4 those over 4 ETH (9, 6, 11, 8) or 1 ETH (all but 1 and 0).
        CHECK(ls.p_bad_debt_1pct == (l == 0 ? 12.0 / 40.0 : 14.0 / 40.0));
      }
    }

    const Sample at_market = sample(N, weighted, [](std::size_t t) { return Synthetic::market_loss(t, 0); });
    const MarketLossSummary& ml = s.holders[0].loss_at_market;
    CHECK(ml.mean == doctest::Approx(at_market.mean()).epsilon(1e-14));
    CHECK(ml.var95 == at_market.quantile(0.95));
    CHECK(ml.var99 == at_market.quantile(0.99));
    CHECK(ml.es99 == SortedSample(at_market.x, at_market.w).expected_shortfall(0.99));
    if (!weighted) {
      const std::vector<double> x = sorted(at_market.x);
      CHECK(ml.var95 == x[37]);  // ceil(0.95 x 40) = 38th
      CHECK(ml.var99 == x[39]);
      CHECK(ml.es99 == doctest::Approx(x[39]));  // the worst 0.4 trial: all of it the largest
    }
    CHECK(s.holders[1].loss_at_market.mean == 0.0);  // no token: its loss at NAV (0 here)

    // Without records the sketches give the same within their relative accuracy.
    const RunSummary sk = summarize_run(m, RunInfo{}, tally_of(m, N, 7, weighted, 1e-4));
    CHECK(sk.tokens[0].min_price_p05 == doctest::Approx(tok.min_price_p05).epsilon(2e-4));
    for (std::size_t l = 0; l < 2; ++l) {
      CHECK(sk.lending[l].liquidated_p95 == doctest::Approx(s.lending[l].liquidated_p95).epsilon(2e-4));
      CHECK(sk.lending[l].bad_debt_var95 == doctest::Approx(s.lending[l].bad_debt_var95).epsilon(2e-4));
      CHECK(sk.lending[l].p_bad_debt == s.lending[l].p_bad_debt);
    }
    CHECK(sk.holders[0].loss_at_market.var99 == doctest::Approx(ml.var99).epsilon(2e-4));
    CHECK(sk.holders[0].loss_at_market.es99 == doctest::Approx(ml.es99).epsilon(2e-4));
    CHECK(sk.holders[0].loss_at_market.mean == ml.mean);
  }
}

TEST_CASE("the market summaries are the same bits for any block size and thread count") {
  const Model m = test::model_from(kMarketWorld);
  constexpr std::size_t N = 3 * 4096 + 777;  // several tally chunks
  for (const bool weighted : {false, true}) {
    for (const double accuracy : {0.0, 1e-4}) {
      CAPTURE(weighted);
      CAPTURE(accuracy);
      auto summary = [&](std::size_t block, int threads) {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
        const Tally t = tally_of(m, N, block, weighted, accuracy);
        return accuracy > 0.0 ? summarize_run(m, RunInfo{}, t) : summarize_run(m, RunInfo{}, t, columns_of(m, N, weighted));
      };
      const RunSummary one = summary(N, 1);
      struct Layout {
        std::size_t block;
        int threads;
      };
      for (const Layout layout : {Layout{1000, 2}, Layout{4096, 4}, Layout{333, 3}}) {
        CAPTURE(layout.block);
        const RunSummary other = summary(layout.block, layout.threads);
        for (const SummarySpec* spec : market_summaries(one)) {
          INFO(spec->out.path);
          CHECK(summary_values(*spec, other) == summary_values(*spec, one));
        }
      }
    }
  }
}

TEST_CASE("a results file with markets reads back to the summary in memory, and one without has no market dataset") {
  test::TempDir dir;
  const Model m = test::model_from(kMarketWorld);
  constexpr std::size_t N = 500;
  for (const bool records : {true, false}) {
    CAPTURE(records);
    const std::string path = dir / (records ? "records.h5" : "sketches.h5");
    ResultsMeta meta;
    meta.info = {m.simulation.name, "test", "test", 1, N, m.simulation.horizon_days, TiltInfo{}};
    meta.scenario_path = "test.toml";
    WriterOptions wo;
    wo.records = records;
    ResultsWriter writer(path, m, meta, wo);
    Tally tally(m, records ? 0.0 : wo.sketch_accuracy);
    for (std::size_t first = 0; first < N; first += 128) {
      const TrialBlock b = block_of(m, first, std::min<std::size_t>(128, N - first), false);
      writer.append(b);
      tally.add(b);
    }
    const RunSummary s = records ? summarize_run(m, meta.info, tally, writer.record_columns()) : summarize_run(m, meta.info, tally);
    writer.finish(s);
    CHECK(s.lending[0].p_bad_debt > 0.0);

    const RunSummary back = read_summary(path);
    REQUIRE(back.tokens.size() == 1);
    REQUIRE(back.lending.size() == 2);
    CHECK(back.tokens[0].holder == "lrt-x");
    CHECK(back.lending[1].token == "tok-x");
    CHECK(back.lending[1].debt_eth == 100.0);
    CHECK(back.lending[1].usd_price == 3000.0);
    const auto specs = market_summaries(s);
    CHECK(specs.size() == 16);
    for (const SummarySpec* spec : specs) {
      INFO(spec->out.path);
      CHECK(summary_values(*spec, back) == summary_values(*spec, s));
    }
    CHECK(format_summary_table(back) == format_summary_table(s));
    CHECK(format_summary_json(back) == format_summary_json(s));

    const h5::File f = h5::File::open_read_only(path);
    CHECK(f.read_strings("tokens/names") == std::vector<std::string>{"tok-x"});
    CHECK(f.read_strings("lending_markets/names") == std::vector<std::string>{"aave-x", "morpho-x"});
    CHECK(f.exists("trials/lending_bad_debt") == records);
    if (records) {
      CHECK(f.dims("trials/lending_bad_debt") == std::vector<hsize_t>{N, 2});
      CHECK(f.dims("trials/loss_at_market") == std::vector<hsize_t>{N, 2});
      CHECK(f.read_column("trials/lending_bad_debt", 1)[2] == Synthetic::bad_debt(2, 1));
    }
  }

  // The engine's own run of the same world: the market mechanism writes the records, and the file
  // reads back to what the run summarised.
  RunSpec spec;
  spec.trials = 300;
  spec.seed = 3;
  spec.threads = 2;
  const RunSummary engine = test::write_results(dir / "engine.h5", m, spec);
  CHECK(engine.tokens[0].min_price_mean < 1.0);
  CHECK(engine.tokens[0].min_price_p05 <= engine.tokens[0].min_price_mean);
  const RunSummary engine_back = read_summary(dir / "engine.h5");
  for (const SummarySpec* s : market_summaries(engine)) CHECK(summary_values(*s, engine_back) == summary_values(*s, engine));

  // Without markets: no market dataset, group or axis.
  const Model plain = test::model_from(test::shared_avs_world(1.0, 0.1));
  test::write_results(dir / "plain.h5", plain, spec);
  for (const auto& entry : test::dump_file(dir / "plain.h5")) {
    const std::string& name = entry.first;  // not a structured binding: INFO captures it in a lambda
    INFO(name);
    CHECK(name.find("token") == std::string::npos);
    CHECK(name.find("lending") == std::string::npos);
    CHECK(name.find("market") == std::string::npos);
  }
  CHECK(read_summary(dir / "plain.h5").tokens.empty());
}

TEST_CASE("the printed summary has a Markets section within 120 columns, only when the run has markets") {
  const Model m = test::model_from(kMarketWorld);
  const RunSummary s = summarize_run(m, RunInfo{}, tally_of(m, 40, 40, false), columns_of(m, 40, false));
  const std::string table = format_summary_table(s);
  CHECK(table.find("\nMarkets (") != std::string::npos);
  CHECK(table.find("tok-x") != std::string::npos);
  CHECK(table.find("morpho-x") != std::string::npos);
  CHECK(table.find("mean at market") != std::string::npos);
  std::size_t from = table.find("\nMarkets (");
  while (from < table.size()) {
    const std::size_t end = table.find('\n', from + 1);
    const std::string line = table.substr(from + 1, end == std::string::npos ? std::string::npos : end - from - 1);
    INFO(line);
    CHECK(line.size() <= 120);
    from = end;
  }
  // USD where the scenario prices ETH: the mean bad debt of aave-x in dollars.
  const double usd_mean = s.lending[0].bad_debt_mean * 3000.0;
  CHECK(usd_mean > 1e3);
  const std::string json = format_summary_json(s);
  CHECK(json.find("\"lending_markets\": [{\"name\": \"aave-x\"") != std::string::npos);
  CHECK(json.find("\"loss_at_market\": {\"mean\": ") != std::string::npos);

  const Model plain = test::model_from(test::shared_avs_world(1.0, 0.1));
  const RunSummary p = summarize_run(plain, RunInfo{}, tally_of(plain, 10, 10, false, 1e-4));
  CHECK(format_summary_table(p).find("Markets") == std::string::npos);
  CHECK(format_summary_json(p).find("lending") == std::string::npos);
  CHECK(format_summary_json(p).find("loss_at_market") == std::string::npos);
}

TEST_CASE("the MPI block codec carries the market records of a run with markets, and a plain block as before") {
  const Model m = test::model_from(kMarketWorld);
  for (const bool weighted : {false, true}) {
    CAPTURE(weighted);
    const TrialBlock b = block_of(m, 50, 20, weighted);
    const std::vector<char> bytes = encode_block(3, 2, b);
    const DecodedBlock d = decode_block(bytes, RecordShape::of(m), 25);
    CHECK(d.point == 3);
    CHECK(d.block.first_trial == 50);
    for (const TrialRecordSpec* r : trial_records(Presence::of(RecordShape::of(m), weighted))) {
      INFO(r->out.path);
      CHECK(d.block.*r->field == b.*r->field);
    }
    CHECK(d.block.lending_bad_debt.size() == 40);
  }
  // A run without markets: the header, its declared doubles and the (empty) losses' ends, nothing more.
  const Model plain = test::model_from(test::shared_avs_world(1.0, 0.1));
  TrialBlock b;
  b.reset(RecordShape::of(plain), 0, 4);
  // H = 1: loss, return, covered, causes, first loss day, 7-day loss; A = 1; P = 0
  const std::size_t doubles = 4 * (3 + kLossCauseCount + 2 + 1 + 0) * 1;
  CHECK(encode_block(0, 0, b).size() == 4 * sizeof(std::uint64_t) + doubles * sizeof(double) + 4 * sizeof(std::uint64_t));
}

TEST_CASE("a sweep of a world with markets stores their records and summaries per point, also through shards") {
  test::TempDir dir;
  const std::string scenario = dir / "markets.toml";
  std::ofstream(scenario) << kMarketWorld;
  const std::string sweep = dir / "sweep.toml";
  std::ofstream(sweep) << fmt::format("[sweep]\nscenario = \"{}\"\ntrials = 300\nseed = 2\n"
                                      "[[sweep.parameter]]\npath = \"operator.op.annual_fault_probability\"\n"
                                      "values = [0.1, 0.3, 0.5]\n",
                                      scenario);
  std::string err;
  REQUIRE(test::cli(fmt::format("sweep {} -o {} --records --threads 2", sweep, dir / "single.h5"), dir, nullptr, &err) == 0);
  {
    const h5::File f = h5::File::open_read_only(dir / "single.h5");
    CHECK(f.dims("trials/token_min_price") == std::vector<hsize_t>{3, 300, 1});
    CHECK(f.dims("trials/loss_at_market") == std::vector<hsize_t>{3, 300, 2});
    CHECK(f.dims("summary/lending/bad_debt_var95") == std::vector<hsize_t>{3, 2});
    CHECK(f.dims("summary/loss_at_market/es99") == std::vector<hsize_t>{3, 2});
    // Likelier faults, more losses, lower prices (the same draws at every point).
    const std::vector<double> min_price = f.read_doubles("summary/token/min_price_mean");
    REQUIRE(min_price.size() == 3);
    CHECK(min_price[0] < 1.0);
    CHECK(min_price[2] < min_price[0]);
  }
  const std::string p0 = dir / "p0.h5", p1 = dir / "p1.h5";
  REQUIRE(test::cli(fmt::format("sweep {} --shard 0/2 -o {} --records --threads 2 --block 70", sweep, p0), dir, nullptr, &err) == 0);
  REQUIRE(test::cli(fmt::format("sweep {} --shard 1/2 -o {} --records --threads 2 --block 70", sweep, p1), dir, nullptr, &err) == 0);
  REQUIRE(test::cli(fmt::format("merge {} {} -o {}", p0, p1, dir / "merged.h5"), dir, nullptr, &err) == 0);
  test::same_file(dir / "single.h5", dir / "merged.h5");
}
