#include "common/time.h"

#include <gtest/gtest.h>

namespace zp {
namespace {

using namespace std::chrono;

TEST(TimeTest, FormatsUtcWithMilliseconds) {
  const TimePoint t{milliseconds{1'764'423'631'123}};
  EXPECT_EQ(formatRfc3339(t), "2025-11-29T13:40:31.123Z");
}

TEST(TimeTest, ParsesWhatItFormats) {
  const TimePoint t{milliseconds{1'764'423'631'123}};
  auto back = parseRfc3339(formatRfc3339(t));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
}

TEST(TimeTest, ParsesOffsetsAndNanoseconds) {
  auto a = parseRfc3339("2025-11-29T14:40:31.5+01:00");
  auto b = parseRfc3339("2025-11-29T13:40:31.500000000Z");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
}

TEST(TimeTest, RejectsMalformed) {
  for (const char* bad : {"", "2025-11-29", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z",
                          "2025-11-29T13:40:31", "2025-11-29T13:40:31.Z",
                          "2025-11-29T13:40:31Zjunk", "x025-11-29T13:40:31Z"}) {
    EXPECT_FALSE(parseRfc3339(bad)) << bad;
  }
}

// Found by fuzzing (protocol_fuzz): a status time from an agent in the year
// 1013 overflowed the nanosecond count (undefined behaviour) instead of
// being refused.
TEST(TimeTest, RejectsTimesATimePointCannotHold) {
  for (const char* far : {"1013-01-02T03:04:05.123456789Z", "0000-01-01T00:00:00Z",
                          "1677-09-21T00:00:00Z", "2262-04-12T00:00:00Z",
                          "9999-12-31T23:59:59.999999999-23:59"}) {
    EXPECT_FALSE(parseRfc3339(far)) << far;
  }
  auto early = parseRfc3339("1678-01-01T00:00:00.5Z");
  ASSERT_TRUE(early);
  EXPECT_EQ(formatRfc3339(*early), "1678-01-01T00:00:00.500Z");
  auto late = parseRfc3339("2261-12-31T23:59:59.999999999Z");
  ASSERT_TRUE(late);
  EXPECT_EQ(formatRfc3339(*late), "2261-12-31T23:59:59.999Z");
}

TEST(TimeTest, FormatsTimesBeforeTheEpochByFlooring) {
  // -1 ms is the last millisecond of 1969, not 1970-01-01T00:00:00.-01.
  EXPECT_EQ(formatRfc3339(TimePoint(std::chrono::milliseconds(-1))), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(formatRfc3339(TimePoint(std::chrono::microseconds(-1500))), "1969-12-31T23:59:59.998Z");
  EXPECT_EQ(formatRfc3339(TimePoint(std::chrono::seconds(951782400))),  // a leap day
            "2000-02-29T00:00:00.000Z");
}

TEST(TimeTest, UnixNanosZeroMeansUnset) {
  EXPECT_FALSE(fromUnixNanos(0));
  ASSERT_TRUE(fromUnixNanos(1'000'000'000));
  EXPECT_EQ(fromUnixNanos(1'000'000'000)->time_since_epoch(), seconds{1});
}

}  // namespace
}  // namespace zp
