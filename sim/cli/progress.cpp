#include "progress.hpp"

#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace restake {

ProgressBar::ProgressBar(std::uint64_t total, bool enabled) : total_(total), enabled_(enabled) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(std::uint64_t done) {
  if (!enabled_) return;
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < 1.0 || (drawn_ && now - last_draw_ < std::chrono::milliseconds(200) && done < total_)) return;
  last_draw_ = now;
  drawn_ = true;
  const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(frac * kWidth);
  const double rate = static_cast<double>(done) / elapsed;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  fmt::print(stderr, "\r[{}{}] {:5.1f}% {}/{} trials  {:.0f} trials/s  ETA {:.0f} s ", std::string(filled, '#'),
             std::string(kWidth - filled, '.'), 100.0 * frac, done, total_, rate, eta);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (drawn_) {
    fmt::print(stderr, "\n");
    drawn_ = false;
  }
}

}  // namespace restake
