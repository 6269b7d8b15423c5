#include "io/results.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>

#include <fmt/format.h>

#include "io/atomic_file.hpp"
#include "io/h5.hpp"
#include "io/output_helpers.hpp"

namespace restake {

namespace {

using detail::collect;
using detail::kOwnAsset;
using detail::utc_now;

constexpr hsize_t kChunkTrials = 16384;


std::vector<std::string> cause_names() {
  std::vector<std::string> out;
  for (std::size_t c = 0; c < kLossCauseCount; ++c) out.emplace_back(to_string(static_cast<LossCause>(c)));
  return out;
}


}  // namespace

struct ResultsWriter::Impl {
  AtomicFile out;  // first: removes the temporary after everything below has closed it
  const Model& model;
  ResultsMeta meta;
  std::optional<h5::File> file;
  std::optional<h5::RowAppender> loss, ret, covered, causes, avs_lost, pool_drawdown;
  WriterOptions options;
  Tally tally;

  Impl(const std::string& path, const Model& m, const ResultsMeta& me, const WriterOptions& o)
      : out(path),
        model(m),
        meta(me),
        options(o),
        tally(m, o.records ? 0.0 : o.sketch_accuracy) {
    file.emplace(h5::File::create(out.path()));
    const h5::File& f = *file;
    f.set_attr("file_type", kResultsFileType);
    f.set_attr("format_version", kResultsFormatVersion);
    f.set_attr("program_version", meta.info.program_version);
    f.set_attr("git_commit", meta.info.git_commit);
    f.set_attr("scenario_name", meta.info.scenario_name);
    f.set_attr("scenario_path", meta.scenario_path);
    f.set_attr("scenario_text", meta.scenario_text);
    f.set_attr("seed", meta.info.seed);
    f.set_attr("trials", meta.info.trials);
    f.set_attr("horizon_days", meta.info.horizon_days);
    f.set_attr("created_utc", utc_now());
    f.set_attr("complete", std::int64_t{0});
    f.set_attr("records", std::int64_t{o.records ? 1 : 0});
    f.set_attr("quantile_relative_error", o.records ? 0.0 : o.sketch_accuracy);

    const h5::Group holders = f.create_group("holders");
    std::vector<std::string> names, kinds, assets;
    for (const auto& h : m.holders) {
      names.push_back(h.name);
      kinds.emplace_back(to_string(h.kind));
      assets.emplace_back(to_string(h.asset));
    }
    holders.write_strings("names", names);
    holders.write_strings("kinds", kinds);
    holders.write_strings("assets", assets);
    holders.write_doubles("value", collect(m.holders, [](const Holder& h) { return h.value(); }), {m.holders.size()},
                          kOwnAsset);
    const h5::Group avs = f.create_group("avs");
    std::vector<std::string> avs_names, avs_assets;
    for (const auto& a : m.avs) {
      avs_names.push_back(a.name);
      avs_assets.emplace_back(to_string(a.asset));
    }
    avs.write_strings("names", avs_names);
    avs.write_strings("assets", avs_assets);
    const h5::Group pools = f.create_group("pools");
    std::vector<std::string> pool_names, pool_assets;
    for (const auto& p : m.coverage_pools) {
      pool_names.push_back(p.name);
      pool_assets.emplace_back(to_string(p.asset));
    }
    pools.write_strings("names", pool_names);
    pools.write_strings("assets", pool_assets);
    pools.write_doubles("balance", collect(m.coverage_pools, [](const CoveragePool& p) { return p.balance; }), {m.coverage_pools.size()}, kOwnAsset);
    const h5::Group asset_group = f.create_group("assets");
    std::vector<std::string> asset_names;
    std::vector<double> prices;
    for (std::size_t a = 0; a < kAssetCount; ++a) {
      asset_names.emplace_back(to_string(static_cast<Asset>(a)));
      prices.push_back(m.usd_price[a] > 0 ? m.usd_price[a] : std::nan(""));
    }
    asset_group.write_strings("names", asset_names);
    asset_group.write_doubles("usd_price", prices, {kAssetCount}, "USD per unit (NaN: not given)");
    f.write_strings("loss_causes", cause_names());

    if (!o.records) return;
    const int deflate = o.deflate_level;
    const h5::Group t = f.create_group("trials");
    const hsize_t H = m.holders.size();
    loss.emplace(t, "loss_fraction", std::vector<hsize_t>{H}, kChunkTrials, deflate, "fraction of initial value");
    ret.emplace(t, "net_return", std::vector<hsize_t>{H}, kChunkTrials, deflate, "fraction of initial value");
    covered.emplace(t, "covered_fraction", std::vector<hsize_t>{H}, kChunkTrials, deflate, "fraction of initial value");
    causes.emplace(t, "loss_by_cause", std::vector<hsize_t>{H, kLossCauseCount}, kChunkTrials, deflate,
                   "fraction of initial value");
    avs_lost.emplace(t, "avs_stake_lost", std::vector<hsize_t>{m.avs.size()}, kChunkTrials, deflate, kOwnAsset);
    pool_drawdown.emplace(t, "pool_drawdown", std::vector<hsize_t>{m.coverage_pools.size()}, kChunkTrials, deflate, kOwnAsset);
  }

  void write_summary(const RunSummary& s) {
    const h5::File& f = *file;
    const h5::Group g = f.create_group("summary");
    const hsize_t H = s.holders.size();
    const auto& hs = s.holders;
    const h5::Group loss_g = g.create_group("loss");
    const char* frac = "fraction of initial value";
    loss_g.write_doubles("mean", collect(hs, [](const auto& h) { return h.loss.moments.mean; }), {H}, frac);
    loss_g.write_doubles("stderr", collect(hs, [](const auto& h) { return h.loss.moments.stderr_mean; }), {H}, frac);
    loss_g.write_doubles("sd", collect(hs, [](const auto& h) { return h.loss.moments.sd; }), {H}, frac);
    loss_g.write_doubles("p_loss", collect(hs, [](const auto& h) { return h.loss.p_loss; }), {H}, "probability");
    loss_g.write_doubles("var95", collect(hs, [](const auto& h) { return h.loss.var95; }), {H}, frac);
    loss_g.write_doubles("var99", collect(hs, [](const auto& h) { return h.loss.var99; }), {H}, frac);
    loss_g.write_doubles("es95", collect(hs, [](const auto& h) { return h.loss.es95; }), {H}, frac);
    loss_g.write_doubles("es99", collect(hs, [](const auto& h) { return h.loss.es99; }), {H}, frac);
    std::vector<double> lq, rq, causes_mean;
    for (const auto& h : hs) {
      lq.insert(lq.end(), h.loss.quantiles.begin(), h.loss.quantiles.end());
      rq.insert(rq.end(), h.net_return.quantiles.begin(), h.net_return.quantiles.end());
      causes_mean.insert(causes_mean.end(), h.loss_by_cause_mean.begin(), h.loss_by_cause_mean.end());
    }
    loss_g.write_doubles("quantiles", lq, {H, kLossQuantileLevels.size()}, frac);
    loss_g.write_doubles("quantile_levels", kLossQuantileLevels, {kLossQuantileLevels.size()}, "probability");

    const h5::Group ret_g = g.create_group("net_return");
    ret_g.write_doubles("mean", collect(hs, [](const auto& h) { return h.net_return.moments.mean; }), {H}, frac);
    ret_g.write_doubles("stderr", collect(hs, [](const auto& h) { return h.net_return.moments.stderr_mean; }), {H}, frac);
    ret_g.write_doubles("sd", collect(hs, [](const auto& h) { return h.net_return.moments.sd; }), {H}, frac);
    ret_g.write_doubles("p_negative", collect(hs, [](const auto& h) { return h.net_return.p_negative; }), {H}, "probability");
    ret_g.write_doubles("quantiles", rq, {H, kReturnQuantileLevels.size()}, frac);
    ret_g.write_doubles("quantile_levels", kReturnQuantileLevels, {kReturnQuantileLevels.size()}, "probability");

    g.write_doubles("covered_mean", collect(hs, [](const auto& h) { return h.covered_mean; }), {H}, frac);
    g.write_doubles("loss_by_cause_mean", causes_mean, {H, kLossCauseCount}, frac);
    g.write_doubles("avs_stake_lost_mean", collect(s.avs, [](const auto& a) { return a.stake_lost_mean; }),
                    {s.avs.size()}, kOwnAsset);
    g.write_doubles("avs_p_slashed", collect(s.avs, [](const auto& a) { return a.p_slashed; }), {s.avs.size()},
                    "probability");
    g.write_doubles("avs_holder_loss_mean", avs_holder_loss_means(s), {s.avs.size(), H}, frac);
    g.write_doubles("pool_drawdown_mean", collect(s.pools, [](const auto& p) { return p.drawdown_mean; }),
                    {s.pools.size()}, kOwnAsset);
    g.write_doubles("pool_p_exhausted", collect(s.pools, [](const auto& p) { return p.p_exhausted; }),
                    {s.pools.size()}, "probability");
  }
};

ResultsWriter::ResultsWriter(const std::string& path, const Model& m, const ResultsMeta& meta, const WriterOptions& o)
    : impl_(std::make_unique<Impl>(path, m, meta, o)) {}

ResultsWriter::~ResultsWriter() = default;

void ResultsWriter::append(const TrialBlock& b) {
  impl_->tally.add(b);
  if (!impl_->options.records) return;
  const hsize_t n = b.count;
  impl_->loss->append(b.loss_fraction, n);
  impl_->ret->append(b.net_return, n);
  impl_->covered->append(b.covered_fraction, n);
  impl_->causes->append(b.loss_by_cause, n);
  impl_->avs_lost->append(b.avs_stake_lost, n);
  impl_->pool_drawdown->append(b.pool_drawdown, n);
}

RunSummary ResultsWriter::finish() {
  Impl& d = *impl_;
  const h5::File& f = *d.file;
  if (d.tally.trials != d.meta.info.trials)
    throw std::runtime_error(fmt::format("{}: simulated {} trials, expected {}", d.out.target(), d.tally.trials, d.meta.info.trials));
  const RunSummary s = [&] {
    if (!d.options.records) return summarize_run(d.model, d.meta.info, d.tally);
    const h5::Group t = f.open_group("trials");
    QuantileSource cols;
    cols.loss_fraction = [&](std::size_t h) { return t.read_column("loss_fraction", h); };
    cols.net_return = [&](std::size_t h) { return t.read_column("net_return", h); };
    return summarize_run(d.model, d.meta.info, d.tally, cols);
  }();
  d.write_summary(s);
  f.set_attr("complete", std::int64_t{1});
  d.loss.reset();
  d.ret.reset();
  d.covered.reset();
  d.causes.reset();
  d.avs_lost.reset();
  d.pool_drawdown.reset();
  d.file->close();
  d.out.commit();
  return s;
}

RunSummary read_summary(const std::string& path) {
  const h5::File f = h5::File::open_read_only(path);
  if (!f.exists("summary") || f.attr_string("file_type") != kResultsFileType)
    throw std::runtime_error(fmt::format("{}: not a restake-sim results file", path));
  const std::int64_t version = f.attr_int("format_version");
  if (version != kResultsFormatVersion)
    throw std::runtime_error(fmt::format("{}: results format version {} is not supported (this program reads version {})",
                                         path, version, kResultsFormatVersion));
  RunSummary s;
  s.info.scenario_name = f.attr_string("scenario_name");
  s.info.program_version = f.attr_string("program_version");
  s.info.git_commit = f.attr_string("git_commit");
  s.info.seed = f.attr_uint("seed");
  s.info.trials = f.attr_uint("trials");
  s.info.horizon_days = f.attr_double("horizon_days");

  const h5::Group holders = f.open_group("holders");
  const auto names = holders.read_strings("names");
  const auto kinds = holders.read_strings("kinds");
  const auto values = holders.read_doubles("value");
  const auto holder_assets = holders.read_strings("assets");
  const h5::Group asset_group = f.open_group("assets");
  const auto asset_names = asset_group.read_strings("names");
  const auto prices = asset_group.read_doubles("usd_price");
  auto price_of = [&](const std::string& asset) {
    for (std::size_t a = 0; a < asset_names.size(); ++a)
      if (asset_names[a] == asset && prices[a] == prices[a]) return prices[a];
    return 0.0;
  };
  const h5::Group g = f.open_group("summary");
  const h5::Group lg = g.open_group("loss");
  const h5::Group rg = g.open_group("net_return");
  const auto l_mean = lg.read_doubles("mean"), l_se = lg.read_doubles("stderr"), l_sd = lg.read_doubles("sd"),
             l_p = lg.read_doubles("p_loss"), v95 = lg.read_doubles("var95"), v99 = lg.read_doubles("var99"),
             e95 = lg.read_doubles("es95"), e99 = lg.read_doubles("es99"), lq = lg.read_doubles("quantiles");
  const auto r_mean = rg.read_doubles("mean"), r_se = rg.read_doubles("stderr"), r_sd = rg.read_doubles("sd"),
             r_neg = rg.read_doubles("p_negative"), rq = rg.read_doubles("quantiles");
  const auto covered = g.read_doubles("covered_mean");
  const auto causes = g.read_doubles("loss_by_cause_mean");
  for (std::size_t h = 0; h < names.size(); ++h) {
    HolderSummary hs;
    hs.name = names[h];
    hs.kind = kinds[h];
    hs.asset = holder_assets[h];
    hs.value = values[h];
    hs.usd_price = price_of(hs.asset);
    hs.loss.moments = {l_mean[h], l_sd[h], l_se[h]};
    hs.loss.p_loss = l_p[h];
    hs.loss.var95 = v95[h];
    hs.loss.var99 = v99[h];
    hs.loss.es95 = e95[h];
    hs.loss.es99 = e99[h];
    for (std::size_t q = 0; q < kLossQuantileLevels.size(); ++q) hs.loss.quantiles[q] = lq[h * kLossQuantileLevels.size() + q];
    hs.net_return.moments = {r_mean[h], r_sd[h], r_se[h]};
    hs.net_return.p_negative = r_neg[h];
    for (std::size_t q = 0; q < kReturnQuantileLevels.size(); ++q)
      hs.net_return.quantiles[q] = rq[h * kReturnQuantileLevels.size() + q];
    hs.covered_mean = covered[h];
    for (std::size_t c = 0; c < kLossCauseCount; ++c) hs.loss_by_cause_mean[c] = causes[h * kLossCauseCount + c];
    s.holders.push_back(std::move(hs));
  }
  const h5::Group ag = f.open_group("avs");
  const auto avs_names = ag.read_strings("names"), avs_assets = ag.read_strings("assets");
  const auto avs_lost = g.read_doubles("avs_stake_lost_mean"), avs_p = g.read_doubles("avs_p_slashed");
  // Files written before the exact AVS x holder losses have none: their rows stay empty.
  const std::size_t H = s.holders.size();
  const auto by_holder = g.exists("avs_holder_loss_mean") ? g.read_doubles("avs_holder_loss_mean") : std::vector<double>{};
  for (std::size_t a = 0; a < avs_names.size(); ++a)
    s.avs.push_back({avs_names[a], avs_assets[a], avs_lost[a], avs_p[a], avs_holder_row(by_holder, avs_names.size(), H, a)});
  const h5::Group pg = f.open_group("pools");
  const auto pool_names = pg.read_strings("names"), pool_assets = pg.read_strings("assets");
  const auto balances = pg.read_doubles("balance");
  const auto draw = g.read_doubles("pool_drawdown_mean"), exhausted = g.read_doubles("pool_p_exhausted");
  for (std::size_t p = 0; p < pool_names.size(); ++p)
    s.pools.push_back({pool_names[p], pool_assets[p], balances[p], draw[p], exhausted[p]});
  return s;
}

}  // namespace restake
