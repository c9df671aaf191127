#pragma once
// Time: the Clock seam (so tests can control time) and RFC 3339 text.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace zp {

using TimePoint = std::chrono::system_clock::time_point;

// Source of "now". Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The wall clock.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
  // A process-wide instance, for code that has no clock injected.
  static const Clock& instance();
};

// Monotonic time, for durations that must not follow wall-clock steps (NTP,
// a VM resumed): timeouts, liveness. Never shown to users.
using MonotonicTime = std::chrono::steady_clock::time_point;

// Source of monotonic "now". Implementations must be thread-safe.
class MonotonicClock {
 public:
  virtual ~MonotonicClock() = default;
  virtual MonotonicTime now() const = 0;
};

// std::chrono::steady_clock.
class SteadyMonotonicClock final : public MonotonicClock {
 public:
  MonotonicTime now() const override { return std::chrono::steady_clock::now(); }
  // A process-wide instance, for code that has no clock injected.
  static const MonotonicClock& instance();
};

// "2026-11-29T13:40:31.123Z" (UTC, millisecond precision).
std::string formatRfc3339(TimePoint t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)"; nullopt when malformed
// or outside what a TimePoint holds (about the years 1678 to 2261).
std::optional<TimePoint> parseRfc3339(std::string_view text);
// Converts CRI nanoseconds since the epoch; nullopt for 0 (CRI's "unset").
std::optional<TimePoint> fromUnixNanos(long long nanos);

}  // namespace zp
