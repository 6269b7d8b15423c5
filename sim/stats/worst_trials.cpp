#include "stats/worst_trials.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace restake {

bool ranks_before(const RankedTrial& a, const RankedTrial& b) {
  const bool a_nan = std::isnan(a.min_price), b_nan = std::isnan(b.min_price);
  if (a_nan != b_nan) return b_nan;
  if (!a_nan && a.min_price != b.min_price) return a.min_price < b.min_price;
  return a.trial < b.trial;
}

WorstTrials::WorstTrials(std::size_t tokens, std::size_t k) : k_(k), worst_(tokens) {
  for (auto& w : worst_) w.reserve(k);
}

void WorstTrials::add(std::size_t token, RankedTrial t) {
  std::vector<RankedTrial>& w = worst_.at(token);
  if (w.size() == k_ && (k_ == 0 || !ranks_before(t, w.back()))) return;  // the common case: not among the worst
  if (w.size() == k_) w.pop_back();
  w.insert(std::upper_bound(w.begin(), w.end(), t, ranks_before), t);
}

void WorstTrials::add(const TrialBlock& b) {
  const std::size_t tokens = worst_.size();
  if (b.shape.tokens != tokens)
    throw std::logic_error(fmt::format("worst trials: a block with {} tokens for a tally of {}", b.shape.tokens, tokens));
  if (k_ == 0) return;
  for (std::size_t k = 0; k < tokens; ++k) {
    const std::vector<RankedTrial>& w = worst_[k];
    for (std::size_t i = 0; i < b.count; ++i) {
      const double p = b.token_min_price[i * tokens + k];
      // Above a full list's last price: not among the worst (a tie, or a NaN on either side, goes on to add's full order).
      if (w.size() == k_ && p > w.back().min_price) continue;
      add(k, {p, b.first_trial + i});
    }
  }
}

void WorstTrials::merge(const WorstTrials& other) {
  if (other.k_ != k_ || other.worst_.size() != worst_.size())
    throw std::logic_error(fmt::format("worst trials: merging a tally of {} x {} into one of {} x {}", other.worst_.size(),
                                       other.k_, worst_.size(), k_));
  for (std::size_t k = 0; k < worst_.size(); ++k)
    for (const RankedTrial& t : other.worst_[k]) add(k, t);
}

}  // namespace restake
