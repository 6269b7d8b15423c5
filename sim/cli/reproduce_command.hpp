#pragma once
#include <string>

namespace restake {
// `restake-sim reproduce [MANIFEST] [--markdown]`: runs every case, prints the table, and returns
// 0 when every figure is within its tolerance, 1 otherwise.
int run_reproduce_command(const std::string& manifest_path, bool markdown);
}  // namespace restake
