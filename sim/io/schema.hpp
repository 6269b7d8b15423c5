#pragma once
// Every output of a run, declared once: each per-trial record and each summary dataset with its
// path, its shape in named dimensions, its unit and its meaning. The results file, the sweep file
// (which puts a point axis in front), the sweep's progress and shard files, the MPI block codec and
// the Python reader (`restake-sim schema --json`) loop over these tables, and docs/output-format.md
// shows them (`restake-sim schema --markdown`). Adding an output is one entry here plus the code
// that computes it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stats/summary.hpp"
#include "trial/trial_block.hpp"

namespace restake {

enum class Dim : std::uint8_t { Point, Trial, Holder, Cause, Avs, Pool, Asset, LossQuantile, ReturnQuantile, Token, Lending, Worst, PathPoint, Threshold, Operator };

struct DimSpec {
  Dim dim;
  const char* name;         // the axis label written into the files: "holder"
  const char* scale;        // the dataset labelling the axis (an HDF5 dimension scale), or "" for none
  const char* description;
};

// A dataset's axes, outermost first.
class Shape {
 public:
  constexpr Shape(std::initializer_list<Dim> dims) {
    for (const Dim d : dims) axes_[rank_++] = d;
  }
  constexpr std::span<const Dim> dims() const { return {axes_.data(), rank_}; }

 private:
  std::array<Dim, 3> axes_{};
  std::size_t rank_ = 0;
};

// What a run has that some outputs need; a run without it writes files as they were before those
// outputs existed.
struct Presence {
  bool weighted = false;  // importance sampling: trial weights
  bool tokens = false;    // at least one [[token]]
  bool lending = false;   // at least one [[lending_market]]
  bool price_paths = false;  // a token, and the worst trials' price paths asked for (run --price-paths K > 0)
  bool thresholds = false;   // loss thresholds asked for (run --threshold)
  bool contributions = false;  // risk contributions asked for (run --contributions)
  static Presence of(const RunSummary& s);
  static Presence of(const RecordShape& r, bool weighted);
};

// The condition an output exists under.
enum class Needs : std::uint8_t { Nothing, Weights, Tokens, LendingMarkets, PricePaths, Thresholds, Contributions };

struct OutputSpec {
  const char* path;  // from the file's root, e.g. "summary/loss/mean"
  Shape shape;       // in a sweep file, with a point axis in front
  const char* unit;
  const char* description;
  Needs needs = Needs::Nothing;
  bool present(const Presence& p) const {
    switch (needs) {
      case Needs::Nothing: return true;
      case Needs::Weights: return p.weighted;
      case Needs::Tokens: return p.tokens;
      case Needs::LendingMarkets: return p.lending;
      case Needs::PricePaths: return p.price_paths;
      case Needs::Thresholds: return p.thresholds;
      case Needs::Contributions: return p.contributions;
    }
    return false;
  }
};

// One per-trial record: [trial, ...] in the results file, the TrialBlock vector that holds it.
struct TrialRecordSpec {
  OutputSpec out;
  std::vector<double> TrialBlock::*field;
};

// Where a summary's numbers live in a RunSummary: the element at (i, j) of its shape, with i over
// the first axis and j over the second (0 for one axis). Built from one generic lambda
// `[](auto& s, std::size_t i, std::size_t j) -> auto& {...}`, so writing and reading back cannot
// disagree. The pointers call a default-constructed F (a lambda without captures) rather than
// converting the generic lambda itself: clang 14 cannot deduce the `auto&` return type of that
// conversion (the fuzzing build, tests/fuzz, uses clang).
struct SummaryField {
  const double& (*get)(const RunSummary&, std::size_t i, std::size_t j);
  double& (*set)(RunSummary&, std::size_t i, std::size_t j);
  template <class F>
  constexpr SummaryField(F)
      : get([](const RunSummary& s, std::size_t i, std::size_t j) -> const double& { return F{}(s, i, j); }),
        set([](RunSummary& s, std::size_t i, std::size_t j) -> double& { return F{}(s, i, j); }) {}
};

struct SummarySpec {
  OutputSpec out;
  SummaryField field;
};

std::span<const DimSpec> dimensions();
const DimSpec& dimension(Dim d);
std::span<const TrialRecordSpec> trial_records();
const TrialRecordSpec& trial_record(std::vector<double> TrialBlock::*field);
std::span<const SummarySpec> summaries();
// The entries present in the files of a run with `p`.
std::vector<const TrialRecordSpec*> trial_records(const Presence& p);
std::vector<const SummarySpec*> summaries(const Presence& p);
// The price paths of a run's worst trials by each token's lowest price (run --price-paths;
// trial/price_paths.hpp), results files only: per token and rank the trial and its low, and every
// point of their paths as a row of a long table (token, rank, episode, day, price, NAV). Datasets of
// unit kIndexUnit hold uint64 indices; the others float64.
std::span<const OutputSpec> price_path_outputs();
const OutputSpec& price_path_output(std::string_view path);
inline constexpr const char* kIndexUnit = "index";
const char* needs_name(Needs n);  // "weights", "tokens", "lending_markets", "price_paths", "thresholds", "contributions"; "" for Nothing

// The sizes of the entity axes; the others (cause, asset, quantile levels) are fixed.
struct Extents {
  std::size_t points = 0, trials = 0, holders = 0, avs = 0, pools = 0, tokens = 0, lending = 0;
  std::size_t worst = 0, path_points = 0;  // the price paths' axes
  std::size_t thresholds = 0;
  std::size_t operators = 0;  // with risk contributions
  static Extents of(const RunSummary& s);
  static Extents of(const RecordShape& r, std::size_t trials = 0);
};
std::size_t extent(Dim d, const Extents& e);
std::vector<std::size_t> extents(std::span<const Dim> dims, const Extents& e);

// A summary's numbers in row-major order of its shape, and back into `s` (whose entity lists, and
// each AVS's holder_loss_mean, are already sized).
std::vector<double> summary_values(const SummarySpec& spec, const RunSummary& s);
void set_summary_values(const SummarySpec& spec, std::span<const double> values, RunSummary& s);

std::string schema_json();      // for the Python reader (analysis/restake_analysis/schema.json)
std::string schema_markdown();  // the tables of docs/output-format.md

}  // namespace restake
