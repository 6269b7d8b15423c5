#pragma once
// Small pieces shared by the HDF5 writers (results.cpp, sweep_writer.cpp).
#include <chrono>
#include <ctime>
#include <string>
#include <vector>

namespace restake::detail {

// Trials per HDF5 chunk of the per-trial records (and per read when they are copied or digested):
// one constant, so a sweep's parts and files and a run's file chunk alike.
inline constexpr unsigned long long kChunkTrials = 16384;  // the type of hsize_t

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
