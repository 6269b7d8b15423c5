#pragma once
// Helpers for the tests that run sweeps through the CLI (tests/test_sweep_shards.cpp,
// tests/test_faults.cpp): a small sweep file, and files compared bit for bit.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "cli_support.hpp"
#include "h5_dump.hpp"

namespace restake::test {

inline const std::string kDefault = RESTAKE_SOURCE_DIR "/scenarios/default.toml";

inline void contains(const std::string& hay, const std::string& needle) {
  INFO("message: " << hay);
  INFO("expected to contain: " << needle);
  CHECK(hay.find(needle) != std::string::npos);
}

// A 3 x 2 grid (6 points: uneven shards for N = 4) on the default scenario, few trials.
inline std::string write_sweep(const TempDir& dir, std::uint64_t seed = 4, std::uint64_t trials = 700) {
  const std::string path = dir / fmt::format("sweep-{}-{}.toml", seed, trials);
  std::ofstream(path) << fmt::format(
      "[sweep]\nscenario = \"{}\"\ntrials = {}\nseed = {}\n"
      "[[sweep.parameter]]\npath = \"avs.oracle.slashing.wrong-price.annual_probability\"\nvalues = [0.0, 0.05, 0.2]\n"
      "[[sweep.parameter]]\npath = \"pool.lrt-coverage.balance_eth\"\nvalues = [0, 5000]\n",
      kDefault, trials, seed);
  return path;
}

// Every dataset and attribute equal bit for bit, except created_utc (the time of writing).
inline void same_file(const std::string& a, const std::string& b) {
  Dump da = dump_file(a), db = dump_file(b);
  CHECK(da.size() > 40);
  da.erase("@created_utc");
  db.erase("@created_utc");
  std::set<std::string> keys;
  for (const auto& [k, v] : da) keys.insert(k);
  for (const auto& [k, v] : db) keys.insert(k);
  for (const auto& k : keys) {
    INFO("object: " << k);
    CHECK(da.count(k) == 1);
    CHECK(db.count(k) == 1);
    CHECK(da[k] == db[k]);
  }
}

inline std::size_t count_files(const std::string& folder) {
  if (!std::filesystem::exists(folder)) return 0;
  return static_cast<std::size_t>(
      std::distance(std::filesystem::directory_iterator(folder), std::filesystem::directory_iterator{}));
}

// A sweep with records run whole into single.h5, and run again into out.h5 stopped after
// `stop_after` points (exit 130), its progress folder kept for --resume.
struct StoppedSweep {
  TempDir dir;
  std::string sweep = write_sweep(dir), single = dir / "single.h5", out = dir / "out.h5", folder = out + ".partial-points";
  explicit StoppedSweep(std::size_t stop_after) {
    REQUIRE(cli(fmt::format("sweep {} -o {} --records --threads 2", sweep, single), dir) == 0);
    CHECK(cli(fmt::format("sweep {} -o {} --records --threads 2 --stop-after {}", sweep, out, stop_after), dir) == 130);
    REQUIRE(count_files(folder) == stop_after);
  }
  // `sweep --resume`; returns its exit code.
  int resume(std::string* err) const {
    return cli(fmt::format("sweep {} -o {} --records --threads 2 --resume", sweep, out), dir, nullptr, err);
  }
};

}  // namespace restake::test
