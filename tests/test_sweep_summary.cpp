// `restake-sim summary SWEEP.h5`: every point's table, one metric across the points with its 95%
// interval, JSON and CSV; each number checked against the sweep file's own datasets.
#include "cli_support.hpp"
#include "sweep_support.hpp"
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "io/h5.hpp"

using namespace restake::test;
using namespace restake;

namespace {

// A 3 x 2 grid (write_sweep) of 700 trials a point, and its summary datasets.
struct SweepFile {
  TempDir dir;
  std::string path = dir / "s.h5";
  std::size_t P = 0, H = 0;
  std::vector<std::string> holders, names;
  SweepFile() {
    REQUIRE(cli(fmt::format("sweep {} -o {} --threads 2", write_sweep(dir), path), dir) == 0);
    const h5::File f = h5::File::open_read_only(path);
    holders = f.read_strings("holders/names");
    names = f.read_strings("points/names");
    P = names.size();
    H = holders.size();
  }
  // [P, H] summary dataset, e.g. "loss/var99".
  std::vector<double> data(const std::string& metric) const {
    return h5::File::open_read_only(path).read_doubles("summary/" + metric);
  }
  std::string run(const std::string& options, int expect = 0) const {
    std::string out, err;
    const int status = cli(fmt::format("summary {} {}", path, options), dir, &out, &err);
    INFO("stderr: " << err);
    CHECK(status == expect);
    return expect == 0 ? out : err;
  }
};

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::istringstream l(line);
    for (std::string cell; std::getline(l, cell, ',');) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    rows.push_back(std::move(cells));
  }
  return rows;
}

std::size_t column(const std::vector<std::string>& head, const std::string& name) {
  for (std::size_t c = 0; c < head.size(); ++c)
    if (head[c] == name) return c;
  FAIL("no column " << name);
  return 0;
}

std::string pct(double x) { return fmt::format("{:.4f}%", 100.0 * x); }

}  // namespace

TEST_CASE("summary of a sweep prints each point's holder table under its readable description") {
  const SweepFile s;
  REQUIRE(s.P == 6);
  CHECK(s.names[2] == "avs.oracle.slashing.wrong-price.annual_probability = 0.05, pool.lrt-coverage.balance_eth = 0");
  const std::string out = s.run("");
  CHECK(out.starts_with(fmt::format("sweep {} | scenario ", s.path)));
  const std::vector<double> mean = s.data("loss/mean"), var99 = s.data("loss/var99");
  std::size_t at = 0;
  for (std::size_t p = 0; p < s.P; ++p) {
    const std::size_t start = out.find(fmt::format("=== point {} of 6: {} (horizon", p + 1, s.names[p]), at);
    REQUIRE(start != std::string::npos);
    const std::size_t end = p + 1 < s.P ? out.find("=== point", start + 1) : out.size();
    const std::string section = out.substr(start, end - start);
    // Each holder's row of that point: its mean loss and VaR 99% as the run's own table prints them.
    for (std::size_t h = 0; h < s.H; ++h) {
      const std::size_t row = section.find("\n" + s.holders[h] + " ");
      REQUIRE(row != std::string::npos);
      const std::string line = section.substr(row + 1, section.find('\n', row + 1) - row - 1);
      INFO("point " << p << ", " << line);
      CHECK(line.find(pct(mean[p * s.H + h])) != std::string::npos);
      CHECK(line.find(pct(var99[p * s.H + h])) != std::string::npos);
    }
    at = start + 1;
  }
}

TEST_CASE("summary --metric prints one row per point and one column per holder, with the mean's 95 percent interval") {
  const SweepFile s;
  const std::vector<double> var99 = s.data("loss/var99"), mean = s.data("loss/mean"), se = s.data("loss/stderr");
  const std::string table = s.run("--metric loss/var99");
  CHECK(table.find("loss/var99: value at risk") != std::string::npos);
  CHECK(table.find("95% interval") == std::string::npos);  // a plain sweep stores no error of its VaR
  std::istringstream in(table);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 3 + 1 + s.P);  // header, blank, title; column heads; the points
  CHECK(lines[3].find("avs.oracle.slashing.wrong-price.annual_probability") != std::string::npos);
  for (std::size_t p = 0; p < s.P; ++p) {
    const std::string& row = lines[4 + p];
    INFO(row);
    CHECK(row.find(fmt::format("{}  ", p + 1)) != std::string::npos);
    for (std::size_t h = 0; h < s.H; ++h) CHECK(row.find(pct(var99[p * s.H + h])) != std::string::npos);
  }
  const std::string means = s.run("--metric loss/mean");
  CHECK(means.find("95% interval in brackets, +/- 1.960 standard errors") != std::string::npos);
  for (std::size_t i = 0; i < s.P * s.H; ++i)
    if (se[i] > 0)
      CHECK(means.find(fmt::format("{} [{:.4f}, {:.4f}]", pct(mean[i]), 100 * (mean[i] - 1.959963984540054 * se[i]),
                                   100 * (mean[i] + 1.959963984540054 * se[i]))) != std::string::npos);
}

TEST_CASE("summary --csv gives every holder metric at every point exactly as stored, and --metric --csv its interval") {
  const SweepFile s;
  const auto rows = csv_rows(s.run("--csv"));
  REQUIRE(rows.size() == 1 + s.P * s.H);
  const auto& head = rows[0];
  CHECK(head[0] == "point");
  CHECK(head[1] == "avs.oracle.slashing.wrong-price.annual_probability");
  CHECK(head[2] == "pool.lrt-coverage.balance_eth");
  CHECK(head[3] == "holder");
  const h5::File f = h5::File::open_read_only(s.path);
  const std::vector<double> values = f.read_doubles("points/values");
  for (const std::string metric : {"loss/mean", "loss/var99", "loss/es99", "loss/p_loss", "net_return/mean", "covered_mean"}) {
    const std::vector<double> stored = s.data(metric);
    const std::size_t c = column(head, metric);
    for (std::size_t p = 0; p < s.P; ++p)
      for (std::size_t h = 0; h < s.H; ++h) {
        const auto& row = rows[1 + p * s.H + h];
        CHECK(row[0] == std::to_string(p));
        CHECK(std::stod(row[1]) == values[p * 2]);
        CHECK(std::stod(row[2]) == values[p * 2 + 1]);
        CHECK(row[3] == s.holders[h]);
        CHECK(std::stod(row[c]) == stored[p * s.H + h]);  // shortest round-trip text: the same double
      }
  }
  const auto metric = csv_rows(s.run("--metric loss/mean --csv"));
  REQUIRE(metric.size() == 1 + s.P * s.H);
  CHECK(metric[0] == std::vector<std::string>{"point", "avs.oracle.slashing.wrong-price.annual_probability",
                                              "pool.lrt-coverage.balance_eth", "holder", "value", "stderr", "ci95_low",
                                              "ci95_high"});
  const std::vector<double> mean = s.data("loss/mean"), se = s.data("loss/stderr");
  for (std::size_t i = 0; i < s.P * s.H; ++i) {
    const auto& row = metric[1 + i];
    CHECK(std::stod(row[4]) == mean[i]);
    CHECK(std::stod(row[5]) == se[i]);
    CHECK(std::stod(row[6]) == mean[i] - 1.959963984540054 * se[i]);
    CHECK(std::stod(row[7]) == mean[i] + 1.959963984540054 * se[i]);
  }
  const auto plain = csv_rows(s.run("--metric loss/var99 --csv"));
  CHECK(plain[1][5].empty());  // no standard error stored: empty cells, not 0
  CHECK(plain[1][6].empty());
}

TEST_CASE("summary --json of a sweep and of a metric is valid JSON with every point") {
  const SweepFile s;
  for (const std::string options : {"--json", "--metric loss/es99 --json"}) {
    INFO(options);
    const std::string out = s.run(options);
    const std::string file = s.dir / "out.json";
    std::ofstream(file) << out;
    const std::string check = fmt::format(
        "/usr/bin/python3 -c \"import json, sys; d = json.load(open('{}')); "
        "sys.exit(0 if len(d['points']) == {} and d['points'][2]['name'] == '{}' else 1)\"",
        file, s.P, s.names[2]);
    CHECK(std::system(check.c_str()) == 0);
  }
  const std::string es = s.run("--metric loss/es99 --json");
  const std::vector<double> stored = s.data("loss/es99");
  CHECK(es.find(fmt::format("\"value\": [{}", fmt::format("{}", stored[0]))) != std::string::npos);
}

TEST_CASE("summary --metric with an unknown metric names the valid ones, and --json with --csv is refused") {
  const SweepFile s;
  const std::string err = s.run("--metric loss/var98", 1);
  CHECK(err.find("no metric \"loss/var98\"") != std::string::npos);
  CHECK(err.find("loss/var99") != std::string::npos);
  CHECK(err.find("covered_mean") != std::string::npos);
  CHECK(s.run("--metric loss/quantiles", 1).find("no metric") != std::string::npos);  // not one value per holder
  std::string out;
  CHECK(cli(fmt::format("summary {} --json --csv", s.path), s.dir, &out) != 0);
  CHECK(out.empty());
}

TEST_CASE("summary --metric and --csv read a results file as one point without parameters") {
  TempDir dir;
  REQUIRE(cli(fmt::format("run {} -o {} --trials 500 --threads 2 --no-progress", kDefault, dir / "r.h5"), dir) == 0);
  std::string out;
  REQUIRE(cli(fmt::format("summary {} --metric loss/var99 --csv", dir / "r.h5"), dir, &out) == 0);
  const auto rows = csv_rows(out);
  const h5::File f = h5::File::open_read_only(dir / "r.h5");
  const std::vector<std::string> holders = f.read_strings("holders/names");
  const std::vector<double> var99 = f.read_doubles("summary/loss/var99");
  REQUIRE(rows.size() == 1 + holders.size());
  CHECK(rows[0][0] == "holder");
  for (std::size_t h = 0; h < holders.size(); ++h) {
    CHECK(rows[1 + h][0] == holders[h]);
    CHECK(std::stod(rows[1 + h][1]) == var99[h]);
  }
  REQUIRE(cli(fmt::format("summary {} --metric loss/var99", dir / "r.h5"), dir, &out) == 0);
  CHECK(out.starts_with(fmt::format("results {} | scenario default | 500 trials | seed ", dir / "r.h5")));
  std::istringstream in(out);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 5);  // first line, blank, title, holders, the one row
  CHECK(lines[3].find("point") == std::string::npos);  // no point column for a results file
  CHECK(lines[3].find(holders[0]) != std::string::npos);
  for (std::size_t h = 0; h < holders.size(); ++h) CHECK(lines[4].find(pct(var99[h])) != std::string::npos);
}

TEST_CASE("summary refuses an incomplete sweep file and one whose datasets disagree with its point axis") {
  const SweepFile s;
  const auto edit = [&](const std::function<void(const h5::Group&)>& change) {
    const h5::Group root(h5::Handle(H5Fopen(s.path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose));
    REQUIRE(root.id() >= 0);
    change(root);
  };
  edit([](const h5::Group& r) { r.set_attr("complete", std::int64_t{0}); });
  CHECK(s.run("", 1).find(s.path + ": marked incomplete (complete = 0)") != std::string::npos);
  edit([](const h5::Group& r) {
    r.set_attr("complete", std::int64_t{1});
    r.set_attr("points", std::uint64_t{7});
  });
  CHECK(s.run("--metric loss/mean", 1).find("6 points in /points/names but the attribute points says 7") != std::string::npos);
  edit([&](const h5::Group& r) {
    r.set_attr("points", std::uint64_t{6});
    REQUIRE(H5Ldelete(r.id(), "summary/loss/var99", H5P_DEFAULT) >= 0);
    r.write_doubles("summary/loss/var99", std::vector<double>(s.H, 0.5), {s.H});
  });
  CHECK(s.run("--csv", 1).find(fmt::format("{}: /summary/loss/var99 has shape [{}], expected [6, {}] (point, holder)", s.path,
                                           s.H, s.H)) != std::string::npos);
}
