#pragma once
// A progress bar on stderr for long runs: silent for the first second, then redrawn at most a
// few times a second, and only when stderr is a terminal or the caller forces it.
#include <chrono>
#include <cstdint>

namespace restake {

class ProgressBar {
 public:
  ProgressBar(std::uint64_t total, bool enabled);
  ~ProgressBar();
  void update(std::uint64_t done);
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
};

}  // namespace restake
