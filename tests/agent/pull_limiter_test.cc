#include "agent/pull_limiter.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace zp::agent {
namespace {

struct Outcomes {
  std::vector<std::optional<bool>> got;
  PullLimiter::Granted at(std::size_t i) {
    if (got.size() <= i) got.resize(i + 1);
    return [this, i](bool granted) { got[i] = granted; };
  }
};

TEST(PullLimiterTest, GrantsUpToTheLimitPerRegistryThenQueuesInOrder) {
  PullLimiter limiter(2);
  Outcomes o;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(limiter.acquire("a.test", o.at(i)).queued, i >= 2) << i;
  }
  EXPECT_EQ(o.got[0], true);
  EXPECT_EQ(o.got[1], true);
  EXPECT_FALSE(o.got[2]);
  EXPECT_FALSE(o.got[3]);
  EXPECT_EQ(limiter.active("a.test"), 2u);
  EXPECT_EQ(limiter.waiting("a.test"), 2u);
  // Another registry is not affected.
  limiter.acquire("b.test", o.at(4));
  EXPECT_EQ(o.got[4], true);
  // A release passes the slot to the first waiter.
  limiter.release("a.test");
  EXPECT_EQ(o.got[2], true);
  EXPECT_FALSE(o.got[3]);
  EXPECT_EQ(limiter.active("a.test"), 2u);
  limiter.release("a.test");
  EXPECT_EQ(o.got[3], true);
  limiter.release("a.test");
  limiter.release("a.test");
  EXPECT_EQ(limiter.active("a.test"), 0u);
  limiter.release("a.test");  // not held: ignored
  EXPECT_EQ(limiter.active("a.test"), 0u);
}

TEST(PullLimiterTest, ACancelledWaiterLeavesTheQueueAndIsToldSo) {
  PullLimiter limiter(1);
  Outcomes o;
  limiter.acquire("r", o.at(0));
  const auto second = limiter.acquire("r", o.at(1)).ticket;
  limiter.acquire("r", o.at(2));
  limiter.cancel(second);
  EXPECT_EQ(o.got[1], false);
  limiter.cancel(second);  // idempotent
  limiter.release("r");
  EXPECT_EQ(o.got[2], true);  // the cancelled one was skipped
  // Cancelling a granted ticket changes nothing.
  const auto granted = limiter.acquire("other", o.at(3)).ticket;
  limiter.cancel(granted);
  EXPECT_EQ(o.got[3], true);
  EXPECT_EQ(limiter.active("other"), 1u);
}

TEST(PullLimiterTest, CancelAllEndsEveryWait) {
  PullLimiter limiter(1);
  Outcomes o;
  limiter.acquire("r", o.at(0));
  limiter.acquire("r", o.at(1));
  limiter.acquire("s", o.at(2));
  limiter.acquire("s", o.at(3));
  limiter.cancelAll();
  EXPECT_EQ(o.got[1], false);
  EXPECT_EQ(o.got[3], false);
  EXPECT_EQ(limiter.waiting("r"), 0u);
}

TEST(PullLimiterTest, ALimitOfZeroMeansOne) {
  PullLimiter limiter(0);
  EXPECT_EQ(limiter.perRegistry(), 1u);
}

}  // namespace
}  // namespace zp::agent
