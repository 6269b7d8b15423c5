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

TableReader::TableReader(const toml::table& table, std::string path, const TomlFile& file)
    : table_(table), path_(std::move(path)), file_(file) {}

TableReader& TableReader::allow(std::initializer_list<std::string_view> keys) {
  // toml++ iterates keys in sorted order: report the one written first, where a reader looks.
  const toml::key* first = nullptr;
  for (const auto& [k, v] : table_) {
    if (std::find(keys.begin(), keys.end(), k.str()) != keys.end()) continue;
    const auto& b = k.source().begin;
    if (!first || std::pair(b.line, b.column) < std::pair(first->source().begin.line, first->source().begin.column)) first = &k;
  }
  if (first) {
    std::string known;
    for (const auto k : keys) known += (known.empty() ? "" : ", ") + std::string(k);
    fail_at(first->source(), key_path(first->str()), fmt::format("unknown key (check the spelling; expected one of: {})", known));
  }
  return *this;
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
  fail(key, sentence ? fmt::format("expected {}, got {}", accepted, got) : fmt::format("expected one of {}; got {}", accepted, got));
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

std::string TableReader::element_path(std::string_view key, std::size_t index) const {
  return fmt::format("{}[{}]", key_path(key), index);
}

const toml::table& TableReader::element_table(const toml::node& n, const std::string& path) const {
  const auto* t = n.as_table();
  if (!t) fail_at(n.source(), path, fmt::format("expected a table, got {}", a_type(n)));
  return *t;
}

}  // namespace restake
