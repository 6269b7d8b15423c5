#include "io/results.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <tbb/parallel_for.h>

#include "io/atomic_file.hpp"
#include "io/h5.hpp"
#include "io/output_helpers.hpp"
#include "io/outputs.hpp"

namespace restake {

namespace {

using detail::collect;
using detail::kOwnAsset;
using detail::utc_now;


}  // namespace

struct ResultsWriter::Impl {
  AtomicFile out;  // first: removes the temporary after everything below has closed it
  ResultsMeta meta;
  WriterOptions options;
  std::optional<h5::File> file;
  // One per trial_records(present) entry, with options.records.
  std::vector<std::pair<h5::RowAppender, std::vector<double> TrialBlock::*>> records;
  // Rows appended and not yet written, per records entry: they wait to fill a chunk, which is
  // compressed on every thread and written whole (write_chunks); the last, partial chunk goes
  // through HDF5 at the end (flush_records).
  std::vector<std::vector<double>> pending;
  std::uint64_t trials = 0;  // appended so far

  void write_chunks();
  void flush_records();

  Impl(const std::string& path, const Model& m, const ResultsMeta& me, const WriterOptions& o)
      : out(path), meta(me), options(o) {
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
    if (meta.info.weighted()) write_tilt(f, meta.info.tilt);  // a plain run's file stays as it was

    write_entity_labels(f, m);
    f.open_group("holders").write_doubles("value", collect(m.holders, [](const Holder& h) { return h.value(); }),
                                          {m.holders.size()}, kOwnAsset);
    f.open_group("pools").write_doubles("balance", collect(m.coverage_pools, [](const CoveragePool& p) { return p.balance; }),
                                        {m.coverage_pools.size()}, kOwnAsset);
    std::vector<double> prices;
    for (std::size_t a = 0; a < kAssetCount; ++a) prices.push_back(m.usd_price[a] > 0 ? m.usd_price[a] : std::nan(""));
    f.open_group("assets").write_doubles("usd_price", prices, {kAssetCount}, "USD per unit (NaN: not given)");
    label_axes(f, "holders/value", std::array{Dim::Holder});
    label_axes(f, "pools/balance", std::array{Dim::Pool});
    label_axes(f, "assets/usd_price", std::array{Dim::Asset});
    if (!m.lending_markets.empty()) {
      f.open_group("lending_markets")
          .write_doubles("debt_eth", collect(m.lending_markets, [](const LendingMarketSpec& l) { return l.debt_eth; }),
                         {m.lending_markets.size()}, "ETH");
      label_axes(f, "lending_markets/debt_eth", std::array{Dim::Lending});
    }

    if (!o.records) return;
    f.create_group("trials");
    const Extents e = Extents::of(RecordShape::of(m));
    for (const TrialRecordSpec* r : trial_records(Presence::of(RecordShape::of(m), meta.info.weighted()))) {
      const std::vector<hsize_t> trailing = h5_dims(r->out.shape.dims().subspan(1), e);
      records.emplace_back(h5::RowAppender(f, r->out.path, trailing, chunk_rows(trailing), o.deflate_level, r->out.unit), r->field);
      label_axes(f, r->out.path, r->out.shape.dims());
    }
    pending.resize(records.size());
  }

  static hsize_t chunk_rows(const std::vector<hsize_t>& trailing) {
    return detail::chunk_trials(std::accumulate(trailing.begin(), trailing.end(), hsize_t{1}, std::multiplies<>()));
  }
};

void ResultsWriter::Impl::write_chunks() {
  // Every whole chunk waiting, of every record, compressed in parallel; then written in order.
  struct Job {
    std::size_t record;
    hsize_t chunk;  // within the record's pending rows
    std::vector<unsigned char> bytes;
  };
  std::vector<Job> jobs;
  for (std::size_t r = 0; r < records.size(); ++r) {
    const h5::RowAppender& a = records[r].first;
    if (a.row_size() == 0) continue;
    for (hsize_t c = 0; c < pending[r].size() / (a.chunk_rows() * a.row_size()); ++c) jobs.push_back({r, c, {}});
  }
  if (jobs.empty()) return;
  tbb::parallel_for(std::size_t{0}, jobs.size(), [&](std::size_t j) {
    const h5::RowAppender& a = records[jobs[j].record].first;
    const std::size_t size = a.chunk_rows() * a.row_size();
    jobs[j].bytes = a.filter_chunk(std::span<const double>(pending[jobs[j].record]).subspan(jobs[j].chunk * size, size));
  });
  for (Job& job : jobs) {
    records[job.record].first.append_filtered_chunk(job.bytes);
    job.bytes = {};
  }
  // Each record keeps the rows past its last whole chunk.
  for (std::size_t r = 0; r < records.size(); ++r) {
    const h5::RowAppender& a = records[r].first;
    if (a.row_size() == 0) continue;
    const std::size_t chunk = a.chunk_rows() * a.row_size();
    pending[r].erase(pending[r].begin(), pending[r].begin() + static_cast<std::ptrdiff_t>(pending[r].size() / chunk * chunk));
  }
}

void ResultsWriter::Impl::flush_records() {
  for (std::size_t r = 0; r < records.size(); ++r) {
    h5::RowAppender& a = records[r].first;
    if (a.row_size() == 0) continue;
    const hsize_t rows = pending[r].size() / a.row_size();
    a.append(pending[r], rows);
    pending[r].clear();
  }
}

ResultsWriter::ResultsWriter(const std::string& path, const Model& m, const ResultsMeta& meta, const WriterOptions& o)
    : impl_(std::make_unique<Impl>(path, m, meta, o)) {}

ResultsWriter::~ResultsWriter() = default;

void ResultsWriter::append(const TrialBlock& b) {
  Impl& d = *impl_;
  if (d.meta.info.weighted() != !b.weight.empty())
    throw std::logic_error(fmt::format("{}: a {} block for the file of a {} run", d.out.target(), b.weight.empty() ? "plain" : "weighted",
                                       d.meta.info.weighted() ? "weighted" : "plain"));
  for (std::size_t r = 0; r < d.records.size(); ++r) {
    auto& [appender, field] = d.records[r];
    const std::vector<double>& rows = b.*field;
    if (appender.row_size() == 0) {
      appender.append(rows, b.count);  // only the extent grows
      continue;
    }
    if (rows.size() != b.count * appender.row_size())
      throw std::logic_error(fmt::format("{}: a block of {} trials with {} values of a record of {} per trial", d.out.target(), b.count,
                                         rows.size(), appender.row_size()));
    d.pending[r].insert(d.pending[r].end(), rows.begin(), rows.end());
  }
  d.write_chunks();
  d.trials += b.count;
}

void ResultsWriter::count_unrecorded(std::uint64_t trials) {
  Impl& d = *impl_;
  if (d.options.records) throw std::logic_error(d.out.target() + ": trials counted without their records");
  d.trials += trials;
}

QuantileSource ResultsWriter::record_columns() {
  Impl& d = *impl_;
  if (!d.options.records) throw std::logic_error(d.out.target() + ": written without per-trial records");
  d.flush_records();  // the last, partial chunks: every row in the file before it is read
  // Read through the open file: what was appended is visible to it before any flush.
  // Asked holder after holder (loss, then net return): each dataset read whole once while it fits.
  const auto columns = std::make_shared<h5::ColumnReader>(*d.file);
  QuantileSource cols;
  cols.loss_fraction = [columns](std::size_t h) { return columns->column(trial_record(&TrialBlock::loss_fraction).out.path, h); };
  cols.net_return = [columns](std::size_t h) { return columns->column(trial_record(&TrialBlock::net_return).out.path, h); };
  if (d.meta.info.weighted())
    cols.weight = [columns] { return columns->column(trial_record(&TrialBlock::weight).out.path, 0); };
  cols.market = [columns](std::vector<double> TrialBlock::*field, std::size_t i) { return columns->column(trial_record(field).out.path, i); };
  return cols;
}

void ResultsWriter::write_price_paths(const PricePaths& p, std::size_t asked) {
  Impl& d = *impl_;
  const h5::File& f = *d.file;
  Extents e;
  e.tokens = p.of_token.size();
  e.worst = p.of_token.empty() ? 0 : p.of_token.front().size();
  e.path_points = p.points();
  std::vector<std::uint64_t> trial, token, rank, episode;
  std::vector<double> min_price, day, price, nav;
  for (std::size_t k = 0; k < e.tokens; ++k) {
    if (p.of_token[k].size() != e.worst)
      throw std::logic_error(fmt::format("{}: price paths of {} trials for token {}, {} for the first", d.out.target(),
                                         p.of_token[k].size(), k, e.worst));
    for (std::size_t r = 0; r < e.worst; ++r) {
      const WorstTrialPaths& w = p.of_token[k][r];
      trial.push_back(w.ranked.trial);
      min_price.push_back(w.ranked.min_price);
      for (const EpisodePath& ep : w.episodes)
        for (const MarketPathPoint& q : ep.points) {
          token.push_back(k);
          rank.push_back(r);
          episode.push_back(ep.episode);
          day.push_back(q.day);
          price.push_back(q.price_eth);
          nav.push_back(q.nav_eth);
        }
    }
  }
  f.create_group("price_paths").set_attr("asked", static_cast<std::uint64_t>(asked));
  const auto write = [&](const char* path, const auto& values) {
    const OutputSpec& o = price_path_output(path);
    const std::vector<hsize_t> dims = h5_dims(o.shape.dims(), e);
    if constexpr (std::is_same_v<std::decay_t<decltype(values)>, std::vector<std::uint64_t>>) f.write_uint64s(path, values, dims, o.unit);
    else f.write_doubles(path, values, dims, o.unit);
    label_axes(f, path, o.shape.dims());
  };
  write("price_paths/trial", trial);
  write("price_paths/min_price", min_price);
  write("price_paths/token", token);
  write("price_paths/rank", rank);
  write("price_paths/episode", episode);
  write("price_paths/day", day);
  write("price_paths/price", price);
  write("price_paths/nav", nav);
}

void ResultsWriter::finish(const RunSummary& s) {
  Impl& d = *impl_;
  if (d.trials != d.meta.info.trials || s.info.trials != d.meta.info.trials)
    throw std::runtime_error(fmt::format("{}: {} trials written and {} summarized, expected {}", d.out.target(), d.trials,
                                         s.info.trials, d.meta.info.trials));
  d.flush_records();
  const std::array runs{&s};
  write_summaries(*d.file, runs, false, true);
  if (s.tail) write_tail(*d.file, s, s.holders.at(s.info.tail->holder).name);
  d.file->set_attr("complete", std::int64_t{1});
  d.records.clear();
  d.file->close();
  d.out.commit();
}

RunSummary read_summary(const std::string& path) {
  const h5::File f = h5::File::open_read_only(path);
  if (!f.exists("summary") || f.attr_string("file_type") != kResultsFileType)
    throw std::runtime_error(fmt::format("{}: not a restake-sim results file", path));
  const std::int64_t version = f.attr_int("format_version");
  if (version != kResultsFormatVersion)
    throw std::runtime_error(fmt::format("{}: results format version {} is not supported (this program reads version {})",
                                         path, version, kResultsFormatVersion));
  // The writer sets complete = 1 last: 0 is a run that never finished, whatever else the file holds.
  if (const std::int64_t complete = f.attr_int("complete"); complete != 1)
    throw std::runtime_error(fmt::format("{}: marked incomplete (complete = {}): the run writing it did not finish", path, complete));
  RunSummary s;
  s.info.scenario_name = f.attr_string("scenario_name");
  s.info.program_version = f.attr_string("program_version");
  s.info.git_commit = f.attr_string("git_commit");
  s.info.seed = f.attr_uint("seed");
  s.info.trials = f.attr_uint("trials");
  s.info.horizon_days = f.attr_double("horizon_days");
  try {
    s.info.tilt = read_tilt_if_weighted(f);  // absent from a plain run's file: every trial weighs 1
    if (f.exists("trials")) (void)check_weight_shape(f, s.info.trials, s.info.weighted());
  } catch (const h5::Error& e) {
    throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
  }

  // Every entity dataset is checked against its axis before any element is used: a damaged or
  // hostile file must not index past the end of an array.
  const auto count = [&](const char* names) {
    const std::vector<hsize_t> dims = f.dims(names);
    if (dims.size() != 1)
      throw std::runtime_error(fmt::format("{}: /{} has shape [{}], expected one axis", path, names, fmt::join(dims, ", ")));
    return static_cast<std::size_t>(dims[0]);
  };
  const std::size_t H = count("holders/names"), A = count("avs/names"), P = count("pools/names");
  // The market layer's entities exist only in the files of runs that have them.
  const std::size_t K = f.exists("tokens/names") ? count("tokens/names") : 0;
  const std::size_t L = f.exists("lending_markets/names") ? count("lending_markets/names") : 0;
  try {
    read_tail(f, H, s);  // run --tail: its target and the estimates there
  } catch (const h5::Error& e) {
    throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
  }
  struct EntityDataset {
    const char* dataset;
    std::size_t length;
    const char* axis;
  };
  std::vector<EntityDataset> entity_datasets = {
      {"holders/names", H, "holder"}, {"holders/kinds", H, "holder"},      {"holders/assets", H, "holder"},
      {"holders/value", H, "holder"}, {"avs/names", A, "AVS"},             {"avs/assets", A, "AVS"},
      {"pools/names", P, "pool"},     {"pools/assets", P, "pool"},         {"pools/balance", P, "pool"},
      {"assets/names", kAssetCount, "asset"}, {"assets/usd_price", kAssetCount, "asset"},
  };
  if (K > 0) entity_datasets.push_back({"tokens/holders", K, "token"});
  if (L > 0) {
    entity_datasets.push_back({"lending_markets/tokens", L, "lending market"});
    entity_datasets.push_back({"lending_markets/debt_eth", L, "lending market"});
  }
  for (const auto& d : entity_datasets)
    if (const std::vector<hsize_t> dims = f.dims(d.dataset); dims != std::vector<hsize_t>{d.length})
      throw std::runtime_error(fmt::format("{}: /{} has shape [{}], expected [{}] (one per {}{})", path, d.dataset,
                                           fmt::join(dims, ", "), d.length, d.axis,
                                           d.axis == std::string("asset") ? "" : ", as many as names"));

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
  // Entities first (names from the index datasets), then every declared summary into them.
  for (std::size_t h = 0; h < names.size(); ++h) {
    HolderSummary hs;
    hs.name = names[h];
    hs.kind = kinds[h];
    hs.asset = holder_assets[h];
    hs.value = values[h];
    hs.usd_price = price_of(hs.asset);
    s.holders.push_back(std::move(hs));
  }
  const h5::Group ag = f.open_group("avs");
  const auto avs_names = ag.read_strings("names"), avs_assets = ag.read_strings("assets");
  for (std::size_t a = 0; a < avs_names.size(); ++a)
    s.avs.push_back({avs_names[a], avs_assets[a], 0.0, 0.0, std::vector<double>(names.size())});
  const h5::Group pg = f.open_group("pools");
  const auto pool_names = pg.read_strings("names"), pool_assets = pg.read_strings("assets");
  const auto balances = pg.read_doubles("balance");
  for (std::size_t p = 0; p < pool_names.size(); ++p) s.pools.push_back({pool_names[p], pool_assets[p], balances[p], 0.0, 0.0});
  if (K > 0) {
    const h5::Group tg = f.open_group("tokens");
    const auto token_names = tg.read_strings("names"), token_holders = tg.read_strings("holders");
    for (std::size_t k = 0; k < K; ++k) {
      TokenSummary ts;
      ts.name = token_names[k];
      ts.holder = token_holders[k];
      s.tokens.push_back(std::move(ts));
    }
  }
  if (L > 0) {
    const h5::Group lg = f.open_group("lending_markets");
    const auto lending_names = lg.read_strings("names"), lending_tokens = lg.read_strings("tokens");
    const auto debt = lg.read_doubles("debt_eth");
    for (std::size_t l = 0; l < L; ++l) {
      LendingSummary ls;
      ls.name = lending_names[l];
      ls.token = lending_tokens[l];
      ls.debt_eth = debt[l];
      ls.usd_price = price_of("ETH");
      s.lending.push_back(std::move(ls));
    }
  }
  // run --threshold: the axis of the P(loss >= x) datasets, before they are read into the holders.
  if (const char* scale = dimension(Dim::Threshold).scale; f.exists(scale)) {
    if (const std::vector<hsize_t> dims = f.dims(scale); dims.size() != 1)
      throw std::runtime_error(fmt::format("{}: /{} has shape [{}], expected one axis", path, scale, fmt::join(dims, ", ")));
    s.info.thresholds = f.read_doubles(scale);
    for (std::size_t k = 0; k < s.info.thresholds.size(); ++k)
      if (const double x = s.info.thresholds[k]; !(x > 0.0 && x <= 1.0) || (k > 0 && !(x > s.info.thresholds[k - 1])))
        throw std::runtime_error(fmt::format("{}: /{}[{}] is {}, expected ascending losses in (0, 1]", path, scale, k, x));
    for (HolderSummary& h : s.holders) h.loss.exceedance.resize(s.info.thresholds.size());
  }
  // run --contributions: the operator axis, then every holder's contributions sized to it.
  if (f.exists("summary/contributions")) {
    const char* scale = dimension(Dim::Operator).scale;
    if (!f.exists(scale)) throw std::runtime_error(fmt::format("{}: /summary/contributions but no /{}", path, scale));
    s.operators = f.read_strings(scale);
    s.contributions = true;
    for (HolderSummary& h : s.holders)
      for (Contributions* c : {&h.contributions.es99, &h.contributions.var99}) {
        c->avs.assign(s.avs.size(), 0.0);
        c->op.assign(s.operators.size(), 0.0);
      }
  }
  std::vector<std::string> missing_summaries;
  try {
    missing_summaries = read_summaries(f, s);
  } catch (const h5::Error& e) {
    throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
  }
  for (const std::string& missing : missing_summaries) {
    // Files written before the exact AVS x holder losses have none: their rows stay empty.
    if (missing == "summary/avs_holder_loss_mean") {
      for (AvsSummary& a : s.avs) a.holder_loss_mean.clear();
      continue;
    }
    // Nor before the books' concentration and the losses' timing: NaN, which the table leaves out.
    if (missing.starts_with("summary/concentration/") || missing.starts_with("summary/timing/")) {
      const double nan = std::nan("");
      for (HolderSummary& h : s.holders) {
        if (missing.starts_with("summary/concentration/")) h.concentration = {nan, nan, nan, nan};
        else h.timing = {nan, nan, nan};
      }
      continue;
    }
    throw std::runtime_error(fmt::format("{}: no /{}", path, missing));
  }
  return s;
}

void set_thresholds_from_records(const std::string& path, const std::vector<double>& thresholds, RunSummary& s) {
  const h5::File f = h5::File::open_read_only(path);
  const char* loss = trial_record(&TrialBlock::loss_fraction).out.path;
  if (f.attr_int("records") != 1 || !f.exists(loss))
    throw std::runtime_error(fmt::format("{}: no per-trial records (a run with --no-records), so P(loss >= x) can only be had at "
                                         "the thresholds its run was given (run --threshold)", path));
  const std::size_t H = s.holders.size();
  try {
    if (const std::vector<hsize_t> dims = f.dims(loss); dims != std::vector<hsize_t>{s.info.trials, H})
      throw h5::Error(fmt::format("/{} has shape [{}], expected [{}, {}] (trial, holder)", loss, fmt::join(dims, ", "), s.info.trials, H));
    const std::vector<double> w = read_weights(f, s.info.trials, s.info.weighted());
    s.info.thresholds = thresholds;
    for (std::size_t h = 0; h < H; ++h) s.holders[h].loss.exceedance = exceedances(f.read_column(loss, h), w, thresholds);
  } catch (const h5::Error& e) {
    throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
  }
}

}  // namespace restake
