#pragma once
// Ctrl-C and SIGTERM during a long run: the handler only records the signal; the engine's stop hook
// (interrupted()) ends the block in progress within a few trials, and the run throws Interrupted,
// so writers unwind and remove their temporary files. Exit code 128 + the signal: 130 for SIGINT,
// 143 for SIGTERM, as a shell reports a process the signal killed.
#include <stdexcept>
#include <string>

namespace restake {

struct Interrupted : std::runtime_error {
  // `signal` 0: stopped on request (--stop-after), reported as SIGINT would be.
  explicit Interrupted(int signal = 0);
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

void catch_interrupts();        // installs the SIGINT/SIGTERM handler
bool interrupted();             // a signal arrived: the engine's stop hook
void throw_if_interrupted();    // throws Interrupted once a signal arrived

}  // namespace restake
