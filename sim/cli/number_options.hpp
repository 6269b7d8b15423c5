#pragma once
// Numbers on the command line, read strictly. CLI11 2.1 reads "-1" or "99999999999999999999999"
// into an unsigned option as 2^64-1 without a word, and its range checks let "nan" through. These
// options take a decimal number within their range, and refuse anything else with the range, as the
// scenario reader does: "--seed: expected an integer in [0, 9223372036854775807], got -1".
// Included only where CLI11 already is (it is slow to compile).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace restake {

// TOML integers are signed 64-bit: a seed or count the command line takes, a scenario can hold.
inline constexpr std::int64_t kMaxTomlInteger = std::numeric_limits<std::int64_t>::max();
// More threads than any machine has cores is a typo, not a request (TBB would try to start them).
inline constexpr int kMaxThreads = 4096;

namespace detail {

// The whole text as a number, or nullopt (empty, a sign or suffix too many, out of double range).
template <class T>
std::optional<T> parse_whole(std::string_view text) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

inline std::string shown(const std::string& text) { return text.empty() ? "an empty value" : text; }

template <class T>
void assign(T& target, auto v) { target = static_cast<T>(v); }
template <class T>
void assign(std::optional<T>& target, auto v) { target = static_cast<T>(v); }

}  // namespace detail

// An integer option in [lo, hi]; `target` is an integer or an optional one (unset unless given).
template <class Target>
CLI::Option* add_integer_option(CLI::App& cmd, const std::string& name, Target& target, std::int64_t lo, std::int64_t hi,
                                const std::string& help) {
  const auto take = [&target, name, lo, hi](const std::string& text) {
    const auto v = detail::parse_whole<std::int64_t>(text);
    if (!v || *v < lo || *v > hi)
      throw CLI::ValidationError(name, fmt::format("expected an integer in [{}, {}], got {}", lo, hi, detail::shown(text)));
    detail::assign(target, *v);
  };
  return cmd.add_option_function<std::string>(name, take, help)->type_name("INT");
}

// A finite number option in [lo, hi]; `target` is a double or an optional one.
template <class Target>
CLI::Option* add_number_option(CLI::App& cmd, const std::string& name, Target& target, double lo, double hi,
                               const std::string& help) {
  const auto take = [&target, name, lo, hi](const std::string& text) {
    const auto v = detail::parse_whole<double>(text);
    if (!v || !std::isfinite(*v) || *v < lo || *v > hi)
      throw CLI::ValidationError(name, fmt::format("expected a number in [{}, {}], got {}", lo, hi, detail::shown(text)));
    detail::assign(target, *v);
  };
  return cmd.add_option_function<std::string>(name, take, help)->type_name("NUMBER");
}

// A list of losses as fractions of initial value, "5%,10%,25%" or "0.05,0.1": each in (0, 1], none
// twice, within one value or across repeats; kept in ascending order (a table reads them so).
// Repeating the option adds to the list (CLI11's default policy would refuse a second one).
template <class Target>
CLI::Option* add_loss_list_option(CLI::App& cmd, const std::string& name, Target& target, const std::string& help) {
  const auto take = [&target, name](const std::string& text) {
    std::string_view rest = text;
    while (true) {
      const std::size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      const bool percent = !item.empty() && item.back() == '%';
      if (percent) item.remove_suffix(1);
      const auto v = detail::parse_whole<double>(item);
      const double x = v ? (percent ? *v / 100.0 : *v) : std::nan("");
      if (!(std::isfinite(x) && x > 0.0 && x <= 1.0))
        throw CLI::ValidationError(name, fmt::format("expected losses in (0, 1] or (0%, 100%], comma-separated (5%,10%,25%), got {}",
                                                     detail::shown(std::string(rest.substr(0, comma)))));
      for (const double y : target)
        if (y == x) throw CLI::ValidationError(name, fmt::format("{} is given twice", detail::shown(std::string(rest.substr(0, comma)))));
      target.insert(std::lower_bound(target.begin(), target.end(), x), x);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  };
  const auto take_all = [take](const CLI::results_t& values) {
    for (const std::string& text : values) take(text);
    return true;
  };
  return cmd.add_option(name, take_all, help)->type_name("LOSSES")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

}  // namespace restake
