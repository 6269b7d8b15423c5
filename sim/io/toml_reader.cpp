#include "io/toml_reader.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "io/toml_guard.hpp"

namespace restake {

ScenarioError::ScenarioError(std::string file_, int line_, int column_, std::string key_, const std::string& what)
    : std::runtime_error(fmt::format("{}:{}:{}: {}: {}", file_, line_, column_, key_, what)),
      file(std::move(file_)),
      line(line_),
      column(column_),
      key(std::move(key_)) {}

ScenarioError::ScenarioError(const ScenarioError& where, const std::string& message)
    : std::runtime_error(message), file(where.file), line(where.line), column(where.column), key(where.key) {}

namespace {

std::vector<ScenarioError> in_file_order(std::vector<ScenarioError> all) {
  std::stable_sort(all.begin(), all.end(), [](const ScenarioError& a, const ScenarioError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return all;
}

std::string joined(const std::vector<ScenarioError>& all) {
  std::string out;
  for (const auto& e : all) {
    if (!out.empty()) out += '\n';
    out += e.what();
  }
  return out;
}

}  // namespace

ScenarioErrors::ScenarioErrors(std::vector<ScenarioError> all)
    : ScenarioError(in_file_order(all).front(), joined(in_file_order(all))), errors(in_file_order(std::move(all))) {}

void TomlFile::fail(int line, int column, const std::string& key, const std::string& what) const {
  raise(name, line, column, key, what);
  throw ScenarioError(name, line, column, key, what);  // a `raise` that returned is a bug: still stop here
}

void TomlFile::fail(const toml::source_region& where, const std::string& key, const std::string& what) const {
  fail(static_cast<int>(where.begin.line), static_cast<int>(where.begin.column), key, what);
}

toml::table parse_toml(std::string_view text, const TomlFile& file) {
  // Debian's toml++ 3.3.0 has undefined behaviour on some texts: they never reach it (io/toml_guard.hpp).
  if (const auto hazard = find_toml_hazard(text)) file.fail(hazard->line, hazard->column, "(syntax)", hazard->what);
  try {
    return toml::parse(text, std::string_view(file.name));
  } catch (const toml::parse_error& e) {
    file.fail(e.source(), "(syntax)", std::string(e.description()));
  }
}

std::string a_type(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date or time";
  }
}

// Damerau-Levenshtein distance (the optimal string alignment variant: insertions, deletions,
// substitutions and swaps of neighbours, each 1), ignoring case. Written here rather than taken
// from a library: it is a dozen lines, and Debian 12 packages no C++ string-distance library.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t change = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + change});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::optional<std::string_view> closest_match(std::string_view word, const std::vector<std::string_view>& candidates) {
  // A third of the longer word's letters may be wrong (one in "sed" for "seed", two in "fraktoin"
  // for "fraction"); words of one or two letters only by case. Past 64 letters a word is no typo.
  constexpr std::size_t kLongest = 64;
  if (word.size() > kLongest) return std::nullopt;
  std::optional<std::string_view> best;
  std::size_t best_distance = 0;
  bool tied = false;
  for (const std::string_view c : candidates) {
    if (c.size() > kLongest || c == word) continue;
    const std::size_t longer = std::max(word.size(), c.size());
    const std::size_t allowed = longer < 3 ? 0 : longer / 3;
    const std::size_t length_gap = longer - std::min(word.size(), c.size());
    if (length_gap > allowed) continue;
    const std::size_t d = edit_distance(word, c);
    if (d > allowed || (best && d > best_distance)) continue;
    tied = best && d == best_distance && c != *best;
    if (!tied) {
      best = c;
      best_distance = d;
    }
  }
  // "op-z" is as close to "op-a" as to "op-b": naming either would be a guess.
  return tied ? std::nullopt : best;
}

std::string element_key_path(std::string_view parent, std::string_view key, std::size_t index, std::string_view name) {
  const std::string at = fmt::format("{}[{}]", key, index);
  const std::string element = name.empty() ? at : fmt::format("{} \"{}\" ({})", key, name, at);
  return parent.empty() ? element : fmt::format("{}.{}", parent, element);
}

TableReader::TableReader(const toml::table& table, std::string path, const TomlFile& file)
    : table_(table), path_(std::move(path)), file_(file) {}

TableReader& TableReader::allow(std::initializer_list<std::string_view> keys) {
  std::vector<const toml::key*> unknown;
  for (const auto& [k, v] : table_)
    if (std::find(keys.begin(), keys.end(), k.str()) == keys.end()) unknown.push_back(&k);
  if (unknown.empty()) return *this;
  // toml++ iterates keys in sorted order: report them as written, the first where a reader looks.
  std::sort(unknown.begin(), unknown.end(), [](const toml::key* a, const toml::key* b) {
    return std::pair(a->source().begin.line, a->source().begin.column) < std::pair(b->source().begin.line, b->source().begin.column);
  });
  std::string known;
  for (const auto k : keys) known += (known.empty() ? "" : ", ") + std::string(k);
  // A key of this table that is absent is the likelier meaning of a typo than one already given.
  std::vector<std::string_view> absent, given;
  for (const auto k : keys) (table_.contains(k) ? given : absent).push_back(k);
  std::vector<ScenarioError> errors;
  for (const toml::key* k : unknown) {
    auto near = closest_match(k->str(), absent);
    if (!near) near = closest_match(k->str(), given);
    const std::string what = near ? fmt::format("unknown key; did you mean '{}'? (expected one of: {})", *near, known)
                                  : fmt::format("unknown key (check the spelling; expected one of: {})", known);
    if (!file_.collect_errors) fail_at(k->source(), key_path(k->str()), what);
    const auto& b = k->source().begin;
    errors.emplace_back(file_.name, static_cast<int>(b.line), static_cast<int>(b.column), key_path(k->str()), what);
  }
  if (errors.size() == 1) throw errors.front();
  throw ScenarioErrors(std::move(errors));
}

void TableReader::finish() const {
  for (const auto& [k, v] : table_)
    if (!used_.contains(k.str()))
      fail_at(k.source(), key_path(k.str()), fmt::format("unknown key (check the spelling; see {})", file_.format_doc));
}

std::string TableReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

const toml::node* TableReader::get(std::string_view key) {
  used_.emplace(key);
  return table_.get(key);
}

void TableReader::fail(std::string_view key, const std::string& what) const {
  const toml::node* n = table_.get(key);
  fail_at(n ? n->source() : table_.source(), key_path(key), what);
}

void TableReader::fail_table(const std::string& what) const {
  fail_at(table_.source(), path_.empty() ? "(top level)" : path_, what);
}

void TableReader::fail_at(const toml::source_region& where, const std::string& key, const std::string& what) const {
  file_.fail(where, key, what);
}

std::optional<double> TableReader::number(std::string_view key, double lo, double hi, const char* expected) {
  const toml::node* n = get(key);
  if (!n) return std::nullopt;
  return number(*n, key_path(key), lo, hi, expected);
}

double TableReader::number_or(std::string_view key, double fallback, double lo, double hi, const char* expected) {
  return number(key, lo, hi, expected).value_or(fallback);
}

double TableReader::required_number(std::string_view key, double lo, double hi, const char* expected) {
  const auto v = number(key, lo, hi, expected);
  if (!v) fail_table(fmt::format("missing required key '{}' ({})", key, expected));
  return *v;
}

double TableReader::number(const toml::node& n, const std::string& path, double lo, double hi, const char* expected) const {
  double v = 0.0;
  if (const auto* i = n.as_integer()) {
    v = static_cast<double>(i->get());
  } else if (const auto* f = n.as_floating_point()) {
    v = f->get();
  } else {
    fail_at(n.source(), path, fmt::format("expected {}, got {}", expected, a_type(n)));
  }
  if (!std::isfinite(v) || !(v >= lo && v <= hi)) fail_at(n.source(), path, fmt::format("expected {}, got {}", expected, v));
  return v;
}

std::optional<std::uint64_t> TableReader::integer(std::string_view key, std::int64_t lo, const char* expected) {
  return integer(key, lo, kNoLimit, expected);
}

std::optional<std::uint64_t> TableReader::integer(std::string_view key, std::int64_t lo, std::int64_t hi, const char* expected) {
  const toml::node* n = get(key);
  if (!n) return std::nullopt;
  return integer(*n, key_path(key), lo, hi, expected);
}

std::uint64_t TableReader::integer(const toml::node& n, const std::string& path, std::int64_t lo, std::int64_t hi,
                                   const char* expected) const {
  const auto* i = n.as_integer();
  if (!i) fail_at(n.source(), path, fmt::format("expected {}, got {}", expected, a_type(n)));
  if (i->get() < lo || i->get() > hi)
    fail_at(n.source(), path, fmt::format("expected {}, got {}", expected, i->get()));
  return static_cast<std::uint64_t>(i->get());
}

std::optional<bool> TableReader::boolean(std::string_view key) {
  const toml::node* n = get(key);
  if (!n) return std::nullopt;
  const auto* b = n->as_boolean();
  if (!b) fail(key, fmt::format("expected true or false, got {}", a_type(*n)));
  return b->get();
}

std::optional<std::string> TableReader::string(std::string_view key) {
  const toml::node* n = get(key);
  if (!n) return std::nullopt;
  const auto* s = n->as_string();
  if (!s) fail(key, fmt::format("expected a string, got {}", a_type(*n)));
  return s->get();
}

std::string TableReader::required_string(std::string_view key) {
  auto s = string(key);
  if (!s) fail_table(fmt::format("missing required key '{}' (a string)", key));
  return std::move(*s);
}

std::optional<std::size_t> TableReader::choice(std::string_view key, const Choices& choices, bool required) {
  const toml::node* n = get(key);
  if (!n) {
    if (required) fail_table(fmt::format("missing required key '{}' (a string)", key));
    return std::nullopt;
  }
  const auto* s = n->as_string();
  for (std::size_t i = 0; s && i < choices.size(); ++i)
    if (s->get() == choices[i].first) return i;
  // A few choices read as a sentence: "a" or "b"; more as a list: one of a, b, c, d.
  const bool sentence = choices.size() <= 3;
  std::string accepted;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    const auto& [text, note] = choices[i];
    if (i > 0) accepted += sentence && i + 1 == choices.size() ? " or " : ", ";
    accepted += sentence ? fmt::format("\"{}\"", text) : std::string(text);
    if (!note.empty()) accepted += fmt::format(" ({})", note);
  }
  const std::string got = s ? fmt::format("\"{}\"", s->get()) : a_type(*n);
  std::vector<std::string_view> texts;
  for (const auto& c : choices) texts.push_back(c.first);
  const auto near = s ? closest_match(s->get(), texts) : std::nullopt;
  const std::string hint = near ? fmt::format(" (did you mean \"{}\"?)", *near) : "";
  fail(key, sentence ? fmt::format("expected {}, got {}{}", accepted, got, hint)
                     : fmt::format("expected one of {}; got {}{}", accepted, got, hint));
}

const toml::table* TableReader::table(std::string_view key) {
  const toml::node* n = get(key);
  if (!n) return nullptr;
  const auto* t = n->as_table();
  if (!t) fail(key, fmt::format("expected a table, got {}", a_type(*n)));
  return t;
}

const toml::array* TableReader::find_array(std::string_view key, const char* expected) {
  const toml::node* n = get(key);
  if (!n) return nullptr;
  const auto* a = n->as_array();
  if (!a) fail(key, fmt::format("expected {}, got {}", expected, a_type(*n)));
  return a;
}

std::string TableReader::element_path(std::string_view key, std::size_t index, const toml::node& n) const {
  const toml::node* name = file_.named_paths && n.is_table() ? n.as_table()->get("name") : nullptr;
  return element_key_path(path_, key, index, name && name->is_string() ? std::string_view(name->as_string()->get()) : "");
}

TableReader TableReader::element_reader(const toml::node& n, const std::string& path) const {
  return TableReader(element_table(n, path), path, file_);
}

const toml::table& TableReader::element_table(const toml::node& n, const std::string& path) const {
  const auto* t = n.as_table();
  if (!t) fail_at(n.source(), path, fmt::format("expected a table, got {}", a_type(n)));
  return *t;
}

}  // namespace restake
