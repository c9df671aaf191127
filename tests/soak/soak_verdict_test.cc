// The soak's leak rule and /proc parsing, without a stack.

#include "soak_verdict.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>

#include "proc_sample.h"

namespace zp::soak {
namespace {

// `n` samples one every 5 s of f(t).
template <typename F>
Series make(int n, F f, MetricRule rule = {.abs_tolerance = 2, .rel_tolerance = 0.1}) {
  Series s{.daemon = "d", .metric = "m", .rule = rule};
  for (int i = 0; i < n; ++i) {
    s.t_seconds.push_back(5.0 * i);
    s.values.push_back(f(5.0 * i));
  }
  return s;
}

TEST(SoakVerdict, AFlatSeriesPasses) {
  auto v = judge(make(100, [](double) { return 50.0; }));
  EXPECT_FALSE(v.leak) << v.reason;
  EXPECT_DOUBLE_EQ(v.slope_per_10min, 0);
  EXPECT_EQ(v.start, 50);
  EXPECT_EQ(v.end, 50);
}

TEST(SoakVerdict, GrowthThatLevelsOffPasses) {
  // Climbs to 100 during the first fifth, then stays within 1 of 100.
  auto v = judge(make(100, [](double t) { return t < 100 ? t : 100 + std::sin(t); }));
  EXPECT_FALSE(v.leak) << v.reason;
  EXPECT_EQ(v.min, 0);
}

TEST(SoakVerdict, GrowthToTheEndIsALeak) {
  // One more every 10 s, to the end.
  auto v = judge(make(100, [](double t) { return 20 + t / 10; }));
  EXPECT_TRUE(v.leak);
  EXPECT_NEAR(v.slope_per_10min, 60, 1e-6);
  EXPECT_NE(v.reason.find("still growing"), std::string::npos) << v.reason;
}

TEST(SoakVerdict, OneSpikeAtTheEndIsNoLeak) {
  // One outlier moves the fit, not the last third's median.
  auto s = make(100, [](double) { return 10.0; });
  s.values.back() = 200;
  auto v = judge(s);
  EXPECT_FALSE(v.leak) << v.reason;
}

TEST(SoakVerdict, AQueueNotEmptyAfterTheDrainIsALeak) {
  auto s = make(100, [](double t) { return std::fmod(t, 3); },
                {.abs_tolerance = 2, .rel_tolerance = 0.25, .drain_limit = 0});
  s.after_drain = 0;
  EXPECT_FALSE(judge(s).leak);
  s.after_drain = 1;
  auto v = judge(s);
  EXPECT_TRUE(v.leak);
  EXPECT_NE(v.reason.find("after the drain"), std::string::npos) << v.reason;
}

TEST(SoakVerdict, FdsAboveTheLoadAfterTheDrainAreALeak) {
  auto s = make(100, [](double) { return 40.0; },
                {.abs_tolerance = 4, .rel_tolerance = 0.1, .return_to_load = true});
  s.after_drain = 30;
  EXPECT_FALSE(judge(s).leak);
  s.after_drain = 45;
  EXPECT_TRUE(judge(s).leak);
}

TEST(SoakVerdict, TooFewSamplesAreNotJudged) {
  auto v = judge(make(5, [](double t) { return t * 100; }));
  EXPECT_FALSE(v.leak);
  EXPECT_NE(v.reason.find("too few"), std::string::npos);
}

TEST(ProcSample, StatusFields) {
  const std::string status =
      "Name:\tzoneplane-agent\nVmRSS:\t   12345 kB\nThreads:\t7\nVmRSSx: 1\n";
  EXPECT_EQ(statusField(status, "VmRSS"), 12345);
  EXPECT_EQ(statusField(status, "Threads"), 7);
  EXPECT_EQ(statusField(status, "VmSwap"), std::nullopt);
  EXPECT_EQ(statusField(status, "Name"), std::nullopt);  // not a number
  EXPECT_EQ(statusField("Threads:\n", "Threads"), std::nullopt);
}

TEST(ProcSample, ThisProcess) {
  auto s = sampleProc(::getpid());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_GT(s->rss_mib, 0);
  EXPECT_GE(s->fds, 3);
  EXPECT_GE(s->threads, 1);
  EXPECT_EQ(sampleProc(-5).error().code, Code::kNotFound);
}

}  // namespace
}  // namespace zp::soak
