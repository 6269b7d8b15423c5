#include "sweep/sweep_writer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "io/atomic_file.hpp"
#include "io/h5.hpp"
#include "io/output_helpers.hpp"
#include "io/outputs.hpp"
#include "trial/engine.hpp"

namespace restake {

namespace {

using detail::collect;
using detail::kOwnAsset;
using detail::utc_now;



void check(herr_t r, const std::string& what) {
  if (r < 0) throw h5::Error(what);
}

// A fixed-size dataset [points, trials, ...trailing] of doubles, chunked one point and
// `chunk_trials` trials at a time and written block by block. (h5::RowAppender grows along its
// first axis; here the shape is known up front and the point axis comes first.)
class PointTrialArray {
 public:
  PointTrialArray(const h5::Group& where, const std::string& name, hsize_t points, hsize_t trials,
                  const std::vector<hsize_t>& trailing, hsize_t chunk_trials, int deflate_level, const std::string& unit)
      : name_("/" + name) {
    dims_ = {points, trials};
    dims_.insert(dims_.end(), trailing.begin(), trailing.end());
    std::vector<hsize_t> chunk = {1, std::max<hsize_t>(1, std::min(trials, chunk_trials))};
    for (const hsize_t t : trailing) chunk.push_back(std::max<hsize_t>(1, t));
    const h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    check(H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data()), "cannot set chunks of " + name_);
    if (deflate_level > 0) {
      check(H5Pset_shuffle(dcpl.id()), "cannot set shuffle filter on " + name_);
      check(H5Pset_deflate(dcpl.id(), static_cast<unsigned>(deflate_level)), "cannot set deflate filter on " + name_);
    }
    const h5::Handle space(H5Screate_simple(static_cast<int>(dims_.size()), dims_.data(), nullptr), H5Sclose);
    ds_ = h5::Handle(H5Dcreate2(where.id(), name.c_str(), H5T_IEEE_F64LE, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                     H5Dclose);
    if (!ds_.valid()) throw h5::Error("cannot create dataset " + name_);
    where.set_dataset_attr(name, "units", unit);
  }

  // `rows` trials of one point from `first_trial`; data is row-major rows x trailing.
  void write(hsize_t point, hsize_t first_trial, std::span<const double> data, hsize_t rows) {
    std::vector<hsize_t> start(dims_.size(), 0), count = dims_;
    start[0] = point;
    start[1] = first_trial;
    count[0] = 1;
    count[1] = rows;
    hsize_t n = 1;
    for (const hsize_t c : count) n *= c;
    if (n == 0) return;
    if (data.size() != n) throw std::logic_error("PointTrialArray::write: wrong data size for " + name_);
    const h5::Handle file_space(H5Dget_space(ds_.id()), H5Sclose);
    check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
          "cannot select rows of " + name_);
    const h5::Handle mem_space(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
    check(H5Dwrite(ds_.id(), H5T_NATIVE_DOUBLE, mem_space.id(), file_space.id(), H5P_DEFAULT, data.data()),
          "cannot write " + name_);
  }

 private:
  std::string name_;
  std::vector<hsize_t> dims_;
  h5::Handle ds_;
};

std::vector<Dim> with_point_axis(std::span<const Dim> dims) {
  std::vector<Dim> out{Dim::Point};
  out.insert(out.end(), dims.begin(), dims.end());
  return out;
}

// [P, n] (or [P, n, m]) datasets from a per-point getter of n (or n*m) values.
template <class F>
std::vector<double> stack(std::size_t points, F&& per_point) {
  std::vector<double> out;
  for (std::size_t p = 0; p < points; ++p) {
    const auto row = per_point(p);
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}


}  // namespace

std::uint64_t sweep_chunk_trials(const RecordShape& shape) {
  const Extents e = Extents::of(shape);
  hsize_t widest = 1;
  for (const TrialRecordSpec* r : trial_records(Presence::of(shape, true))) {
    const std::vector<hsize_t> row = h5_dims(r->out.shape.dims().subspan(1), e);
    widest = std::max(widest, std::accumulate(row.begin(), row.end(), hsize_t{1}, std::multiplies<>()));
  }
  return detail::chunk_trials(widest);
}

std::size_t sweep_block_trials(const RecordShape& shape) {
  const std::size_t chunk = static_cast<std::size_t>(sweep_chunk_trials(shape));
  return std::max<std::size_t>(1, block_trials_for(shape) / chunk) * chunk;
}

struct SweepWriter::Impl {
  AtomicFile out;  // first: removes the temporary after everything below has closed it
  std::size_t P = 0, H = 0;
  SweepWriterOptions options;
  std::optional<h5::File> file;
  bool weighted = false;
  Presence present;
  std::vector<PointTrialArray> records;  // one per trial_records(present) entry, with options.records
  std::vector<std::optional<RunSummary>> summaries;
  std::vector<std::vector<double>> holder_value, pool_balance, usd_price;  // [P][...]
  std::vector<double> horizon_days;                                       // [P]

  Impl(const std::string& path, const Sweep& sw, const Model& m, const SweepMeta& meta, const SweepWriterOptions& o)
      : out(path),
        P(sw.points.size()),
        H(m.holders.size()),
        options(o),
        weighted(meta.tilt.active()),
        present(Presence::of(RecordShape::of(m), weighted)) {
    summaries.resize(P);
    holder_value.resize(P);
    pool_balance.resize(P);
    usd_price.resize(P);
    horizon_days.assign(P, 0.0);
    file.emplace(h5::File::create(out.path()));
    const h5::File& f = *file;
    f.set_attr("file_type", kSweepFileType);
    const bool categorical = std::any_of(sw.parameters.begin(), sw.parameters.end(), [](const auto& q) { return q.categorical(); });
    f.set_attr("format_version", categorical ? kSweepFormatVersionCategorical : kSweepFormatVersion);
    f.set_attr("program_version", meta.program_version);
    f.set_attr("git_commit", meta.git_commit);
    f.set_attr("sweep_path", meta.sweep_path);
    f.set_attr("sweep_text", sw.text);
    f.set_attr("scenario_path", sw.scenario_path);
    f.set_attr("scenario_text", sw.scenario_text);
    f.set_attr("scenario_name", m.simulation.name);
    f.set_attr("mode", to_string(sw.mode));
    if (sw.mode == SweepMode::Lhs) f.set_attr("lhs_seed", sw.lhs_seed);
    f.set_attr("seed", meta.seed);
    f.set_attr("trials", meta.trials);
    f.set_attr("points", static_cast<std::uint64_t>(P));
    f.set_attr("created_utc", utc_now());
    f.set_attr("complete", std::int64_t{0});
    f.set_attr("records", std::int64_t{o.records ? 1 : 0});
    f.set_attr("quantile_relative_error", o.quantile_relative_error);
    if (weighted) write_tilt(f, meta.tilt);  // a plain sweep's file stays as it was

    const h5::Group points = f.create_group("points");
    std::vector<std::string> names, keys;
    for (const auto& p : sw.parameters) {
      names.push_back(p.path);
      keys.push_back(p.scenario_key);
    }
    points.write_strings("parameters", names);
    points.write_strings("scenario_keys", keys);
    const hsize_t K = sw.parameters.size();
    points.write_doubles("values", stack(P, [&](std::size_t p) { return sw.points[p]; }), {P, K},
                         "each parameter's own unit (docs/scenario-format.md); strings and booleans: index of the label");
    std::vector<std::string> labels;  // [P, K]: each value as written into the scenario
    for (std::size_t p = 0; p < P; ++p)
      for (std::size_t k = 0; k < K; ++k) labels.push_back(sw.parameters[k].text(sw.points[p][k]));
    points.write_strings("labels", labels, {P, K});
    std::vector<std::string> parameter_kinds;
    for (const auto& p : sw.parameters) parameter_kinds.emplace_back(p.kind_name());
    points.write_strings("kinds", parameter_kinds);
    std::vector<std::string> point_names;  // the scale of the point axis
    for (std::size_t p = 0; p < P; ++p) point_names.push_back(sw.describe_point(p));
    points.write_strings("names", point_names);

    write_entity_labels(f, m);

    if (!o.records) return;
    f.create_group("trials");
    const Extents e = Extents::of(RecordShape::of(m));
    const hsize_t chunk_trials = sweep_chunk_trials(RecordShape::of(m));
    for (const TrialRecordSpec* r : trial_records(present)) {
      const std::vector<hsize_t> trailing = h5_dims(r->out.shape.dims().subspan(1), e);
      records.emplace_back(f, r->out.path, P, meta.trials, trailing, chunk_trials, o.deflate_level, r->out.unit);
      label_axes(f, r->out.path, with_point_axis(r->out.shape.dims()));
    }
  }

  void write_summary() {
    const h5::File& f = *file;
    std::vector<const RunSummary*> s;
    for (const auto& x : summaries) s.push_back(&*x);
    const hsize_t H = s[0]->holders.size(), Q = s[0]->pools.size(), S = kAssetCount;
    f.open_group("points").write_doubles("horizon_days", horizon_days, {P}, "days");
    f.open_group("holders").write_doubles("value", stack(P, [&](std::size_t p) { return holder_value[p]; }), {P, H}, kOwnAsset);
    f.open_group("pools").write_doubles("balance", stack(P, [&](std::size_t p) { return pool_balance[p]; }), {P, Q}, kOwnAsset);
    f.open_group("assets").write_doubles("usd_price", stack(P, [&](std::size_t p) { return usd_price[p]; }), {P, S},
                                         "USD per unit (NaN: not given)");

    label_axes(f, "points/horizon_days", std::array{Dim::Point});
    label_axes(f, "holders/value", std::array{Dim::Point, Dim::Holder});
    label_axes(f, "pools/balance", std::array{Dim::Point, Dim::Pool});
    label_axes(f, "assets/usd_price", std::array{Dim::Point, Dim::Asset});
    write_summaries(f, s, true, true);
  }
};

SweepWriter::SweepWriter(const std::string& path, const Sweep& sweep, const Model& first, const SweepMeta& meta,
                         const SweepWriterOptions& o)
    : impl_(std::make_unique<Impl>(path, sweep, first, meta, o)) {}

SweepWriter::~SweepWriter() = default;

void SweepWriter::append(std::size_t point, const TrialBlock& b) {
  Impl& d = *impl_;
  if (d.weighted != !b.weight.empty())
    throw std::logic_error(fmt::format("{}: a {} block for a {} sweep", d.out.target(), b.weight.empty() ? "plain" : "weighted",
                                       d.weighted ? "weighted" : "plain"));
  if (!d.options.records) return;
  const auto specs = trial_records(d.present);
  for (std::size_t k = 0; k < d.records.size(); ++k) d.records[k].write(point, b.first_trial, b.*specs[k]->field, b.count);
}

PointResult point_result(const Model& m, RunSummary summary) {
  PointResult r;
  r.summary = std::move(summary);
  r.holder_value = collect(m.holders, [](const Holder& h) { return h.value(); });
  r.pool_balance = collect(m.coverage_pools, [](const CoveragePool& p) { return p.balance; });
  for (std::size_t a = 0; a < kAssetCount; ++a) r.usd_price.push_back(m.usd_price[a] > 0 ? m.usd_price[a] : std::nan(""));
  r.horizon_days = m.simulation.horizon_days;
  return r;
}

void SweepWriter::add_point(std::size_t point, const Model& m, const RunSummary& summary) {
  add_point(point, point_result(m, summary));
}

void SweepWriter::add_point(std::size_t point, PointResult r) {
  Impl& d = *impl_;
  if (point >= d.P) throw std::logic_error("SweepWriter::add_point: no such point");
  if (r.summary.holders.size() != d.H) throw std::logic_error("SweepWriter::add_point: the points' holders differ");
  if (r.summary.info.weighted() != d.weighted) throw std::logic_error("SweepWriter::add_point: a plain point in a weighted sweep, or back");
  d.summaries[point] = std::move(r.summary);
  d.holder_value[point] = std::move(r.holder_value);
  d.pool_balance[point] = std::move(r.pool_balance);
  d.usd_price[point] = std::move(r.usd_price);
  d.horizon_days[point] = r.horizon_days;
}

void SweepWriter::finish() {
  Impl& d = *impl_;
  for (std::size_t p = 0; p < d.P; ++p)
    if (!d.summaries[p]) throw std::runtime_error(fmt::format("{}: point {} was not simulated", d.out.target(), p));
  d.write_summary();
  d.file->set_attr("complete", std::int64_t{1});
  d.records.clear();
  d.file->close();
  d.out.commit();
}

}  // namespace restake
