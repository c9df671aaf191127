#pragma once
// Delivery of StartWorkload to a node (docs/architecture.md §8.7): which
// failures are transient, and when to try again after one. DeliveryBackoff
// owns its table; it is a state machine of the times it is given (no clock),
// runs on the server's single executor and is not thread-safe.

#include <chrono>
#include <map>
#include <string>

#include "common/status.h"
#include "common/time.h"

namespace zp::server {

struct BackoffOptions {
  std::chrono::milliseconds initial{2'000};  // wait after the first failure
  std::chrono::milliseconds max{60'000};     // the wait never grows beyond this
};

// Exponential backoff per workload id, capped.
class DeliveryBackoff {
 public:
  explicit DeliveryBackoff(BackoffOptions options = {}) : options_(options) {}

  // True when no failure is recorded for `id` or its wait is over at `now`.
  bool due(const std::string& id, TimePoint now) const;
  // Records a failed attempt at `now` and returns the wait before the next
  // one: initial, then doubled per further failure, at most max.
  std::chrono::milliseconds failed(const std::string& id, TimePoint now);
  // Failed attempts recorded since the last clear().
  int failures(const std::string& id) const;
  // Forgets `id` (delivered, final, placed again, or deleted).
  void clear(const std::string& id) { entries_.erase(id); }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int failures = 0;
    TimePoint next{};
  };
  BackoffOptions options_;
  std::map<std::string, Entry> entries_;
};

// True for an agent's answer to StartWorkload that re-sending cannot change:
// every code except the transient ones (Unavailable, DeadlineExceeded,
// Cancelled, Internal).
bool isPermanentRefusal(const Error& error);
// An Internal error still there at this attempt ends the workload
// Failed/DeliveryFailed: transient at first, final once it persists.
inline constexpr int kMaxInternalErrorAttempts = 5;

}  // namespace zp::server
