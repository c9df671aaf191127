// The soak (docs/architecture.md §11.1, scripts/soak): a steady mix of
// submits, exits, deletes, log follows and watches against a real server and
// three agents for ZONEPLANE_SOAK_MINUTES, sampling both daemons, then a
// drain; fails on any error and on any series whose growth does not level
// off (soak_verdict.h). Prints the summary table and appends it to
// $ZONEPLANE_SOAK_REPORT; the raw samples go to $ZONEPLANE_SOAK_SAMPLES (CSV).

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "soak_load.h"

namespace zp::soak {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void writeSamples(const std::string& path, const std::vector<Series>& all) {
  std::ofstream out(path);
  out << "daemon,metric,t_seconds,value\n";
  for (const auto& s : all) {
    for (std::size_t i = 0; i < s.values.size(); ++i) {
      out << s.daemon << ',' << s.metric << ',' << s.t_seconds[i] << ',' << s.values[i] << '\n';
    }
    if (s.after_drain)
      out << s.daemon << ',' << s.metric << ",after_drain," << *s.after_drain << '\n';
  }
}

TEST_F(SoakTest, SteadyMixLevelsOff) {
  const double minutes = envNumber("ZONEPLANE_SOAK_MINUTES", 2);
  const auto max_live = static_cast<std::size_t>(envNumber("ZONEPLANE_SOAK_MAX_LIVE", 30));
  const auto submit_every =
      std::chrono::milliseconds(static_cast<long>(envNumber("ZONEPLANE_SOAK_SUBMIT_MS", 1000)));
  const auto sample_every = std::chrono::seconds(
      static_cast<long>(envNumber("ZONEPLANE_SOAK_SAMPLE_SECONDS", minutes < 5 ? 2 : 5)));
  // A run of a few minutes is mostly the allocator warming up: RSS gets room.
  rss_rel_tolerance_ = minutes < 5 ? 0.25 : 0.10;

  startCluster();
  if (HasFatalFailure() || HasFailure()) return;

  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(minutes * 60));
  std::atomic<bool> stop_load{false}, stop_sampler{false};
  std::thread sampler([&] { samplerLoop(stop_sampler, start, sample_every); });
  std::thread logs([&] { logStreams(stop_load); });
  std::thread watches([&] { watchStreams(stop_load); });

  auto next_submit = start;
  auto next_reap = start;
  while (Clock::now() < end) {
    const auto now = Clock::now();
    if (now >= next_submit) {
      if (liveCount() < max_live) submitOne();
      next_submit = std::max(next_submit + submit_every, now);
    }
    if (now >= next_reap) {
      reap();
      next_reap = Clock::now() + 1s;
    }
    std::this_thread::sleep_for(100ms);
  }
  stop_sampler = true;
  sampler.join();
  stop_load = true;
  logs.join();
  watches.join();

  // The drain: everything deleted, then the daemons given a moment to settle
  // before the after-drain samples (the lowest of three rounds is kept).
  drain(120s);
  std::this_thread::sleep_for(5s);
  const double t_end = std::chrono::duration<double>(Clock::now() - start).count();
  for (int round = 0; round < 3; ++round) {
    sampleAll(t_end, true);
    std::this_thread::sleep_for(2s);
  }

  std::vector<Verdict> verdicts;
  for (const auto& s : series()) verdicts.push_back(judge(s));
  std::ostringstream report;
  report << "soak: " << minutes << " min, 1 server + " << agents_.size() << " agents, at most "
         << max_live << " live workloads, a submission every " << submit_every.count()
         << " ms, samples every " << sample_every.count() << " s\n\n";
  printTable(report, verdicts);
  report << "\nworkloads: submitted " << counts_.submitted << ", succeeded " << counts_.succeeded
         << ", failed (exit 1, as meant) " << counts_.failed << ", deleted " << counts_.deleted
         << " (" << counts_.deleted_running << " while running), errors " << counts_.errors
         << ", sandboxes left after the drain " << sandboxes_left_ << "\nstreams: logs --follow "
         << counts_.log_streams << " (" << counts_.log_lines << " lines), watches "
         << counts_.watch_streams << " (" << counts_.watch_lines << " lines)\n";
  std::cout << "\n" << report.str() << std::endl;
  if (const auto path = testsupport::env("ZONEPLANE_SOAK_REPORT"); !path.empty()) {
    std::ofstream(path, std::ios::app) << report.str();
  }
  if (const auto path = testsupport::env("ZONEPLANE_SOAK_SAMPLES"); !path.empty()) {
    writeSamples(path, series());
  }

  EXPECT_GT(counts_.submitted, 0);
  EXPECT_GT(counts_.log_streams, 0);
  EXPECT_GT(counts_.watch_streams, 0);
  EXPECT_EQ(counts_.errors, 0) << [&] {
    std::string all;
    for (const auto& e : errorMessages()) all += "\n  " + e;
    return all;
  }();
  for (const auto& v : verdicts)
    EXPECT_FALSE(v.leak) << v.daemon << " " << v.metric << ": " << v.reason;
}

}  // namespace
}  // namespace zp::soak
