#pragma once
#include <string>
#include <vector>

namespace restake {
enum class CompareFormat { Table, Markdown, Json, Csv };
// `restake-sim compare A.h5 B.h5 ... [--baseline FILE:HOLDER] [--markdown | --json | --csv]`: one
// table across the holders of several results files, against an LST baseline.
int run_compare_command(const std::vector<std::string>& files, const std::string& baseline, CompareFormat format);
}  // namespace restake
