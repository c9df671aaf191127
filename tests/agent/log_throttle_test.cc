// LogThrottle (agent/log_throttle.h): one line per interval, counting the
// events held back, on a fake clock.

#include "agent/log_throttle.h"

#include <gtest/gtest.h>

namespace zp::agent {
namespace {

using namespace std::chrono_literals;

TEST(LogThrottleTest, OneLinePerIntervalWithTheCountHeldBack) {
  LogThrottle throttle(10s);
  const LogThrottle::Clock::time_point start{};  // the clock's epoch: the first event still logs
  EXPECT_EQ(throttle.admit(start), std::optional<std::size_t>(0));
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(throttle.admit(start + i * 1s), std::nullopt) << i;
  }
  EXPECT_EQ(throttle.admit(start + 9999ms), std::nullopt);
  EXPECT_EQ(throttle.admit(start + 10s), std::optional<std::size_t>(6));
  EXPECT_EQ(throttle.admit(start + 11s), std::nullopt);
  EXPECT_EQ(throttle.admit(start + 1h), std::optional<std::size_t>(1));
  EXPECT_EQ(throttle.admit(start + 2h), std::optional<std::size_t>(0));
}

}  // namespace
}  // namespace zp::agent
