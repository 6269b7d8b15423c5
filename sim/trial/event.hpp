#pragma once
// What happens in a trial, and the time-ordered queue that a trial's mechanisms consume and feed.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace restake {

enum class EventKind : std::uint8_t {
  OperatorFault,      // slashable incident of an operator's validators (beacon chain)
  AvsSlashing,        // an AVS slashes one of its operators
  AvsFaultySlashing,  // an AVS slashes all its operators at once (a faulty or rogue slashing)
  ContractFailure,    // a contract or bridge fails
  Outage,             // an operator's validators go offline
  Scheduled,          // a mechanism's own follow-up: handed back to the mechanism that scheduled it
  KeyCompromise,      // an AVS's (member 0) or an operator's (member 1) keys are stolen
};
inline constexpr std::size_t kEventKindCount = 7;

inline constexpr double kNotCancelled = std::numeric_limits<double>::infinity();

struct Event {
  double day = 0.0;
  EventKind kind = EventKind::OperatorFault;
  std::size_t entity = 0;      // operator (faults and outages), AVS or contract; a mechanism's own meaning when Scheduled
  std::size_t member = 0;      // AvsSlashing: allocation index
  double fraction = 0.0;       // share of validators hit or offline / share slashed / loss given failure
  double duration_days = 0.0;  // Outage
  double network_share = 0.0;  // Outage: share of all active stake offline
  // Slashings in time (model.hpp, Protocol): days from an AVS condition's fault to its slash
  // request, and days after the request when resolvers (or pausers) would cancel a faulty slashing
  // or a drain (kNotCancelled: they do not act). Drawn whatever the protocol's windows, so that a
  // window changes no draw (common random numbers).
  double delay_days = 0.0;
  double cancel_days = kNotCancelled;
  std::uint32_t tag = 0;       // Scheduled: the mechanism's own meaning
  // Set by the queue.
  std::uint32_t seq = 0;       // sampled events: index in time order; follow-ups: after all of them
  std::uint32_t handler = 0;   // Scheduled: index of the mechanism that scheduled it
};

// A trial's events in time order. The sampled events are known at the start (sorted once, stably:
// events of the same day keep the sampler's order); mechanisms may add follow-ups at a later time
// while the trial runs (a payout after a claim delay, a withdrawal after a queue). Events of the
// same day come in the order they were queued, the sampled ones first.
class EventQueue {
 public:
  void reset(std::span<const Event> sampled);
  // The sampled events in time order; event.seq is its index here.
  const std::vector<Event>& sampled() const { return sampled_; }
  // How many of them are of kind k: most trials have none of most kinds, and a mechanism can then
  // skip its pass over them.
  std::size_t sampled_count(EventKind k) const { return count_of_kind_[static_cast<std::size_t>(k)]; }
  // Throws std::logic_error for a time before the last event taken: nothing can happen in the past.
  void push(Event e);
  bool empty() const { return next_ == sampled_.size() && later_.empty(); }
  Event pop();  // the earliest event; the queue must not be empty

 private:
  std::vector<Event> sampled_;
  std::array<std::size_t, kEventKindCount> count_of_kind_{};
  std::size_t next_ = 0;
  std::vector<Event> later_;  // follow-ups: a min-heap by (day, seq)
  std::uint32_t seq_ = 0;
  double now_ = 0.0;
};

}  // namespace restake
