#pragma once
// Backoff: the delays between retries of an operation that failed for a
// transient reason (the runtime is unreachable): `initial`, doubling up to
// `max`. Plain value; not thread-safe (one per retrying operation). The
// agent's runtime retries, its container-event streams and the server's
// reconnects to agents all back off with it.

#include <algorithm>
#include <chrono>

namespace zp {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(std::max(initial, std::chrono::milliseconds(1))),
        max_(std::max(max, initial_)),
        next_(initial_) {}

  // The delay before the next attempt; each call doubles the following one.
  std::chrono::milliseconds next() {
    const auto delay = next_;
    next_ = std::min(next_ * 2, max_);
    return delay;
  }
  // After a success: the next failure starts again from `initial`.
  void reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_, max_, next_;
};

}  // namespace zp
