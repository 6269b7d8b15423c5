#include "trial/event.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace restake {

namespace {
// std::push_heap builds a max-heap: "greater" puts the earliest event on top.
bool later(const Event& a, const Event& b) { return a.day != b.day ? a.day > b.day : a.seq > b.seq; }

// Trials have a few events: up to this many, an insertion sort (stable, as std::stable_sort, but
// without its temporary buffer: an allocation per trial).
constexpr std::size_t kInsertionSortMax = 32;
}  // namespace

void EventQueue::reset(std::span<const Event> sampled) {
  sampled_.assign(sampled.begin(), sampled.end());
  auto earlier = [](const Event& a, const Event& b) { return a.day < b.day; };
  if (sampled_.size() <= kInsertionSortMax) {
    for (std::size_t i = 1; i < sampled_.size(); ++i) {
      const Event e = sampled_[i];
      std::size_t j = i;
      for (; j > 0 && earlier(e, sampled_[j - 1]); --j) sampled_[j] = sampled_[j - 1];
      sampled_[j] = e;
    }
  } else {
    std::stable_sort(sampled_.begin(), sampled_.end(), earlier);
  }
  count_of_kind_.fill(0);
  for (std::size_t i = 0; i < sampled_.size(); ++i) {
    sampled_[i].seq = static_cast<std::uint32_t>(i);
    ++count_of_kind_[static_cast<std::size_t>(sampled_[i].kind)];
  }
  next_ = 0;
  later_.clear();
  seq_ = static_cast<std::uint32_t>(sampled_.size());
  now_ = 0.0;
}

void EventQueue::push(Event e) {
  if (e.day < now_) throw std::logic_error(fmt::format("event queued at day {} after day {} was handled", e.day, now_));
  e.seq = seq_++;
  later_.push_back(e);
  std::push_heap(later_.begin(), later_.end(), later);
}

Event EventQueue::pop() {
  const bool from_later = next_ == sampled_.size() || (!later_.empty() && later(sampled_[next_], later_.front()));
  Event e;
  if (from_later) {
    std::pop_heap(later_.begin(), later_.end(), later);
    e = later_.back();
    later_.pop_back();
  } else {
    e = sampled_[next_++];
  }
  now_ = e.day;
  return e;
}

}  // namespace restake
