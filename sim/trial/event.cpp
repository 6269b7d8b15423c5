#include "trial/event.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace restake {

namespace {
// std::push_heap builds a max-heap: "greater" puts the earliest event on top.
bool later(const Event& a, const Event& b) { return a.day != b.day ? a.day > b.day : a.seq > b.seq; }
}  // namespace

void EventQueue::reset(std::span<const Event> sampled) {
  sampled_.assign(sampled.begin(), sampled.end());
  std::stable_sort(sampled_.begin(), sampled_.end(), [](const Event& a, const Event& b) { return a.day < b.day; });
  for (std::size_t i = 0; i < sampled_.size(); ++i) sampled_[i].seq = static_cast<std::uint32_t>(i);
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
