#pragma once
// Parameter sweeps (docs/sweeps.md): a sweep file (TOML) names values of a scenario (numbers,
// strings, booleans) by key path and gives their values; each point is the scenario with those numbers replaced, validated by the
// scenario parser itself, and simulated with the same seed as every other point (common random
// numbers: the differences between points are not Monte Carlo noise).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/model.hpp"
#include "io/scenario.hpp"

namespace restake {

// An error in a sweep file, or a point the scenario rejects: FILE:LINE:COLUMN: KEY: message of the
// sweep file. A ScenarioError, so the command line treats both alike (exit status 2).
struct SweepError : ScenarioError {
  using ScenarioError::ScenarioError;
};

// The most points a sweep may have (grid, zip or lhs).
inline constexpr std::size_t kMaxSweepPoints = 1'000'000;

enum class SweepMode { Grid, Zip, Lhs };
const char* to_string(SweepMode m);

struct SweepParameter {
  std::string path;          // as written in the sweep file, e.g. "avs.oracle.faulty_annual_probability"
  std::string scenario_key;  // the same value in the scenario's own key paths, e.g. "avs[0].faulty_annual_probability"
  // What the scenario writes there. Strings and booleans (a fork, a slashing mode, a switch) are
  // categorical: their values are indices 0, 1, .. into `labels`, the TOML text of each.
  enum class Kind { Number, String, Boolean } kind = Kind::Number;
  bool integer = false;      // the scenario writes an integer there: whole values are written as integers
  std::vector<double> values;  // grid, zip: the values given; lhs: one per point, in point order
  std::vector<std::string> labels;  // categorical: "\"electra\"", "true", ...
  // Where the value sits in the scenario text (replaced for each point).
  int scenario_line = 0, scenario_column = 0;
  std::size_t value_offset = 0, value_length = 0;
  // Where the parameter is defined in the sweep file, for errors about its values.
  int line = 0, column = 0;
  std::string key;  // "sweep.parameter[k].values" (or linspace, logspace, range)
  std::vector<std::pair<int, int>> value_positions;  // line, column of each element of `values = [..]`

  bool categorical() const { return kind != Kind::Number; }
  const char* kind_name() const;  // "number", "string", "boolean" (as /points/kinds stores it)
  // A value as TOML text, as it is written into the scenario: "0.01", "2000", "\"electra\"", "true".
  std::string text(double value) const;
  // A value for people (logs, /points/names): a number to at most 12 significant digits, so a
  // linspace's 0.030000000000000002 reads 0.03 (the text written into the scenario, /points/labels
  // and /points/values keep every digit); a categorical value as its label.
  std::string readable(double value) const;
};

struct Sweep {
  std::string file;           // sweep file name (labels errors)
  std::string text;           // sweep file text, as read
  int line = 0, column = 0;   // where [sweep] is, for errors that no single parameter caused
  std::string scenario_path;  // the scenario as the sweep names it, resolved against the sweep file's folder
  std::string scenario_text;
  SweepMode mode = SweepMode::Grid;
  std::optional<std::uint64_t> trials, seed;  // overrides of the scenario's [simulation] values
  std::uint64_t lhs_seed = 1;
  std::vector<SweepParameter> parameters;    // K
  std::vector<std::vector<double>> points;   // [P][K]: the value of each parameter at each point

  // The scenario text with point p's values written in place of the originals; every other byte
  // (comments, layout, line numbers) is unchanged.
  std::string point_scenario(std::size_t p) const;
  // The model of point p. A value the scenario rejects is a SweepError that names the sweep file's
  // parameter, the point and the scenario's own message.
  Model point_model(std::size_t p) const;
  // "avs.oracle.faulty_annual_probability = 0.01, pool.lrt-coverage.balance_eth = 2000", each value
  // readable() (at most 12 significant digits); with `exact`, as written into the scenario (text()),
  // for errors about the point's scenario
  std::string describe_point(std::size_t p, bool exact = false) const;
};

// Reads the scenario the sweep names; `path` is already resolved against the sweep file's folder.
using ScenarioLoader = std::function<std::string(const std::string& path)>;

// How parse_sweep checks that the scenario accepts each point.
struct PointChecks {
  // All of them (a sweep read from its file), or none: a sweep re-read from the texts of a run that
  // checked them (a shard's identity for merge, rank 0's texts on an MPI worker). Unchecked points
  // are still checked when point_model builds them.
  bool every_point = true;
  // Called after each point checked, with (points checked, all points): a million take minutes.
  std::function<void(std::size_t, std::size_t)> progress{};  // {}: a designated initializer may leave it out
};

// Sweep text -> points. Checks the sweep file strictly (keys, types, ranges), that every path names
// a number, string or boolean written in the scenario (not a name), and that the scenario accepts
// every point (all before anything is simulated).
Sweep parse_sweep(std::string_view text, const std::string& file_name, const ScenarioLoader& load_scenario,
                  const PointChecks& checks = {});

// Latin-hypercube sample on [0, 1)^dims: for each dimension the n values fall one in each of the n
// strata [i/n, (i+1)/n), in an order drawn from Philox streams keyed by `seed` (the same on every
// platform). Result [point][dimension].
std::vector<std::vector<double>> latin_hypercube(std::size_t n, std::size_t dims, std::uint64_t seed);

}  // namespace restake
