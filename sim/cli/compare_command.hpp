#pragma once
#include <string>
#include <vector>

namespace restake {
// `restake-sim compare A.h5 B.h5 ... [--baseline FILE:HOLDER] [--markdown]`: one table across the
// holders of several results files, against an LST baseline.
int run_compare_command(const std::vector<std::string>& files, const std::string& baseline, bool markdown);
}  // namespace restake
