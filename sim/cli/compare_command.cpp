#include "compare_command.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/h5.hpp"
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
};

// A lending market of one file, for the table across files.
struct LendingRow {
  std::string file;
  LendingSummary market;
};

std::string pct(double x) { return fmt::format("{:.3f}%", 100.0 * x); }

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

}  // namespace

int run_compare_command(const std::vector<std::string>& files, const std::string& baseline_spec, bool markdown) {
  std::vector<Row> rows;
  std::vector<LendingRow> lending;
  std::vector<std::string> notes;
  for (const auto& file : files) {
    const RunSummary s = read_summary(file);
    for (std::size_t h = 0; h < s.holders.size(); ++h)
      rows.push_back({file, s.holders[h], h, s.info.horizon_days, s.info.weighted(), !s.tokens.empty()});
    for (const auto& m : s.lending) lending.push_back({file, m});
    if (s.info.weighted()) notes.push_back(estimator_note(s, file));
  }
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
  for (const auto& r : rows) {
    const auto& h = r.holder;
    const bool is_base = &r == base;
    // The premium earned: rewards above the baseline's, before losses. Losing more than it means
    // the restaking did worse than the baseline would have in that trial's terms.
    const double earned = gross(h) - base_gross;
    // A yield in BTC is not a premium over a yield in ETH: no premium for another asset.
    const bool comparable = h.asset == base->holder.asset;
    std::string above = "-";
    if (!is_base && !comparable) {
      above = "n/a (other asset)";
    } else if (!is_base) {
      if (earned <= 0.0) {
        above = "no premium";
      } else {
        const auto p = p_loss_above(r.file, r.index, earned, r.weighted);
        above = p ? pct(*p) : "n/a (no records)";
      }
    }
    const auto top = std::max_element(h.loss_by_cause_mean.begin(), h.loss_by_cause_mean.end());
    double total = 0.0;
    for (double v : h.loss_by_cause_mean) total += v;
    const std::string cause =
        total > 0.0 ? fmt::format("{} ({:.0f}% of loss)", to_string(static_cast<LossCause>(top - h.loss_by_cause_mean.begin())),
                                  100.0 * *top / total)
                    : "none";
    const std::string net_premium = is_base ? "baseline" : comparable ? pct(h.net_return.moments.mean - base_net) : "n/a";
    const std::string earned_text = is_base ? "baseline" : comparable ? pct(earned) : "n/a";
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
  if (!notes.empty()) fmt::print("\n");
  for (const std::string& n : notes) fmt::print("{}\n", n);
  return 0;
}

}  // namespace restake
