// End to end: the restake-sim binary on scenario files, reading the HDF5 it writes back.
#include "cli_support.hpp"
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "io/h5.hpp"
#include "io/json.hpp"
#include "io/results.hpp"
#include "stats/quantile_sketch.hpp"
#include "io/scenario.hpp"
#include "stats/statistics.hpp"

namespace fs = std::filesystem;
using namespace restake::test;
using namespace restake;

namespace {

const std::string kDefault = RESTAKE_SOURCE_DIR "/scenarios/default.toml";

// A copy of `file` changed by `edit` (given the copy's root, opened for writing), as a damaged or
// hostile file would be.
std::string edited_copy(const std::string& file, const std::string& copy, const std::function<void(const h5::Group&)>& edit) {
  fs::copy_file(file, copy, fs::copy_options::overwrite_existing);
  const h5::Group root(h5::Handle(H5Fopen(copy.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose));
  REQUIRE(root.id() >= 0);
  edit(root);
  return copy;
}

void replace_strings(const h5::Group& root, const std::string& name, const std::vector<std::string>& values) {
  REQUIRE(H5Ldelete(root.id(), name.c_str(), H5P_DEFAULT) >= 0);
  root.write_strings(name, values);
}




}  // namespace

TEST_CASE("run writes a complete, self-describing results file and its summary matches the per-trial data") {
  TempDir dir;
  const std::string out = dir / "r.h5";
  std::string printed;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 5000 --seed 11 --no-progress -q", kDefault, out), dir, &printed) == 0);
  CHECK(printed.find("rsETH-like") != std::string::npos);
  for (const auto& entry : fs::directory_iterator(dir.path))  // no temporary file left behind
    CHECK(entry.path().string().find(".partial") == std::string::npos);

  const h5::File f = h5::File::open_read_only(out);
  CHECK(f.attr_string("file_type") == kResultsFileType);
  CHECK(f.attr_int("format_version") == kResultsFormatVersion);
  CHECK(f.attr_uint("seed") == 11);
  CHECK(f.attr_uint("trials") == 5000);
  CHECK(f.attr_int("complete") == 1);
  CHECK(f.attr_string("scenario_text") == slurp(kDefault));
  CHECK(!f.attr_string("git_commit").empty());
  const Model m = parse_scenario(f.attr_string("scenario_text"), "from-file");  // the file regenerates its run

  const h5::Group t = f.open_group("trials");
  CHECK(t.dims("loss_fraction") == std::vector<hsize_t>{5000, m.holders.size()});
  CHECK(t.dims("loss_by_cause") == std::vector<hsize_t>{5000, m.holders.size(), kLossCauseCount});
  CHECK(t.dims("avs_stake_lost") == std::vector<hsize_t>{5000, m.avs.size()});
  CHECK(t.dims("pool_drawdown") == std::vector<hsize_t>{5000, m.coverage_pools.size()});
  CHECK(t.dataset_attr_string("avs_stake_lost", "units").find("asset") != std::string::npos);
  CHECK(f.open_group("avs").read_strings("assets") == std::vector<std::string>(m.avs.size(), "ETH"));
  CHECK(f.open_group("holders").read_strings("names") == std::vector<std::string>{"rsETH-like", "stETH-like", "native-restakers"});

  const RunSummary s = read_summary(out);
  REQUIRE(s.holders.size() == m.holders.size());
  for (std::size_t h = 0; h < m.holders.size(); ++h) {
    const LossSummary loss = summarize_loss(t.read_column("loss_fraction", h));
    // The tally merges chunks of 4096 trials (stats/tally.hpp): the last bits of a mean may differ
    // from one running sum over all 5000.
    CHECK(s.holders[h].loss.moments.mean == doctest::Approx(loss.moments.mean).epsilon(1e-12));
    CHECK(s.holders[h].loss.var99 == loss.var99);
    CHECK(s.holders[h].loss.es99 == loss.es99);
    CHECK(s.holders[h].loss.quantiles == loss.quantiles);
    // the loss ledger adds up: gross by cause - covered = net loss
    const auto net = t.read_column("loss_fraction", h);
    const auto covered = t.read_column("covered_fraction", h);
    std::vector<double> gross(net.size(), 0.0);
    for (std::size_t c = 0; c < kLossCauseCount; ++c) {
      const auto col = t.read_column("loss_by_cause", h * kLossCauseCount + c);
      for (std::size_t i = 0; i < gross.size(); ++i) gross[i] += col[i];
    }
    for (std::size_t i = 0; i < gross.size(); ++i) CHECK(gross[i] - covered[i] == doctest::Approx(net[i]).epsilon(1e-9));
  }
  CHECK(s.holders[0].loss.p_loss > 0.0);  // the default world loses something in 5000 trials
}

TEST_CASE("the same seed gives the same data whatever the thread count, and the summary command prints it again") {
  TempDir dir;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 4000 --threads 1 --no-progress -q", kDefault, dir / "a.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 4000 --threads 2 --block 1000 --no-progress -q", kDefault, dir / "b.h5"), dir) == 0);
  const h5::File a = h5::File::open_read_only(dir / "a.h5"), b = h5::File::open_read_only(dir / "b.h5");
  for (const char* name : {"loss_fraction", "net_return", "loss_by_cause", "avs_stake_lost", "pool_drawdown"})
    CHECK(a.open_group("trials").read_doubles(name) == b.open_group("trials").read_doubles(name));
  std::string json;
  REQUIRE(cli(fmt::format("summary {} --json", dir / "a.h5"), dir, &json) == 0);
  CHECK(json.find("\"name\": \"stETH-like\"") != std::string::npos);
  CHECK(json.find("\"trials\": 4000") != std::string::npos);
  std::string table;
  REQUIRE(cli(fmt::format("summary {}", dir / "a.h5"), dir, &table) == 0);
  CHECK(table.find("native-restakers") != std::string::npos);
}

TEST_CASE("an invalid scenario exits non-zero with file, line and key, and creates no output") {
  TempDir dir;
  std::string text = slurp(kDefault);
  text.replace(text.find("annual_fault_probability = 0.02"), 31, "anual_fault_probability = 0.02");
  const std::string bad = dir / "bad.toml";
  std::ofstream(bad) << text;
  std::string err;
  CHECK(cli(fmt::format("run {} -o {}", bad, dir / "out.h5"), dir, nullptr, &err) == 2);
  CHECK(err.find(bad + ":") != std::string::npos);
  CHECK(err.find("operator \"op-alpha\" (operator[0]).anual_fault_probability") != std::string::npos);
  CHECK(err.find("unknown key; did you mean 'annual_fault_probability'?") != std::string::npos);
  CHECK(!fs::exists(dir / "out.h5"));
  CHECK(cli(fmt::format("validate {}", bad), dir) == 2);
  CHECK(cli(fmt::format("validate {}", dir / "missing.toml"), dir) == 1);
}

TEST_CASE("validate reports every independent error of a scenario, one per line, then their count, and exits 2") {
  TempDir dir;
  std::string text = slurp(kDefault);
  const auto edit = [&](const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    REQUIRE(text.find(from, at + 1) == std::string::npos);
    text.replace(at, from.size(), to);
  };
  edit("annual_fault_probability = 0.015", "anual_fault_probability = 0.015");  // op-gamma: a typo
  edit("slashing_mode = \"shared\"", "slashing_mode = \"shard\"");              // a choice
  edit("{ operator = \"op-delta\", allocation = 0.5 }", "{ operator = \"op-dleta\", allocation = 0.5 }");  // a name
  const std::string bad = dir / "bad.toml";
  std::ofstream(bad) << text;
  std::string out, err;
  CHECK(cli(fmt::format("validate {}", bad), dir, &out, &err) == 2);
  CHECK(out.empty());
  INFO(err);
  const auto line_of = [&](const std::string& needle) {
    const auto at = err.find(needle);
    return at == std::string::npos ? -1 : static_cast<long>(std::count(err.begin(), err.begin() + static_cast<long>(at), '\n'));
  };
  const long typo = line_of(": operator \"op-gamma\" (operator[2]).anual_fault_probability: unknown key; did you mean "
                            "'annual_fault_probability'?");
  const long choice = line_of(": protocol \"symbiotic\" (protocol[1]).slashing_mode: expected \"shared\" or \"unique\", got \"shard\" "
                              "(did you mean \"shared\"?)");
  const long name = line_of(": avs \"data-availability\" (avs[1]).operators[2].operator: unknown operator \"op-dleta\"; did you "
                            "mean \"op-delta\"?");
  const long count = line_of(bad + ": 3 errors");
  CHECK(typo == 0);  // in file order, each on its own line
  CHECK(choice == 1);
  CHECK(name == 2);
  CHECK(count == 3);
  CHECK(std::count(err.begin(), err.end(), '\n') == 4);
  // run reports the same errors, and writes nothing.
  std::string run_err;
  CHECK(cli(fmt::format("run {} -o {}", bad, dir / "out.h5"), dir, nullptr, &run_err) == 2);
  CHECK(run_err.find(bad + ": 3 errors") != std::string::npos);
  CHECK(!fs::exists(dir / "out.h5"));
}

TEST_CASE("summary refuses a file that is not a restake-sim results file") {
  TempDir dir;
  std::ofstream(dir / "x.h5") << "not hdf5";
  std::string err;
  CHECK(cli(fmt::format("summary {}", dir / "x.h5"), dir, nullptr, &err) == 1);
  CHECK(err.find("x.h5") != std::string::npos);
}

TEST_CASE("every scenario file shipped in scenarios/ validates and runs") {
  TempDir dir;
  for (const auto& entry : fs::directory_iterator(RESTAKE_SOURCE_DIR "/scenarios")) {
    if (entry.path().extension() != ".toml") continue;
    CAPTURE(entry.path().string());
    CHECK(cli(fmt::format("validate {}", entry.path().string()), dir) == 0);
    CHECK(cli(fmt::format("run {} -o {} --trials 2000 --no-progress -q", entry.path().string(), dir / "s.h5"), dir) == 0);
  }
}

TEST_CASE("--no-records stores no per-trial data and its summary is within the sketch's accuracy of the exact one") {
  TempDir dir;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 20000 --no-progress -q", kDefault, dir / "exact.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 20000 --no-progress -q --no-records", kDefault, dir / "sketch.h5"), dir) == 0);
  const h5::File f = h5::File::open_read_only(dir / "sketch.h5");
  CHECK(!f.exists("trials"));
  CHECK(f.attr_int("records") == 0);
  const double a = f.attr_double("quantile_relative_error");
  CHECK(a == 1e-4);
  const RunSummary exact = read_summary(dir / "exact.h5"), sketch = read_summary(dir / "sketch.h5");
  auto within = [a](double approx, double value) { return std::abs(approx - value) <= a * std::abs(value) + 1e-12; };
  for (std::size_t h = 0; h < exact.holders.size(); ++h) {
    const auto &e = exact.holders[h], &s = sketch.holders[h];
    CHECK(s.loss.moments.mean == e.loss.moments.mean);  // moments and probabilities are exact either way
    CHECK(s.loss.p_loss == e.loss.p_loss);
    CHECK(s.net_return.moments.mean == e.net_return.moments.mean);
    for (std::size_t q = 0; q < e.loss.quantiles.size(); ++q)
      CHECK(within(s.loss.quantiles[q], e.loss.quantiles[q]));
    CHECK(within(s.loss.es99, e.loss.es99));
    for (std::size_t q = 0; q < e.net_return.quantiles.size(); ++q)
      CHECK(within(s.net_return.quantiles[q], e.net_return.quantiles[q]));
  }
  // Coarser on request (or with more than 100 holders), and stored as such.
  REQUIRE(cli(fmt::format("run {} -o {} --trials 2000 --no-progress -q --no-records --sketch-accuracy 0.002", kDefault, dir / "coarse.h5"),
              dir) == 0);
  CHECK(h5::File::open_read_only(dir / "coarse.h5").attr_double("quantile_relative_error") == 0.002);
  std::string err;
  CHECK(cli(fmt::format("run {} -o {} --trials 2000 --no-progress -q --sketch-accuracy 0.002", kDefault, dir / "records.h5"), dir, nullptr,
            &err) != 0);  // records give exact quantiles: no sketch to tune
  CHECK(err.find("--sketch-accuracy requires --no-records") != std::string::npos);
  CHECK(!fs::exists(dir / "records.h5"));
  CHECK(default_sketch_accuracy(8) == 1e-4);
  CHECK(default_sketch_accuracy(100) == 1e-4);
  CHECK(default_sketch_accuracy(1000) == doctest::Approx(1e-3).epsilon(1e-15));
}

// The lines of `text` that contain `what`.
std::vector<std::string> lines_with(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(what) != std::string::npos) out.push_back(line);
  return out;
}

TEST_CASE("compare prints one row per holder against the LST baseline, with the premium and its shortfall probability") {
  TempDir dir;
  const std::string steth = RESTAKE_SOURCE_DIR "/scenarios/steth.toml";
  REQUIRE(cli(fmt::format("run {} -o {} --trials 5000 --no-progress -q", steth, dir / "steth.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 5000 --no-progress -q", kDefault, dir / "default.h5"), dir) == 0);
  std::string out;
  REQUIRE(cli(fmt::format("compare {} {} --baseline {}:stETH", dir / "steth.h5", dir / "default.h5", dir / "steth.h5"), dir, &out) == 0);
  CHECK(out.find("baseline: stETH") != std::string::npos);
  for (const char* holder : {"rsETH-like", "native-restakers", "stETH-like"}) CHECK(out.find(holder) != std::string::npos);
  CHECK(out.find("P(loss>premium earned)") != std::string::npos);
  std::string md;
  REQUIRE(cli(fmt::format("compare {} {} --markdown", dir / "steth.h5", dir / "default.h5"), dir, &md) == 0);
  CHECK(md.find("| file | holder |") != std::string::npos);
  // A BTC holder's yield is not a premium over stETH's.
  REQUIRE(cli(fmt::format("run {} -o {} --trials 2000 --no-progress -q", RESTAKE_SOURCE_DIR "/scenarios/babylon.toml",
                          dir / "babylon.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("compare {} {}", dir / "steth.h5", dir / "babylon.h5"), dir, &out) == 0);
  CHECK(out.find("n/a (other asset)") != std::string::npos);
  // --csv and --json: the same rows as numbers (fractions as stored), NaN as an empty cell or null.
  std::string csv, json;
  REQUIRE(cli(fmt::format("compare {} {} --csv", dir / "steth.h5", dir / "default.h5"), dir, &csv) == 0);
  const RunSummary d = read_summary(dir / "default.h5");
  const HolderSummary& native = d.holders.at(1);
  CHECK(csv.rfind("row,file,holder,kind,asset,baseline,net_yield,", 0) == 0);
  const std::vector<std::string> native_rows = lines_with(csv, "," + native.name + ",");
  REQUIRE(native_rows.size() == 1);
  CHECK(native_rows[0].find(fmt::format(",{},{},", native.loss.var99, native.loss.es99)) != std::string::npos);
  // header, stETH, default's holders, then default's lending markets
  CHECK(std::count(csv.begin(), csv.end(), '\n') == static_cast<std::ptrdiff_t>(1 + 1 + d.holders.size() + d.lending.size()));
  REQUIRE(cli(fmt::format("compare {} {} --json", dir / "steth.h5", dir / "babylon.h5"), dir, &json) == 0);
  CHECK(json.find("\"baseline\": {\"file\": ") != std::string::npos);
  CHECK(json.find("\"p_loss_above_premium\": null, \"p_loss_above_premium_note\": \"n/a (other asset)\"") != std::string::npos);
  CHECK(cli(fmt::format("compare {} {} --json --csv", dir / "steth.h5", dir / "default.h5"), dir) != 0);
  std::string err;
  CHECK(cli(fmt::format("compare {} --baseline nobody", dir / "default.h5"), dir, nullptr, &err) == 1);
  CHECK(err.find("baseline \"nobody\" not found") != std::string::npos);
}

// The cells of a CSV line, quoted ones unquoted (RFC 4180; no line breaks within a cell).
std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') out.back().push_back(line[++i]);
    else if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) out.emplace_back();
    else out.back().push_back(c);
  }
  return out;
}

TEST_CASE("compare --pair sets holder A of the first file against holder B of a later one in the table, JSON and CSV") {
  TempDir dir;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3000 --no-progress -q", RESTAKE_SOURCE_DIR "/scenarios/steth.toml", dir / "steth.h5"),
              dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3000 --no-progress -q", kDefault, dir / "default.h5"), dir) == 0);
  const std::string a_file = dir / "steth.h5", b_file = dir / "default.h5";
  const RunSummary a = read_summary(a_file), b = read_summary(b_file);
  const auto holder = [](const RunSummary& s, const std::string& name) {
    return *std::find_if(s.holders.begin(), s.holders.end(), [&](const HolderSummary& h) { return h.name == name; });
  };
  const HolderSummary st = holder(a, "stETH"), rs = holder(b, "rsETH-like");
  REQUIRE(st.loss.var99 != rs.loss.var99);  // the rows below could not be told apart otherwise
  const auto pct = [](double x) { return fmt::format("{:.3f}%", 100.0 * x); };

  // The table: the pair's block, each statistic the first file's holder's, the second's, the difference.
  std::string out;
  REQUIRE(cli(fmt::format("compare {} {} --pair stETH=rsETH-like", a_file, b_file), dir, &out) == 0);
  const std::string block = out.substr(out.find("holder pairs, second file minus first"));
  CHECK(block.find(fmt::format("\nstETH ({}) -> rsETH-like ({})\n", a_file, b_file)) != std::string::npos);
  CHECK(block.find(fmt::format("  {:<12} {:>10} {:>10} {:>15}\n", "VaR 99%", pct(st.loss.var99), pct(rs.loss.var99),
                               fmt::format("{:+.3f}%", 100.0 * (rs.loss.var99 - st.loss.var99)))) != std::string::npos);
  CHECK(block.find(fmt::format("  {:<12} {:>10} {:>10} {:>15}\n", "mean loss", pct(st.loss.moments.mean), pct(rs.loss.moments.mean),
                               fmt::format("{:+.3f}%", 100.0 * (rs.loss.moments.mean - st.loss.moments.mean)))) != std::string::npos);
  CHECK(lines_with(block, " -> ").size() == 1);  // no holder of the same name in both files
  std::string plain;
  REQUIRE(cli(fmt::format("compare {} {}", a_file, b_file), dir, &plain) == 0);
  CHECK(plain.find("holder pairs") == std::string::npos);  // without --pair: the table as it was
  CHECK(out.substr(0, out.find("\nholder pairs")) == plain);

  std::string md;
  REQUIRE(cli(fmt::format("compare {} {} --pair stETH=rsETH-like --markdown", a_file, b_file), dir, &md) == 0);
  CHECK(lines_with(md, fmt::format("| {} | stETH | {} | rsETH-like | ES 99% | {} | {} | {:+.3f}% |", a_file, b_file, pct(st.loss.es99),
                                   pct(rs.loss.es99), 100.0 * (rs.loss.es99 - st.loss.es99))).size() == 1);

  // JSON: the pair with its five statistics, numbers as stored.
  std::string json;
  REQUIRE(cli(fmt::format("compare {} {} --pair stETH=rsETH-like --json", a_file, b_file), dir, &json) == 0);
  CHECK(json.find(fmt::format("{{\"first_file\": {}, \"first_holder\": \"stETH\", \"second_file\": {}, \"second_holder\": \"rsETH-like\", "
                              "\"statistics\": [{{\"statistic\": \"net_yield\", ",
                              json_string(a_file), json_string(b_file))) != std::string::npos);
  CHECK(json.find(fmt::format("{{\"statistic\": \"var99\", \"first\": {}, \"second\": {}, \"difference\": {}}}", json_number(st.loss.var99),
                              json_number(rs.loss.var99), json_number(rs.loss.var99 - st.loss.var99))) != std::string::npos);
  std::string no_pairs;
  REQUIRE(cli(fmt::format("compare {} {} --json", a_file, b_file), dir, &no_pairs) == 0);
  CHECK(no_pairs.find("\"pairs\": []") != std::string::npos);

  // CSV: five pair rows, each line as many cells as the header.
  std::string csv;
  REQUIRE(cli(fmt::format("compare {} {} --pair stETH=rsETH-like --csv", a_file, b_file), dir, &csv) == 0);
  const std::vector<std::string> header = csv_cells(csv.substr(0, csv.find('\n')));
  std::istringstream lines(csv);
  for (std::string line; std::getline(lines, line);) CHECK(csv_cells(line).size() == header.size());
  const auto at = [&](const std::string& column) { return std::find(header.begin(), header.end(), column) - header.begin(); };
  std::vector<std::vector<std::string>> pair_rows;
  for (const auto& line : lines_with(csv, "pair,"))
    if (line.starts_with("pair,")) pair_rows.push_back(csv_cells(line));
  REQUIRE(pair_rows.size() == 5);
  const auto& var = *std::find_if(pair_rows.begin(), pair_rows.end(), [&](const auto& r) { return r[at("statistic")] == "var99"; });
  CHECK(var[at("file")] == a_file);
  CHECK(var[at("holder")] == "stETH");
  CHECK(var[at("second_file")] == b_file);
  CHECK(var[at("second_holder")] == "rsETH-like");
  CHECK(var[at("first")] == fmt::format("{}", st.loss.var99));
  CHECK(var[at("second")] == fmt::format("{}", rs.loss.var99));
  CHECK(var[at("difference")] == fmt::format("{}", rs.loss.var99 - st.loss.var99));
  CHECK(var[at("var99")].empty());  // a holder row's column, empty in a pair row

  // Explicit pairs first, then every holder of the same name: default against itself pairs all three.
  REQUIRE(cli(fmt::format("compare {} {} --pair rsETH-like=stETH-like,rsETH-like=stETH-like --json", b_file, b_file), dir, &json) == 0);
  std::vector<std::string> order;
  for (std::size_t k = json.find("\"first_holder\": "); k != std::string::npos; k = json.find("\"first_holder\": ", k + 1))
    order.push_back(json.substr(k + 16, json.find(',', k) - k - 16) + "=" +
                    json.substr(json.find("\"second_holder\": ", k) + 17, json.find(',', json.find("\"second_holder\": ", k)) -
                                                                                 json.find("\"second_holder\": ", k) - 17));
  CHECK(order == std::vector<std::string>{"\"rsETH-like\"=\"stETH-like\"", "\"rsETH-like\"=\"rsETH-like\"", "\"stETH-like\"=\"stETH-like\"",
                                          "\"native-restakers\"=\"native-restakers\""});
}

TEST_CASE("compare --pair refuses an unknown holder naming the file and its holders and a malformed pair, printing nothing") {
  TempDir dir;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 500 --no-progress -q", RESTAKE_SOURCE_DIR "/scenarios/steth.toml", dir / "steth.h5"),
              dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 500 --no-progress -q", kDefault, dir / "default.h5"), dir) == 0);
  const std::string a_file = dir / "steth.h5", b_file = dir / "default.h5";
  for (const char* format : {"", " --json", " --csv", " --markdown"}) {
    std::string out, err;
    CHECK(cli(fmt::format("compare {} {} --pair stETH=rsETH-like --pair stETH=ezETH{}", a_file, b_file, format), dir, &out, &err) == 1);
    CHECK(out.empty());
    CHECK(err.find(fmt::format("--pair stETH=ezETH: no holder \"ezETH\" in {}; its holders: rsETH-like, stETH-like, native-restakers",
                               b_file)) != std::string::npos);
  }
  std::string out, err;
  CHECK(cli(fmt::format("compare {} {} --pair nobody=rsETH-like", a_file, b_file), dir, &out, &err) == 1);
  CHECK(out.empty());
  CHECK(err.find(fmt::format("no holder \"nobody\" in {}; its holders: stETH", a_file)) != std::string::npos);
  for (const char* bad : {"stETH-rsETH-like", "=rsETH-like", "stETH=", "stETH=rsETH-like,oops"}) {
    CHECK(cli(fmt::format("compare {} {} --pair {}", a_file, b_file, bad), dir, &out, &err) != 0);
    CHECK(out.empty());
    CHECK(err.find("--pair") != std::string::npos);
    CHECK(err.find("expected HOLDER_IN_FIRST_FILE=HOLDER_IN_SECOND_FILE") != std::string::npos);
  }
  CHECK(cli(fmt::format("compare {} --pair stETH=stETH", a_file), dir, &out, &err) == 1);
  CHECK(err.find("--pair needs two or more results files") != std::string::npos);
  // Names are trimmed and empty items skipped, as restake-analysis report --pair reads them.
  REQUIRE(cli(fmt::format("compare {} {} --pair ' stETH = rsETH-like ,, stETH=stETH-like' --pair 'stETH=native-restakers,' --csv", a_file,
                          b_file),
              dir, &out, &err) == 0);
  std::vector<std::string> seconds;
  for (const auto& row : lines_with(out, ",net_yield,"))
    if (row.starts_with("pair,")) seconds.push_back(csv_cells(row).at(csv_cells(row).size() - 5));
  CHECK(seconds == std::vector<std::string>{"rsETH-like", "stETH-like", "native-restakers"});
}

TEST_CASE("compare --csv says why a P(loss above premium) cell is empty, which rows are weighted, and lists the lending markets") {
  TempDir dir;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 500 --no-progress -q", RESTAKE_SOURCE_DIR "/scenarios/steth.toml", dir / "steth.h5"),
              dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 500 --no-progress -q", RESTAKE_SOURCE_DIR "/scenarios/babylon.toml", dir / "btc.h5"),
              dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 500 --no-progress -q --no-records", kDefault, dir / "norec.h5"), dir) == 0);
  std::string csv;
  REQUIRE(cli(fmt::format("compare {} {} {} --csv", dir / "steth.h5", dir / "btc.h5", dir / "norec.h5"), dir, &csv) == 0);
  const std::vector<std::string> header = csv_cells(csv.substr(0, csv.find('\n')));
  const auto at = [&](const std::string& column) { return std::find(header.begin(), header.end(), column) - header.begin(); };
  std::map<std::string, std::vector<std::string>> holders;
  std::vector<std::vector<std::string>> markets;
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    const auto cells = csv_cells(line);
    REQUIRE(cells.size() == header.size());
    if (cells[0] == "holder") holders[cells[at("holder")]] = cells;
    if (cells[0] == "lending_market") markets.push_back(cells);
  }
  CHECK(holders.at("stETH")[at("p_loss_above_premium_note")] == "-");  // the baseline
  CHECK(holders.at("btc-stakers")[at("p_loss_above_premium_note")] == "n/a (other asset)");
  const auto& rs = holders.at("rsETH-like");  // a premium, but no records to count the trials above it
  CHECK(rs[at("p_loss_above_premium")].empty());
  CHECK(rs[at("p_loss_above_premium_note")] == (std::stod(rs[at("premium_earned")]) > 0.0 ? "n/a (no records)" : "no premium"));
  for (const auto& [name, cells] : holders) {
    CHECK(cells[at("estimator")] == "monte_carlo");
    CHECK(cells[at("effective_sample_size")].empty());
  }
  const RunSummary d = read_summary(dir / "norec.h5");
  REQUIRE(markets.size() == d.lending.size());
  for (std::size_t k = 0; k < markets.size(); ++k) {
    CHECK(markets[k][at("file")] == dir / "norec.h5");
    CHECK(markets[k][at("lending_market")] == d.lending[k].name);
    CHECK(markets[k][at("bad_debt_var95")] == fmt::format("{}", d.lending[k].bad_debt_var95));
    CHECK(markets[k][at("holder")].empty());
  }
}

TEST_CASE("--threshold repeated adds to the list, and a loss given twice across repeats is refused") {
  TempDir dir;
  const std::string out = dir / "t.h5";
  REQUIRE(cli(fmt::format("run {} -o {} --trials 500 --no-progress -q --threshold 10%,1% --threshold 0.05 --threshold 50%", kDefault, out),
              dir) == 0);
  CHECK(read_summary(out).info.thresholds == std::vector<double>{0.01, 0.05, 0.1, 0.5});
  std::string text, err;
  REQUIRE(cli(fmt::format("summary {} --threshold 2% --threshold 20%,30%", out), dir, &text) == 0);
  CHECK(text.find(fmt::format("{:<16} {:>22} {:>22} {:>22}\n", "holder", "x = 2%", "x = 20%", "x = 30%")) != std::string::npos);
  // The same loss in another repeat (and spelt otherwise: 5% is 0.05) is a mistake, not a wish for it twice.
  for (const char* twice : {"--threshold 5% --threshold 0.05", "--threshold 1%,5% --threshold 10%,5%"}) {
    CHECK(cli(fmt::format("run {} -o {} --trials 100 --no-progress -q {}", kDefault, dir / "x.h5", twice), dir, nullptr, &err) != 0);
    CHECK(err.find("--threshold") != std::string::npos);
    CHECK(err.find("is given twice") != std::string::npos);
    CHECK(!std::filesystem::exists(dir / "x.h5"));
    CHECK(cli(fmt::format("summary {} {}", out, twice), dir, &text, &err) != 0);
    CHECK(err.find("is given twice") != std::string::npos);
    CHECK(text.empty());
  }
}

TEST_CASE("compare adds the loss at market and a table of lending markets only when the files have markets") {
  TempDir dir;
  const std::string steth = RESTAKE_SOURCE_DIR "/scenarios/steth.toml";
  REQUIRE(cli(fmt::format("run {} -o {} --trials 2000 --no-progress -q", steth, dir / "steth.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3000 --no-progress -q", kDefault, dir / "a.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3000 --seed 2 --no-progress -q", kDefault, dir / "b.h5"), dir) == 0);

  // Files without markets: the table as it always was, to the character.
  std::string plain;
  REQUIRE(cli(fmt::format("compare {} {}", dir / "steth.h5", dir / "steth.h5"), dir, &plain) == 0);
  const std::string old_header = fmt::format("{:<34} {:<18} {:<6} {:<5} {:>9} {:>11} {:>14} {:>9} {:>9} {:>9} {:>22}  {}", "file",
                                             "holder", "kind", "asset", "net yield", "net premium", "premium earned", "P(loss>0)",
                                             "VaR 99%", "ES 99%", "P(loss>premium earned)", "main loss cause");
  CHECK(lines_with(plain, "holder") == std::vector<std::string>{old_header});
  CHECK(plain.find("at market") == std::string::npos);
  CHECK(plain.find("lending market") == std::string::npos);
  std::string plain_md;
  REQUIRE(cli(fmt::format("compare {} --markdown", dir / "steth.h5"), dir, &plain_md) == 0);
  CHECK(lines_with(plain_md, "| file |") ==
        std::vector<std::string>{"| file | holder | kind | asset | net yield | net premium | premium earned | P(loss>0) | VaR 99% | ES 99% | "
                                 "P(loss>premium earned) | main loss cause |"});

  // With markets: the loss at market beside VaR and ES at NAV, "-" for a file without a market layer.
  std::string out;
  REQUIRE(cli(fmt::format("compare {} {} {}", dir / "steth.h5", dir / "a.h5", dir / "b.h5"), dir, &out) == 0);
  CHECK(out.find("VaR 99% at market") != std::string::npos);
  CHECK(out.find("ES 99% at market") != std::string::npos);
  const RunSummary a = read_summary(dir / "a.h5"), b = read_summary(dir / "b.h5");
  // Row tokens: file, holder, kind, asset, net yield, net premium, premium earned, P(loss>0), VaR, ES,
  // then the two at market.
  const auto row_of = [&](const std::string& file, const std::string& holder) {
    std::vector<std::string> tokens;
    for (const auto& line : lines_with(out, file + " "))
      if (line.starts_with(file + " ") && line.find(" " + holder + " ") != std::string::npos) {
        std::istringstream in(line);
        for (std::string t; in >> t;) tokens.push_back(t);
      }
    return tokens;
  };
  const auto& rs = *std::find_if(a.holders.begin(), a.holders.end(), [](const HolderSummary& h) { return h.name == "rsETH-like"; });
  const auto rs_row = row_of(dir / "a.h5", "rsETH-like");
  REQUIRE(rs_row.size() > 12);
  CHECK(rs_row[8] == fmt::format("{:.3f}%", 100.0 * rs.loss.var99));
  CHECK(rs_row[10] == fmt::format("{:.3f}%", 100.0 * rs.loss_at_market.var99));
  CHECK(rs_row[11] == fmt::format("{:.3f}%", 100.0 * rs.loss_at_market.es99));
  CHECK(rs.loss_at_market.var99 >= rs.loss.var99);  // selling at the lowest price never loses less
  const auto steth_row = row_of(dir / "steth.h5", "stETH");
  REQUIRE(steth_row.size() > 12);
  CHECK(steth_row[10] == "-");
  CHECK(steth_row[11] == "-");

  // The lending markets, grouped by name across the files, with VaR 95%, P(> 1% of debt) and p95.
  REQUIRE(a.lending.size() == 2);
  REQUIRE(out.find("lending markets:") != std::string::npos);
  const auto table = out.substr(out.find("lending markets:"));
  for (const RunSummary* f : {&a, &b})
    for (const auto& m : f->lending) {
      const auto rows = lines_with(table, m.name + " ");
      REQUIRE(rows.size() == 2);  // one per file with the market, in the order of the files
      const auto& row = rows[f == &a ? 0 : 1];
      CHECK(row.find(f == &a ? dir / "a.h5" : dir / "b.h5") != std::string::npos);
      CHECK(row.find(fmt::format(" {:.2f} ", m.bad_debt_var95)) != std::string::npos);
      CHECK(row.find(fmt::format(" {:.3f}% ", 100.0 * m.p_bad_debt_1pct)) != std::string::npos);
      CHECK(row.ends_with(fmt::format(" {:.1f}", m.liquidated_p95)));
    }
  // Grouped: both files' rows of the first market come before either of the second's.
  const auto first = table.find(a.lending[0].name), second = table.find(a.lending[1].name);
  CHECK(table.find(a.lending[0].name, first + 1) < second);
  std::string md;
  REQUIRE(cli(fmt::format("compare {} {} --markdown", dir / "steth.h5", dir / "a.h5"), dir, &md) == 0);
  CHECK(md.find("| VaR 99% at market | ES 99% at market |") != std::string::npos);
  CHECK(lines_with(md, "| lending market | file |").size() == 1);
  CHECK(lines_with(md, "| e-mode, ").size() == 2);
}

TEST_CASE("reproduce passes on the published cases and fails when a figure leaves its tolerance") {
  TempDir dir;
  std::string out;
  CHECK(cli("reproduce", dir, &out) == 0);
  CHECK(out.find("FAIL") == std::string::npos);
  // The same Staked case with a published figure 1% off and no tolerance must fail.
  const std::string published = RESTAKE_SOURCE_DIR "/scenarios/published/";
  std::ofstream(dir / "manifest.toml") << fmt::format(
      "[[case]]\nname = \"off by one percent\"\nscenario = \"{}staked-2021.toml\"\nsource = \"test\"\nholder = \"staked-validators\"\n"
      "metric = \"loss_eth\"\npublished = 18.9375\ntolerance = 0\n", published);
  CHECK(cli(fmt::format("reproduce {}", dir / "manifest.toml"), dir, &out) == 1);
  CHECK(out.find("FAIL") != std::string::npos);
  // An upper bound fails as soon as ours exceeds it, whatever the tolerance.
  std::ofstream(dir / "bound.toml") << fmt::format(
      "[[case]]\nname = \"bound\"\nscenario = \"{}../cascade/theorem1-tight.toml\"\nsource = \"test\"\n"
      "metric = \"cascade_loss_share\"\npsi = 0.001\npublished = 0.0109\nbound = \"upper\"\ntolerance = 0.5\n", published);
  CHECK(cli(fmt::format("reproduce {}", dir / "bound.toml"), dir, &out) == 1);
}

TEST_CASE("a command-line number out of its range is refused with the range, not clamped, and nothing is written") {
  TempDir dir;
  const std::string sweep = RESTAKE_SOURCE_DIR "/sweeps/oracle-slash-rate.toml";
  const std::string cascade = RESTAKE_SOURCE_DIR "/scenarios/cascade/theorem2.toml";
  struct Case {
    std::string command, option, value, expected;
  };
  const std::string run = fmt::format("run {} -o {} --no-progress", kDefault, dir / "out.h5");
  const std::string sw = fmt::format("sweep {} -o {}", sweep, dir / "out.h5");
  const std::string integer64 = "[0, 9223372036854775807]";
  const std::string count64 = "[1, 9223372036854775807]";
  const Case cases[] = {
      {run, "--seed", "-1", integer64},  // CLI11 alone made it 18446744073709551615
      {run, "--seed", "99999999999999999999999", integer64},
      {run, "--seed", "9223372036854775808", integer64},  // beyond what a scenario's seed can hold
      {run, "--seed", "1e3", integer64},
      {run, "--trials", "18446744073709551616", count64},  // CLI11 alone made it 2^64-1 trials
      {run, "--trials", "0", count64},
      {run, "--trials", "-5", count64},
      {run, "--trials", "1.5", count64},
      {run, "--trials", "0x10", count64},
      {run, "--threads", "0", "[1, 4096]"},
      {run, "--threads", "4097", "[1, 4096]"},
      {run, "--threads", "99999999999", "[1, 4096]"},
      {run, "--block", "0", "[1, 16777216]"},
      {run, "--compression", "10", "[0, 9]"},
      {run + " --no-records", "--sketch-accuracy", "0", "[1e-06, 0.05]"},
      {run + " --no-records", "--sketch-accuracy", "0.5", "[1e-06, 0.05]"},
      {sw, "--seed", "-1", integer64},
      {sw, "--trials", "18446744073709551616", count64},
      {sw, "--threads", "0", "[1, 4096]"},
      {sw, "--block", "-1", "[1, 16777216]"},
      {sw, "--compression", "-1", "[0, 9]"},
      {sw, "--stop-after", "0", "[1, 1000000]"},
      {sw, "--stop-after", "18446744073709551616", "[1, 1000000]"},
      {"cascade " + cascade, "--psi", "nan", "[0, 1]"},
      {"cascade " + cascade, "--psi", "1.5", "[0, 1]"},
      {"cascade " + cascade, "--psi", "1e-400", "[0, 1]"},  // would be read as 0
      {"cascade " + cascade, "--gamma", "nan", "[0, 1000000000000]"},
      {"cascade " + cascade, "--gamma", "inf", "[0, 1000000000000]"},
      {"cascade " + cascade, "--max-exact", "0", "[1, 26]"},
      {"cascade " + cascade, "--max-exact", "18446744073709551617", "[1, 26]"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.command);
    CAPTURE(c.option);
    CAPTURE(c.value);
    std::string err;
    CHECK(cli(fmt::format("{} {} {}", c.command, c.option, c.value), dir, nullptr, &err) != 0);
    CHECK(err.find(fmt::format("{}: expected ", c.option)) != std::string::npos);
    CHECK(err.find(c.expected + ", got " + c.value) != std::string::npos);
    CHECK(!fs::exists(dir / "out.h5"));
  }
  // The ends of the ranges are accepted as given.
  REQUIRE(cli(fmt::format("{} --trials 1 --seed 9223372036854775807 -q", run), dir) == 0);
  CHECK(h5::File::open_read_only(dir / "out.h5").attr_uint("seed") == 9223372036854775807ull);
}

TEST_CASE("inputs that are not regular files, or are too large, are refused before anything is read or written") {
  TempDir dir;
  const std::string fifo = dir / "fifo.toml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string huge = dir / "huge.toml";
  std::ofstream(huge).close();
  fs::resize_file(huge, std::uintmax_t{17} << 20);  // sparse: 17 MiB of nothing
  struct Case {
    std::string path, expected;
  };
  const Case cases[] = {
      {"/dev/zero", "/dev/zero: a character device, not a scenario file"},  // read until memory ran out
      {dir.path.string(), dir.path.string() + ": a directory, not a scenario file"},  // said "missing [simulation]"
      {fifo, fifo + ": a pipe, not a scenario file"},  // waited for a writer
      {huge, huge + ": larger than the 16 MiB a scenario file may have"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.path);
    std::string err;
    CHECK(cli(fmt::format("validate {}", c.path), dir, nullptr, &err) == 1);
    CHECK(err.find(c.expected) != std::string::npos);
    CHECK(cli(fmt::format("run {} -o {} --no-progress", c.path, dir / "out.h5"), dir, nullptr, &err) == 1);
    CHECK(err.find(c.expected) != std::string::npos);
    CHECK(!fs::exists(dir / "out.h5"));
    CHECK(cli(fmt::format("cascade {}", c.path), dir, nullptr, &err) == 1);
    CHECK(err.find(c.expected) != std::string::npos);
  }
  // The sweep file itself, the scenario it names, and the reproductions manifest go the same way.
  std::string err;
  CHECK(cli(fmt::format("sweep {} -o {}", dir.path.string(), dir / "out.h5"), dir, nullptr, &err) == 1);
  CHECK(err.find("a directory, not a sweep file") != std::string::npos);
  std::ofstream(dir / "s.toml") << "[sweep]\nscenario = \"/dev/zero\"\n";
  CHECK(cli(fmt::format("sweep {} -o {}", dir / "s.toml", dir / "out.h5"), dir, nullptr, &err) == 2);
  CHECK(err.find("s.toml:2:12: sweep.scenario: /dev/zero: a character device, not a scenario file") != std::string::npos);
  CHECK(cli("reproduce /dev/zero", dir, nullptr, &err) == 1);
  CHECK(err.find("/dev/zero: a character device, not a manifest") != std::string::npos);
  CHECK(!fs::exists(dir / "out.h5"));
  // A symbolic link to a scenario is a scenario.
  fs::create_symlink(kDefault, dir / "link.toml");
  CHECK(cli(fmt::format("validate {}", dir / "link.toml"), dir) == 0);
}

TEST_CASE("-o refuses a directory, FIFO or symbolic link before any work, for run, sweep, shards and merge") {
  TempDir dir;
  fs::create_directories(dir / "folder");
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  std::ofstream(dir / "real.h5") << "kept";
  fs::create_symlink(dir / "real.h5", dir / "link");
  const std::string sweep = dir / "sweep.toml";
  std::ofstream(sweep) << fmt::format(
      "[sweep]\nscenario = \"{}\"\ntrials = 300\n[[sweep.parameter]]\npath = \"pool.lrt-coverage.balance_eth\"\nvalues = [0, 5000]\n",
      kDefault);
  const std::string sweep_cmd = "sweep " + sweep + " --threads 1";
  REQUIRE(cli(fmt::format("{} --shard 0/2 -o {}", sweep_cmd, dir / "s0.h5"), dir) == 0);
  REQUIRE(cli(fmt::format("{} --shard 1/2 -o {}", sweep_cmd, dir / "s1.h5"), dir) == 0);
  const std::string merge_cmd = fmt::format("merge {} {}", dir / "s0.h5", dir / "s1.h5");

  const std::pair<std::string, std::string> targets[] = {
      {"folder", "it is a directory"}, {"fifo", "it is a FIFO"}, {"link", "it is a symbolic link (to " + dir / "real.h5" + ")"}};
  for (const std::string& command : {"run " + kDefault + " --trials 2000 --threads 1", sweep_cmd, sweep_cmd + " --shard 0/2", merge_cmd})
    for (const auto& [name, what] : targets) {
      const std::string target = dir / name;
      INFO(command << " -o " << target);
      std::string err;
      CHECK(cli(fmt::format("{} -o {}", command, target), dir, nullptr, &err) == 1);
      CHECK(err.find(fmt::format("cannot write {}: {}", target, what)) != std::string::npos);
      CHECK(err.find("regular file") != std::string::npos);
      CHECK(err.find(" -> ") == std::string::npos);  // refused before the run's (or sweep's) first log line
    }
  CHECK(fs::is_directory(dir / "folder"));
  CHECK(fs::is_empty(dir / "folder"));
  CHECK(fs::is_fifo(dir / "fifo"));
  CHECK(fs::is_symlink(dir / "link"));
  CHECK(slurp(dir / "real.h5") == "kept");
  for (const auto& e : fs::directory_iterator(dir.path)) CHECK(e.path().string().find(".partial") == std::string::npos);
}

TEST_CASE("summary and compare refuse a results file whose datasets disagree in length, or that is marked incomplete") {
  TempDir dir;
  const std::string good = dir / "good.h5";
  REQUIRE(cli(fmt::format("run {} -o {} --trials 300 --threads 1 --no-progress", kDefault, good), dir) == 0);
  const std::size_t H = h5::File::open_read_only(good).dims("holders/names").at(0);
  const std::size_t A = h5::File::open_read_only(good).dims("avs/names").at(0);
  REQUIRE(H >= 2);

  const std::pair<std::string, std::string> cases[] = {
      {edited_copy(good, dir / "kinds.h5", [](const h5::Group& r) { replace_strings(r, "holders/kinds", {"lrt"}); }),
       fmt::format("/holders/kinds has shape [1], expected [{}] (one per holder, as many as names)", H)},
      {edited_copy(good, dir / "avs.h5",
                   [](const h5::Group& r) {
                     std::vector<std::string> names = r.read_strings("avs/names");
                     names.push_back("one-too-many");
                     replace_strings(r, "avs/names", names);
                   }),
       fmt::format("/avs/assets has shape [{}], expected [{}] (one per AVS, as many as names)", A, A + 1)},
      {edited_copy(good, dir / "means.h5",
                   [](const h5::Group& r) {
                     REQUIRE(H5Ldelete(r.id(), "summary/loss/mean", H5P_DEFAULT) >= 0);
                     r.write_doubles("summary/loss/mean", std::vector<double>{0.5}, {1});
                   }),
       fmt::format("/summary/loss/mean has shape [1], expected [{}] (holder)", H)},
      {edited_copy(good, dir / "incomplete.h5", [](const h5::Group& r) { r.set_attr("complete", std::int64_t{0}); }),
       "marked incomplete (complete = 0): the run writing it did not finish"},
  };
  for (const auto& [file, message] : cases) {
    INFO(file);
    std::string out, err;
    CHECK(cli("summary " + file, dir, &out, &err) == 1);
    CHECK(err.find(file + ": " + message) != std::string::npos);
    CHECK(out.empty());
    CHECK(cli(fmt::format("compare {} {}", good, file), dir, &out, &err) == 1);
    CHECK(err.find(file + ": " + message) != std::string::npos);
    CHECK(out.empty());
  }
  CHECK(cli("summary " + good, dir) == 0);
}

// The default world with one operator faulting 99,000 times a year: trials of ~0.05 s each.
std::string busy_scenario() {
  std::string text = slurp(kDefault);
  const std::string rate = "annual_fault_probability = 0.02";
  REQUIRE(text.find(rate) != std::string::npos);
  return text.replace(text.find(rate), rate.size(), "fault_rate_per_year = 99000");
}

TEST_CASE("SIGTERM and SIGINT stop a run within its block in about a second, exit 143 and 130, and leave no file") {
  TempDir dir;
  const std::string ecosystem = RESTAKE_SOURCE_DIR "/scenarios/ecosystem.toml";  // slow trials, for slow blocks
  const std::string busy = dir / "busy.toml";
  std::ofstream(busy) << busy_scenario();
  struct Case {
    std::string scenario;
    bool records;
  };
  // Streamed (no records) and in blocks (records); ordinary trials and trials of 99,000 events.
  for (const Case& c : {Case{ecosystem, false}, Case{ecosystem, true}, Case{busy, false}, Case{busy, true}})
  for (const auto& [signal, code] : {std::pair{SIGTERM, 143}, std::pair{SIGINT, 130}}) {
    const std::string out = dir / "out.h5";
    CAPTURE(c.scenario);
    CAPTURE(c.records);
    // A block of 600,000 trials on one thread takes seconds; checked only between blocks, the run
    // went on to the end of the block after (the next is computed ahead): 3 s or more here.
    std::vector<std::string> args{"run", c.scenario, "-o", out, "--trials", "1000000000", "--block", "600000", "--threads", "1", "--no-progress"};
    if (!c.records) args.push_back("--no-records");
    const auto [exit_code, seconds] = signalled_run(args, dir / "err.txt", signal, std::chrono::milliseconds(1000));
    INFO("stderr: " << slurp(dir / "err.txt"));
    CHECK(exit_code == code);
    CHECK(seconds < 1.5);
    CHECK(slurp(dir / "err.txt").find(signal == SIGTERM ? "interrupted by SIGTERM: no output file written"
                                                        : "interrupted by SIGINT: no output file written") !=
          std::string::npos);
    CHECK(!std::filesystem::exists(out));
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path), std::filesystem::directory_iterator{}) == 2);  // err.txt, busy.toml
  }
}

TEST_CASE("a run expecting many events per trial says so, with its time from a pilot, before it starts") {
  TempDir dir;
  std::ofstream(dir / "busy.toml") << busy_scenario();
  std::string err;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3 --threads 1 --no-progress", dir / "busy.toml", dir / "b.h5"), dir, nullptr, &err) == 0);
  CHECK(err.find("about 99000 random events per trial expected") != std::string::npos);
  CHECK(err.find("99000 events per trial expected (more than 1000): about ") != std::string::npos);
  CHECK(err.find("s per trial") != std::string::npos);
  CHECK(err.find("for 3 trials on 1 threads, from a pilot of 3 trials") != std::string::npos);
  // An ordinary world: the count alone, no warning.
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3 --threads 1 --no-progress", kDefault, dir / "d.h5"), dir, nullptr, &err) == 0);
  CHECK(err.find("random events per trial expected") != std::string::npos);
  CHECK(err.find("events per trial expected (more than") == std::string::npos);
}

TEST_CASE("a one-trial run prints its standard error as n/a and sd and stderr as null in JSON, not 0") {
  TempDir dir;
  std::string table, json;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 1 --no-progress -q", kDefault, dir / "one.h5"), dir, &table) == 0);
  CHECK(table.find("    n/a ") != std::string::npos);
  REQUIRE(cli(fmt::format("summary {} --json", dir / "one.h5"), dir, &json) == 0);
  CHECK(json.find("\"loss\": {\"mean\": 0, \"stderr\": null, \"sd\": null,") != std::string::npos);
  CHECK(json.find("\"stderr\": 0") == std::string::npos);
  CHECK(json.find("\"sd\": 0") == std::string::npos);
  CHECK(json.find("\"net_return\": {\"mean\": ") != std::string::npos);
  // Two trials have a spread, even if it is 0.
  REQUIRE(cli(fmt::format("run {} -o {} --trials 2 --no-progress -q --json", kDefault, dir / "two.h5"), dir, &json) == 0);
  CHECK(json.find("null, \"sd\": null") == std::string::npos);
  CHECK(json.find("\"stderr\": 0, \"sd\": 0,") != std::string::npos);
}

TEST_CASE("help: the program's help, a command's help, and an unknown command named with the commands there are") {
  TempDir dir;
  std::string out, err;
  CHECK(cli("help", dir, &out) == 0);
  CHECK(out.find("Subcommands:") != std::string::npos);
  CHECK(out.find("reproduce") != std::string::npos);
  std::string direct;
  CHECK(cli("--help", dir, &direct) == 0);
  CHECK(out == direct);
  CHECK(cli("help run", dir, &out) == 0);
  CHECK(out.find("--no-progress") != std::string::npos);
  CHECK(out.find("{false}") == std::string::npos);  // flags show no default value
  CHECK(out.find("--price-paths") != std::string::npos);
  CHECK(cli("help runn", dir, &out, &err) == 1);
  CHECK(err.find("help: no command \"runn\" (commands: run, validate, summary") != std::string::npos);
}

TEST_CASE("validate counts what the scenario has, in the singular for one, and leaves out what it has none of") {
  TempDir dir;
  std::string out;
  REQUIRE(cli(fmt::format("validate {}", RESTAKE_SOURCE_DIR "/scenarios/default.toml"), dir, &out) == 0);
  CHECK(out.find("5 operators, 3 groups, 1 outage, 2 protocols, 3 AVSs, 3 holders (7 restaked positions), 5 contracts, "
                 "1 coverage pool, 1 token, 2 lending markets; 200000 trials") != std::string::npos);
  REQUIRE(cli(fmt::format("validate {}", RESTAKE_SOURCE_DIR "/scenarios/published/staked-2021.toml"), dir, &out) == 0);
  CHECK(out.find("\"staked-2021\": 1 operator, 1 holder (0 restaked positions); 10 trials,") != std::string::npos);
}

TEST_CASE("the printed summary fits 120 columns, with a USD column only when some holder is priced") {
  TempDir dir;
  const auto widest = [](const std::string& text) {  // but the first line (the run's name, seed, version)
    std::size_t widest = 0, at = text.find('\n') + 1;
    while (at < text.size()) {
      const std::size_t end = std::min(text.find('\n', at), text.size());
      widest = std::max(widest, end - at);
      at = end + 1;
    }
    return widest;
  };
  std::string out;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 2000 --no-progress", RESTAKE_SOURCE_DIR "/scenarios/default.toml", dir / "d.h5"), dir,
              &out) == 0);
  CHECK(widest(out) <= 120);
  CHECK(out.find("USD") == std::string::npos);  // no prices: no column of "-"
  CHECK(out.find("cause                rsETH-like stETH-like native-restakers") != std::string::npos);
  CHECK(out.find("cascade_attack") == std::string::npos);  // a cause without a loss is left out
  REQUIRE(cli(fmt::format("run {} -o {} --no-progress", RESTAKE_SOURCE_DIR "/scenarios/published/kelp-rseth-april-2026-all-supply.toml",
                          dir / "k.h5"),
              dir, &out) == 0);
  CHECK(widest(out) <= 120);
  CHECK(out.find("Loss amounts (in the holder's asset; in USD at the scenario's price)") != std::string::npos);
  CHECK(out.find("116503.5 ETH") != std::string::npos);  // the mean loss, 14.9936% of 777,024 ETH
  CHECK(out.find("$291.96M") != std::string::npos);      // ... at $2,506
  CHECK(out.find("bad debt USD") != std::string::npos);
  // Eight holders, with every table a run can add: thresholds, timing, concentration, contributions.
  REQUIRE(cli(fmt::format("run {} -o {} --trials 3000 --no-progress --threshold 1%,5%,10% --contributions",
                          RESTAKE_SOURCE_DIR "/scenarios/ecosystem.toml", dir / "e.h5"),
              dir, &out) == 0);
  CHECK(widest(out) <= 120);
  for (const char* table : {"P(loss >= x)", "When losses come", "Concentration", "Risk contributions to VaR 99%"})
    CHECK(out.find(table) != std::string::npos);
  // Fourteen holders: the tables of holder columns are cut in two, unless --wide.
  std::string many = "[simulation]\nname = \"many\"\ntrials = 300\nseed = 3\nhorizon_days = 365\n"
                     "[ethereum]\ntotal_active_stake_eth = 34_000_000\nbase_apr = 0.03\n";
  for (int i = 0; i < 14; ++i)
    many += fmt::format("[[operator]]\nname = \"op-{:02d}\"\nstake_eth = 32_000\nannual_fault_probability = 0.5\nfault_fraction = 0.01\n", i);
  for (int i = 0; i < 14; ++i)
    many += fmt::format("[[lst]]\nname = \"holder-{:02d}\"\npositions = [{{ operator = \"op-{:02d}\", stake_eth = 32_000 }}]\n", i, i);
  { std::ofstream(dir / "many.toml") << many; }
  std::string wide;
  REQUIRE(cli(fmt::format("run {} -o {} --no-progress --contributions", dir / "many.toml", dir / "m.h5"), dir, &out) == 0);
  REQUIRE(cli(fmt::format("summary {} --contributions --wide", dir / "m.h5"), dir, &wide) == 0);
  CHECK(widest(out) <= 120);
  CHECK(widest(wide) > 120);
  for (int i = 0; i < 14; ++i) CHECK(out.find(fmt::format("holder-{:02d}", i)) != std::string::npos);
  const auto count = [](const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  CHECK(count(out, "\ncause ") == 2);
  CHECK(count(wide, "\ncause ") == 1);
  CHECK(count(out, "total (ES 99%)") == 2);  // the contributions' rows under each group of holders
  CHECK(count(wide, "total (ES 99%)") == 1);
}
