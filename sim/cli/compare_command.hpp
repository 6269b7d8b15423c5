#pragma once
#include <string>
#include <vector>

namespace restake {
enum class CompareFormat { Table, Markdown, Json, Csv };

// `--pair A=B`: holder A of the first file compared with holder B of each later file.
struct HolderPair {
  std::string first, second;
  bool operator==(const HolderPair&) const = default;
};

// ["A=B", "C=D,E=F"] -> {A,B}, {C,D}, {E,F}, names trimmed and empty items skipped, as
// restake_analysis.compare.parse_pairs does. A malformed item throws std::invalid_argument naming it.
std::vector<HolderPair> parse_pairs(const std::vector<std::string>& specs);

// `restake-sim compare A.h5 B.h5 ... [--baseline FILE:HOLDER] [--pair A=B ...] [--markdown | --json | --csv]`:
// one table across the holders of several results files, against an LST baseline; with --pair, the
// differences of each pair (the given ones, then the holders of the same name in both files) between
// the first file and each later one.
int run_compare_command(const std::vector<std::string>& files, const std::string& baseline, CompareFormat format,
                        const std::vector<HolderPair>& pairs = {});
}  // namespace restake
