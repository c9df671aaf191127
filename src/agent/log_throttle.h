#pragma once
// LogThrottle: at most one log line per interval about a kind of event that
// peers can cause at will (refused handshakes, evictions), so a flood of
// them cannot flood the log; the line that is written says how many were
// held back since the previous one. Not thread-safe: one per executor.

#include <chrono>
#include <cstddef>
#include <optional>

namespace zp::agent {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(Clock::duration interval = std::chrono::seconds(10)) : interval_(interval) {}

  // Records one event at `now`. When a line may be written for it: the
  // number of earlier events held back since the last line (0 for the first
  // one); nullopt when this event is to be held back too.
  std::optional<std::size_t> admit(Clock::time_point now) {
    if (last_ && now - *last_ < interval_) {
      ++held_back_;
      return std::nullopt;
    }
    last_ = now;
    const std::size_t held = held_back_;
    held_back_ = 0;
    return held;
  }

 private:
  Clock::duration interval_;
  std::optional<Clock::time_point> last_;
  std::size_t held_back_ = 0;
};

}  // namespace zp::agent
