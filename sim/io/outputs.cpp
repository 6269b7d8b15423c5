#include "io/outputs.hpp"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace restake {

namespace {

// Creates the groups on the way to dataset `path`.
void create_parents(const h5::Group& root, const std::string& path) {
  for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string group = path.substr(0, slash);
    if (!root.exists(group)) root.create_group(group);
  }
}

void write_quantile_levels(const h5::Group& root) {
  const auto write = [&](Dim d, std::span<const double> levels) {
    const std::string path = dimension(d).scale;
    create_parents(root, path);
    root.write_doubles(path, levels, {levels.size()}, "probability");
  };
  write(Dim::LossQuantile, kLossQuantileLevels);
  write(Dim::ReturnQuantile, kReturnQuantileLevels);
}

}  // namespace

std::vector<hsize_t> h5_dims(std::span<const Dim> dims, const Extents& e) {
  std::vector<hsize_t> out;
  for (const std::size_t n : extents(dims, e)) out.push_back(n);
  return out;
}

void write_entity_labels(const h5::Group& root, const Model& m) {
  auto strings = [](const auto& items, auto field) {
    std::vector<std::string> out;
    for (const auto& x : items) out.emplace_back(field(x));
    return out;
  };
  const h5::Group holders = root.create_group("holders");
  holders.write_strings("names", strings(m.holders, [](const Holder& h) { return h.name; }));
  holders.write_strings("kinds", strings(m.holders, [](const Holder& h) { return to_string(h.kind); }));
  holders.write_strings("assets", strings(m.holders, [](const Holder& h) { return to_string(h.asset); }));
  const h5::Group avs = root.create_group("avs");
  avs.write_strings("names", strings(m.avs, [](const Avs& a) { return a.name; }));
  avs.write_strings("assets", strings(m.avs, [](const Avs& a) { return to_string(a.asset); }));
  const h5::Group pools = root.create_group("pools");
  pools.write_strings("names", strings(m.coverage_pools, [](const CoveragePool& p) { return p.name; }));
  pools.write_strings("assets", strings(m.coverage_pools, [](const CoveragePool& p) { return to_string(p.asset); }));
  std::vector<std::string> assets, causes;
  for (std::size_t a = 0; a < kAssetCount; ++a) assets.emplace_back(to_string(static_cast<Asset>(a)));
  for (std::size_t c = 0; c < kLossCauseCount; ++c) causes.emplace_back(to_string(static_cast<LossCause>(c)));
  // The market layer's entities, only in runs that have them (other files stay as they were).
  if (!m.tokens.empty()) {
    const h5::Group tokens = root.create_group("tokens");
    tokens.write_strings("names", strings(m.tokens, [](const Token& t) { return t.name; }));
    tokens.write_strings("holders", strings(m.tokens, [&](const Token& t) { return m.holders.at(t.holder).name; }));
  }
  if (!m.lending_markets.empty()) {
    const h5::Group lending = root.create_group("lending_markets");
    lending.write_strings("names", strings(m.lending_markets, [](const LendingMarketSpec& l) { return l.name; }));
    lending.write_strings("tokens", strings(m.lending_markets, [&](const LendingMarketSpec& l) { return m.tokens.at(l.token).name; }));
  }
  root.create_group("assets").write_strings("names", assets);
  root.write_strings("loss_causes", causes);
}

void label_axes(const h5::Group& root, const std::string& path, std::span<const Dim> dims) {
  for (unsigned axis = 0; axis < dims.size(); ++axis) {
    const DimSpec& d = dimension(dims[axis]);
    root.label_axis(path, axis, d.name);
    if (*d.scale != '\0' && root.exists(d.scale)) root.attach_scale(path, d.scale, d.name, axis);
  }
}

void write_tilt(const h5::Group& root, const TiltInfo& tilt) {
  root.set_attr("weighted", std::int64_t{1});
  const h5::Group g = root.create_group("tilt");
  g.set_attr("defensive", tilt.defensive);
  g.write_strings("sources", tilt.sources);
  g.write_doubles("rate_factor", tilt.rate_factor, {tilt.rate_factor.size()}, "factor on the model's rate");
  g.write_doubles("size_exponent", tilt.size_exponent, {tilt.size_exponent.size()},
                  "exponent b of the sizes' upper-tail probability q ~ Beta(b, 1); 1: the model's law");
}

TiltInfo read_tilt(const h5::Group& root) {
  if (!root.exists("tilt")) throw h5::Error("weighted = 1 but no /tilt");
  for (const char* d : {"tilt/sources", "tilt/rate_factor", "tilt/size_exponent"})
    if (const std::vector<hsize_t> dims = root.dims(d); dims.size() != 1 || dims[0] == 0)
      throw h5::Error(fmt::format("/{} has shape [{}], expected one axis of event sources", d, fmt::join(dims, ", ")));
  const h5::Group g = root.open_group("tilt");
  TiltInfo t;
  t.sources = g.read_strings("sources");
  t.rate_factor = g.read_doubles("rate_factor");
  t.size_exponent = g.read_doubles("size_exponent");
  t.defensive = g.attr_double("defensive");
  for (const auto& [name, values] : {std::pair{"rate_factor", &t.rate_factor}, std::pair{"size_exponent", &t.size_exponent}}) {
    if (t.sources.size() != values->size())
      throw h5::Error(fmt::format("/tilt/{} has {} values for {} sources in /tilt/sources", name, values->size(), t.sources.size()));
    for (std::size_t i = 0; i < values->size(); ++i)
      if (!(std::isfinite((*values)[i]) && (*values)[i] > 0.0))
        throw h5::Error(fmt::format("/tilt/{}[{}] ({}) is {}, expected finite and > 0", name, i, t.sources[i], (*values)[i]));
  }
  if (!(t.defensive >= 0.0 && t.defensive < 1.0))
    throw h5::Error(fmt::format("/tilt attribute defensive is {}, expected in [0, 1)", t.defensive));
  return t;
}

void write_tail(const h5::Group& root, const RunSummary& s, const std::string& holder_name) {
  const h5::Group g = root.create_group("tail");
  g.set_attr("holder", static_cast<std::uint64_t>(s.info.tail->holder));
  g.set_attr("holder_name", holder_name);
  g.set_attr("loss", s.info.tail->loss);
  g.set_attr("quantile_level", s.info.tail->quantile_level);
  g.set_attr("probability", s.tail->exceedance.mean);
  g.set_attr("probability_stderr", s.tail->exceedance.stderr_mean);
  g.set_attr("quantile", s.tail->quantile);
  g.set_attr("quantile_stderr", s.tail->quantile_stderr);
}

void read_tail(const h5::Group& root, std::size_t holders, RunSummary& s) {
  if (!root.exists("tail")) return;
  const h5::Group g = root.open_group("tail");
  TailInfo t;
  t.holder = static_cast<std::size_t>(g.attr_uint("holder"));
  t.loss = g.attr_double("loss");
  t.quantile_level = g.attr_double("quantile_level");
  if (t.holder >= holders) throw h5::Error(fmt::format("/tail attribute holder is {}, expected one of the {} holders", t.holder, holders));
  if (!(t.loss >= 0.0 && t.loss <= 1.0)) throw h5::Error(fmt::format("/tail attribute loss is {}, expected in [0, 1]", t.loss));
  if (!(t.quantile_level == 0.0 || (t.quantile_level >= 0.5 && t.quantile_level < 1.0)))
    throw h5::Error(fmt::format("/tail attribute quantile_level is {}, expected 0 or in [0.5, 1)", t.quantile_level));
  TailSummary e;
  e.exceedance.mean = g.attr_double("probability");
  e.exceedance.stderr_mean = g.attr_double("probability_stderr");
  e.quantile = g.attr_double("quantile");
  e.quantile_stderr = g.attr_double("quantile_stderr");
  s.info.tail = t;
  s.tail = e;
}

TiltInfo read_tilt_if_weighted(const h5::Group& root) {
  if (!root.has_attr("weighted")) return {};
  if (const std::int64_t w = root.attr_int("weighted"); w != 1)
    throw h5::Error(fmt::format("attribute weighted = {}, expected 1 (or no attribute: a plain run)", w));
  return read_tilt(root);
}

bool check_weight_shape(const h5::Group& root, std::uint64_t trials, bool weighted) {
  const char* path = trial_record(&TrialBlock::weight).out.path;
  const bool present = root.exists(path);
  if (present != weighted)
    throw h5::Error(weighted ? fmt::format("no /{}: the file says its run was weighted (importance sampling)", path)
                             : fmt::format("/{} in the file of a plain run (no root attribute weighted = 1)", path));
  if (!present) return false;
  if (const std::vector<hsize_t> dims = root.dims(path); dims != std::vector<hsize_t>{trials})
    throw h5::Error(fmt::format("/{} has shape [{}], expected [{}] (one weight per trial)", path, fmt::join(dims, ", "), trials));
  return true;
}

std::vector<double> read_weights(const h5::Group& root, std::uint64_t trials, bool weighted) {
  if (!check_weight_shape(root, trials, weighted)) return {};
  const char* path = trial_record(&TrialBlock::weight).out.path;
  std::vector<double> w = root.read_column(path, 0);
  for (std::size_t i = 0; i < w.size(); ++i)
    if (!(std::isfinite(w[i]) && w[i] >= 0.0))
      throw h5::Error(fmt::format("/{}: trial {} weighs {}, expected a finite weight >= 0", path, i, w[i]));
  return w;
}

void write_summaries(const h5::Group& root, std::span<const RunSummary* const> runs, bool point_axis, bool scales) {
  if (runs.empty()) throw std::logic_error("write_summaries: no run");
  const Presence present = Presence::of(*runs.front());
  for (const RunSummary* s : runs) {
    const Presence p = Presence::of(*s);
    if (p.weighted != present.weighted) throw std::logic_error("write_summaries: weighted and plain runs together");
    if (p.tokens != present.tokens || p.lending != present.lending)
      throw std::logic_error("write_summaries: runs with and without markets together");
    if (s->info.thresholds != runs.front()->info.thresholds) throw std::logic_error("write_summaries: runs with different thresholds");
  }
  if (scales) write_quantile_levels(root);
  if (scales && present.contributions) {
    // The operator axis of the contributions; other files have no operator dataset.
    if (!root.exists("operators")) root.create_group("operators");
    root.write_strings(dimension(Dim::Operator).scale, runs.front()->operators);
  }
  if (scales && present.thresholds) {
    const std::vector<double>& x = runs.front()->info.thresholds;
    const std::string path = dimension(Dim::Threshold).scale;
    create_parents(root, path);
    root.write_doubles(path, x, {x.size()}, "fraction of initial value");
  }
  Extents e = Extents::of(*runs.front());
  e.points = runs.size();
  for (const SummarySpec* p : summaries(present)) {
    const SummarySpec& spec = *p;
    std::vector<Dim> dims(spec.out.shape.dims().begin(), spec.out.shape.dims().end());
    if (point_axis) dims.insert(dims.begin(), Dim::Point);
    std::vector<double> values;
    for (const RunSummary* s : runs) {
      const std::vector<double> v = summary_values(spec, *s);
      values.insert(values.end(), v.begin(), v.end());
    }
    create_parents(root, spec.out.path);
    root.write_doubles(spec.out.path, values, h5_dims(dims, e), spec.out.unit);
    if (scales) label_axes(root, spec.out.path, dims);
  }
}

std::vector<std::string> read_summaries(const h5::Group& root, RunSummary& s) {
  std::vector<std::string> missing;
  const Extents e = Extents::of(s);
  for (const SummarySpec* p : summaries(Presence::of(s))) {
    const SummarySpec& spec = *p;
    if (!root.exists(spec.out.path)) {
      missing.emplace_back(spec.out.path);
      continue;
    }
    // The shape before the data: a hostile file's extent must not decide what is allocated.
    const std::vector<hsize_t> dims = root.dims(spec.out.path);
    if (const std::vector<hsize_t> expected = h5_dims(spec.out.shape.dims(), e); dims != expected) {
      std::vector<std::string> axes;
      for (const Dim d : spec.out.shape.dims()) axes.emplace_back(dimension(d).name);
      throw h5::Error(fmt::format("/{} has shape [{}], expected [{}] ({})", spec.out.path, fmt::join(dims, ", "),
                                  fmt::join(expected, ", "), fmt::join(axes, ", ")));
    }
    set_summary_values(spec, root.read_doubles(spec.out.path), s);
  }
  return missing;
}

std::vector<std::string> read_point_summaries(const h5::Group& root, std::span<RunSummary> points) {
  std::vector<std::string> missing;
  if (points.empty()) return missing;
  const Extents e = Extents::of(points.front());
  for (const SummarySpec* p : summaries(Presence::of(points.front()))) {
    const SummarySpec& spec = *p;
    if (!root.exists(spec.out.path)) {
      missing.emplace_back(spec.out.path);
      continue;
    }
    std::vector<Dim> dims{Dim::Point};
    dims.insert(dims.end(), spec.out.shape.dims().begin(), spec.out.shape.dims().end());
    std::vector<hsize_t> expected = h5_dims(spec.out.shape.dims(), e);
    expected.insert(expected.begin(), points.size());
    // The shape before the data, as read_summaries.
    if (const std::vector<hsize_t> got = root.dims(spec.out.path); got != expected) {
      std::vector<std::string> axes;
      for (const Dim d : dims) axes.emplace_back(dimension(d).name);
      throw h5::Error(fmt::format("/{} has shape [{}], expected [{}] ({})", spec.out.path, fmt::join(got, ", "),
                                  fmt::join(expected, ", "), fmt::join(axes, ", ")));
    }
    const std::vector<double> all = root.read_doubles(spec.out.path);
    const std::size_t row = points.empty() ? 0 : all.size() / points.size();
    for (std::size_t q = 0; q < points.size(); ++q)
      set_summary_values(spec, std::span<const double>(all).subspan(q * row, row), points[q]);
  }
  return missing;
}

}  // namespace restake
