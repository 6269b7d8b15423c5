#include "interrupt.hpp"

#include <atomic>
#include <csignal>
#include <string>

namespace restake {

namespace {
// A signal handler can only reach static storage. The first signal wins.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);  // safe in a handler
extern "C" void on_signal(int s) {
  int none = 0;
  g_signal.compare_exchange_strong(none, s);
}

std::string describe(int signal) {
  return signal == SIGTERM ? "interrupted by SIGTERM: no output file written"
         : signal == SIGINT ? "interrupted by SIGINT: no output file written"
                            : "interrupted: no output file written";
}
}  // namespace

Interrupted::Interrupted(int signal)
    : std::runtime_error(describe(signal)), exit_code_(128 + (signal != 0 ? signal : SIGINT)) {}

void catch_interrupts() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupted() { return g_signal.load(std::memory_order_relaxed) != 0; }

void throw_if_interrupted() {
  if (const int s = g_signal.load()) throw Interrupted(s);
}

}  // namespace restake
