#include "interrupt.hpp"

#include <atomic>
#include <csignal>

namespace restake {

namespace {
// A signal handler can only reach static storage.
std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted = true; }
}  // namespace

void catch_interrupts() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

void throw_if_interrupted() {
  if (g_interrupted) throw Interrupted();
}

}  // namespace restake
