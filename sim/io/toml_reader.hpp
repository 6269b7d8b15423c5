#pragma once
// The strict reader of restake-sim's TOML files (scenarios, sweeps, the reproductions manifest).
// Each table declares the keys it may hold; anything else is an error. Every error is thrown with
// the file, line, column and key path it is about, e.g. "s.toml:12:5: avs[1].slashing[0].fraction:
// expected a slashed share in [0, 1], got 1.5".
//
//   const TomlFile file{"world.toml", "docs/scenario-format.md"};
//   const toml::table root = parse_toml(text, file);
//   TableReader top(root, "", file);
//   top.allow({"protocol"});
//   top.each_table("protocol", [&](TableReader& p, std::size_t) {  // [[protocol]] tables
//     p.allow({"name", "slashing_mode"});
//     names.push_back(p.required_string("name"));
//     modes.push_back(p.required_one_of<SlashingMode>("slashing_mode", {{"shared", SlashingMode::Shared},
//                                                                       {"unique", SlashingMode::Unique}}));
//   });
//   top.finish();
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

namespace restake {

struct ScenarioError : std::runtime_error {
  ScenarioError(std::string file, int line, int column, std::string key, const std::string& what);
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // key path, e.g. "avs[1].slashing[0].fraction"

 protected:
  ScenarioError(const ScenarioError& where, const std::string& message);  // `where`'s place, another text
};

// Several errors of one file, in the order of their places in it (line, column). As a
// ScenarioError it is the first of them; what() is every error's message, one per line.
struct ScenarioErrors : ScenarioError {
  explicit ScenarioErrors(std::vector<ScenarioError> all);  // not empty
  std::vector<ScenarioError> errors;
};

// Thrown instead of an error that would only repeat one already recorded (an entry that names an
// entry with errors): the reader stops that entry and reports nothing more for it.
struct EntryAbandoned {};

// Throws the error a file's reader reports: ScenarioError, or a type derived from it (SweepError),
// so that callers can tell a sweep file's errors from its scenario's.
using ThrowError = void (*)(std::string file, int line, int column, std::string key, const std::string& what);
template <class Error>
[[noreturn]] void throw_as(std::string file, int line, int column, std::string key, const std::string& what) {
  throw Error(std::move(file), line, column, std::move(key), what);
}

// The file being read: its name labels errors; `format_doc` is where its keys are documented.
struct TomlFile {
  std::string name;
  std::string format_doc;
  ThrowError raise = &throw_as<ScenarioError>;
  // A reader that collects errors (scenarios) takes every unknown key of a table at once, as
  // ScenarioErrors; others stop at the first, thrown by `raise`.
  bool collect_errors = false;
  // An array's table with a string `name` is called by it in key paths: `avs "EigenDA" (avs[2])`.
  bool named_paths = false;

  [[noreturn]] void fail(int line, int column, const std::string& key, const std::string& what) const;
  [[noreturn]] void fail(const toml::source_region& where, const std::string& key, const std::string& what) const;
};

// The TOML text of `file`; a syntax error is an error at key "(syntax)". Every TOML text goes
// through here, past the guard against toml++ 3.3.0's defects (io/toml_guard.hpp).
toml::table parse_toml(std::string_view text, const TomlFile& file);

// "a float", "an array", ...: what a value is, for "expected X, got <a_type>".
std::string a_type(const toml::node& n);

// The candidate closest to a mistyped `word`, if one is close enough to be what was meant
// (io/toml_reader.cpp, closest_match, says how close); none if two are equally close.
std::optional<std::string_view> closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

// The key path of element `index` of the array `key` under `parent`: "avs[2]", or with a name
// (not empty), `avs "EigenDA" (avs[2])`, readable and still locating it.
std::string element_key_path(std::string_view parent, std::string_view key, std::size_t index, std::string_view name = {});

// One text an enumerated key accepts, the value it stands for, and a note said after it in errors:
// {"balance", ExitChurn::Balance, "Electra"} -> expected "validators" (before Electra) or "balance" (Electra).
template <class E>
struct EnumText {
  std::string_view text;
  E value;
  std::string_view note = {};
};

// One TOML table being read. It remembers which keys were asked for, so that whatever is left over
// at finish() is an unknown key. Readers of sub-tables share the TomlFile, which must outlive them.
class TableReader {
 public:
  static constexpr std::int64_t kNoLimit = std::numeric_limits<std::int64_t>::max();

  TableReader(const toml::table& table, std::string path, const TomlFile& file);

  // Declares every key this table may hold and rejects any other at once, before other checks
  // run: a misspelt required key is reported as the typo it is (with the closest declared key),
  // not as missing. Reports the first unknown key in the file, or all (TomlFile::collect_errors).
  TableReader& allow(std::initializer_list<std::string_view> keys);
  // A key that was declared but not read (it does not apply here) is an unknown key too.
  void finish() const;

  const std::string& path() const { return path_; }
  std::string key_path(std::string_view key) const;  // "avs[0]" + "name" -> "avs[0].name"
  const TomlFile& file() const { return file_; }
  bool has(std::string_view key) const { return table_.contains(key); }
  const toml::node* get(std::string_view key);  // marks the key read; absent -> nullptr

  // Errors at a key (at the table if the key is absent), at the table, or anywhere.
  [[noreturn]] void fail(std::string_view key, const std::string& what) const;
  [[noreturn]] void fail_table(const std::string& what) const;
  [[noreturn]] void fail_at(const toml::source_region& where, const std::string& key, const std::string& what) const;

  // Absent keys are nullopt (or the fallback); a value of another type or outside [lo, hi] is an
  // error "expected <expected>, got <value>". Missing required keys: "missing required key 'k' (<expected>)".
  // Integers are counts and seeds: lo >= 0.
  std::optional<double> number(std::string_view key, double lo, double hi, const char* expected);
  double number_or(std::string_view key, double fallback, double lo, double hi, const char* expected);
  double required_number(std::string_view key, double lo, double hi, const char* expected);
  std::optional<std::uint64_t> integer(std::string_view key, std::int64_t lo, const char* expected);
  std::optional<std::uint64_t> integer(std::string_view key, std::int64_t lo, std::int64_t hi, const char* expected);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::string> string(std::string_view key);
  std::string required_string(std::string_view key);

  // The same checks on any value (an array element), reported at key path `path`.
  double number(const toml::node& n, const std::string& path, double lo, double hi, const char* expected) const;
  std::uint64_t integer(const toml::node& n, const std::string& path, std::int64_t lo, std::int64_t hi,
                        const char* expected) const;

  // A string that must be one of `texts`; otherwise: expected "a" or "b", got "c" (four or more:
  // expected one of a, b, c, d; got "e"). E is named: one_of<Fork>("fork", {{"deneb", Fork::Deneb}, ...}).
  template <class E>
  std::optional<E> one_of(std::string_view key, std::initializer_list<EnumText<E>> texts) {
    const auto i = choice(key, notes_of(texts), false);
    return i ? std::optional<E>(texts.begin()[*i].value) : std::nullopt;
  }
  template <class E>
  E required_one_of(std::string_view key, std::initializer_list<EnumText<E>> texts) {
    return texts.begin()[*choice(key, notes_of(texts), true)].value;
  }

  // A sub-table or an array (absent -> nullptr); `expected` says what the array should hold.
  const toml::table* table(std::string_view key);
  const toml::array* find_array(std::string_view key, const char* expected = "an array");

  // Each element of an array (possibly absent), read by `each(node, index, key path)`.
  template <class F>
  void array(std::string_view key, F&& each) {
    const toml::array* a = find_array(key);
    if (!a) return;
    for (std::size_t i = 0; i < a->size(); ++i) each(*a->get(i), i, element_path(key, i, *a->get(i)));
  }

  // Each table of an array of tables [[key]], read by `body(reader, index)` and then finished.
  template <class F>
  void each_table(std::string_view key, F&& body) {
    array(key, [&](const toml::node& n, std::size_t i, const std::string& path) {
      TableReader element = element_reader(n, path);
      body(element, i);
      element.finish();
    });
  }

  // The reader of an array's element `n` at key path `path`, which must be a table.
  TableReader element_reader(const toml::node& n, const std::string& path) const;

 private:
  using Choices = std::vector<std::pair<std::string_view, std::string_view>>;  // text, note
  template <class E>
  static Choices notes_of(std::initializer_list<EnumText<E>> texts) {
    Choices out;
    for (const auto& t : texts) out.emplace_back(t.text, t.note);
    return out;
  }
  // The index of the key's text in `choices`; absent -> nullopt, or an error if `required`.
  std::optional<std::size_t> choice(std::string_view key, const Choices& choices, bool required);
  std::string element_path(std::string_view key, std::size_t index, const toml::node& n) const;
  const toml::table& element_table(const toml::node& n, const std::string& path) const;

  const toml::table& table_;
  std::string path_;
  const TomlFile& file_;
  std::set<std::string, std::less<>> used_;
};

}  // namespace restake
