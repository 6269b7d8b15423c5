#pragma once
// Small pieces shared by the HDF5 writers (results.cpp, sweep_writer.cpp).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <string>
#include <vector>

namespace restake::detail {

// Trials per HDF5 chunk of the per-trial records at most (chunk_trials below: fewer for wide rows).
inline constexpr unsigned long long kChunkTrials = 16384;  // the type of hsize_t

// Trials per chunk of a record whose row holds `row_values` doubles: kChunkTrials, fewer for wide
// rows (a 1,000-holder world's loss_by_cause row is 64 kB), so that a chunk stays within ~4 MiB to
// compress and cache. The one rule of run and sweep files.
inline unsigned long long chunk_trials(unsigned long long row_values) {
  constexpr unsigned long long kChunkBytes = 4ull << 20;
  return std::clamp<unsigned long long>(kChunkBytes / (std::max<unsigned long long>(1, row_values) * sizeof(double)), 1, kChunkTrials);
}

// Amounts are in the entity's own asset, named in the sibling `assets` datasets.
inline constexpr const char* kOwnAsset = "units of the entity's asset (see the assets datasets)";

// Now, ISO 8601 in UTC, for the created_utc attribute.
inline std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// One number per item, for a dataset over entities.
template <class T, class F>
std::vector<double> collect(const std::vector<T>& items, F&& field) {
  std::vector<double> out;
  out.reserve(items.size());
  for (const auto& x : items) out.push_back(field(x));
  return out;
}

}  // namespace restake::detail
