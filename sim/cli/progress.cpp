#include "progress.hpp"

#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace restake {

ProgressBar::ProgressBar(std::uint64_t total, bool enabled, bool terminal)
    : total_(total), enabled_(enabled), terminal_(terminal) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(std::uint64_t done) {
  if (!enabled_) return;
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < 1.0) return;
  const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  const double rate = static_cast<double>(done) / elapsed;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  if (!terminal_) {
    const int tenths = static_cast<int>(frac * 10);
    if (tenths > logged_tenths_ && done < total_) {
      logged_tenths_ = tenths;
      spdlog::info("{:.0f}% ({}/{} trials, {:.0f} trials/s, ETA {:.0f} s)", 100.0 * frac, done, total_, rate, eta);
    }
    return;
  }
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(200) && done < total_) return;
  last_draw_ = now;
  drawn_ = true;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(frac * kWidth);
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
