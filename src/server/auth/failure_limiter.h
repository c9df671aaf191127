#pragma once
// Failed authentications per source (docs/architecture.md §9.3): more than
// `max_failures` within a window and the source is refused (429) until the
// window is over. The window starts at the source's first counted failure;
// successful authentications are not counted. A source is an IPv4 address or
// an IPv6 /64 (sourceGroup): the addresses of one IPv6 network share a budget.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/time.h"

namespace zp::server::auth {

struct FailureLimiterOptions {
  std::size_t max_failures = 10;
  std::chrono::seconds window{60};
  // Sources tracked at once; beyond that the one whose window started
  // first is forgotten (its budget starts again).
  std::size_t max_sources = 65536;
};

// Owns the per-source counts. Driven by the caller's `now` (the server's
// Clock), so tests advance time instead of sleeping. Windows that are over
// are forgotten by purge() (the server's tick) and, amortised, as new
// sources come; each call costs O(log n) in the sources tracked, plus the
// windows it forgets. Runs on the server's executor; not thread-safe.
class FailureLimiter {
 public:
  explicit FailureLimiter(FailureLimiterOptions options = {}) : options_(options) {}

  struct Block {
    std::chrono::seconds retry_after;  // until the window is over, rounded up, at least 1 s
    bool first;                        // the first refusal of this window (the one audited)
  };
  // nullopt while `source` may still try; otherwise how long it must wait.
  std::optional<Block> blocked(const std::string& source, TimePoint now);
  // Counts one failed authentication of `source`.
  void recordFailure(const std::string& source, TimePoint now);
  // Forgets every window that is over at `now`.
  void purge(TimePoint now);

  std::size_t trackedSources() const { return sources_.size(); }

 private:
  struct Window {
    TimePoint start;
    std::size_t failures = 0;
    bool refused = false;
  };
  using Windows = std::map<std::string, Window>;
  // The source group's window, or nullptr when it has none that is still running.
  Window* current(const std::string& group, TimePoint now);
  void forget(Windows::iterator it);

  FailureLimiterOptions options_;
  Windows sources_;                                     // by source group
  std::set<std::pair<TimePoint, std::string>> starts_;  // the same windows, oldest first
};

}  // namespace zp::server::auth
