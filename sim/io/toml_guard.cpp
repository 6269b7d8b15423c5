#include "io/toml_guard.hpp"

#include <algorithm>
#include <cstddef>

#include <fmt/format.h>

namespace restake {

namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// Decodes the UTF-8 character at text[i] into `c` and its length; returns why it is not one
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or "" if it is.
std::string decode_utf8(std::string_view text, std::size_t i, char32_t& c, std::size_t& size) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size = 1;
  c = lead;
  if (lead < 0x80) return {};
  if (lead < 0xC2 || lead > 0xF4) return fmt::format("byte 0x{:02X} cannot start a character", lead);
  size = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  c = lead & (0x7Fu >> size);
  for (std::size_t k = 1; k < size; ++k) {
    if (i + k >= text.size()) return fmt::format("the text ends inside a {}-byte character", size);
    const unsigned char next = byte(i + k);
    if ((next & 0xC0) != 0x80)
      return fmt::format("byte 0x{:02X} starts a {}-byte character, but 0x{:02X} follows", lead, size, next);
    c = (c << 6) | (next & 0x3Fu);
  }
  const char32_t smallest = size == 2 ? 0x80 : size == 3 ? 0x800 : 0x10000;
  if (c < smallest) return fmt::format("an overlong encoding of U+{:04X}", static_cast<unsigned>(c));
  if (c >= 0xD800 && c <= 0xDFFF) return fmt::format("U+{:04X} is a surrogate", static_cast<unsigned>(c));
  if (c > 0x10FFFF) return fmt::format("U+{:X} is beyond U+10FFFF", static_cast<unsigned>(c));
  return {};
}

std::string code_point(char32_t c) { return fmt::format("U+{:04X}", static_cast<unsigned>(c)); }

bool is_space(char32_t c) { return c == ' ' || c == '\t'; }
bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}
// What ends a value that is not a string, array or table, for toml++ (unicode.h, is_value_terminator).
bool is_value_terminator(char32_t c) {
  return is_space(c) || c == '\n' || c == '\r' || c == ']' || c == '}' || c == ',' || c == '#';
}

// The shapes of TOML 1.0's other values (toml.io/en/v1.0.0): integers, floats, booleans, dates and
// times. Ranges (a 13th month, an integer beyond 64 bits) are toml++'s to check; shapes are ours,
// because toml++ asserts some of them before checking them (parse_time, the scan in parse_value).
bool is_dec(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_oct(char c) { return c >= '0' && c <= '7'; }
bool is_bin(char c) { return c == '0' || c == '1'; }

// One or more digits, an underscore only between two of them.
bool digit_run(std::string_view s, std::size_t& i, bool (*is_digit)(char)) {
  if (i >= s.size() || !is_digit(s[i])) return false;
  ++i;
  while (i < s.size()) {
    if (is_digit(s[i])) ++i;
    else if (s[i] == '_' && i + 1 < s.size() && is_digit(s[i + 1])) i += 2;
    else break;
  }
  return true;
}
bool fixed_digits(std::string_view s, std::size_t& i, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k, ++i)
    if (i >= s.size() || !is_dec(s[i])) return false;
  return true;
}
bool skip(std::string_view s, std::size_t& i, char c) {
  if (i >= s.size() || s[i] != c) return false;
  ++i;
  return true;
}

bool is_number(std::string_view s) {
  std::size_t i = 0;
  const bool sign = skip(s, i, '+') || skip(s, i, '-');
  if (s.substr(i) == "inf" || s.substr(i) == "nan") return true;
  if (!sign && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
    i = 2;
    return digit_run(s, i, s[1] == 'x' ? is_hex : s[1] == 'o' ? is_oct : is_bin) && i == s.size();
  }
  if (!skip(s, i, '0') && !digit_run(s, i, is_dec)) return false;  // no leading zeros
  if (skip(s, i, '.') && !digit_run(s, i, is_dec)) return false;
  if (skip(s, i, 'e') || skip(s, i, 'E')) {
    if (!skip(s, i, '+')) skip(s, i, '-');
    if (!digit_run(s, i, is_dec)) return false;
  }
  return i == s.size();
}

bool full_date(std::string_view s, std::size_t& i) {
  return fixed_digits(s, i, 4) && skip(s, i, '-') && fixed_digits(s, i, 2) && skip(s, i, '-') && fixed_digits(s, i, 2);
}
bool partial_time(std::string_view s, std::size_t& i) {
  if (!(fixed_digits(s, i, 2) && skip(s, i, ':') && fixed_digits(s, i, 2) && skip(s, i, ':') && fixed_digits(s, i, 2)))
    return false;
  return !skip(s, i, '.') || digit_run(s, i, is_dec);
}
bool is_local_date(std::string_view s) {
  std::size_t i = 0;
  return full_date(s, i) && i == s.size();
}
bool is_date_or_time(std::string_view s) {
  std::size_t i = 0;
  if (!full_date(s, i)) {
    i = 0;
    return partial_time(s, i) && i == s.size();  // a local time
  }
  if (i == s.size()) return true;  // a local date
  if (!(skip(s, i, 'T') || skip(s, i, 't') || skip(s, i, ' ')) || !partial_time(s, i)) return false;
  if (skip(s, i, 'Z') || skip(s, i, 'z')) return i == s.size();
  if (skip(s, i, '+') || skip(s, i, '-')) return fixed_digits(s, i, 2) && skip(s, i, ':') && fixed_digits(s, i, 2) && i == s.size();
  return i == s.size();
}

bool is_other_value(std::string_view s) { return s == "true" || s == "false" || is_number(s) || is_date_or_time(s); }

// Walks the text as toml++ will, knowing only what decides how toml++ reads a character: strings,
// comments, keys and values, the brackets of values, and table headers.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  std::optional<TomlHazard> run() {
    std::size_t i = text_.starts_with(kByteOrderMark) ? kByteOrderMark.size() : 0;  // toml++ skips it too
    while (i < text_.size()) {
      char32_t c = 0;
      std::size_t size = 0;
      if (const std::string why = decode_utf8(text_, i, c, size); !why.empty())
        return hazard(fmt::format("invalid UTF-8 ({}): a TOML file is UTF-8 text", why));
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
        return hazard(fmt::format("control character {}: TOML allows only tab and line breaks (in a string, "
                                  "write it as an escape, \\u{:04X})", code_point(c), static_cast<unsigned>(c)));
      if (c == '\r' && text_.substr(i + 1, 1) != "\n")
        return hazard("carriage return without a line feed: TOML line breaks are LF or CR LF");
      if (skip_ > 0) {
        --skip_;  // the rest of a run of quotes, already read
      } else if (auto h = step(c, i)) {
        return h;
      }
      i += size;
      if (c == '\n') {
        ++line_;
        column_ = 1;
      } else {
        ++column_;
      }
    }
    if (mode_ == Mode::BareValue) return check_token(text_.size());
    return std::nullopt;
  }

 private:
  enum class Mode { Code, BareValue, Comment, BasicString, LiteralString, MultiLineBasicString, MultiLineLiteralString };
  // What toml++ reads next outside strings: a key (or the next part of a dotted one), the rest of a
  // key, a value, or what may follow a value.
  enum class Expect { Key, AfterKey, Value, AfterValue };

  std::optional<TomlHazard> step(char32_t c, std::size_t i) {
    switch (mode_) {
      case Mode::Code: return code(c, i);
      case Mode::BareValue:
        // A number, boolean, date or time: toml++ reads it up to a value terminator, quotes and all,
        // and past a space after a date when a digit follows (a date-time written with a space).
        if (!is_value_terminator(c)) return std::nullopt;
        if (c == ' ' && !token_has_space_ && is_local_date(token(i)) && i + 1 < text_.size() && is_dec(text_[i + 1])) {
          token_has_space_ = true;
          return std::nullopt;
        }
        if (auto h = check_token(i)) return h;
        expect_ = Expect::AfterValue;
        return code(c, i);
      case Mode::Comment:
        if (c == '\n') return code(c, i);
        return std::nullopt;
      case Mode::BasicString:
        if (c == '\n') return code(c, i);  // unterminated: toml++ stops here
        if (escaped_) escaped_ = false;
        else if (c == '\\') escaped_ = true;
        else if (c == '"') mode_ = Mode::Code;
        return std::nullopt;
      case Mode::LiteralString:
        if (c == '\n') return code(c, i);
        if (c == '\'') mode_ = Mode::Code;
        return std::nullopt;
      case Mode::MultiLineBasicString: return multi_line_basic(c, i);
      case Mode::MultiLineLiteralString:
        if (c == '\'') close_quotes(i, '\'');
        return std::nullopt;
    }
    return std::nullopt;
  }

  // Outside strings and comments.
  std::optional<TomlHazard> code(char32_t c, std::size_t i) {
    mode_ = Mode::Code;
    if (c == '\n') {
      if (open_.empty()) {  // a new statement: a key, a table header, a comment or nothing
        statement_start_ = true;
        in_header_ = false;
        expect_ = Expect::Key;
      }
      return std::nullopt;
    }
    if (is_space(c) || c == '\r') return std::nullopt;
    if (c == '#') {
      mode_ = Mode::Comment;
      return std::nullopt;
    }
    const bool statement_start = statement_start_;
    statement_start_ = false;
    if (statement_start && c == '[') return header(i);
    if (expect_ == Expect::Value && c != '"' && c != '\'' && c != '[' && c != '{' && !is_value_terminator(c)) {
      mode_ = Mode::BareValue;
      token_start_ = i;
      token_column_ = column_;
      token_has_space_ = false;
      return std::nullopt;
    }
    if (c >= 0x80) return outside_strings(c);
    if ((c == '"' || c == '\'') && (expect_ == Expect::Key || expect_ == Expect::Value)) {
      const bool multi_line = quote_run(i, static_cast<char>(c)) >= 3;
      if (multi_line) skip_ = 2;
      escaped_ = skipping_ = false;
      mode_ = c == '"' ? (multi_line ? Mode::MultiLineBasicString : Mode::BasicString)
                       : (multi_line ? Mode::MultiLineLiteralString : Mode::LiteralString);
      expect_ = expect_ == Expect::Key ? Expect::AfterKey : Expect::AfterValue;
      return std::nullopt;
    }
    if (in_header_) {  // brackets here are the header's own
      if (expect_ == Expect::Key && is_bare_key_char(static_cast<char>(c))) expect_ = Expect::AfterKey;
      else if (expect_ == Expect::AfterKey && c == '.') expect_ = Expect::Key;
      return std::nullopt;
    }
    switch (c) {
      case '[':
        open_ += '[';
        expect_ = Expect::Value;
        return std::nullopt;
      case '{':
        open_ += '{';
        expect_ = Expect::Key;
        return std::nullopt;
      case '}':
        // toml++ asserts that an array's element is not a '}' (parse_array calls parse_value unchecked).
        if (!open_.empty() && open_.back() == '[') return hazard("'}' in an array: there is no inline table to close");
        [[fallthrough]];
      case ']':
        if (!open_.empty()) open_.pop_back();
        expect_ = Expect::AfterValue;
        return std::nullopt;
      case ',':
        expect_ = open_.empty() ? Expect::AfterValue : open_.back() == '[' ? Expect::Value : Expect::Key;
        return std::nullopt;
      case '=':
        expect_ = Expect::Value;
        return std::nullopt;
      case '.':
        if (expect_ == Expect::AfterKey) expect_ = Expect::Key;
        return std::nullopt;
    }
    if (expect_ == Expect::Key && is_bare_key_char(static_cast<char>(c))) expect_ = Expect::AfterKey;
    return std::nullopt;
  }

  std::string_view token(std::size_t end) const { return text_.substr(token_start_, end - token_start_); }

  std::optional<TomlHazard> check_token(std::size_t end) const {
    const std::string_view t = token(end);
    if (is_other_value(t)) return std::nullopt;
    const std::string shown = t.size() <= 40 ? std::string(t) : std::string(t.substr(0, 40)) + "...";
    return hazard(fmt::format("expected a value (a string, number, boolean, date, time, array or inline table), got '{}'",
                              shown),
                  token_column_);
  }

  TomlHazard outside_strings(char32_t c) const {
    return hazard(fmt::format("non-ASCII character {} outside a string or comment: TOML allows non-ASCII text only in those",
                              code_point(c)));
  }

  // toml++ asserts that a header's key starts right after '[' or '[[' and spaces (parser.inl,
  // parse_table_header calls parse_key unchecked): check the character there.
  std::optional<TomlHazard> header(std::size_t i) {
    in_header_ = true;
    expect_ = Expect::Key;
    std::size_t k = i + 1;
    const bool array = k < text_.size() && text_[k] == '[';
    if (array) ++k;
    while (k < text_.size() && (text_[k] == ' ' || text_[k] == '\t')) ++k;
    if (k == text_.size()) return std::nullopt;  // toml++ reports the end of the text itself
    const char next = text_[k];
    if (is_bare_key_char(next) || next == '"' || next == '\'' || next == ']') return std::nullopt;
    std::string got = fmt::format("'{}'", next);
    if (next == '\n' || next == '\r') {
      got = "the end of the line";
    } else if (static_cast<unsigned char>(next) >= 0x80 || next < 0x20 || next == 0x7F) {
      char32_t c = 0;
      std::size_t size = 0;
      got = decode_utf8(text_, k, c, size).empty() ? code_point(c) : "invalid UTF-8";
    }
    // Between '[' and `next` there are only ASCII characters: one column each.
    return hazard(fmt::format("expected a key after '{}' (a bare key or a quoted one), got {}", array ? "[[" : "[", got),
                  column_ + static_cast<int>(k - i));
  }

  std::optional<TomlHazard> multi_line_basic(char32_t c, std::size_t i) {
    const bool space = is_space(c) || c == '\n' || c == '\r';
    if (skipping_) {  // after a line-ending backslash, toml++ classifies each character until one is not whitespace
      if (space) return std::nullopt;
      skipping_ = false;
      if (c >= 0x80)
        return hazard(fmt::format("non-ASCII character {} first after a line-ending backslash: Debian's toml++ 3.3.0 "
                                  "misreads it there (marzer/tomlplusplus#295); write it as \\u{:04X}",
                                  code_point(c), static_cast<unsigned>(c)));
    } else if (escaped_) {
      escaped_ = false;
      if (space) skipping_ = true;
      else if (c >= 0x80) return hazard(fmt::format("non-ASCII character {} after a backslash: not an escape", code_point(c)));
      return std::nullopt;
    }
    if (c == '\\') escaped_ = true;
    else if (c == '"') close_quotes(i, '"');
    return std::nullopt;
  }

  // A run of quotes in a multi-line string: three or more close it (up to two more belong to it).
  void close_quotes(std::size_t i, char quote) {
    const std::size_t run = quote_run(i, quote);
    if (run >= 3) mode_ = Mode::Code;
    skip_ = std::min<std::size_t>(run, 5) - 1;
  }

  std::size_t quote_run(std::size_t i, char quote) const {
    std::size_t k = i;
    while (k < text_.size() && text_[k] == quote) ++k;
    return k - i;
  }

  TomlHazard hazard(std::string what) const { return {line_, column_, std::move(what)}; }
  TomlHazard hazard(std::string what, int column) const { return {line_, column, std::move(what)}; }

  std::string_view text_;
  int line_ = 1, column_ = 1;
  Mode mode_ = Mode::Code;
  Expect expect_ = Expect::Key;
  std::string open_;             // the '[' and '{' of values open here, innermost last
  bool statement_start_ = true;  // only spaces since a line began outside any value: '[' opens a table header
  bool in_header_ = false;       // in a table header's line
  bool escaped_ = false;         // in a basic string, after a backslash
  bool skipping_ = false;        // in a multi-line basic string, in the whitespace after a line-ending backslash
  std::size_t skip_ = 0;         // quotes of a run still to pass over
  std::size_t token_start_ = 0;  // where the value being read in BareValue mode began
  int token_column_ = 0;
  bool token_has_space_ = false;  // a date-time written with a space
};

}  // namespace

std::optional<TomlHazard> find_toml_hazard(std::string_view text) { return Scanner(text).run(); }

}  // namespace restake
