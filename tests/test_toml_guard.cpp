// The guard in front of toml++ (io/toml_guard.hpp): the texts that reach Debian's toml++ 3.3.0's
// undefined behaviour or unchecked assertions are refused, located, before toml++ reads them; valid
// TOML, non-ASCII text in strings and comments included, is not; and every TOML input passes it.
#include "io/toml_guard.hpp"

#include <string>

#include <doctest/doctest.h>

#include "io/scenario.hpp"
#include "reproduce/reproduction.hpp"
#include "sweep/sweep.hpp"

using namespace restake;

namespace {

// The error parse_scenario raises on `text` (an error is expected).
ScenarioError scenario_error(const std::string& text) {
  try {
    parse_scenario(text, "s.toml");
  } catch (const ScenarioError& e) {
    return e;
  }
  FAIL("the text parsed, but an error was expected");
  return ScenarioError("", 0, 0, "", "");
}

std::string contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos ? part : text;
}

}  // namespace

TEST_CASE("texts that reach toml++ 3.3.0's defects are refused where they are, before toml++ reads them") {
  struct Case {
    std::string text;
    int line, column;
    std::string expected;
  };
  const Case cases[] = {
      // TOML_UNREACHABLE in its whitespace classifier (marzer/tomlplusplus#295)
      {"\xCC\xAA", 1, 1, "non-ASCII character U+032A outside a string or comment"},
      {"a = 1 \xC3\xA9\n", 1, 7, "non-ASCII character U+00E9 outside a string or comment"},
      {"a = \"x\"\xE3\x80\x81\n", 1, 8, "non-ASCII character U+3001 outside a string or comment"},
      {"a = 0.0'\xCC\xAA'\n", 1, 5, "expected a value (a string, number, boolean, date, time, array or inline table), got '0.0'"},
      {"a = \"\"\"\\\n  \xC3\xA9\"\"\"\n", 2, 3, "non-ASCII character U+00E9 first after a line-ending backslash"},
      {"a = \"\"\"x\\  \xC3\xA9\"\"\"\n", 1, 12, "non-ASCII character U+00E9 first after a line-ending backslash"},
      {"a = \"\"\"\\\xC3\xA9\"\"\"\n", 1, 9, "non-ASCII character U+00E9 after a backslash: not an escape"},
      // assertions toml++ makes without checking
      {"[ .a]\n", 1, 3, "expected a key after '[' (a bare key or a quoted one), got '.'"},
      {"[[ [a]]]\n", 1, 4, "expected a key after '[[' (a bare key or a quoted one), got '['"},
      {"x = 1\n[\n", 2, 2, "expected a key after '[' (a bare key or a quoted one), got the end of the line"},
      {"a = [0, }0]\n", 1, 9, "'}' in an array: there is no inline table to close"},
      {"t = 1987-07-05Tl17:45:56Z\n", 1, 5, "got '1987-07-05Tl17:45:56Z'"},
      {"d = 1985-06-18 1}0:4:07\n", 1, 5, "got '1985-06-18 1'"},
      {"d = 0993-07-0[ 5\n", 1, 5, "got '0993-07-0['"},
      // not UTF-8
      {"a = 1\n\xFF\n", 2, 1, "invalid UTF-8 (byte 0xFF cannot start a character)"},
      {"a = \"\xC3\"\n", 1, 6, "invalid UTF-8 (byte 0xC3 starts a 2-byte character, but 0x22 follows)"},
      {"a = \"\xC0\xAF\"\n", 1, 6, "invalid UTF-8 (byte 0xC0 cannot start a character)"},
      {"a = \"\xE0\x80\xAF\"\n", 1, 6, "invalid UTF-8 (an overlong encoding of U+002F)"},
      {"a = \"\xED\xA0\x80\"\n", 1, 6, "invalid UTF-8 (U+D800 is a surrogate)"},
      {"a = \"\xF4\x90\x80\x80\"\n", 1, 6, "invalid UTF-8 (U+110000 is beyond U+10FFFF)"},
      {"a = \"\xE2\x82", 1, 6, "invalid UTF-8 (the text ends inside a 3-byte character)"},
      // control characters
      {std::string("a = \"x\0y\"\n", 10), 1, 7, "control character U+0000"},
      {"# \x7F\n", 1, 3, "control character U+007F"},
      {"a = 1\rb = 2\n", 1, 6, "carriage return without a line feed"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    const ScenarioError e = scenario_error(c.text);
    CHECK(e.file == "s.toml");
    CHECK(e.line == c.line);
    CHECK(e.column == c.column);
    CHECK(e.key == "(syntax)");
    CHECK(contains(e.what(), c.expected) == c.expected);
  }
}

TEST_CASE("valid TOML passes the guard, non-ASCII text in strings, comments and quoted keys included") {
  // Every kind of TOML 1.0 value and layout (after toml-test's valid cases, all of which pass but
  // one: string/start-mb.toml, a non-ASCII character first after a line-ending backslash).
  const std::string text =
      "\xEF\xBB\xBF# \xCF\x88, \xC3\xA9t\xC3\xA9, \xE3\x80\x81 and \xEF\xBC\x81 in a comment\r\n"
      "name = \"\xC3\xA9t\xC3\xA9 \xCC\xAA \xE3\x80\x81\"  # after a value\n"
      "literal = '\xC3\xA9\\'\n"
      "multi = \"\"\"\n\xC3\xA9 \"quoted\" \"\"in\"\" \xEF\xBC\x81\\\n   x \\\\ \\u00E9\"\"\"\"\n"
      "multi_literal = '''\xC3\xA9 ''quoted'' \\'''''\n"
      "\"\xC3\xA9\".'\xCF\x88'.bare-key_1 = 1\n"
      "ints = [+99, -17, 0, 1_000, 0xDEAD_beef, 0o755, 0b1101]\n"
      "floats = [ 1.0, -3.1415, 5e+22, 1e06, -2E-2, 6.626e-34, 224_617.445_991, inf, -inf, +nan ]\n"
      "bools = [true, false]\n"
      "dates = [1979-05-27T07:32:00Z, 1979-05-27t00:32:00.999999-07:00, 1979-05-27 07:32:00z, 1979-05-27T07:32:00,\n"
      "  1979-05-27, 07:32:00, 00:32:00.999999,  # a comment in an array\n"
      "]\n"
      "space = 1979-05-27 07:32:00\n"
      "nested = [ [ 1, 2 ], [\"a\", '\xC3\xA9'], [ { x = 1 }, {} ] ]\n"
      "inline = { a = 1, \"b\" = { c = [ 1979-05-27 ] }, d.e = \"\xC3\xA9\" }\n"
      "[ table . \"\xC3\xA9\" ]\n"
      "k = \"v\"\n"
      "  [[ array.'of' ]]  # indented\n"
      "[[array.of]]\n";
  CHECK(!find_toml_hazard(text));
  CHECK(!find_toml_hazard(""));
}

TEST_CASE("every TOML input passes the guard: scenarios, sweep files, the scenarios they name, texts stored in results, the manifest") {
  const std::string bad = "[ .a]\n";
  const std::string expected = "1:3: (syntax): expected a key after '['";
  CHECK(contains(scenario_error(bad).what(), "s.toml:" + expected) == "s.toml:" + expected);
  const auto sweep_error = [](const std::string& sweep, const std::string& scenario) -> std::string {
    try {
      parse_sweep(sweep, "w.toml", [&](const std::string&) { return scenario; });
    } catch (const ScenarioError& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(contains(sweep_error(bad, ""), "w.toml:" + expected) == "w.toml:" + expected);
  // The scenario a sweep names, as read from its file or as stored in a progress or shard file
  // (sweep_of_part passes the stored text the same way).
  CHECK(contains(sweep_error("[sweep]\nscenario = \"s.toml\"\n", bad), "s.toml:" + expected) == "s.toml:" + expected);
  try {
    parse_reproductions(bad, "m.toml");
    FAIL("the manifest parsed");
  } catch (const ScenarioError& e) {
    CHECK(contains(e.what(), "m.toml:" + expected) == "m.toml:" + expected);
  }
}
