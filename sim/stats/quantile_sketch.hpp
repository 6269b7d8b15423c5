#pragma once
// Quantiles and expected shortfall of a stream in bounded memory, for runs that do not store
// per-trial records. Values are counted in logarithmic buckets of relative width 2a/(1-a) (the
// DDSketch layout, Masson et al., VLDB 2019): every quantile and ES comes out within relative error
// `a` of the exact order statistic, and |x| below `zero_below` counts as 0 (absolute error below it).
// Counts are integers, so the result does not depend on the order values arrive in.
// Written here because no Debian-packaged library offers an error-bounded quantile sketch
// (Boost.Accumulators' P-square estimators carry no error bound in the tails).
#include <cstdint>
#include <vector>

namespace restake {

class QuantileSketch {
 public:
  explicit QuantileSketch(double relative_accuracy = 1e-4, double zero_below = 1e-12);
  void add(double x);
  // Adds another sketch's counts (same accuracy and zero threshold): exact, in any order.
  void merge(const QuantileSketch& other);
  std::uint64_t count() const { return n_; }
  double relative_accuracy() const { return alpha_; }

  // Same definitions as statistics.hpp (inverted CDF; Acerbi-Tasche ES of the upper tail).
  double quantile(double p) const;
  double expected_shortfall(double p) const;

 private:
  // One sign of the values: bucket i holds |x| in (gamma^(i-1), gamma^i], stored from `offset`.
  struct Side {
    std::vector<std::uint64_t> counts;
    std::int64_t offset = 0;
    std::uint64_t total = 0;
  };
  std::int64_t index_of(double magnitude) const;
  double value_of(std::int64_t index) const;  // the bucket's representative magnitude
  static void bump(Side& s, std::int64_t index, std::uint64_t count = 1);
  static void merge(Side& into, const Side& from);
  // Walks the buckets in ascending order of value, calling f(value, count) until it returns false.
  template <class F>
  void ascending(F&& f) const;
  template <class F>
  void descending(F&& f) const;

  double alpha_, gamma_, log_gamma_, zero_below_;
  Side negative_, positive_;
  std::uint64_t zeros_ = 0, n_ = 0;
};

}  // namespace restake
