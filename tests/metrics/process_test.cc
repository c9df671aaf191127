#include "metrics/process.h"

#include <gtest/gtest.h>

namespace zp::metrics {
namespace {

TEST(ProcessMetrics, ParsesStatWithSpacesAndParensInTheName) {
  const std::string stat =
      "4242 (a b) c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
      "250 50 0 0 20 0 7 0 12345 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 "
      "1 0 0 0 0 0\n";
  auto parsed = parseProcStat(stat);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->utime_ticks, 250u);
  EXPECT_EQ(parsed->stime_ticks, 50u);
  EXPECT_EQ(parsed->threads, 7);
  EXPECT_EQ(parsed->start_ticks, 12345u);
  EXPECT_EQ(parsed->vsize_bytes, 104857600u);
  EXPECT_EQ(parsed->rss_pages, 2560);
}

TEST(ProcessMetrics, RefusesMalformedStat) {
  EXPECT_FALSE(parseProcStat(""));
  EXPECT_FALSE(parseProcStat("1 (x) S 1 2 3"));
  EXPECT_FALSE(parseProcStat("no parenthesis at all"));
}

TEST(ProcessMetrics, BootTime) {
  EXPECT_EQ(parseBootTime("cpu 1 2 3\nbtime 1700000000\nprocesses 5\n"), 1700000000);
  EXPECT_FALSE(parseBootTime("cpu 1 2 3\n"));
  EXPECT_FALSE(parseBootTime("btime x\n"));
}

TEST(ProcessMetrics, ReadsThisProcess) {
  Registry registry;
  addProcessMetrics(registry);
  const std::string text = registry.render();
  for (const char* name :
       {"\nprocess_resident_memory_bytes ", "\nprocess_open_fds ", "\nzoneplane_process_threads ",
        "\nprocess_cpu_seconds_total ", "\nprocess_start_time_seconds ", "\nprocess_max_fds "}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << " missing in:\n" << text;
  }
  EXPECT_EQ(text.find("\nprocess_open_fds 0\n"), std::string::npos);
}

}  // namespace
}  // namespace zp::metrics
