#pragma once
// A Clock for tests: time stands still until advance(). Thread-safe (the
// server reads it on its own thread).

#include <chrono>
#include <mutex>

#include "common/time.h"

namespace zp::server::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = std::chrono::system_clock::now()) : now_(start) {}
  TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void advance(TimePoint::duration by) {
    std::lock_guard lock(mu_);
    now_ += by;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

}  // namespace zp::server::testing
