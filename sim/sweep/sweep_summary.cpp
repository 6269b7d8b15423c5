#include "sweep/sweep_summary.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

#include <boost/math/distributions/students_t.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/h5.hpp"
#include "io/json.hpp"
#include "io/outputs.hpp"
#include "io/schema.hpp"
#include "sweep/sweep_writer.hpp"

namespace restake {

namespace {

constexpr double kZ95 = 1.959963984540054;

// The shape of an index dataset, checked before any element is used (a damaged or hostile file
// must not index past the end of an array).
void expect_dims(const h5::File& f, const std::string& path, const std::string& dataset, const std::vector<hsize_t>& expected,
                 const char* what) {
  if (!f.exists(dataset)) throw std::runtime_error(fmt::format("{}: no /{} ({})", path, dataset, what));
  if (const std::vector<hsize_t> dims = f.dims(dataset); dims != expected)
    throw std::runtime_error(fmt::format("{}: /{} has shape [{}], expected [{}] ({})", path, dataset, fmt::join(dims, ", "),
                                         fmt::join(expected, ", "), what));
}

// Rows of a [rows, cols] dataset.
template <class T>
std::vector<std::vector<T>> rows_of(const std::vector<T>& flat, std::size_t rows, std::size_t cols) {
  std::vector<std::vector<T>> out(rows);
  for (std::size_t r = 0; r < rows; ++r)
    out[r].assign(flat.begin() + static_cast<std::ptrdiff_t>(r * cols), flat.begin() + static_cast<std::ptrdiff_t>((r + 1) * cols));
  return out;
}

// A parameter's value for people: a number to 12 significant digits, a TOML string without its
// quotes when it has no escapes, a boolean as written.
std::string value_text(const SweepSummary& s, std::size_t p, std::size_t k) {
  if (s.kinds[k] == "number") return fmt::format("{:.12g}", s.values[p][k]);
  const std::string& label = s.labels[p][k];
  if (label.size() >= 2 && label.front() == '"' && label.back() == '"' && label.find('\\') == std::string::npos)
    return label.substr(1, label.size() - 2);
  return label;
}

std::string csv_field(const std::string& x) {
  if (x.find_first_of(",\"\n\r") == std::string::npos) return x;
  std::string out = "\"";
  for (const char c : x) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Shortest round-trip text, empty for NaN (a CSV cell without a value).
std::string csv_number(double x) { return std::isfinite(x) ? fmt::format("{}", x) : std::string(); }

// "point", the parameters (sweeps only): the first cells of each CSV row.
std::string csv_head(const SweepSummary& s) {
  if (!s.sweep) return "";
  std::string out = "point";
  for (const std::string& k : s.parameters) out.append(",").append(csv_field(k));
  return out + ",";
}
std::string csv_cells(const SweepSummary& s, std::size_t p) {
  if (!s.sweep) return "";
  std::string out = fmt::format("{}", p);
  for (std::size_t k = 0; k < s.parameters.size(); ++k)
    out.append(",").append(csv_field(s.kinds[k] == "number" ? fmt::format("{}", s.values[p][k]) : value_text(s, p, k)));
  return out + ",";
}

const SummarySpec* holder_spec(const RunSummary& s, const std::string& metric) {
  for (const SummarySpec* spec : summaries(Presence::of(s))) {
    const auto dims = spec->out.shape.dims();
    if (dims.size() == 1 && dims[0] == Dim::Holder && spec->out.path == "summary/" + metric) return spec;
  }
  return nullptr;
}

std::string header_line(const SweepSummary& s) {
  const RunInfo& info = s.points.front().info;
  if (!s.sweep)
    return fmt::format("results {} | scenario {} | {} trials | seed {} | restake-sim {} ({})\n", s.path, s.scenario_name, s.trials,
                       s.seed, s.program_version, s.git_commit.substr(0, 12)) +
           (info.weighted() ? "importance sampling: trials weighted by their likelihood ratios\n" : "");
  return fmt::format("sweep {} | scenario {} | {} points ({}) x {} trials | seed {} | restake-sim {} ({})\n", s.path,
                     s.scenario_name, s.points.size(), s.mode, s.trials, s.seed, s.program_version,
                     s.git_commit.substr(0, 12)) +
         (info.weighted() ? "importance sampling: every point drawn with the one tilt of the file (/tilt)\n" : "");
}

}  // namespace

bool is_sweep_file(const std::string& path) {
  try {
    const h5::File f = h5::File::open_read_only(path);
    return f.has_attr("file_type") && f.attr_string("file_type") == kSweepFileType;
  } catch (const h5::Error&) {
    return false;
  }
}

SweepSummary read_sweep_summary(const std::string& path) {
  const h5::File f = h5::File::open_read_only(path);
  if (!f.has_attr("file_type") || f.attr_string("file_type") != kSweepFileType)
    throw std::runtime_error(fmt::format("{}: not a restake-sim sweep file", path));
  const std::int64_t version = f.attr_int("format_version");
  if (version != kSweepFormatVersion && version != kSweepFormatVersionCategorical)
    throw std::runtime_error(fmt::format("{}: sweep format version {} is not supported (this program reads versions {} and {})",
                                         path, version, kSweepFormatVersion, kSweepFormatVersionCategorical));
  if (const std::int64_t complete = f.attr_int("complete"); complete != 1)
    throw std::runtime_error(fmt::format("{}: marked incomplete (complete = {}): the sweep writing it did not finish", path, complete));
  SweepSummary s;
  s.path = path;
  s.scenario_name = f.attr_string("scenario_name");
  s.mode = f.attr_string("mode");
  s.program_version = f.attr_string("program_version");
  s.git_commit = f.attr_string("git_commit");
  s.seed = f.attr_uint("seed");
  s.trials = f.attr_uint("trials");

  const auto count = [&](const char* names) {
    if (!f.exists(names)) throw std::runtime_error(fmt::format("{}: no /{}", path, names));
    const std::vector<hsize_t> dims = f.dims(names);
    if (dims.size() != 1) throw std::runtime_error(fmt::format("{}: /{} has shape [{}], expected one axis", path, names, fmt::join(dims, ", ")));
    return static_cast<std::size_t>(dims[0]);
  };
  const std::size_t K = count("points/parameters"), P = count("points/names");
  if (P == 0) throw std::runtime_error(fmt::format("{}: /points/names is empty: a sweep has at least one point", path));
  if (f.attr_uint("points") != P)
    throw std::runtime_error(fmt::format("{}: {} points in /points/names but the attribute points says {}", path, P, f.attr_uint("points")));
  expect_dims(f, path, "points/values", {P, K}, "point, parameter");
  expect_dims(f, path, "points/horizon_days", {P}, "point");
  s.parameters = f.read_strings("points/parameters");
  s.point_names = f.read_strings("points/names");
  s.values = rows_of(f.read_doubles("points/values"), P, K);
  if (f.exists("points/labels")) {
    expect_dims(f, path, "points/labels", {P, K}, "point, parameter");
    expect_dims(f, path, "points/kinds", {K}, "parameter");
    s.labels = rows_of(f.read_strings("points/labels"), P, K);
    s.kinds = f.read_strings("points/kinds");
  } else {  // written before strings and booleans could be swept: every parameter a number
    s.kinds.assign(K, "number");
    for (const auto& row : s.values) {
      std::vector<std::string> texts;
      for (const double v : row) texts.push_back(fmt::format("{}", v));
      s.labels.push_back(std::move(texts));
    }
  }
  for (std::size_t k = 0; k < K; ++k)
    if (s.kinds[k] != "number")
      for (std::size_t p = 0; p < P; ++p)
        if (!(s.values[p][k] >= 0.0) || s.values[p][k] != std::trunc(s.values[p][k]))
          throw std::runtime_error(fmt::format("{}: /points/values[{}, {}] is {}, expected the index of a {} label", path, p, k,
                                               s.values[p][k], s.kinds[k]));

  const std::size_t H = count("holders/names"), A = count("avs/names"), Q = count("pools/names");
  const std::size_t T = f.exists("tokens/names") ? count("tokens/names") : 0;
  const std::size_t L = f.exists("lending_markets/names") ? count("lending_markets/names") : 0;
  const std::size_t S = count("assets/names");
  for (const char* d : {"holders/kinds", "holders/assets"}) expect_dims(f, path, d, {H}, "holder, as many as names");
  expect_dims(f, path, "avs/assets", {A}, "AVS, as many as names");
  expect_dims(f, path, "pools/assets", {Q}, "pool, as many as names");
  expect_dims(f, path, "holders/value", {P, H}, "point, holder");
  expect_dims(f, path, "pools/balance", {P, Q}, "point, pool");
  expect_dims(f, path, "assets/usd_price", {P, S}, "point, asset");
  if (T > 0) expect_dims(f, path, "tokens/holders", {T}, "token, as many as names");
  if (L > 0) expect_dims(f, path, "lending_markets/tokens", {L}, "lending market, as many as names");

  TiltInfo tilt;
  try {
    tilt = read_tilt_if_weighted(f);
  } catch (const h5::Error& e) {
    throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
  }
  const auto names = f.read_strings("holders/names"), kinds = f.read_strings("holders/kinds");
  const auto assets = f.read_strings("holders/assets"), asset_names = f.read_strings("assets/names");
  const auto avs_names = f.read_strings("avs/names"), avs_assets = f.read_strings("avs/assets");
  const auto pool_names = f.read_strings("pools/names"), pool_assets = f.read_strings("pools/assets");
  const auto value = f.read_doubles("holders/value"), balance = f.read_doubles("pools/balance");
  const auto price = f.read_doubles("assets/usd_price"), horizon = f.read_doubles("points/horizon_days");
  const auto token_names = T > 0 ? f.read_strings("tokens/names") : std::vector<std::string>{};
  const auto token_holders = T > 0 ? f.read_strings("tokens/holders") : std::vector<std::string>{};
  const auto lending_names = L > 0 ? f.read_strings("lending_markets/names") : std::vector<std::string>{};
  const auto lending_tokens = L > 0 ? f.read_strings("lending_markets/tokens") : std::vector<std::string>{};
  s.points.resize(P);
  for (std::size_t p = 0; p < P; ++p) {
    RunSummary& r = s.points[p];
    r.info = {s.scenario_name, s.program_version, s.git_commit, s.seed, s.trials, horizon[p], tilt, std::nullopt};
    const auto price_of = [&](const std::string& asset) {
      for (std::size_t a = 0; a < S; ++a)
        if (asset_names[a] == asset && std::isfinite(price[p * S + a])) return price[p * S + a];
      return 0.0;
    };
    for (std::size_t h = 0; h < H; ++h) {
      HolderSummary hs;
      hs.name = names[h];
      hs.kind = kinds[h];
      hs.asset = assets[h];
      hs.value = value[p * H + h];
      hs.usd_price = price_of(hs.asset);
      r.holders.push_back(std::move(hs));
    }
    for (std::size_t a = 0; a < A; ++a) r.avs.push_back({avs_names[a], avs_assets[a], 0.0, 0.0, std::vector<double>(H)});
    for (std::size_t q = 0; q < Q; ++q) r.pools.push_back({pool_names[q], pool_assets[q], balance[p * Q + q], 0.0, 0.0});
    for (std::size_t t = 0; t < T; ++t) r.tokens.push_back({token_names[t], token_holders[t]});
    for (std::size_t l = 0; l < L; ++l) {
      LendingSummary ls;
      ls.name = lending_names[l];
      ls.token = lending_tokens[l];
      ls.debt_eth = std::nan("");  // a sweep file does not store the markets' debt
      ls.usd_price = price_of("ETH");
      r.lending.push_back(std::move(ls));
    }
  }
  std::vector<std::string> missing;
  try {
    missing = read_point_summaries(f, s.points);
  } catch (const h5::Error& e) {
    throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
  }
  for (const std::string& m : missing) {
    // Files written before the exact AVS x holder losses have none: their rows stay empty.
    if (m != "summary/avs_holder_loss_mean") throw std::runtime_error(fmt::format("{}: no /{}", path, m));
    for (RunSummary& r : s.points)
      for (AvsSummary& a : r.avs) a.holder_loss_mean.clear();
  }
  return s;
}

SweepSummary single_point(const std::string& path, RunSummary run) {
  SweepSummary s;
  s.path = path;
  s.sweep = false;
  s.scenario_name = run.info.scenario_name;
  s.mode = "run";
  s.program_version = run.info.program_version;
  s.git_commit = run.info.git_commit;
  s.seed = run.info.seed;
  s.trials = run.info.trials;
  s.values.emplace_back();
  s.labels.emplace_back();
  s.point_names.emplace_back(run.info.scenario_name);
  s.points.push_back(std::move(run));
  return s;
}

std::vector<std::string> holder_metrics(const RunSummary& s) {
  std::vector<std::string> out;
  for (const SummarySpec* spec : summaries(Presence::of(s))) {
    const auto dims = spec->out.shape.dims();
    if (dims.size() == 1 && dims[0] == Dim::Holder) out.emplace_back(std::string(spec->out.path).substr(8));  // "summary/"
  }
  return out;
}

MetricTable metric_table(const SweepSummary& s, const std::string& metric) {
  const RunSummary& first = s.points.front();
  const SummarySpec* spec = holder_spec(first, metric);
  if (!spec)
    throw std::invalid_argument(fmt::format("--metric: {} has no metric \"{}\" with a value per holder (metrics: {})", s.path,
                                            metric, fmt::join(holder_metrics(first), ", ")));
  MetricTable t;
  t.name = metric;
  t.unit = spec->out.unit;
  t.description = spec->out.description;
  t.percent = t.unit == "fraction of initial value" || t.unit == "probability" || t.unit == "share of the total weight";
  // The standard error the file stores for this metric, if any, and its interval's multiplier.
  const double t_batches = boost::math::quantile(boost::math::students_t(static_cast<double>(kBatches - 1)), 0.975);
  const SummarySpec* se = nullptr;
  if (metric == "loss/mean" || metric == "net_return/mean") {
    se = holder_spec(first, metric.substr(0, metric.find('/')) + "/stderr");
    t.z = kZ95;
  } else if (metric == "loss/var99" || metric == "loss/es99") {
    se = holder_spec(first, metric + "_stderr");  // weighted sweeps only
    t.z = t_batches;
  }
  if (!se || s.trials < 2) t.z = 0.0;  // one trial has no spread
  for (const RunSummary& r : s.points) {
    std::vector<double> v, e;
    for (std::size_t h = 0; h < r.holders.size(); ++h) {
      v.push_back(spec->field.get(r, h, 0));
      e.push_back(t.z > 0.0 ? se->field.get(r, h, 0) : std::nan(""));
    }
    t.value.push_back(std::move(v));
    t.stderr_value.push_back(std::move(e));
  }
  return t;
}

std::string format_sweep_table(const SweepSummary& s) {
  std::string out = header_line(s);
  for (std::size_t p = 0; p < s.points.size(); ++p)
    out += fmt::format("\n=== point {} of {}: {} (horizon {} days) ===\n", p + 1, s.points.size(), s.point_names[p],
                       s.points[p].info.horizon_days) +
           format_summary_body(s.points[p]);
  return out;
}

std::string format_sweep_json(const SweepSummary& s) {
  std::string params;
  for (std::size_t k = 0; k < s.parameters.size(); ++k)
    params += fmt::format("{}{{\"path\": {}, \"kind\": {}}}", k ? ", " : "", json_string(s.parameters[k]), json_string(s.kinds[k]));
  std::string out = fmt::format(
      "{{\n\"sweep\": {}, \"scenario\": {}, \"mode\": {}, \"trials\": {}, \"seed\": {}, \"program_version\": {}, \"git_commit\": {},\n"
      "\"parameters\": [{}],\n\"points\": [\n",
      json_string(s.path), json_string(s.scenario_name), json_string(s.mode), s.trials, s.seed, json_string(s.program_version),
      json_string(s.git_commit), params);
  for (std::size_t p = 0; p < s.points.size(); ++p) {
    std::string values, labels;
    for (std::size_t k = 0; k < s.parameters.size(); ++k) {
      values += k ? ", " : "";
      values += json_number(s.values[p][k]);
      labels += k ? ", " : "";
      labels += json_string(s.labels[p][k]);
    }
    std::string summary = format_summary_json(s.points[p]);
    while (!summary.empty() && summary.back() == '\n') summary.pop_back();
    out += fmt::format("{{\"index\": {}, \"name\": {}, \"values\": [{}], \"labels\": [{}], \"summary\": {}}}{}\n", p,
                       json_string(s.point_names[p]), values, labels, summary, p + 1 < s.points.size() ? "," : "");
  }
  return out + "]\n}\n";
}

std::string format_sweep_csv(const SweepSummary& s) {
  const std::vector<std::string> metrics = holder_metrics(s.points.front());
  std::string out = csv_head(s) + "holder";
  for (const std::string& m : metrics) out.append(",").append(m);
  out += "\n";
  std::vector<const SummarySpec*> specs;
  for (const std::string& m : metrics) specs.push_back(holder_spec(s.points.front(), m));
  for (std::size_t p = 0; p < s.points.size(); ++p)
    for (std::size_t h = 0; h < s.points[p].holders.size(); ++h) {
      out += csv_cells(s, p) + csv_field(s.points[p].holders[h].name);
      for (const SummarySpec* spec : specs) out.append(",").append(csv_number(spec->field.get(s.points[p], h, 0)));
      out += "\n";
    }
  return out;
}

std::string format_metric_table(const SweepSummary& s, const MetricTable& t) {
  const auto show = [&](double x) {
    if (!std::isfinite(x)) return std::string("n/a");
    return t.percent ? fmt::format("{:.4f}%", 100.0 * x) : fmt::format("{:.6g}", x);
  };
  const auto bound = [&](double x) { return t.percent ? fmt::format("{:.4f}", 100.0 * x) : fmt::format("{:.6g}", x); };
  const auto cell = [&](std::size_t p, std::size_t h) {
    const double v = t.value[p][h], se = t.stderr_value[p][h];
    if (t.z == 0.0 || !std::isfinite(se)) return show(v);
    return fmt::format("{} [{}, {}]", show(v), bound(v - t.z * se), bound(v + t.z * se));
  };
  const std::vector<HolderSummary>& holders = s.points.front().holders;
  // Columns as wide as their widest cell.
  // A sweep's rows start with the point's number (a results file has one row and no parameters).
  const std::size_t numbered = s.sweep ? 1 : 0;
  std::vector<std::string> head;
  if (numbered) head.emplace_back("point");
  for (const std::string& k : s.parameters) head.push_back(k);
  for (const HolderSummary& h : holders) head.push_back(h.name);
  std::vector<std::vector<std::string>> rows;
  for (std::size_t p = 0; p < s.points.size(); ++p) {
    std::vector<std::string> row;
    if (numbered) row.push_back(fmt::format("{}", p + 1));
    for (std::size_t k = 0; k < s.parameters.size(); ++k) row.push_back(value_text(s, p, k));
    for (std::size_t h = 0; h < holders.size(); ++h) row.push_back(cell(p, h));
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> width(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) {
    width[c] = head[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  const std::size_t first_number = numbered + s.parameters.size();  // holders' columns: right-aligned
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      out += c ? "  " : "";
      out += c >= first_number || (numbered && c == 0) ? fmt::format("{:>{}}", cells[c], width[c]) : fmt::format("{:<{}}", cells[c], width[c]);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = header_line(s);
  out += fmt::format("\n{}: {} ({}{}){}\n", t.name, t.description, t.unit, t.percent ? ", in %" : "",
                     t.z > 0.0 ? fmt::format("; 95% interval in brackets, +/- {:.3f} standard errors", t.z) : std::string());
  out += line(head);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string format_metric_json(const SweepSummary& s, const MetricTable& t) {
  std::string params, holders;
  for (std::size_t k = 0; k < s.parameters.size(); ++k) {
    params += k ? ", " : "";
    params += json_string(s.parameters[k]);
  }
  for (std::size_t h = 0; h < s.points.front().holders.size(); ++h) {
    holders += h ? ", " : "";
    holders += json_string(s.points.front().holders[h].name);
  }
  std::string out = fmt::format("{{\n\"file\": {}, \"metric\": {}, \"unit\": {}, \"description\": {}, \"interval_z\": {},\n"
                                "\"parameters\": [{}], \"holders\": [{}],\n\"points\": [\n",
                                json_string(s.path), json_string(t.name), json_string(t.unit), json_string(t.description),
                                t.z > 0.0 ? json_number(t.z) : "null", params, holders);
  for (std::size_t p = 0; p < s.points.size(); ++p) {
    std::string values, labels, v, se, ci;
    for (std::size_t k = 0; k < s.parameters.size(); ++k) {
      values += k ? ", " : "";
      values += json_number(s.values[p][k]);
      labels += k ? ", " : "";
      labels += json_string(s.labels[p][k]);
    }
    for (std::size_t h = 0; h < t.value[p].size(); ++h) {
      const double x = t.value[p][h], e = t.stderr_value[p][h];
      v += h ? ", " : "";
      v += json_number(x);
      se += h ? ", " : "";
      se += json_number(e);
      ci += h ? ", " : "";
      ci += std::isfinite(e) ? fmt::format("[{}, {}]", json_number(x - t.z * e), json_number(x + t.z * e)) : std::string("null");
    }
    out += fmt::format("{{\"index\": {}, \"name\": {}, \"values\": [{}], \"labels\": [{}], \"value\": [{}], \"stderr\": [{}], "
                       "\"ci95\": [{}]}}{}\n",
                       p, json_string(s.point_names[p]), values, labels, v, se, ci, p + 1 < s.points.size() ? "," : "");
  }
  return out + "]\n}\n";
}

std::string format_metric_csv(const SweepSummary& s, const MetricTable& t) {
  std::string out = csv_head(s) + "holder,value,stderr,ci95_low,ci95_high\n";
  for (std::size_t p = 0; p < s.points.size(); ++p)
    for (std::size_t h = 0; h < t.value[p].size(); ++h) {
      const double x = t.value[p][h], e = t.stderr_value[p][h];
      const bool ci = std::isfinite(e);
      out += csv_cells(s, p) + csv_field(s.points[p].holders[h].name);
      for (const std::string& cell : {csv_number(x), csv_number(e), ci ? csv_number(x - t.z * e) : std::string(),
                                      ci ? csv_number(x + t.z * e) : std::string()})
        out.append(",").append(cell);
      out += "\n";
    }
  return out;
}

}  // namespace restake
