#include "cli/duration.h"

#include <gtest/gtest.h>

namespace zp::cli {
namespace {

using namespace std::chrono_literals;

Result<std::chrono::milliseconds> parse(const std::string& text) {
  return parseDuration(text, "--timeout", 1ms, 1h);
}

TEST(Duration, ABareNumberIsSeconds) {
  EXPECT_EQ(*parse("5"), 5s);
  EXPECT_EQ(*parse("2.5"), 2500ms);
  EXPECT_EQ(*parse("0.001"), 1ms);
  EXPECT_EQ(*parse(".5"), 500ms);
}

TEST(Duration, Units) {
  EXPECT_EQ(*parse("250ms"), 250ms);
  EXPECT_EQ(*parse("30s"), 30s);
  EXPECT_EQ(*parse("1.5m"), 90s);
  EXPECT_EQ(*parse("1h"), 1h);
}

TEST(Duration, OutsideTheRangeIsRefusedWithTheRange) {
  auto over = parse("61m");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().message,
            "\"61m\" is not a duration from 1ms to 1h (e.g. 30s, 2m, 1.5 for seconds)");
  EXPECT_EQ(over.error().field, "--timeout");
  EXPECT_FALSE(parse("0"));
  EXPECT_FALSE(parse("0.0004"));  // rounds to 0 ms
}

TEST(Duration, MalformedIsRefused) {
  for (const char* bad : {"", "s", "ms", "-1", "+1", "1 s", "1.2.3", "1d", "1sec", "1S", "1e3",
                          "nan", "inf", "1m30s", "99999999999999999999999h"}) {
    EXPECT_FALSE(parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace zp::cli
