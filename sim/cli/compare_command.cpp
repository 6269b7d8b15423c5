#include "compare_command.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string_view>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/h5.hpp"
#include "io/json.hpp"
#include "io/outputs.hpp"
#include "io/results.hpp"
#include "io/schema.hpp"

namespace restake {

namespace {

struct Row {
  std::string file;
  HolderSummary holder;
  std::size_t index = 0;
  double horizon_days = 0.0;
  bool weighted = false;  // importance sampling: every figure of the row is a weighted estimate
  bool market = false;    // the file's run has tokens, so the holder has a loss at market
  double effective_sample_size = std::nan("");  // weighted runs: Kish's, of all the trials
};

// A lending market of one file, for the table across files.
struct LendingRow {
  std::string file;
  LendingSummary market;
};

std::string pct(double x) { return fmt::format("{:.3f}%", 100.0 * x); }

// A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& x) {
  if (x.find_first_of(",\"\n\r") == std::string::npos) return x;
  std::string out = "\"";
  for (const char c : x) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The lending markets of every file, grouped by market name (in the order names first appear), so
// one market's rows across files are side by side.
std::vector<LendingRow> by_market_name(const std::vector<LendingRow>& rows) {
  std::vector<std::string> names;
  for (const auto& r : rows)
    if (std::find(names.begin(), names.end(), r.market.name) == names.end()) names.push_back(r.market.name);
  std::vector<LendingRow> out;
  for (const auto& name : names)
    for (const auto& r : rows)
      if (r.market.name == name) out.push_back(r);
  return out;
}

// The second table, for files with lending markets: bad debt VaR 95% (Gauntlet's value at risk),
// P(bad debt > 1% of the market's debt) (Credora's) and the collateral liquidated in one trial of 20.
void print_lending_table(const std::vector<LendingRow>& rows, bool markdown) {
  const char* header[] = {"lending market", "file", "token", "debt (ETH)", "bad debt VaR 95% (ETH)", "P(bad debt>1% of debt)",
                          "liquidated p95 (tokens)"};
  fmt::print("\n");
  if (markdown) {
    fmt::print("| {} | {} | {} | {} | {} | {} | {} |\n|---|---|---|---|---|---|---|\n", header[0], header[1], header[2], header[3],
               header[4], header[5], header[6]);
  } else {
    fmt::print("lending markets:\n");
    fmt::print("{:<32} {:<34} {:<10} {:>12} {:>22} {:>22} {:>23}\n", header[0], header[1], header[2], header[3], header[4],
               header[5], header[6]);
  }
  for (const auto& r : by_market_name(rows)) {
    const auto& m = r.market;
    const std::string debt = fmt::format("{:.0f}", m.debt_eth), var95 = fmt::format("{:.2f}", m.bad_debt_var95),
                      p1 = pct(m.p_bad_debt_1pct), p95 = fmt::format("{:.1f}", m.liquidated_p95);
    if (markdown)
      fmt::print("| {} | {} | {} | {} | {} | {} | {} |\n", m.name, r.file, m.token, debt, var95, p1, p95);
    else
      fmt::print("{:<32} {:<34} {:<10} {:>12} {:>22} {:>22} {:>23}\n", m.name, r.file, m.token, debt, var95, p1, p95);
  }
}

// Share of trials whose loss exceeds `premium` (from the stored per-trial records); in a weighted
// run the importance-sampling estimate (1/n) sum of w over those trials, from its checked weights.
std::optional<double> p_loss_above(const std::string& file, std::size_t holder, double premium, bool weighted) {
  const h5::File f = h5::File::open_read_only(file);
  if (!f.exists("trials")) return std::nullopt;
  const auto loss = f.read_column(trial_record(&TrialBlock::loss_fraction).out.path, holder);
  if (loss.empty()) return std::nullopt;
  std::vector<double> w;
  try {
    w = read_weights(f, loss.size(), weighted);
  } catch (const h5::Error& e) {
    throw std::runtime_error(fmt::format("{}: {}", file, e.what()));
  }
  double above = 0.0;
  for (std::size_t i = 0; i < loss.size(); ++i)
    if (loss[i] > premium) above += w.empty() ? 1.0 : w[i];
  return above / static_cast<double>(loss.size());
}

// What a weighted file's figures are (a plain file's need no word: plain Monte Carlo, as always).
std::string estimator_note(const RunSummary& s, const std::string& file) {
  return fmt::format("{}: importance sampling - {} trials weighted by their likelihood ratios (effective sample size {:.1f}); "
                     "every figure of its rows, P(loss>premium earned) included, is a weighted estimate",
                     file, s.info.trials, s.weights.effective_sample_size);
}

std::string trimmed(std::string_view x) {
  const auto first = x.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  return std::string(x.substr(first, x.find_last_not_of(" \t") - first + 1));
}

const HolderSummary* holder_named(const RunSummary& s, const std::string& name) {
  for (const auto& h : s.holders)
    if (h.name == name) return &h;
  return nullptr;
}

// The pairs compared between the first file and a later one: every --pair (each name checked: an
// unknown one is an error naming the file and listing its holders), then the holders of the same
// name, in the first file's order (restake_analysis.compare.resolve_pairs).
std::vector<HolderPair> resolve_pairs(const RunSummary& first, const std::string& first_file, const RunSummary& other,
                                      const std::string& other_file, const std::vector<HolderPair>& pairs) {
  std::vector<HolderPair> out;
  for (const auto& p : pairs) {
    for (const auto& [name, s, file] : {std::tie(p.first, first, first_file), std::tie(p.second, other, other_file)}) {
      if (holder_named(s, name)) continue;
      std::string names;
      for (const auto& h : s.holders) names += (names.empty() ? "" : ", ") + h.name;
      throw std::runtime_error(fmt::format("compare: --pair {}={}: no holder \"{}\" in {}; its holders: {}", p.first, p.second, name,
                                           file, names));
    }
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  }
  for (const auto& h : first.holders) {
    const HolderPair same{h.name, h.name};
    if (holder_named(other, h.name) && std::find(out.begin(), out.end(), same) == out.end()) out.push_back(same);
  }
  return out;
}

// A pair's figures: the first file's holder, the later file's, and the difference (second - first).
struct PairStatistic {
  const char* key;    // in --json and --csv: the holder rows' column name, where they have one
  const char* label;  // as in the table
  double first, second;
};
struct PairRow {
  std::string first_file, first_holder, second_file, second_holder;
  std::vector<PairStatistic> statistics;
};

std::vector<PairStatistic> pair_statistics(const HolderSummary& a, const HolderSummary& b) {
  return {{"net_yield", "net yield", a.net_return.moments.mean, b.net_return.moments.mean},
          {"mean_loss", "mean loss", a.loss.moments.mean, b.loss.moments.mean},
          {"p_loss", "P(loss>0)", a.loss.p_loss, b.loss.p_loss},
          {"var99", "VaR 99%", a.loss.var99, b.loss.var99},
          {"es99", "ES 99%", a.loss.es99, b.loss.es99}};
}

// Signed, for a difference of two percentages (percentage points).
std::string signed_pct(double x) { return fmt::format("{:+.3f}%", 100.0 * x); }

void print_pair_table(const std::vector<PairRow>& pairs, bool markdown) {
  fmt::print("\n");
  if (markdown) {
    fmt::print("| first file | holder | second file | holder | statistic | first | second | second - first |\n"
               "|---|---|---|---|---|---|---|---|\n");
    for (const auto& p : pairs)
      for (const auto& s : p.statistics)
        fmt::print("| {} | {} | {} | {} | {} | {} | {} | {} |\n", p.first_file, p.first_holder, p.second_file, p.second_holder, s.label,
                   pct(s.first), pct(s.second), signed_pct(s.second - s.first));
    return;
  }
  fmt::print("holder pairs, second file minus first (95% intervals, paired when the runs share draws: restake-analysis report --pair):\n");
  for (const auto& p : pairs) {
    fmt::print("{} ({}) -> {} ({})\n", p.first_holder, p.first_file, p.second_holder, p.second_file);
    fmt::print("  {:<12} {:>10} {:>10} {:>15}\n", "statistic", "first", "second", "second - first");
    for (const auto& s : p.statistics)
      fmt::print("  {:<12} {:>10} {:>10} {:>15}\n", s.label, pct(s.first), pct(s.second), signed_pct(s.second - s.first));
  }
}

}  // namespace

std::vector<HolderPair> parse_pairs(const std::vector<std::string>& specs) {
  std::vector<HolderPair> out;
  for (const auto& spec : specs) {
    std::string_view rest = spec;
    while (true) {
      const std::size_t comma = rest.find(',');
      const std::string item = trimmed(rest.substr(0, comma));
      if (!item.empty()) {
        const std::size_t eq = item.find('=');
        const HolderPair p = eq == std::string::npos ? HolderPair{} : HolderPair{trimmed(item.substr(0, eq)), trimmed(item.substr(eq + 1))};
        if (p.first.empty() || p.second.empty())
          throw std::invalid_argument(fmt::format("\"{}\": expected HOLDER_IN_FIRST_FILE=HOLDER_IN_SECOND_FILE", item));
        out.push_back(p);
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

int run_compare_command(const std::vector<std::string>& files, const std::string& baseline_spec, CompareFormat format,
                        const std::vector<HolderPair>& pair_specs) {
  if (!pair_specs.empty() && files.size() < 2)
    throw std::runtime_error("compare: --pair needs two or more results files (it pairs the first file's holders with the others')");
  std::vector<Row> rows;
  std::vector<LendingRow> lending;
  std::vector<std::string> notes;
  std::vector<RunSummary> summaries;
  for (const auto& file : files) {
    summaries.push_back(read_summary(file));
    const RunSummary& s = summaries.back();
    for (std::size_t h = 0; h < s.holders.size(); ++h)
      rows.push_back({file, s.holders[h], h, s.info.horizon_days, s.info.weighted(), !s.tokens.empty(),
                      s.info.weighted() ? s.weights.effective_sample_size : std::nan("")});
    for (const auto& m : s.lending) lending.push_back({file, m});
    if (s.info.weighted()) notes.push_back(estimator_note(s, file));
  }
  // The pairs, each name checked before anything is printed.
  std::vector<PairRow> pairs;
  if (!pair_specs.empty())
    for (std::size_t k = 1; k < files.size(); ++k)
      for (const auto& p : resolve_pairs(summaries[0], files[0], summaries[k], files[k], pair_specs))
        pairs.push_back({files[0], p.first, files[k], p.second,
                         pair_statistics(*holder_named(summaries[0], p.first), *holder_named(summaries[k], p.second))});
  // Files with tokens add the loss at market beside VaR and ES at NAV; a comparison of files
  // without markets prints what it always did.
  const bool market = std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.market; });
  if (rows.empty()) throw std::runtime_error("compare: no holders in the given files");
  for (const auto& r : rows)
    if (r.horizon_days != rows.front().horizon_days)
      spdlog::warn("{} simulates {} days, {} simulates {} days: returns are over different horizons", rows.front().file,
                   rows.front().horizon_days, r.file, r.horizon_days);

  // The baseline: FILE:HOLDER if given, else the first LST found.
  const Row* base = nullptr;
  if (!baseline_spec.empty()) {
    const auto colon = baseline_spec.rfind(':');
    const std::string file = colon == std::string::npos ? "" : baseline_spec.substr(0, colon);
    const std::string holder = colon == std::string::npos ? baseline_spec : baseline_spec.substr(colon + 1);
    for (const auto& r : rows)
      if (r.holder.name == holder && (file.empty() || r.file == file)) base = &r;
    if (!base) throw std::runtime_error(fmt::format("compare: baseline \"{}\" not found among the files' holders", baseline_spec));
  } else {
    for (const auto& r : rows)
      if (!base && r.holder.kind == "lst") base = &r;
    if (!base) throw std::runtime_error("compare: no lst holder to use as the baseline: give --baseline FILE:HOLDER");
  }
  // Yields over the horizon: net = rewards after fees - losses; gross = net + losses (rewards only).
  auto gross = [](const HolderSummary& h) { return h.net_return.moments.mean + h.loss.moments.mean; };
  const double base_net = base->holder.net_return.moments.mean, base_gross = gross(base->holder);

  // Each row's figures first, as numbers (NaN: not applicable, with `above_note` saying why for
  // P(loss > premium earned)); then printed in the format asked for.
  struct Figures {
    const Row* row;
    bool is_base, comparable;
    double net_premium, earned, above;
    std::string above_note;  // when above is NaN: "-", "no premium", "n/a (other asset)", "n/a (no records)"
    std::string cause;       // the largest cause of loss, or "none"
    double cause_share;      // of the mean gross loss
  };
  const double nan = std::nan("");
  std::vector<Figures> figures;
  for (const auto& r : rows) {
    const auto& h = r.holder;
    Figures f{&r, &r == base, h.asset == base->holder.asset, nan, nan, nan, "", "none", nan};
    // The premium earned: rewards above the baseline's, before losses. Losing more than it means
    // the restaking did worse than the baseline would have in that trial's terms. A yield in BTC is
    // not a premium over a yield in ETH: no premium for another asset.
    if (f.comparable && !f.is_base) {
      f.net_premium = h.net_return.moments.mean - base_net;
      f.earned = gross(h) - base_gross;
    }
    if (f.is_base) {
      f.above_note = "-";
    } else if (!f.comparable) {
      f.above_note = "n/a (other asset)";
    } else if (f.earned <= 0.0) {
      f.above_note = "no premium";
    } else if (const auto p = p_loss_above(r.file, r.index, f.earned, r.weighted)) {
      f.above = *p;
    } else {
      f.above_note = "n/a (no records)";
    }
    const auto top = std::max_element(h.loss_by_cause_mean.begin(), h.loss_by_cause_mean.end());
    double total = 0.0;
    for (double v : h.loss_by_cause_mean) total += v;
    if (total > 0.0) {
      f.cause = to_string(static_cast<LossCause>(top - h.loss_by_cause_mean.begin()));
      f.cause_share = *top / total;
    }
    figures.push_back(std::move(f));
  }

  if (format == CompareFormat::Json) {
    const auto number = [](double x) { return std::isfinite(x) ? json_number(x) : std::string("null"); };
    std::string out = fmt::format("{{\n  \"baseline\": {{\"file\": {}, \"holder\": {}, \"net_yield\": {}, \"gross_yield\": {}}},\n  \"rows\": [\n",
                                  json_string(base->file), json_string(base->holder.name), number(base_net), number(base_gross));
    for (std::size_t k = 0; k < figures.size(); ++k) {
      const Figures& f = figures[k];
      const HolderSummary& h = f.row->holder;
      out += fmt::format(
          "    {{\"file\": {}, \"holder\": {}, \"kind\": {}, \"asset\": {}, \"baseline\": {}, \"net_yield\": {}, \"net_premium\": {}, "
          "\"premium_earned\": {}, \"p_loss\": {}, \"var99\": {}, \"es99\": {}, \"var99_at_market\": {}, \"es99_at_market\": {}, "
          "\"p_loss_above_premium\": {}, \"p_loss_above_premium_note\": {}, \"main_cause\": {}, \"main_cause_share\": {}}}{}\n",
          json_string(f.row->file), json_string(h.name), json_string(h.kind), json_string(h.asset), f.is_base ? "true" : "false",
          number(h.net_return.moments.mean), number(f.net_premium), number(f.earned), number(h.loss.p_loss), number(h.loss.var99),
          number(h.loss.es99), number(f.row->market ? h.loss_at_market.var99 : nan), number(f.row->market ? h.loss_at_market.es99 : nan),
          number(f.above), f.above_note.empty() ? std::string("null") : json_string(f.above_note),
          f.cause == "none" ? std::string("null") : json_string(f.cause), number(f.cause_share), k + 1 < figures.size() ? "," : "");
    }
    out += "  ],\n  \"lending_markets\": [";
    const std::vector<LendingRow> markets = by_market_name(lending);
    for (std::size_t k = 0; k < markets.size(); ++k) {
      const LendingSummary& m = markets[k].market;
      out += fmt::format("{}{{\"file\": {}, \"name\": {}, \"token\": {}, \"debt_eth\": {}, \"bad_debt_var95\": {}, \"p_bad_debt_1pct\": {}, "
                         "\"liquidated_p95\": {}}}",
                         k ? ", " : "", json_string(markets[k].file), json_string(m.name), json_string(m.token), number(m.debt_eth),
                         number(m.bad_debt_var95), number(m.p_bad_debt_1pct), number(m.liquidated_p95));
    }
    out += "],\n  \"pairs\": [";
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      const PairRow& p = pairs[k];
      out += fmt::format("{}\n    {{\"first_file\": {}, \"first_holder\": {}, \"second_file\": {}, \"second_holder\": {}, \"statistics\": [",
                         k ? "," : "", json_string(p.first_file), json_string(p.first_holder), json_string(p.second_file),
                         json_string(p.second_holder));
      for (std::size_t j = 0; j < p.statistics.size(); ++j) {
        const PairStatistic& st = p.statistics[j];
        out += fmt::format("{}{{\"statistic\": \"{}\", \"first\": {}, \"second\": {}, \"difference\": {}}}", j ? ", " : "", st.key,
                           number(st.first), number(st.second), number(st.second - st.first));
      }
      out += "]}";
    }
    out += pairs.empty() ? "" : "\n  ";
    out += "],\n  \"notes\": [";
    for (std::size_t k = 0; k < notes.size(); ++k) out += fmt::format("{}{}", k ? ", " : "", json_string(notes[k]));
    fmt::print("{}]\n}}\n", out);
    return 0;
  }
  if (format == CompareFormat::Csv) {
    // One table of three kinds of rows, told apart by the first column, each filling its own columns
    // and leaving the others empty: "holder" (as the table; a note says why P(loss > premium) is
    // empty, and the estimator says which rows are weighted estimates), "lending_market" (the
    // lending table) and "pair" (--pair: one row per pair and statistic). Fractions as stored (not
    // percent); empty cells where a figure does not apply.
    const auto cell = [](double x) { return std::isfinite(x) ? fmt::format("{}", x) : std::string(); };
    // Empty cells, each with the comma before it: the holder columns after `file` (18, in a lending
    // row) or after `holder` (17, in a pair row), and the lending and the pair columns (6 each).
    const std::string after_file(18, ','), after_holder(17, ','), empty_lending(6, ','), empty_pair(6, ',');
    fmt::print("row,file,holder,kind,asset,baseline,net_yield,net_premium,premium_earned,p_loss,var99,es99,var99_at_market,es99_at_market,"
               "p_loss_above_premium,p_loss_above_premium_note,main_cause,main_cause_share,estimator,effective_sample_size,"
               "lending_market,token,debt_eth,bad_debt_var95,p_bad_debt_1pct,liquidated_p95,"
               "second_file,second_holder,statistic,first,second,difference\n");
    for (const Figures& f : figures) {
      const HolderSummary& h = f.row->holder;
      fmt::print("holder,{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}{}{}\n", csv_field(f.row->file), csv_field(h.name), h.kind,
                 h.asset, f.is_base ? 1 : 0, cell(h.net_return.moments.mean), cell(f.net_premium), cell(f.earned), cell(h.loss.p_loss),
                 cell(h.loss.var99), cell(h.loss.es99), cell(f.row->market ? h.loss_at_market.var99 : nan),
                 cell(f.row->market ? h.loss_at_market.es99 : nan), cell(f.above), csv_field(f.above_note),
                 f.cause == "none" ? "" : f.cause, cell(f.cause_share), f.row->weighted ? "importance_sampling" : "monte_carlo",
                 cell(f.row->effective_sample_size), empty_lending, empty_pair);
    }
    for (const auto& r : by_market_name(lending)) {
      const LendingSummary& m = r.market;
      fmt::print("lending_market,{}{},{},{},{},{},{},{}{}\n", csv_field(r.file), after_file, csv_field(m.name), csv_field(m.token),
                 cell(m.debt_eth), cell(m.bad_debt_var95), cell(m.p_bad_debt_1pct), cell(m.liquidated_p95), empty_pair);
    }
    for (const PairRow& p : pairs)
      for (const PairStatistic& st : p.statistics)
        fmt::print("pair,{},{}{}{},{},{},{},{},{},{}\n", csv_field(p.first_file), csv_field(p.first_holder), after_holder,
                   empty_lending, csv_field(p.second_file), csv_field(p.second_holder), st.key, cell(st.first), cell(st.second),
                   cell(st.second - st.first));
    return 0;
  }

  const bool markdown = format == CompareFormat::Markdown;
  std::vector<std::string> header = {"file", "holder", "kind", "asset", "net yield", "net premium", "premium earned", "P(loss>0)",
                                      "VaR 99%", "ES 99%", "P(loss>premium earned)", "main loss cause"};
  if (market) header.insert(header.begin() + 10, {"VaR 99% at market", "ES 99% at market"});
  if (markdown) {
    std::string h = "|", sep = "|";
    for (const auto& c : header) {
      h += fmt::format(" {} |", c);
      sep += "---|";
    }
    fmt::print("{}\n{}\n", h, sep);
  } else {
    fmt::print("baseline: {} in {} (net yield {}, {} before losses)\n", base->holder.name, base->file, pct(base_net), pct(base_gross));
    fmt::print("{:<34} {:<18} {:<6} {:<5} {:>9} {:>11} {:>14} {:>9} {:>9} {:>9} ", header[0], header[1], header[2], header[3],
               header[4], header[5], header[6], header[7], header[8], header[9]);
    if (market) fmt::print("{:>17} {:>16} ", header[10], header[11]);
    fmt::print("{:>22}  {}\n", header[header.size() - 2], header.back());
  }
  for (const Figures& f : figures) {
    const Row& r = *f.row;
    const auto& h = r.holder;
    const std::string above = std::isfinite(f.above) ? pct(f.above) : f.above_note;
    const std::string cause = f.cause == "none" ? "none" : fmt::format("{} ({:.0f}% of loss)", f.cause, 100.0 * f.cause_share);
    const std::string net_premium = f.is_base ? "baseline" : f.comparable ? pct(f.net_premium) : "n/a";
    const std::string earned_text = f.is_base ? "baseline" : f.comparable ? pct(f.earned) : "n/a";
    // A file without tokens has no market layer: no loss at market to show.
    const std::string var99_market = r.market ? pct(h.loss_at_market.var99) : "-";
    const std::string es99_market = r.market ? pct(h.loss_at_market.es99) : "-";
    if (markdown) {
      fmt::print("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | ", r.file, h.name, h.kind, h.asset, pct(h.net_return.moments.mean),
                 net_premium, earned_text, pct(h.loss.p_loss), pct(h.loss.var99), pct(h.loss.es99));
      if (market) fmt::print("{} | {} | ", var99_market, es99_market);
      fmt::print("{} | {} |\n", above, cause);
    } else {
      fmt::print("{:<34} {:<18} {:<6} {:<5} {:>9} {:>11} {:>14} {:>9} {:>9} {:>9} ", r.file, h.name, h.kind, h.asset,
                 pct(h.net_return.moments.mean), net_premium, earned_text, pct(h.loss.p_loss), pct(h.loss.var99), pct(h.loss.es99));
      if (market) fmt::print("{:>17} {:>16} ", var99_market, es99_market);
      fmt::print("{:>22}  {}\n", above, cause);
    }
  }
  if (!lending.empty()) print_lending_table(lending, markdown);
  if (!pairs.empty()) print_pair_table(pairs, markdown);
  if (!notes.empty()) fmt::print("\n");
  for (const std::string& n : notes) fmt::print("{}\n", n);
  return 0;
}

}  // namespace restake
