#pragma once
// A mechanism is one way value moves in a trial - beacon-chain slashing, AVS slashing, a contract
// failure, coverage, rewards - and joins the trial's event loop (trial.hpp) through these hooks.
// Adding one is a file in mechanisms/ and a line in mechanisms.cpp; docs/architecture.md shows an
// example.
#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "model/model.hpp"
#include "trial/event.hpp"

namespace restake {

class Trial;

// A loss as it is booked (Trial::book): taken from a position's value, in units of the holder's
// asset. Loss hooks see it in registration order and may cover part of it (coverage pools lower
// `uncovered`; what they paid goes back into the position).
struct Loss {
  std::size_t position = 0;
  std::size_t holder = 0;
  LossCause cause = LossCause::BeaconSlashing;
  double amount = 0.0;
  std::size_t origin_op = 0;  // the operator whose fault or slash it is (kNone: a contract's)
  double uncovered = 0.0;     // starts at amount
  std::size_t contract = static_cast<std::size_t>(-1);  // the failed contract, for a contract or bridge loss
};

// The hooks a mechanism uses; only those are called (the loss and change hooks are on hot paths).
struct MechanismHooks {
  bool before_change = false;  // a position's value or reward weights are about to change
  bool allocation_change = false;  // an allocation (a slot's magnitude for one AVS) is about to change
  bool on_loss = false;        // after each loss is booked
  bool end = false;            // at the horizon, after the last event
};

// One thread's working state of a mechanism, reused trial after trial.
class Mechanism {
 public:
  virtual ~Mechanism() = default;
  virtual void begin(Trial&) {}                          // before the first event: reset, price, schedule
  virtual void handle(const Event&, Trial&) {}           // an event of a kind it handles, or its own Scheduled one
  virtual void before_change(std::size_t /*position*/, Trial&) {}
  // Member `member` of `slot` (World::Slot::avs) is about to be set to `to` (Trial::set_allocation).
  virtual void before_allocation_change(std::size_t /*slot*/, std::size_t /*member*/, double /*to*/, Trial&) {}
  virtual void on_loss(Loss&, Trial&) {}
  virtual void end(Trial&) {}
};

// A mechanism's read-only part, built once per run from the model and shared by every thread.
class MechanismType {
 public:
  virtual ~MechanismType() = default;
  virtual std::string_view name() const = 0;
  virtual std::vector<EventKind> handles() const { return {}; }  // sampled kinds it owns (each kind has one owner)
  virtual MechanismHooks hooks() const { return {}; }
  virtual std::unique_ptr<Mechanism> instance() const = 0;  // a thread's working state
};

}  // namespace restake
