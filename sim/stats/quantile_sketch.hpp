#pragma once
// Quantiles and expected shortfall of a stream in bounded memory, for runs that do not store
// per-trial records. Values are counted in logarithmic buckets of relative width 2a/(1-a) (the
// DDSketch layout, Masson et al., VLDB 2019): every quantile and ES comes out within relative error
// `a` of the exact order statistic, and |x| below `zero_below` counts as 0 (absolute error below it).
// Counts are integers, so the result does not depend on the order values arrive in. The weighted
// sketch holds each bucket's weight in 128-bit fixed point (stats/fixed_sum.hpp: 2^-60 per
// trial's weight) for the same reason, and reads its tails as statistics.hpp's weighted samples do.
// Written here because no Debian-packaged library offers an error-bounded quantile sketch
// (Boost.Accumulators' P-square estimators carry no error bound in the tails).
#include <cstdint>
#include <type_traits>
#include <vector>

#include "stats/bytes.hpp"
#include "stats/fixed_sum.hpp"

namespace restake {

// Count: std::uint64_t (every trial weighs 1) or FixedSum (weighted trials).
template <class Count>
class BasicQuantileSketch {
 public:
  static constexpr bool kWeighted = !std::is_same_v<Count, std::uint64_t>;

  explicit BasicQuantileSketch(double relative_accuracy = 1e-4, double zero_below = 1e-12);
  void add(double x) requires(!kWeighted) { add_count(x, 1); }
  void add(double x, double weight) requires kWeighted { add_count(x, to_fixed(weight)); }
  // Adds another sketch's counts (same accuracy and zero threshold): exact, in any order.
  void merge(const BasicQuantileSketch& other);
  std::uint64_t count() const { return n_; }  // trials
  double relative_accuracy() const { return alpha_; }

  // Same definitions as statistics.hpp (inverted CDF; Acerbi-Tasche ES of the upper tail; the
  // weighted ones for a weighted sketch).
  double quantile(double p) const;
  double expected_shortfall(double p) const;

  // The sketch as bytes and back (stats/bytes.hpp), for another process to merge: the buckets as
  // they are, so the merge is the one of sketches in one process.
  void save(ByteWriter& out) const;
  void load(ByteReader& in);  // into a sketch of the same accuracy

 private:
  // One sign of the values: bucket i holds |x| in (gamma^(i-1), gamma^i], stored from `offset`.
  struct Side {
    std::vector<Count> counts;
    std::int64_t offset = 0;
  };
  void add_count(double x, Count c);
  std::int64_t index_of(double magnitude) const;
  double value_of(std::int64_t index) const;  // the bucket's representative magnitude
  static void bump(Side& s, std::int64_t index, Count count);
  static void merge(Side& into, const Side& from);
  static double amount(Count c);  // trials, or their weight
  // Walks the buckets in ascending order of value, calling f(value, amount) until it returns false.
  template <class F>
  void ascending(F&& f) const;
  template <class F>
  void descending(F&& f) const;

  double alpha_, gamma_, log_gamma_, zero_below_;
  Side negative_, positive_;
  Count zeros_ = 0;
  std::uint64_t n_ = 0;
};

// The relative accuracy of a run's sketches unless asked otherwise: 1e-4, and coarser with more
// than 100 holders (1e-4 x holders / 100), because a sketch at 1e-4 spans up to ~70,000 buckets
// per holder and quantity (its losses over six decades): a 1,000-holder world would hold gigabytes
// of them per thread. 1e-3 is still far inside the Monte Carlo error of a million trials' VaR.
double default_sketch_accuracy(std::size_t holders);

using QuantileSketch = BasicQuantileSketch<std::uint64_t>;
using WeightedQuantileSketch = BasicQuantileSketch<FixedSum>;

extern template class BasicQuantileSketch<std::uint64_t>;
extern template class BasicQuantileSketch<FixedSum>;

}  // namespace restake
