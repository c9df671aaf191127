#include "common/backoff.h"

#include <gtest/gtest.h>

namespace zp {
namespace {

using namespace std::chrono_literals;

TEST(BackoffTest, DoublesUpToTheCapAndResets) {
  Backoff b(200ms, 1000ms);
  EXPECT_EQ(b.next(), 200ms);
  EXPECT_EQ(b.next(), 400ms);
  EXPECT_EQ(b.next(), 800ms);
  EXPECT_EQ(b.next(), 1000ms);
  EXPECT_EQ(b.next(), 1000ms);
  b.reset();
  EXPECT_EQ(b.next(), 200ms);
}

TEST(BackoffTest, NonsenseBoundsStillGivePositiveDelays) {
  Backoff b(0ms, 0ms);
  EXPECT_EQ(b.next(), 1ms);
  EXPECT_EQ(b.next(), 1ms);
}

}  // namespace
}  // namespace zp
