#pragma once
// Ctrl-C during a long run: the handler only raises a flag; the run checks it between blocks and
// throws Interrupted, so writers unwind and remove their temporary files. Exit code 130.
#include <stdexcept>

namespace restake {

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted: no output file written") {}
};

void catch_interrupts();        // installs the SIGINT/SIGTERM handler
void throw_if_interrupted();    // throws Interrupted once a signal arrived

}  // namespace restake
