#pragma once
// Progress of long runs on stderr: silent for the first second; then, on a terminal, a bar redrawn
// a few times a second, and elsewhere (a log file, a batch job) a log line every 10%.
#include <chrono>
#include <cstdint>

namespace restake {

class ProgressBar {
 public:
  ProgressBar(std::uint64_t total, bool enabled, bool terminal);
  ~ProgressBar();
  void update(std::uint64_t done);
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::uint64_t total_;
  bool enabled_;
  bool terminal_;
  bool drawn_ = false;
  int logged_tenths_ = 0;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
};

}  // namespace restake
