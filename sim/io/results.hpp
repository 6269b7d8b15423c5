#pragma once
// The HDF5 results file (layout in docs/output-format.md, datasets declared in io/schema.hpp).
// Written under a temporary name and renamed only when complete (io/atomic_file.hpp), so an
// interrupted run never leaves a file that looks finished. The writer only writes: the caller
// tallies the blocks and computes the summary it hands to finish().
#include <memory>
#include <string>

#include "model/model.hpp"
#include "stats/summary.hpp"
#include "trial/price_paths.hpp"
#include "trial/trial_block.hpp"

namespace restake {

inline constexpr const char* kResultsFileType = "restake-sim results";
inline constexpr std::int64_t kResultsFormatVersion = 2;  // 2: amounts in each entity's own asset (ETH or BTC)

struct ResultsMeta {
  RunInfo info;
  std::string scenario_path;
  std::string scenario_text;
};

struct WriterOptions {
  int deflate_level = 1;  // per-trial datasets: 0 (none) .. 9
  // false: no per-trial records; quantiles, VaR and ES then come from sketches with this
  // relative accuracy (quantile_sketch.hpp) and memory does not grow with the trial count.
  bool records = true;
  double sketch_accuracy = 1e-4;
};

class ResultsWriter {
 public:
  ResultsWriter(const std::string& path, const Model& m, const ResultsMeta& meta, const WriterOptions& options = {});
  ~ResultsWriter();  // removes the temporary file unless finish() succeeded
  ResultsWriter(const ResultsWriter&) = delete;
  ResultsWriter& operator=(const ResultsWriter&) = delete;

  void append(const TrialBlock& block);
  // Trials of a run without per-trial records (WriterOptions::records false), counted only: the
  // streamed run's, which never form blocks.
  void count_unrecorded(std::uint64_t trials);
  // The loss and net-return columns of the records written so far, read back from the file one
  // holder at a time: the exact quantiles' source that keeps memory flat (only with records; valid
  // until finish()).
  QuantileSource record_columns();
  // The price paths of the run's worst trials (/price_paths, io/schema.hpp's price_path_outputs),
  // `asked` per token; before finish(). A run without tokens or with K = 0 writes none.
  void write_price_paths(const PricePaths& paths, std::size_t asked);
  // Stores the run's summary (computed by the stats stage: summarize_run), marks the file complete
  // and moves it into place.
  void finish(const RunSummary& summary);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads /summary and the run's attributes; throws h5::Error or std::runtime_error with the
// file name if it is not a restake-sim results file of a known format version.
RunSummary read_summary(const std::string& path);

// P(loss >= x) at `thresholds` (ascending, in (0, 1]) of every holder, from the per-trial records of
// the results file at `path`, into `s` (its read_summary) in place of any stored ones. Throws
// std::runtime_error naming the file if it holds no records (a run with --no-records).
void set_thresholds_from_records(const std::string& path, const std::vector<double>& thresholds, RunSummary& s);

}  // namespace restake
