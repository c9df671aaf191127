#pragma once
// When to try again to hand a workload to its node after an attempt failed
// for a transient reason (node unreachable, no answer in time): exponential
// backoff per workload, capped. Owns its table; runs on the server's single
// executor, not thread-safe.

#include <chrono>
#include <map>
#include <string>

#include "common/time.h"

namespace zp::server {

struct BackoffOptions {
  std::chrono::milliseconds initial{2'000};  // wait after the first failure
  std::chrono::milliseconds max{60'000};     // the wait never grows beyond this
};

class DeliveryBackoff {
 public:
  DeliveryBackoff(BackoffOptions options, const Clock& clock) : options_(options), clock_(clock) {}

  // True when no failure is recorded for `id` or its wait is over.
  bool due(const std::string& id) const;
  // Records a failed attempt and returns the wait before the next one:
  // initial, then doubled per further failure, at most max.
  std::chrono::milliseconds failed(const std::string& id);
  // Failed attempts recorded since the last clear().
  int failures(const std::string& id) const;
  // Forgets `id` (delivered, final, or deleted).
  void clear(const std::string& id) { entries_.erase(id); }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int failures = 0;
    TimePoint next{};
  };
  BackoffOptions options_;
  const Clock& clock_;
  std::map<std::string, Entry> entries_;
};

}  // namespace zp::server
