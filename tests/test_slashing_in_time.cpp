// Slashing in time (issue 16): escrow, exit queue, slash delays and windows, vetoes, key
// compromise and withdrawals, checked against closed forms and hand-worked trials
// (docs/scenario-format.md, "Slashing in time", "Key compromise", "Withdrawals").
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "chain/inactivity.hpp"
#include "stats/statistics.hpp"
#include "trial/cross_entropy.hpp"
#include "support.hpp"

using namespace restake;
using namespace restake::test;

namespace {

std::string num(double x) { return fmt::format("{}", x); }

const std::string kEthereum = R"(
[simulation]
name = "t"
horizon_days = 365
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = 0.0
)";

// One native restaker (100 ETH on op's own validators) through protocol p, whose timing keys are
// `protocol`; one AVS of p secured by op (allocation 0.5 in unique mode). `extra` is appended.
std::string restaker_world(const std::string& mode, const std::string& protocol, const std::string& extra = "") {
  return kEthereum + R"(
[[operator]]
name = "op"
validators = 10
[[protocol]]
name = "p"
slashing_mode = ")" + mode + "\"\n" + protocol + R"(
[[avs]]
name = "avs"
protocol = "p"
operators = )" + (mode == "unique" ? R"([{ operator = "op", allocation = 0.5 }])" : R"(["op"])") + R"(
[[native]]
name = "staker"
protocol = "p"
positions = [{ operator = "op", stake_eth = 100 }]
)" + extra;
}

std::string withdrawal(const std::string& holder, double share, double day) {
  return "[[withdrawal]]\nholder = \"" + holder + "\"\nshare = " + num(share) + "\nday = " + num(day) + "\n";
}

Event slash(double day, double f, double delay_days = 0.0, double cancel_days = kNotCancelled) {
  Event e{day, EventKind::AvsSlashing, 0, 0, f};
  e.delay_days = delay_days;
  e.cancel_days = cancel_days;
  return e;
}
Event faulty(double day, double f, double cancel_days = kNotCancelled) {
  Event e{day, EventKind::AvsFaultySlashing, 0, 0, f};
  e.cancel_days = cancel_days;
  return e;
}
// Stolen keys: an AVS's (member 0) or an operator's (member 1).
Event avs_theft(double day, std::size_t avs, double drain, double cancel_days = kNotCancelled) {
  Event e{day, EventKind::KeyCompromise, avs, 0, drain};
  e.cancel_days = cancel_days;
  return e;
}
Event operator_theft(double day, std::size_t op, double drain, double cancel_days = kNotCancelled) {
  Event e{day, EventKind::KeyCompromise, op, 1, drain};
  e.cancel_days = cancel_days;
  return e;
}

double loss_of(const Model& m, std::vector<Event> events, std::size_t holder = 0) {
  return propagate_events(m, std::move(events)).loss_fraction[holder];
}

}  // namespace

// ---- Escrow -------------------------------------------------------------------------------------

TEST_CASE("a withdrawal stays slashable through its escrow: a slash before its end takes f of everything, after it f of what stays") {
  const double s = 0.4, t0 = 50, escrow = 14, f = 0.3;
  for (const std::string mode : {"shared", "unique"}) {
    CAPTURE(mode);
    const double reach = mode == "unique" ? 0.5 : 1.0;  // the share of the stake the AVS can slash
    const Model m = model_from(restaker_world(mode, "escrow_days = 14\n", withdrawal("staker", s, t0)));
    CHECK(loss_of(m, {slash(t0 - 1, f)}) == doctest::Approx(f * reach).epsilon(1e-12));
    CHECK(loss_of(m, {slash(t0 + 0.1, f)}) == doctest::Approx(f * reach).epsilon(1e-12));
    CHECK(loss_of(m, {slash(t0 + escrow - 0.1, f)}) == doctest::Approx(f * reach).epsilon(1e-12));
    CHECK(loss_of(m, {slash(t0 + escrow + 0.1, f)}) == doctest::Approx(f * reach * (1 - s)).epsilon(1e-12));
    // Two slashes, one in escrow and one after: f of all the slashable stake, then f of what is
    // left of it (unique: the allocation shrank to (1 - f) a) on what stayed.
    CHECK(loss_of(m, {slash(t0 + 1, f), slash(t0 + escrow + 1, f)}) ==
          doctest::Approx(f * reach + (1 - s) * f * reach * (1 - f)).epsilon(1e-12));
    // Without an escrow the leaving stake is out at its request.
    const Model at_once = model_from(restaker_world(mode, "", withdrawal("staker", s, t0)));
    CHECK(loss_of(at_once, {slash(t0 - 0.1, f)}) == doctest::Approx(f * reach).epsilon(1e-12));
    CHECK(loss_of(at_once, {slash(t0 + 0.1, f)}) == doctest::Approx(f * reach * (1 - s)).epsilon(1e-12));
  }
}

TEST_CASE("Symbiotic epochs: a withdrawal requested in epoch k stays slashable until epoch k + 1 ends") {
  const double s = 0.4, f = 0.3;
  struct Case {
    double request, completes;
  };
  // 7-day epochs: day 3 and day 6.9 are in epoch 0 (out at day 14), day 7 in epoch 1 (out at 21).
  for (const Case c : {Case{3, 14}, Case{6.9, 14}, Case{7, 21}}) {
    CAPTURE(c.request);
    const Model m = model_from(restaker_world("shared", "epoch_days = 7\n", withdrawal("staker", s, c.request)));
    CHECK(loss_of(m, {slash(c.completes - 0.1, f)}) == doctest::Approx(f).epsilon(1e-12));
    CHECK(loss_of(m, {slash(c.completes + 0.1, f)}) == doctest::Approx(f * (1 - s)).epsilon(1e-12));
  }
}

// ---- Rewards ------------------------------------------------------------------------------------

TEST_CASE("stake leaving earns nothing from its request: net return r (t0 + (1 - s)(H - t0)) / 365, whatever the escrow") {
  const double r = 0.04, s = 0.4, t0 = 100, H = 365, f = 0.3;
  for (const double escrow : {0.0, 14.0, 300.0}) {
    CAPTURE(escrow);
    const Model m = model_from(restaker_world("shared", "escrow_days = " + num(escrow) + "\n", withdrawal("staker", s, t0)));
    const Outcome quiet = propagate_events(m, {}, r);
    CHECK(quiet.loss_fraction[0] == 0.0);
    CHECK(quiet.net_return[0] == doctest::Approx(r * (t0 + (1 - s) * (H - t0)) / 365).epsilon(1e-12));
    // A slash of f on day t1 after the request: the earning part (1 - s) earns on (1 - f) of it
    // from t1, and the loss is f of all (in escrow) or f of (1 - s) (out).
    const double t1 = t0 + 5;
    const Outcome slashed = propagate_events(m, {slash(t1, f)}, r);
    const double rewards = r * (t0 + (1 - s) * (t1 - t0) + (1 - s) * (1 - f) * (H - t1)) / 365;
    const double loss = escrow > 5 ? f : f * (1 - s);
    CHECK(slashed.loss_fraction[0] == doctest::Approx(loss).epsilon(1e-12));
    CHECK(slashed.net_return[0] == doctest::Approx(rewards - loss).epsilon(1e-12));
  }
}

// ---- Exit queue ---------------------------------------------------------------------------------

TEST_CASE("exit queue: Electra's churn at T = 34M ETH is 256 ETH an epoch, 57,600 ETH a day") {
  Model m = model_from(R"(
[simulation]
name = "t"
[ethereum]
total_active_stake_eth = 34_000_000
[[lst]]
name = "steth"
positions = [{ operator = "lido", stake_eth = 32 }]
[[operator]]
name = "lido"
validators = 1
)");
  const ConsensusParams& electra = m.ethereum.consensus;
  CHECK(exit_queue_days(electra, 57'600) == doctest::Approx(1.0).epsilon(1e-15));
  // The lengths domain.md reports: 2.5M ETH (September 2025) is the 43.4 days the issue cites,
  // 660k ETH (July 2025) 11.46 days.
  CHECK(exit_queue_days(electra, 2.5e6) == doctest::Approx(2.5e6 / 57'600).epsilon(1e-15));
  CHECK(std::abs(exit_queue_days(electra, 2.5e6) - 43.40) < 0.005);
  CHECK(std::abs(exit_queue_days(electra, 660e3) - 11.46) < 0.005);
  // Before Electra the churn counts validators: max(4, 1,062,500 // 65536) = 16 of 32 ETH an epoch.
  const Model deneb = model_from(R"(
[simulation]
name = "t"
[ethereum]
total_active_stake_eth = 34_000_000
fork = "deneb"
[[operator]]
name = "lido"
validators = 1
[[lst]]
name = "steth"
positions = [{ operator = "lido", stake_eth = 32 }]
)");
  CHECK(exit_queue_days(deneb.ethereum.consensus, 2.5e6) == doctest::Approx(2.5e6 / (16 * 32 * 225.0)).epsilon(1e-15));
}

TEST_CASE("an LST withdrawal leaves after (queue + its ETH) / 57,600 days and 256 epochs: a beacon fault just before reaches it, just after misses it") {
  const double t0 = 10, queue = 100'000, value = 3200;
  const auto world = [&](bool withdraws, double share) {
    return R"(
[simulation]
name = "t"
[ethereum]
total_active_stake_eth = 34_000_000
base_apr = 0.0
[[operator]]
name = "lido"
validators = 1000
[[lst]]
name = "steth"
positions = [{ operator = "lido", stake_eth = 3200 }]
)" + (withdraws ? withdrawal("steth", share, t0) + "exit_queue_eth = " + num(queue) + "\n" : std::string());
  };
  const Model stays = model_from(world(false, 0.0));
  for (const double s : {1.0, 0.5}) {
    CAPTURE(s);
    const double completes = t0 + (queue + s * value) / 57'600 + 256.0 / 225;
    const Model m = model_from(world(true, s));
    // Half the value leaving waits 1,600 / 57,600 = 0.028 days less than all of it: 0.002 tells them apart.
    for (const double day : {completes - 0.002, completes + 0.002}) {
      CAPTURE(day);
      const Event fault{day, EventKind::OperatorFault, 0, 0, 0.1};
      const double whole = loss_of(stays, {fault});
      REQUIRE(whole > 0.0);
      const double expected = day < completes ? whole : (1 - s) * whole;
      CHECK(loss_of(m, {fault}) == doctest::Approx(expected).epsilon(1e-12));
    }
  }
}

TEST_CASE("a restaked withdrawal completes at the later of its escrow's end and its exit queue's, and a run after a fault starts from that fault") {
  const double s = 0.4, t0 = 50, f = 0.3;
  // T = 1M ETH: Electra's churn max(128, T // 65536 = 15) = 128 ETH an epoch, 28,800 ETH a day.
  for (const double queue : {100'000.0, 500'000.0}) {
    CAPTURE(queue);
    const double completes = t0 + std::max(14.0, (queue + s * 100) / 28'800 + 256.0 / 225);
    const Model m = model_from(restaker_world("shared", "escrow_days = 14\n", withdrawal("staker", s, t0) + "exit_queue_eth = " + num(queue) + "\n"));
    CHECK(loss_of(m, {slash(completes - 0.01, f)}) == doctest::Approx(f).epsilon(1e-12));
    CHECK(loss_of(m, {slash(completes + 0.01, f)}) == doctest::Approx(f * (1 - s)).epsilon(1e-12));
  }
  // after_fault_days = 2: a slash on day 10 sets off the request on day 12, out on day 26.
  const Model run = model_from(restaker_world("shared", "escrow_days = 14\n",
                                              "[[withdrawal]]\nholder = \"staker\"\nshare = 0.4\nafter_fault_days = 2\n"));
  CHECK(loss_of(run, {slash(10, f), slash(25.9, f)}) == doctest::Approx(f + (1 - f) * f).epsilon(1e-12));
  CHECK(loss_of(run, {slash(10, f), slash(26.1, f)}) == doctest::Approx(f + (1 - s) * (1 - f) * f).epsilon(1e-12));
  const Outcome quiet = propagate_events(run, {}, 0.04);  // no fault: no one leaves
  CHECK(quiet.net_return[0] == doctest::Approx(0.04).epsilon(1e-12));
}

// ---- Slash delay and slashing window ------------------------------------------------------------

TEST_CASE("a condition's slash executes its delay plus the veto window after the fault, and lapses past the slashing window") {
  // Withdrawal of s on day 30 with a 14-day escrow: out on day 44. Fault on day 40, veto window 0.5.
  const double s = 0.4, f = 0.3;
  const Model m = model_from(restaker_world(
      "shared", "escrow_days = 14\nveto_window_days = 0.5\nslashing_window_days = 7\n", withdrawal("staker", s, 30)));
  CHECK(loss_of(m, {slash(40, f, 3.0)}) == doctest::Approx(f).epsilon(1e-12));            // executes on 43.5
  CHECK(loss_of(m, {slash(40, f, 3.4)}) == doctest::Approx(f).epsilon(1e-12));            // 43.9
  CHECK(loss_of(m, {slash(40, f, 3.6)}) == doctest::Approx(f * (1 - s)).epsilon(1e-12));  // 44.1
  CHECK(loss_of(m, {slash(40, f, 7.0)}) == doctest::Approx(f * (1 - s)).epsilon(1e-12));  // a delay of exactly W still slashes
  const Outcome lapsed = propagate_events(m, {slash(40, f, 7.001)});
  CHECK(lapsed.loss_fraction[0] == 0.0);
  CHECK(lapsed.avs_stake_lost[0] == 0.0);
  // A slash that would execute past the horizon never does.
  CHECK(loss_of(m, {slash(359, f, 5.0)}) == doctest::Approx(f * (1 - s)).epsilon(1e-12));  // 364.5
  CHECK(loss_of(m, {slash(360, f, 5.0)}) == 0.0);                                             // 365.5
  // No slashing window: any delay slashes.
  const Model no_window = model_from(restaker_world("shared", "escrow_days = 14\nveto_window_days = 0.5\n", withdrawal("staker", s, 30)));
  CHECK(loss_of(no_window, {slash(40, f, 100.0)}) == doctest::Approx(f * (1 - s)).epsilon(1e-12));
}

// ---- Veto -----------------------------------------------------------------------------------------

TEST_CASE("a faulty slashing is cancelled iff resolvers act within the veto window plus the resolution delay, and otherwise executes after the window") {
  // Veto window 1, resolution 7: cancelled iff cancel_days <= 8. A withdrawal of s on day 26.5 with a
  // 14-day escrow is out on day 40.5: a faulty slashing on day 40 executes on 41, after it.
  const double s = 0.4, f = 0.3;
  const Model m = model_from(restaker_world(
      "shared", "escrow_days = 14\nveto_window_days = 1\nresolution_days = 7\nveto_probability = 0.5\n", withdrawal("staker", s, 26.5)));
  CHECK(loss_of(m, {faulty(40, f, 0.0)}) == 0.0);
  CHECK(loss_of(m, {faulty(40, f, 0.9)}) == 0.0);  // vetoed in the window
  CHECK(loss_of(m, {faulty(40, f, 7.9)}) == 0.0);  // paused in the resolution delay
  CHECK(loss_of(m, {faulty(40, f, 8.0)}) == 0.0);  // just in time
  const Outcome late = propagate_events(m, {faulty(40, f, 8.01)});
  CHECK(late.loss_fraction[0] == doctest::Approx(f * (1 - s)).epsilon(1e-12));
  CHECK(late.cause(0, LossCause::AvsFaultySlashing) == doctest::Approx(f * (1 - s)).epsilon(1e-12));
  CHECK(loss_of(m, {faulty(40, f)}) == doctest::Approx(f * (1 - s)).epsilon(1e-12));  // no one acts
  CHECK(loss_of(m, {faulty(39, f)}) == doctest::Approx(f).epsilon(1e-12));            // executes on 40, in escrow
  // A genuine slash is never cancelled, however fast the resolvers.
  const Outcome genuine = propagate_events(m, {slash(40, f, 0.0, 0.0)});
  CHECK(genuine.loss_fraction[0] == doctest::Approx(f * (1 - s)).epsilon(1e-12));
  CHECK(genuine.cause(0, LossCause::AvsSlashing) == doctest::Approx(f * (1 - s)).epsilon(1e-12));
}

// ---- Common random numbers ----------------------------------------------------------------------

namespace {

// Faulty slashings (vetoed at `veto_probability` after a uniform delay) and genuine ones (delayed,
// never vetoed) of a shared operator set, and a run on the restaker after its first fault.
std::string crn_world(double veto_window, double veto_probability) {
  return kEthereum + R"(
[[operator]]
name = "op"
validators = 10
[[protocol]]
name = "p"
slashing_mode = "shared"
escrow_days = 7
veto_window_days = )" + num(veto_window) + R"(
resolution_days = 1
veto_probability = )" + num(veto_probability) + R"(
veto_delay_days = { dist = "uniform", min = 0, max = 4 }
[[avs]]
name = "avs"
protocol = "p"
operators = ["op"]
faulty_rate_per_year = 3
faulty_fraction = { dist = "beta", alpha = 1, beta = 4 }
slash_delay_days = { dist = "uniform", min = 0, max = 3 }
  [[avs.slashing]]
  name = "c"
  rate_per_year = 2
  fraction = 0.1
[[native]]
name = "staker"
protocol = "p"
positions = [{ operator = "op", stake_eth = 100 }]
[[withdrawal]]
holder = "staker"
share = { dist = "uniform", min = 0.2, max = 0.8 }
after_fault_days = { dist = "uniform", min = 0, max = 2 }
)";
}

// Per trial, `less` loses at most what `more` does (within rounding), and less in some trials.
void check_never_larger(const Records& less, const Records& more) {
  REQUIRE(less.trials == more.trials);
  std::size_t larger = 0, smaller = 0;
  for (std::size_t t = 0; t < less.trials; ++t) {
    larger += less.loss(t, 0) > more.loss(t, 0) + 1e-12;
    smaller += less.loss(t, 0) < more.loss(t, 0) - 1e-12;
  }
  CHECK(larger == 0);
  CHECK(smaller > 0);
}

}  // namespace

TEST_CASE("common random numbers: a longer veto window or a likelier veto never costs more in any trial") {
  const std::uint64_t trials = 4000;
  const Records short_window = run_in_memory(model_from(crn_world(0.5, 0.5)), trials, 2);
  const Records mid_window = run_in_memory(model_from(crn_world(1.0, 0.5)), trials, 2);
  const Records long_window = run_in_memory(model_from(crn_world(2.0, 0.5)), trials, 2);
  check_never_larger(mid_window, short_window);
  check_never_larger(long_window, mid_window);
  const Records unlikely = run_in_memory(model_from(crn_world(1.0, 0.3)), trials, 2);
  const Records likely = run_in_memory(model_from(crn_world(1.0, 0.6)), trials, 2);
  check_never_larger(likely, unlikely);
}

TEST_CASE("common random numbers: timing keys at zero change no bit, and the new draws move no old one") {
  // protocol: p's timing keys; avs: the AVS's.
  const auto world = [](const std::string& protocol, const std::string& avs) {
    return kEthereum + R"(
[[operator]]
name = "op"
validators = 10
[[protocol]]
name = "p"
slashing_mode = "unique"
)" + protocol + R"(
[[avs]]
name = "avs"
protocol = "p"
operators = [{ operator = "op", allocation = 0.6 }]
faulty_rate_per_year = 2
faulty_fraction = { dist = "beta", alpha = 1, beta = 4 }
)" + avs + R"(
  [[avs.slashing]]
  name = "c"
  rate_per_year = 3
  fraction = { dist = "uniform", min = 0, max = 0.2 }
[[native]]
name = "staker"
protocol = "p"
positions = [{ operator = "op", stake_eth = 100 }]
[[withdrawal]]
holder = "staker"
share = 0.5
day = { dist = "uniform", min = 0, max = 365 }
)";
  };
  const std::uint64_t trials = 3000;
  const Records plain = run_in_memory(model_from(world("", "")), trials, 2);
  REQUIRE(std::count_if(plain.loss_fraction.begin(), plain.loss_fraction.end(), [](double l) { return l > 0.0; }) > 1000);
  SUBCASE("every window at zero: bit-identical records") {
    const Records zeros = run_in_memory(
        model_from(world("escrow_days = 0\nveto_window_days = 0\nresolution_days = 0\nallocation_configuration_days = 0\n",
                         "slash_delay_days = 0\n")),
        trials, 2);
    CHECK(zeros.loss_fraction == plain.loss_fraction);
    CHECK(zeros.net_return == plain.net_return);
    CHECK(zeros.loss_by_cause == plain.loss_by_cause);
    CHECK(zeros.avs_stake_lost == plain.avs_stake_lost);
  }
  SUBCASE("slash delays and veto draws come from streams of their own: the events stay where they were") {
    // Random delays and a veto window of a nanosecond at most, and vetoes that come far too late:
    // every slash is what it was, a nanosecond later (and two slashes a nanosecond apart may swap,
    // which moves the last bits). Had these draws come from the events' own stream, every event's
    // day and size after the first would have moved.
    const Records timed = run_in_memory(
        model_from(world("veto_window_days = 1e-9\nveto_probability = 0.5\nveto_delay_days = { dist = \"uniform\", min = 9000, max = 10000 }\n",
                         "slash_delay_days = { dist = \"uniform\", min = 0, max = 1e-9 }\n")),
        trials, 2);
    for (std::size_t t = 0; t < trials; ++t) {
      CAPTURE(t);
      REQUIRE(timed.loss(t, 0) == doctest::Approx(plain.loss(t, 0)).epsilon(1e-12));
      REQUIRE(timed.net_return[t] == doctest::Approx(plain.net_return[t]).epsilon(1e-9));
    }
  }
}

// ---- Key compromise -------------------------------------------------------------------------------

namespace {

// A restaking operator `op` (whose own validators hold the native restaker's ETH) and `lido`,
// whose validators hold the token restaker's: an LST restaked with op (`staked_with`), the only
// stake ELIP-006 can redistribute. Protocol eigen (timing keys `protocol`, redistribution on); AVS
// `avs` secured by op with allocation 0.6 in unique mode, redistributable, keys `avs_keys`.
// Holders: token (0), staker (1).
std::string thief_world(const std::string& mode, const std::string& protocol, const std::string& avs_keys = "",
                        const std::string& op_keys = "", double horizon_days = 365) {
  return R"(
[simulation]
name = "t"
horizon_days = )" + num(horizon_days) + R"(
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = 0.0
[[operator]]
name = "op"
validators = 10
)" + op_keys + R"(
[[operator]]
name = "lido"
validators = 100
[[protocol]]
name = "eigen"
slashing_mode = ")" + mode + "\"\nredistribution = true\n" + protocol + R"(
[[avs]]
name = "avs"
protocol = "eigen"
operators = )" + (mode == "unique" ? R"([{ operator = "op", allocation = 0.6 }])" : R"(["op"])") + R"(
redistributable = true
)" + avs_keys + R"(
[[lrt]]
name = "token"
protocol = "eigen"
positions = [{ operator = "op", staked_with = "lido", stake_eth = 100 }]
[[native]]
name = "staker"
protocol = "eigen"
positions = [{ operator = "op", stake_eth = 100 }]
)";
}

constexpr std::size_t kToken = 0, kNative = 1;

double cause_of(const Records& r, std::size_t trial, std::size_t holder, LossCause c) {
  return r.loss_by_cause[(trial * r.shape.holders + holder) * kLossCauseCount + static_cast<std::size_t>(c)];
}

}  // namespace

TEST_CASE("an AVS's stolen keys drain drain x allocation of the token stake after the veto window, unless paused before the funds are released") {
  const double a = 0.6, drain = 0.5, s = 0.4;
  // Veto window 1, resolution 7: a pause by day + 8 stops it. A withdrawal of s of the token on
  // day 26.5 with a 14-day escrow is out on 40.5; a theft on day 40 drains on 41.
  const Model m = model_from(thief_world("unique", "escrow_days = 14\nveto_window_days = 1\nresolution_days = 7\n") +
                             withdrawal("token", s, 26.5));
  const Outcome drained = propagate_events(m, {avs_theft(40, 0, drain)});
  CHECK(drained.loss_fraction[kToken] == doctest::Approx(drain * a * (1 - s)).epsilon(1e-12));
  CHECK(drained.cause(kToken, LossCause::KeyCompromise) == doctest::Approx(drain * a * (1 - s)).epsilon(1e-12));
  CHECK(drained.avs_holder_loss[0 * 2 + kToken] == doctest::Approx(drain * a * (1 - s)).epsilon(1e-12));
  CHECK(drained.avs_stake_lost[0] == doctest::Approx(100 * drain * a * (1 - s)).epsilon(1e-12));
  CHECK(drained.loss_fraction[kNative] == 0.0);  // native ETH cannot be redistributed
  CHECK(loss_of(m, {avs_theft(39, 0, drain)}) == doctest::Approx(drain * a).epsilon(1e-12));  // drains on 40, in escrow
  CHECK(loss_of(m, {avs_theft(40, 0, drain, 8.0)}) == 0.0);
  CHECK(loss_of(m, {avs_theft(40, 0, drain, 8.01)}) == doctest::Approx(drain * a * (1 - s)).epsilon(1e-12));
  // Token magnitudes of their own (per strategy): a second theft drains d of what the first left of
  // the allocation, and a later slash of f by the AVS takes f of the token's remaining allocation
  // a (1 - d), the native stake's f a.
  const Model plain = model_from(thief_world("unique", ""));
  CHECK(loss_of(plain, {avs_theft(40, 0, drain), avs_theft(50, 0, drain)}, kToken) ==
        doctest::Approx(a * (1 - (1 - drain) * (1 - drain))).epsilon(1e-12));
  const double f = 0.5;
  const Outcome then_slashed = propagate_events(plain, {avs_theft(40, 0, drain), slash(50, f)});
  CHECK(then_slashed.loss_fraction[kToken] == doctest::Approx(a * drain + f * a * (1 - drain)).epsilon(1e-12));
  CHECK(then_slashed.cause(kToken, LossCause::AvsSlashing) == doctest::Approx(f * a * (1 - drain)).epsilon(1e-12));
  CHECK(then_slashed.loss_fraction[kNative] == doctest::Approx(f * a).epsilon(1e-12));
  // Shared mode: the whole stake is slashable by the AVS.
  const Model shared = model_from(thief_world("shared", ""));
  const Outcome all = propagate_events(shared, {avs_theft(40, 0, drain)});
  CHECK(all.loss_fraction[kToken] == doctest::Approx(drain).epsilon(1e-12));
  CHECK(all.loss_fraction[kNative] == 0.0);
}

TEST_CASE("AVS key compromise: the mean loss is a (1 - exp(-lambda (1 - p) H/365 x drain)), within 4 standard errors") {
  // N ~ Poisson(mean = lambda (1 - q) H / 365) drains go through (q: the chance a pause stops one),
  // each taking d of what is left of the token's allocation a (its own magnitudes, per strategy):
  // the loss is a (1 - (1 - d)^N), and E[(1 - d)^N] = exp(-mean d).
  const double lambda = 1.0, drain = 0.5, a = 0.6, H = 730;
  const std::uint64_t trials = 40'000;
  struct Case {
    const char* protocol;
    const char* pause;
    double stopped;  // the chance a pause stops a drain
  };
  // Pausers act at once half the time (stopped: 0.5), or after a Uniform(0, 10) day delay, in time
  // for a resolution delay of 7 days 70% of the time (0.35).
  const Case cases[] = {
      {"resolution_days = 7\n", "", 0.0},
      {"resolution_days = 7\n", ", pause_probability = 0.5, pause_delay_days = 0", 0.5},
      {"resolution_days = 7\n", R"(, pause_probability = 0.5, pause_delay_days = { dist = "uniform", min = 0, max = 10 })", 0.35},
      {"resolution_days = 3\n", R"(, pause_probability = 0.5, pause_delay_days = { dist = "uniform", min = 0, max = 10 })", 0.15},
  };
  std::vector<Records> runs;
  for (const Case& c : cases) {
    CAPTURE(c.stopped);
    const Model m = model_from(thief_world(
        "unique", c.protocol, "key_compromise = { rate_per_year = " + num(lambda) + ", drain = " + num(drain) + std::string(c.pause) + " }\n",
        "", H));
    const Records r = run_in_memory(m, trials, 2);
    const double mean_drains = lambda * (1 - c.stopped) * H / 365;
    RunningMoments loss, any;
    for (std::size_t t = 0; t < trials; ++t) {
      loss.add(r.loss(t, kToken));
      any.add(r.loss(t, kToken) > 0.0 ? 1.0 : 0.0);
      REQUIRE(r.loss(t, kNative) == 0.0);
      REQUIRE(cause_of(r, t, kToken, LossCause::KeyCompromise) == r.loss(t, kToken));
    }
    const Moments l = loss.result(), p = any.result();
    const double expected = a * (1 - std::exp(-mean_drains * drain));
    CAPTURE(l.mean);
    CAPTURE(expected);
    CHECK(std::abs(l.mean - expected) < 4 * l.stderr_mean);
    CHECK(std::abs(p.mean - (1 - std::exp(-mean_drains))) < 4 * p.stderr_mean);
    runs.push_back(r);
  }
  // The same draws: a pause can only remove drains, and a longer resolution delay only more of them.
  check_never_larger(runs[1], runs[0]);
  check_never_larger(runs[3], runs[0]);
  check_never_larger(runs[2], runs[3]);
}

// ---- Operator key theft -----------------------------------------------------------------------

TEST_CASE("an operator's stolen key drains its unallocated token stake after min(allocation delay, configuration delay), the allocated after the escrow too") {
  const double a = 0.6, drain = 0.5, H = 365;
  const std::string protocol = "escrow_days = 14\nallocation_configuration_days = 17.5\n";
  const Model m = model_from(thief_world("unique", protocol, "", "allocation_delay_days = 3\n"));
  const double free = drain * (1 - a);
  // Unallocated stake: drained on day + 3; allocated stake: on day + 14 + 3, past the horizon here.
  CHECK(loss_of(m, {operator_theft(H - 5, 0, drain)}, kToken) == doctest::Approx(free).epsilon(1e-12));
  CHECK(loss_of(m, {operator_theft(H - 16, 0, drain)}, kToken) == doctest::Approx(free).epsilon(1e-12));
  CHECK(loss_of(m, {operator_theft(H - 2, 0, drain)}, kToken) == 0.0);
  const Outcome o = propagate_events(m, {operator_theft(H - 5, 0, drain)});
  CHECK(o.loss_fraction[kNative] == 0.0);
  CHECK(o.cause(kToken, LossCause::KeyCompromise) == doctest::Approx(free).epsilon(1e-12));
  CHECK(o.avs_stake_lost[0] == 0.0);  // the thief's own set, not the AVS's
  // Pausers have the allocation delay for the unallocated part, and the escrow too for the rest.
  CHECK(loss_of(m, {operator_theft(100, 0, drain, 3.0)}, kToken) == 0.0);
  CHECK(loss_of(m, {operator_theft(H - 5, 0, drain, 3.01)}, kToken) == doctest::Approx(free).epsilon(1e-12));
  // Within the allocated part's time: it is paused, the unallocated part was drained already.
  CHECK(loss_of(m, {operator_theft(100, 0, drain, 17.0)}, kToken) == doctest::Approx(free).epsilon(1e-12));
  // An allocation delay of 30 is cut to the configuration delay, 17.5.
  const Model slow = model_from(thief_world("unique", protocol, "", "allocation_delay_days = 30\n"));
  CHECK(loss_of(slow, {operator_theft(H - 20, 0, drain)}, kToken) == doctest::Approx(free).epsilon(1e-12));  // on H - 2.5
  CHECK(loss_of(slow, {operator_theft(H - 17, 0, drain)}, kToken) == 0.0);                                  // on H + 0.5
  // Shared mode: no allocation to undo, the whole token stake on day + 3.
  const Model shared = model_from(thief_world("shared", protocol, "", "allocation_delay_days = 3\n"));
  CHECK(loss_of(shared, {operator_theft(H - 5, 0, drain)}, kToken) == doctest::Approx(drain).epsilon(1e-12));
  CHECK(loss_of(shared, {operator_theft(H - 2, 0, drain)}, kToken) == 0.0);
  CHECK(loss_of(shared, {operator_theft(H - 5, 0, drain)}, kNative) == 0.0);
}

// Before the token magnitudes were split off (bad873e), the allocated part's drain took d a of the
// value the unallocated part's drain had left: d (1 - a) + (1 - d (1 - a)) d a, 0.76 for d = 1.
TEST_CASE("an operator's stolen key with drain d takes d of all its token stake once both parts are drained") {
  const Model m = model_from(thief_world("unique", "escrow_days = 14\nallocation_configuration_days = 17.5\n", "", "allocation_delay_days = 3\n"));
  for (const double drain : {1.0, 0.5}) {
    CAPTURE(drain);
    const Outcome o = propagate_events(m, {operator_theft(100, 0, drain)});  // drains on 103 and 117
    CHECK(o.loss_fraction[kToken] == doctest::Approx(drain).epsilon(1e-12));
  }
}

// ---- Importance sampling ------------------------------------------------------------------------

TEST_CASE("a tail search finds a tilt for a world whose only loss is key compromise, and estimates P(N >= 5) within its error") {
  // N ~ Poisson(0.5) drains of d = 0.5 of what is left of an allocation a = 0.6: the loss is
  // a (1 - 0.5^N), at least a (1 - 0.5^5) exactly when N >= 5 (P = 1.72e-4: plain Monte Carlo
  // would need ~2 million trials for 10%).
  const double lambda = 0.5, d = 0.5, a = 0.6;
  const Model m = model_from(thief_world("unique", "", "key_compromise = { rate_per_year = 0.5, drain = 0.5 }\n"));
  const SamplerPlan plain = make_sampler_plan(m);
  // Listed last: the AVS's keys, then op's (silent: a token position is delegated to op, so a
  // thief with its key could reach stake).
  REQUIRE(plain.sources.size() >= 2);
  const std::size_t keys = plain.sources.size() - 2;
  REQUIRE(plain.sources[keys].kind == EventSource::Kind::AvsKeyCompromise);
  REQUIRE(plain.sources[keys + 1].kind == EventSource::Kind::OperatorKeyCompromise);
  CHECK(expected_events(m, plain) == doctest::Approx(lambda).epsilon(1e-15));
  double below = 0.0, p = std::exp(-lambda);
  for (int k = 0; k < 5; ++k, p *= lambda / k) below += p;
  const double exact = 1.0 - below;
  TailSearch search;
  search.pilot_trials = 4000;
  search.target = {kToken, a * (1.0 - std::pow(1.0 - d, 5)) - 1e-9};
  const CrossEntropyResult r = find_tilt(m, search, 3);
  CHECK(r.reached);
  for (std::size_t s = 0; s < plain.sources.size(); ++s)
    if (s != keys) CHECK(r.tilt.rate_factor[s] == 1.0);  // silent sources stay
  CHECK(r.tilt.rate_factor[keys] > 4.0);  // towards E[N | N >= 5] = 5.1 drains, from 0.5
  RunSpec o;
  o.trials = 20'000;
  o.seed = 3;
  o.threads = 2;
  o.tilt = r.tilt;
  RunningMoments estimate;
  run_trials(m, o, [&](const TrialBlock& b) {
    for (std::size_t i = 0; i < b.count; ++i) estimate.add(b.loss_fraction[i * 2 + kToken] >= search.target.loss ? b.weight[i] : 0.0);
  });
  const Moments e = estimate.result();
  CAPTURE(exact);
  CAPTURE(e.mean);
  CAPTURE(e.stderr_mean);
  CHECK(std::abs(e.mean - exact) < 4.0 * e.stderr_mean);
  CHECK(e.stderr_mean < 0.1 * exact);
}

TEST_CASE("a slash landing exactly when a withdrawal completes still reaches the leaving stake") {
  // Shared mode, a 14-day escrow, 40% withdrawn on day 50 (out after day 64). A faulty slashing
  // of 30% sampled on day 64, or requested on day 63 with a 1-day veto window, lands at the
  // escrow's last moment: it takes 30% of everything, in both cases (before, the delayed one found
  // the withdrawal completed: the follow-up queued first ran first).
  const double s = 0.4, t0 = 50, f = 0.3;
  const Model m = model_from(restaker_world("shared", "escrow_days = 14\n", withdrawal("staker", s, t0)));
  const Model vetoable = model_from(restaker_world("shared", "escrow_days = 14\nveto_window_days = 1\n", withdrawal("staker", s, t0)));
  CHECK(loss_of(m, {faulty(64.0, f)}) == doctest::Approx(f).epsilon(1e-12));
  CHECK(loss_of(vetoable, {faulty(63.0, f)}) == doctest::Approx(f).epsilon(1e-12));
  // A moment later the stake is out.
  CHECK(loss_of(m, {faulty(64.000001, f)}) == doctest::Approx(f * (1 - s)).epsilon(1e-12));
}
