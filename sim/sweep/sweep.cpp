#include "sweep/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "trial/rng.hpp"

namespace restake {

const char* to_string(SweepMode m) {
  switch (m) {
    case SweepMode::Grid: return "grid";
    case SweepMode::Zip: return "zip";
    case SweepMode::Lhs: return "lhs";
  }
  return "?";
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A path error found while resolving; parse_sweep turns it into a SweepError at the `path` key.
struct PathError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One step of a key path: a TOML key (bare or "quoted") and any [i] indices after it.
struct Segment {
  std::string key;
  std::vector<std::size_t> indices;
};

// Key paths use TOML's dotted-key syntax, so a name with dots or spaces is written quoted:
//   avs.oracle.slashing.wrong-price.annual_probability
//   operator."my.op".annual_fault_probability
//   lrt.rsETH-like.positions[0].stake_eth
std::vector<Segment> split_path(std::string_view p) {
  std::vector<Segment> out;
  std::size_t i = 0;
  auto bare = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; };
  while (true) {
    Segment s;
    if (i < p.size() && p[i] == '"') {
      ++i;
      while (i < p.size() && p[i] != '"') {
        if (p[i] == '\\' && i + 1 < p.size()) ++i;
        s.key += p[i++];
      }
      if (i >= p.size()) throw PathError(fmt::format("unterminated quoted key in path '{}'", p));
      ++i;
    } else {
      while (i < p.size() && bare(p[i])) s.key += p[i++];
      if (s.key.empty())
        throw PathError(fmt::format("malformed path '{}' at character {}: expected a key (letters, digits, '_', '-', "
                                    "or a \"quoted\" key)", p, i + 1));
    }
    while (i < p.size() && p[i] == '[') {
      const std::size_t close = p.find(']', i);
      const std::string_view digits = p.substr(i + 1, close == std::string_view::npos ? 0 : close - i - 1);
      if (close == std::string_view::npos || digits.empty() ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) || digits.size() > 9)
        throw PathError(fmt::format("malformed path '{}' at character {}: expected an index [0], [1], ...", p, i + 1));
      s.indices.push_back(std::stoul(std::string(digits)));
      i = close + 1;
    }
    out.push_back(std::move(s));
    if (i == p.size()) return out;
    if (p[i] != '.') throw PathError(fmt::format("malformed path '{}' at character {}: expected '.'", p, i + 1));
    ++i;
  }
}

std::string keys_of(const toml::table& t) {
  std::string out;
  for (const auto& [k, v] : t) out += (out.empty() ? "" : ", ") + std::string(k.str());
  return out.empty() ? "no keys" : out;
}

// The name an element of an array of tables goes by: its `name`, else (AVS operators, positions,
// bridged shares) its `operator` or `bridge`.
std::optional<std::string> element_name(const toml::node& n) {
  const auto* t = n.as_table();
  if (!t) return std::nullopt;
  for (const char* k : {"name", "operator", "bridge"})
    if (const auto* s = t->get_as<std::string>(k)) return s->get();
  return std::nullopt;
}

struct Resolved {
  const toml::node* node = nullptr;
  std::string scenario_key;  // the scenario parser's path: avs[0].slashing[0].annual_probability
};

Resolved resolve(const toml::table& root, const std::vector<Segment>& segs) {
  const toml::node* cur = &root;
  std::string where, skey;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const Segment& s = segs[i];
    const auto* t = cur->as_table();
    if (!t) throw PathError(fmt::format("'{}' is {}: it has no key '{}'", where, a_type(*cur), s.key));
    const toml::node* child = t->get(s.key);
    if (!child)
      throw PathError(fmt::format("{} has no key '{}' in the scenario (it has: {}); only values written in the scenario "
                                  "file can be swept: write a default there to sweep it",
                                  where.empty() ? "the scenario" : "'" + where + "'", s.key, keys_of(*t)));
    cur = child;
    where += (where.empty() ? "" : ".") + s.key;
    skey += (skey.empty() ? "" : ".") + s.key;
    for (const std::size_t idx : s.indices) {
      const auto* arr = cur->as_array();
      if (!arr) throw PathError(fmt::format("'{}' is {}, not an array: it takes no index [{}]", where, a_type(*cur), idx));
      if (idx >= arr->size())
        throw PathError(fmt::format("'{}' has {} elements: index [{}] is out of range", where, arr->size(), idx));
      cur = arr->get(idx);
      where += fmt::format("[{}]", idx);
      skey += fmt::format("[{}]", idx);
    }
    // An array of tables followed by a key: the key names an element (`avs.oracle`).
    if (s.indices.empty() && cur->is_array() && i + 1 < segs.size()) {
      const auto& arr = *cur->as_array();
      const Segment& name = segs[++i];
      std::vector<std::size_t> hits;
      std::string names;
      for (std::size_t j = 0; j < arr.size(); ++j) {
        const auto n = element_name(*arr.get(j));
        if (!n) continue;
        names += (names.empty() ? "" : ", ") + *n;
        if (*n == name.key) hits.push_back(j);
      }
      if (hits.empty())
        throw PathError(names.empty() ? fmt::format("the elements of '{}' have no names: address one by index, e.g. {}[0]", where, where)
                                      : fmt::format("no element of '{}' is named '{}' (names: {})", where, name.key, names));
      if (hits.size() > 1)
        throw PathError(fmt::format("{} elements of '{}' are named '{}': address one by index, e.g. {}[{}]", hits.size(),
                                    where, name.key, where, hits[0]));
      if (!name.indices.empty())
        throw PathError(fmt::format("'{}.{}' names an element: it takes no index", where, name.key));
      cur = arr.get(hits[0]);
      where += "." + name.key;
      skey += fmt::format("[{}]", hits[0]);
    }
  }
  if (!cur->is_integer() && !cur->is_floating_point() && !cur->is_string() && !cur->is_boolean()) {
    if (cur->is_table())
      throw PathError(fmt::format("'{}' is a table (a distribution?): name one of its numbers, e.g. '{}.mean' or '{}.max'",
                                  where, where, where));
    throw PathError(fmt::format("'{}' is {}: only numbers, strings and booleans can be swept", where, a_type(*cur)));
  }
  return {cur, skey};
}

// Byte offset of a toml++ source position (1-based line, 1-based column counted in code points).
std::size_t byte_offset(std::string_view text, std::size_t line, std::size_t column) {
  std::size_t pos = 0;
  for (std::size_t l = 1; l < line; ++l) pos = text.find('\n', pos) + 1;
  for (std::size_t c = 1; c < column; ++c) {
    ++pos;
    while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
  }
  return pos;
}

// A TOML number or boolean is one token of these characters (1_000, -0.5, 1e-3, 0x10, inf, true).
bool number_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+' || c == '.'; }

// Length of the TOML value token at `at`: a number, a boolean, or a one-line string ("..." with
// escapes, or '...'); 0 for a multi-line string, which is not swept.
std::size_t token_length(std::string_view text, std::size_t at) {
  if (at < text.size() && (text[at] == '"' || text[at] == '\'')) {
    const char quote = text[at];
    if (text.substr(at, 3) == std::string(3, quote)) return 0;
    for (std::size_t i = at + 1; i < text.size() && text[i] != '\n'; ++i) {
      if (quote == '"' && text[i] == '\\') ++i;
      else if (text[i] == quote) return i - at + 1;
    }
    return 0;
  }
  std::size_t n = 0;
  while (at + n < text.size() && number_char(text[at + n])) ++n;
  return n;
}

// A string as a TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(const std::string& v) {
  std::string out = "\"";
  for (const char c : v) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (u < 0x20 || u == 0x7f) out += fmt::format("\\u{:04X}", u);
        else out += c;
    }
  }
  return out + "\"";
}

bool whole(double v) { return std::trunc(v) == v && std::abs(v) < 9.0e15; }

// The value as TOML. Where the scenario wrote an integer, a whole value stays an integer (so an
// integer-only key such as `validators` keeps its type); any other value is a float, with a '.' or
// an exponent, in fmt's shortest round-trip form (no digit lost). Whether the key accepts it is
// for the scenario parser to say.
std::string toml_number(double v, bool integer) {
  if (integer && whole(v)) return fmt::format("{}", static_cast<std::int64_t>(v));
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

// An error about a parameter's values as a whole (where they are given).
[[noreturn]] void fail(const TomlFile& file, const SweepParameter& p, const std::string& what) {
  file.fail(p.line, p.column, p.key, what);
}

void read_values(TableReader& t, SweepParameter& p) {
  std::string form;
  for (const char* f : {"values", "linspace", "logspace"}) {
    if (!t.has(f)) continue;
    if (!form.empty()) t.fail(f, fmt::format("give one of values, linspace, logspace, not both '{}' and '{}'", form, f));
    form = f;
  }
  if (form.empty()) t.fail_table("missing the parameter's values: give values = [..], linspace = [from, to, n] or logspace = [from, to, n]");
  const toml::node& given = *t.get(form);
  p.key = t.key_path(form);
  p.line = static_cast<int>(given.source().begin.line);
  p.column = static_cast<int>(given.source().begin.column);
  if (p.categorical()) {
    const std::string what = fmt::format("a {}", p.kind_name());
    if (form != "values") t.fail(form, fmt::format("the scenario writes {} here: list them with values = [..]", what));
    const toml::array& a = *t.find_array(form);
    if (a.empty()) t.fail(form, "expected at least one value");
    for (std::size_t i = 0; i < a.size(); ++i) {
      const toml::node& n = *a.get(i);
      const std::string k = fmt::format("{}[{}]", p.key, i);
      std::string label;
      if (p.kind == SweepParameter::Kind::String && n.is_string()) label = toml_string(n.as_string()->get());
      else if (p.kind == SweepParameter::Kind::Boolean && n.is_boolean()) label = n.as_boolean()->get() ? "true" : "false";
      else t.fail_at(n.source(), k, fmt::format("expected {} (the scenario writes {} here), got {}", what, what, a_type(n)));
      if (std::find(p.labels.begin(), p.labels.end(), label) != p.labels.end())
        t.fail_at(n.source(), k, fmt::format("{} is listed twice", label));
      p.values.push_back(static_cast<double>(p.labels.size()));
      p.labels.push_back(std::move(label));
      p.value_positions.emplace_back(static_cast<int>(n.source().begin.line), static_cast<int>(n.source().begin.column));
    }
    return;
  }
  if (form == "values") {
    const toml::array& a = *t.find_array(form, "an array of numbers");
    if (a.empty()) t.fail(form, "expected at least one value");
    for (std::size_t i = 0; i < a.size(); ++i) {
      p.values.push_back(t.number(*a.get(i), fmt::format("{}[{}]", p.key, i), -kInf, kInf, "a number"));
      p.value_positions.emplace_back(static_cast<int>(a.get(i)->source().begin.line), static_cast<int>(a.get(i)->source().begin.column));
    }
    return;
  }
  const toml::array& a = *t.find_array(form, "an array [from, to, n]");
  if (a.size() != 3) t.fail(form, fmt::format("expected [from, to, n], got {} elements", a.size()));
  const double from = t.number(*a.get(0), p.key + "[0]", -kInf, kInf, "a number");
  const double to = t.number(*a.get(1), p.key + "[1]", -kInf, kInf, "a number");
  const auto n = static_cast<std::size_t>(t.integer(*a.get(2), p.key + "[2]", 1, kMaxSweepPoints, "a count n in [1, 1000000]"));
  const bool log = form == "logspace";
  if (log && !(from > 0.0 && to > 0.0))
    t.fail(form, fmt::format("logspace needs from > 0 and to > 0 (they are the values, not exponents), got [{}, {}]", from, to));
  for (std::size_t i = 0; i < n; ++i) {
    // (to - from) * i / (n - 1) rather than i * step: 0.09 * 1 / 9 is 0.01, 1 * (0.09 / 9) is not.
    const double di = static_cast<double>(i), dn = n == 1 ? 1.0 : static_cast<double>(n - 1);
    double v = log ? from * std::pow(to / from, di / dn) : from + (to - from) * di / dn;
    if (i + 1 == n && n > 1) v = to;  // the end point exactly, whatever the rounding
    p.values.push_back(v);
  }
}

}  // namespace

std::vector<std::vector<double>> latin_hypercube(std::size_t n, std::size_t dims, std::uint64_t seed) {
  // Counter (dimension, 'LHS', i, 0) under key seed: word 0 shuffles, word 1 places within a stratum.
  constexpr std::uint64_t kLhsPurpose = 0x4c4853;
  std::vector<std::vector<double>> out(n, std::vector<double>(dims));
  std::vector<std::size_t> perm(n);
  for (std::size_t d = 0; d < dims; ++d) {
    std::vector<Philox::ctr_type> words(n);
    for (std::size_t i = 0; i < n; ++i) words[i] = Philox()({{d, kLhsPurpose, i, 0}}, {{seed, 0}});
    for (std::size_t i = 0; i < n; ++i) perm[i] = i;
    for (std::size_t i = n; i > 1; --i) {  // Fisher-Yates; modulo bias < i / 2^64, nil for n <= 1e6
      const auto j = static_cast<std::size_t>(words[i - 1].v[0] % i);
      std::swap(perm[i - 1], perm[j]);
    }
    for (std::size_t i = 0; i < n; ++i)
      out[i][d] = std::min((static_cast<double>(perm[i]) + to_unit(words[i].v[1])) / static_cast<double>(n),
                           std::nextafter(1.0, 0.0));
  }
  return out;
}

Sweep parse_sweep(std::string_view text, const std::string& file, const ScenarioLoader& load, const PointChecks& checks) {
  const TomlFile source{file, "docs/sweeps.md", &throw_as<SweepError>};
  const toml::table root = parse_toml(text, source);
  TableReader top(root, "", source);
  top.allow({"sweep"});
  const toml::table* sweep_table = top.table("sweep");
  if (!sweep_table) top.fail_table("missing required table [sweep]");
  top.finish();
  TableReader sw(*sweep_table, "sweep", source);
  sw.allow({"scenario", "trials", "seed", "mode", "points", "lhs_seed", "parameter"});

  Sweep s;
  s.file = file;
  s.text = std::string(text);
  s.line = static_cast<int>(sweep_table->source().begin.line);
  s.column = static_cast<int>(sweep_table->source().begin.column);

  if (!sw.has("scenario")) sw.fail_table("missing required key 'scenario' (the scenario file, relative to the sweep file)");
  const std::filesystem::path rel(*sw.string("scenario"));
  s.scenario_path = (rel.is_absolute() ? rel : (std::filesystem::path(file).parent_path() / rel).lexically_normal()).string();
  try {
    s.scenario_text = load(s.scenario_path);
  } catch (const std::exception& e) {
    sw.fail("scenario", e.what());
  }
  parse_scenario(s.scenario_text, s.scenario_path);  // the scenario's own errors, with its own locations
  const toml::table scenario_root = parse_toml(s.scenario_text, TomlFile{s.scenario_path, "docs/scenario-format.md"});

  s.trials = sw.integer("trials", 1, "an integer >= 1");
  s.seed = sw.integer("seed", 0, "an integer >= 0");
  s.mode = sw.one_of<SweepMode>("mode", {{"grid", SweepMode::Grid}, {"zip", SweepMode::Zip}, {"lhs", SweepMode::Lhs}})
               .value_or(SweepMode::Grid);
  const bool lhs = s.mode == SweepMode::Lhs;
  std::size_t lhs_points = 0;
  for (const char* k : {"points", "lhs_seed"})
    if (sw.has(k) && !lhs) sw.fail(k, "only for mode = \"lhs\"");
  if (lhs) {
    if (!sw.has("points")) sw.fail_table("mode = \"lhs\" needs points = N (the number of points to sample)");
    lhs_points = static_cast<std::size_t>(*sw.integer("points", 1, kMaxSweepPoints, "a count in [1, 1000000]"));
    s.lhs_seed = sw.integer("lhs_seed", 0, "an integer >= 0").value_or(s.lhs_seed);
  }

  if (!sw.has("parameter")) sw.fail_table("missing [[sweep.parameter]]: a sweep needs at least one parameter");
  if (sw.find_array("parameter", "an array of tables [[sweep.parameter]]")->empty())
    sw.fail("parameter", "expected at least one parameter");
  std::vector<const toml::node*> targets;
  sw.each_table("parameter", [&](TableReader& t, std::size_t) {
    if (lhs) t.allow({"path", "range", "scale"});
    else t.allow({"path", "values", "linspace", "logspace"});
    SweepParameter p;
    if (!t.has("path")) t.fail_table("missing required key 'path' (the scenario value to sweep, e.g. \"ethereum.base_apr\")");
    p.path = *t.string("path");
    const auto fail_path = [&](const std::string& what) { t.fail("path", what); };
    Resolved target;
    try {
      target = resolve(scenario_root, split_path(p.path));
    } catch (const PathError& e) {
      fail_path(fmt::format("{}: {}", s.scenario_path, e.what()));
    }
    for (std::size_t j = 0; j < targets.size(); ++j)
      if (targets[j] == target.node)
        fail_path(fmt::format("the same scenario value as sweep.parameter[{}] ('{}')", j, s.parameters[j].path));
    targets.push_back(target.node);
    p.scenario_key = target.scenario_key;
    if (p.scenario_key == "name" || p.scenario_key.ends_with(".name"))
      fail_path(fmt::format("{}: '{}' is a name: names cannot be swept (the output labels holders, AVSs and pools once, "
                            "and other entities refer to them by name)", s.scenario_path, p.path));
    p.integer = target.node->is_integer();
    if (target.node->is_string()) p.kind = SweepParameter::Kind::String;
    if (target.node->is_boolean()) p.kind = SweepParameter::Kind::Boolean;
    const auto& src = target.node->source().begin;
    p.scenario_line = static_cast<int>(src.line);
    p.scenario_column = static_cast<int>(src.column);
    p.value_offset = byte_offset(s.scenario_text, src.line, src.column);
    p.value_length = token_length(s.scenario_text, p.value_offset);
    if (p.value_length == 0)
      fail_path(fmt::format("{}: '{}' is a multi-line string: it cannot be swept", s.scenario_path, p.path));
    if (lhs && p.categorical())
      fail_path(fmt::format("{}: '{}' is a {}: mode = \"lhs\" samples numbers; sweep it with mode = \"grid\" or \"zip\"",
                            s.scenario_path, p.path, p.kind_name()));

    if (!lhs) {
      read_values(t, p);
    } else {
      if (!t.has("range")) t.fail_table("mode = \"lhs\" needs range = [from, to] for each parameter");
      const toml::array& a = *t.find_array("range", "an array [from, to]");
      p.key = t.key_path("range");
      p.line = static_cast<int>(a.source().begin.line);
      p.column = static_cast<int>(a.source().begin.column);
      if (a.size() != 2) t.fail("range", fmt::format("expected [from, to], got {} elements", a.size()));
      const double lo = t.number(*a.get(0), p.key + "[0]", -kInf, kInf, "a number");
      const double hi = t.number(*a.get(1), p.key + "[1]", -kInf, kInf, "a number");
      if (!(lo < hi)) t.fail("range", fmt::format("expected from < to, got [{}, {}]", lo, hi));
      const bool log = t.one_of<bool>("scale", {{"linear", false}, {"log", true}}).value_or(false);
      if (log && !(lo > 0.0)) t.fail("range", fmt::format("scale = \"log\" needs from > 0, got {}", lo));
      p.values = {lo, hi, log ? 1.0 : 0.0};  // replaced by the sample below
    }
    s.parameters.push_back(std::move(p));
  });
  sw.finish();

  // Points: [P][K].
  auto& ps = s.parameters;
  const std::size_t K = ps.size();
  if (s.mode == SweepMode::Grid) {
    std::size_t P = 1;
    for (std::size_t k = 0; k < K; ++k) {
      P *= ps[k].values.size();
      if (P > kMaxSweepPoints)
        fail(source, ps[k], fmt::format("the grid has more than {} points", kMaxSweepPoints));
    }
    s.points.assign(P, std::vector<double>(K));
    for (std::size_t pt = 0; pt < P; ++pt) {
      std::size_t rest = pt;  // row-major: the last parameter varies fastest
      for (std::size_t k = K; k-- > 0;) {
        s.points[pt][k] = ps[k].values[rest % ps[k].values.size()];
        rest /= ps[k].values.size();
      }
    }
  } else if (s.mode == SweepMode::Zip) {
    for (std::size_t k = 1; k < K; ++k)
      if (ps[k].values.size() != ps[0].values.size())
        fail(source, ps[k], fmt::format("mode = \"zip\" needs every parameter to have the same number of values: sweep.parameter[0] "
                           "has {}, this one {}", ps[0].values.size(), ps[k].values.size()));
    s.points.assign(ps[0].values.size(), std::vector<double>(K));
    for (std::size_t pt = 0; pt < s.points.size(); ++pt)
      for (std::size_t k = 0; k < K; ++k) s.points[pt][k] = ps[k].values[pt];
  } else {
    const auto u = latin_hypercube(lhs_points, K, s.lhs_seed);
    s.points.assign(lhs_points, std::vector<double>(K));
    for (std::size_t k = 0; k < K; ++k) {
      const double lo = ps[k].values[0], hi = ps[k].values[1];
      const bool log = ps[k].values[2] != 0.0;
      ps[k].values.clear();
      for (std::size_t pt = 0; pt < lhs_points; ++pt) {
        const double v = log ? std::exp(std::log(lo) + u[pt][k] * (std::log(hi) - std::log(lo))) : lo + u[pt][k] * (hi - lo);
        s.points[pt][k] = v;
        ps[k].values.push_back(v);
      }
    }
  }

  if (checks.every_point) {  // before any is run
    for (std::size_t pt = 0; pt < s.points.size(); ++pt) {
      s.point_model(pt);
      if (checks.progress) checks.progress(pt + 1, s.points.size());
    }
  }
  return s;
}

const char* SweepParameter::kind_name() const {
  switch (kind) {
    case Kind::String: return "string";
    case Kind::Boolean: return "boolean";
    case Kind::Number: break;
  }
  return "number";
}

std::string SweepParameter::text(double value) const {
  return categorical() ? labels.at(static_cast<std::size_t>(value)) : toml_number(value, integer);
}

std::string SweepParameter::readable(double value) const {
  if (categorical()) return labels.at(static_cast<std::size_t>(value));
  if (integer && whole(value)) return toml_number(value, true);
  return fmt::format("{:.12g}", value);
}

std::string Sweep::point_scenario(std::size_t p) const {
  std::vector<std::size_t> order(parameters.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return parameters[a].value_offset < parameters[b].value_offset; });
  std::string out;
  std::size_t at = 0;
  for (const std::size_t k : order) {
    const SweepParameter& q = parameters[k];
    out.append(scenario_text, at, q.value_offset - at);
    out += q.text(points[p][k]);
    at = q.value_offset + q.value_length;
  }
  out.append(scenario_text, at, std::string::npos);
  return out;
}

std::string Sweep::describe_point(std::size_t p, bool exact) const {
  std::string out;
  for (std::size_t k = 0; k < parameters.size(); ++k)
    out += fmt::format("{}{} = {}", k ? ", " : "", parameters[k].path,
                       exact ? parameters[k].text(points[p][k]) : parameters[k].readable(points[p][k]));
  return out;
}

Model Sweep::point_model(std::size_t p) const {
  try {
    return parse_scenario(point_scenario(p), scenario_path);
  } catch (const ScenarioError& e) {
    // Blame the parameter whose value the scenario rejected (its value sits where the error points),
    // at the value of this point if it was listed; else the whole [sweep] table (a world check).
    const std::string what =
        fmt::format("point {} of {} ({}) is rejected by the scenario: {}", p, points.size(), describe_point(p, true), e.what());
    for (std::size_t k = 0; k < parameters.size(); ++k) {
      const SweepParameter& q = parameters[k];
      if (q.scenario_line != e.line || q.scenario_column != e.column) continue;
      for (std::size_t j = 0; j < q.value_positions.size(); ++j)
        if (q.values[j] == points[p][k])
          throw SweepError(file, q.value_positions[j].first, q.value_positions[j].second, fmt::format("{}[{}]", q.key, j), what);
      throw SweepError(file, q.line, q.column, q.key, what);
    }
    throw SweepError(file, line, column, "sweep", what);
  }
}

}  // namespace restake
