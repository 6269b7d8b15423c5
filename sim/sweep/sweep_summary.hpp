#pragma once
// A sweep file's summaries read back (docs/sweeps.md, "Output file") and printed by
// `restake-sim summary SWEEP.h5`: every point's summary as a RunSummary, so the run's own table and
// JSON print it; one metric across the points (points as rows, holders as columns, with a 95%
// interval where the file stores a standard error); and the same as CSV.
#include <cstdint>
#include <string>
#include <vector>

#include "stats/summary.hpp"

namespace restake {

struct SweepSummary {
  std::string path;
  bool sweep = true;  // false: one results file read as a single point without parameters
  std::string scenario_name, mode, program_version, git_commit;
  std::uint64_t seed = 0, trials = 0;
  std::vector<std::string> parameters;             // [K] the paths as in the sweep file
  std::vector<std::string> kinds;                  // [K] "number", "string", "boolean"
  std::vector<std::vector<double>> values;         // [P][K] exact (categorical: label index)
  std::vector<std::vector<std::string>> labels;    // [P][K] as written into the scenario
  std::vector<std::string> point_names;            // [P] /points/names
  std::vector<RunSummary> points;                  // [P]
};

// Whether `path` is an HDF5 file whose file_type says it is a sweep file (false for anything else,
// including files HDF5 cannot open: read_summary then says what they are not).
bool is_sweep_file(const std::string& path);
// Reads a complete sweep file of a known format version; every index dataset's shape is checked
// against its axis before it is used. Errors name the file and the dataset.
SweepSummary read_sweep_summary(const std::string& path);
// A results file's summary as a sweep of one point without parameters (for --metric and --csv).
SweepSummary single_point(const std::string& path, RunSummary s);

// The metrics with one value per holder that a point's summary has ("loss/mean", "loss/var99",
// "covered_mean", ...: the declared /summary datasets of shape [holder], without "summary/").
std::vector<std::string> holder_metrics(const RunSummary& s);

// One metric at every point: value[p][h], and its standard error where the file stores one
// (loss/mean, net_return/mean; loss/var99 and loss/es99 of a weighted sweep), else NaN. The 95%
// interval is value +/- z se: z = 1.96 for a mean, Student's t with kBatches - 1 degrees of
// freedom for the batch-means errors of VaR and ES.
struct MetricTable {
  std::string name, unit, description;
  bool percent = false;  // a fraction or probability: printed in percent
  double z = 0.0;        // 0: no standard error
  std::vector<std::vector<double>> value, stderr_value;
};
// Throws std::invalid_argument naming the valid metrics when the summary has no such metric.
MetricTable metric_table(const SweepSummary& s, const std::string& metric);

// The sweep's first line, then each point's summary (format_summary_body) under its description.
std::string format_sweep_table(const SweepSummary& s);
// {"sweep": ..., "parameters": [...], "points": [{"index", "name", "values", "labels", "summary": {...}}]}
std::string format_sweep_json(const SweepSummary& s);
// One row per point and holder: point, the parameters, holder, every holder metric (as stored: fractions).
std::string format_sweep_csv(const SweepSummary& s);

std::string format_metric_table(const SweepSummary& s, const MetricTable& t);
std::string format_metric_json(const SweepSummary& s, const MetricTable& t);
// point, the parameters, holder, value, stderr, ci95_low, ci95_high (as stored: fractions).
std::string format_metric_csv(const SweepSummary& s, const MetricTable& t);

}  // namespace restake
