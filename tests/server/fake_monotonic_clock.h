#pragma once
// A MonotonicClock for tests: time stands still until advance(). Thread-safe
// (the server reads it on its own thread).

#include <chrono>
#include <mutex>

#include "common/time.h"

namespace zp::server::testing {

class FakeMonotonicClock final : public MonotonicClock {
 public:
  explicit FakeMonotonicClock(MonotonicTime start = MonotonicTime{} + std::chrono::hours(1000))
      : now_(start) {}
  MonotonicTime now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void advance(std::chrono::milliseconds by) {
    std::lock_guard lock(mu_);
    now_ += by;
  }

 private:
  mutable std::mutex mu_;
  MonotonicTime now_;
};

}  // namespace zp::server::testing
