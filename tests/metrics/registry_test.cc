#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "metrics/text_format.h"

namespace zp::metrics {
namespace {

TEST(TextFormat, MetricAndLabelNames) {
  EXPECT_TRUE(validMetricName("zoneplane_http_requests_total"));
  EXPECT_TRUE(validMetricName("a:b_c9"));
  EXPECT_TRUE(validMetricName("_x"));
  EXPECT_FALSE(validMetricName(""));
  EXPECT_FALSE(validMetricName("9abc"));
  EXPECT_FALSE(validMetricName("a-b"));
  EXPECT_FALSE(validMetricName("a b"));
  EXPECT_TRUE(validLabelName("method"));
  EXPECT_TRUE(validLabelName("_m1"));
  EXPECT_FALSE(validLabelName("a:b"));  // colons only in metric names
  EXPECT_FALSE(validLabelName("__name__"));
  EXPECT_FALSE(validLabelName("1a"));
  EXPECT_FALSE(validLabelName(""));
}

TEST(TextFormat, LabelValueEscaping) {
  std::string out;
  appendEscapedLabelValue(out, "a\\b\"c\nd\te");
  EXPECT_EQ(out, "a\\\\b\\\"c\\nd\te");
}

TEST(TextFormat, HelpEscapingKeepsQuotes) {
  std::string out;
  appendEscapedHelp(out, "say \"hi\"\\now\nnext");
  EXPECT_EQ(out, "say \"hi\"\\\\now\\nnext");
}

TEST(TextFormat, Values) {
  EXPECT_EQ(formatValue(0), "0");
  EXPECT_EQ(formatValue(3), "3");
  EXPECT_EQ(formatValue(-2.5), "-2.5");
  EXPECT_EQ(formatValue(0.005), "0.005");
  EXPECT_EQ(formatValue(1e20), "1e+20");
  EXPECT_EQ(formatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(formatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(formatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  // Round trip: the shortest form reads back as the same double.
  EXPECT_EQ(std::stod(formatValue(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(Registry, CounterWithLabels) {
  Registry registry;
  auto& family = registry.counter("zp_requests_total", "Requests.", {"method", "code"});
  family.with({"GET", "200"}).inc();
  family.with({"GET", "200"}).inc(2);
  family.with({"POST", "201"}).inc();
  family.with({"POST", "201"}).inc(-5);  // ignored: counters only go up
  family.with({"POST", "201"}).inc(std::numeric_limits<double>::quiet_NaN());  // ignored
  EXPECT_EQ(registry.render(),
            "# HELP zp_requests_total Requests.\n"
            "# TYPE zp_requests_total counter\n"
            "zp_requests_total{method=\"GET\",code=\"200\"} 3\n"
            "zp_requests_total{method=\"POST\",code=\"201\"} 1\n");
}

TEST(Registry, UnlabelledGaugeAndEscapedHelp) {
  Registry registry;
  auto& gauge = registry.gauge("zp_level", "A \"level\"\\n with\nnewline.").with({});
  gauge.set(5);
  gauge.dec(1.5);
  gauge.inc();
  EXPECT_EQ(gauge.value(), 4.5);
  EXPECT_EQ(registry.render(),
            "# HELP zp_level A \"level\"\\\\n with\\nnewline.\n"
            "# TYPE zp_level gauge\n"
            "zp_level 4.5\n");
}

TEST(Registry, LabelValuesAreEscaped) {
  Registry registry;
  registry.gauge("zp_g", "G.", {"path"}).with({"a\"b\\c\nd"}).set(1);
  EXPECT_NE(registry.render().find("zp_g{path=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos);
}

TEST(Registry, FamilyWithoutChildrenStillHasHelpAndType) {
  Registry registry;
  registry.counter("zp_none_total", "None yet.", {"x"});
  EXPECT_EQ(registry.render(), "# HELP zp_none_total None yet.\n# TYPE zp_none_total counter\n");
}

TEST(Registry, HistogramBucketsAreCumulative) {
  Registry registry;
  auto& h = registry.histogram("zp_duration_seconds", "D.", {"route"}, {0.1, 1, 10}).with({"/x"});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.5);
  h.observe(100);
  EXPECT_EQ(registry.render(),
            "# HELP zp_duration_seconds D.\n"
            "# TYPE zp_duration_seconds histogram\n"
            "zp_duration_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
            "zp_duration_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
            "zp_duration_seconds_bucket{route=\"/x\",le=\"10\"} 3\n"
            "zp_duration_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
            "zp_duration_seconds_sum{route=\"/x\"} 100.65\n"
            "zp_duration_seconds_count{route=\"/x\"} 4\n");
}

TEST(Registry, HistogramNaNLandsInInfOnly) {
  Registry registry;
  auto& h = registry.histogram("zp_h", "H.", {}, {1}).with({});
  h.observe(std::numeric_limits<double>::quiet_NaN());
  const auto snap = h.snapshot();
  ASSERT_EQ(snap.cumulative.size(), 2u);
  EXPECT_EQ(snap.cumulative[0], 0u);
  EXPECT_EQ(snap.cumulative[1], 1u);
  EXPECT_EQ(snap.count, 1u);
  EXPECT_TRUE(std::isnan(snap.sum));
  EXPECT_NE(registry.render().find("zp_h_sum NaN\n"), std::string::npos);
}

TEST(Registry, CollectedFamilyRunsAtEveryRender) {
  Registry registry;
  int calls = 0;
  registry.collected("zp_nodes", "Nodes.", Type::kGauge, {"state"}, [&](SampleSink& sink) {
    ++calls;
    sink.add({"Ready"}, calls);
    sink.add({"Lost"}, 0);
  });
  registry.render();
  EXPECT_EQ(registry.render(),
            "# HELP zp_nodes Nodes.\n"
            "# TYPE zp_nodes gauge\n"
            "zp_nodes{state=\"Ready\"} 2\n"
            "zp_nodes{state=\"Lost\"} 0\n");
}

TEST(Registry, FamiliesInRegistrationOrder) {
  Registry registry;
  registry.gauge("zp_b", "B.").with({}).set(1);
  registry.gauge("zp_a", "A.").with({}).set(2);
  const auto text = registry.render();
  EXPECT_LT(text.find("zp_b 1"), text.find("zp_a 2"));
}

TEST(Registry, ExponentialBuckets) {
  EXPECT_EQ(exponentialBuckets(0.001, 10, 4), (std::vector<double>{0.001, 0.01, 0.1, 1}));
}

TEST(Registry, ConcurrentUpdatesAreCounted) {
  Registry registry;
  auto& counter = registry.counter("zp_c_total", "C.", {"t"});
  auto& histogram = registry.histogram("zp_h", "H.", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        counter.with({"x"}).inc();
        histogram.with({}).observe(0.5);
        if (i % 1000 == 0) registry.render();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.with({"x"}).value(), 40'000);
  EXPECT_EQ(histogram.with({}).snapshot().count, 40'000u);
}

using RegistryDeathTest = ::testing::Test;

TEST_F(RegistryDeathTest, MisuseAborts) {
  EXPECT_DEATH(
      {
        Registry r;
        r.counter("bad-name", "x");
      },
      "invalid metric name");
  EXPECT_DEATH(
      {
        Registry r;
        r.counter("zp_x_total", "x", {"__reserved"});
      },
      "invalid label name");
  EXPECT_DEATH(
      {
        Registry r;
        r.gauge("zp_x", "x");
        r.gauge("zp_x", "x");
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Registry r;
        r.histogram("zp_x", "x", {"le"}, {1});
      },
      "histogram label named le");
  EXPECT_DEATH(
      {
        Registry r;
        r.histogram("zp_x", "x", {}, {1, 1});
      },
      "strictly increasing");
  EXPECT_DEATH(
      {
        Registry r;
        r.counter("zp_x_total", "x", {"a"}).with({"1", "2"});
      },
      "label value count");
}

}  // namespace
}  // namespace zp::metrics
