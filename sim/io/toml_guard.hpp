#pragma once
// What Debian's toml++ 3.3.0 must not be given. Its parser has undefined behaviour on some inputs;
// parse_toml (io/toml_reader) looks for them first and refuses the text with a located error.
// - A non-ASCII character where toml++ asks whether it is whitespace: outside strings and comments,
//   and in a multi-line basic string after a backslash or first after a line-ending backslash. For
//   U+00A1-U+0499, U+2C5E-U+3057 (but U+3000) and U+FB26-U+FEFE its classifier reaches
//   TOML_UNREACHABLE (marzer/tomlplusplus#295, fixed by PR #305; the bytes CC AA are U+032A).
// - What toml++ asserts (TOML_ASSERT_ASSUME) without having checked it, which aborts a build with
//   assertions and is undefined behaviour under clang's __builtin_assume: that a table header's key
//   follows '[' or '[[' and spaces ("[ .a]"), that an array element is not '}', and the shapes of
//   numbers, dates and times ("1987-07-05Tx" reaches parse_time). So every value that is not a
//   string, array or inline table must have the shape of a TOML 1.0 number, boolean, date or time.
// - As TOML 1.0 requires, invalid UTF-8 and control characters other than tab and line breaks, so
//   that no malformed byte reaches toml++'s decoder and classifiers.
// All of this refuses only invalid TOML, but for one case: a non-ASCII character first after a
// line-ending backslash. The checks were found by fuzzing toml++ (header-only, with assertions and
// sanitizers) behind this guard; drop them when Debian ships a toml++ with #305 and the assertions
// checked (tests/test_toml_guard.cpp lists the inputs).
#include <optional>
#include <string>
#include <string_view>

namespace restake {

struct TomlHazard {
  int line = 0;
  int column = 0;  // in characters, from 1, as toml++ counts
  std::string what;
};

// The first place of `text` that toml++ 3.3.0 must not read, and why; nullopt if there is none.
std::optional<TomlHazard> find_toml_hazard(std::string_view text);

}  // namespace restake
