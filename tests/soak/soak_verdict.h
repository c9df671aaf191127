#pragma once
// The soak's leak verdict (docs/architecture.md §11.1): a metric sampled
// while the load runs (RSS, open fds, threads, a queue depth) leaks when it
// keeps growing after the warm-up. Pure functions over the samples, so the
// rules are tested without a stack (soak_verdict_test.cc).
//
// The rule, per series: drop the warm-up (the first `warmup_fraction` of the
// run's time), split the rest into thirds by sample count, and call it a leak
// when the median of the last third exceeds the median of the middle third
// by more than the tolerance (max(abs_tolerance, rel_tolerance * middle
// median)) AND the least-squares slope over the same samples, times their
// duration, does too: a value that plateaus (RSS once the allocator has
// warmed up) passes, one that climbs to the end does not, and a spike is not
// taken for growth (medians). A series with a drain limit must also be at or
// under it after the load has stopped and everything was deleted (queues
// back to 0); `return_to_load` instead limits it to the middle third's
// median plus the tolerance (fds and threads fall back to what the load
// needed, not above).

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace zp::soak {

struct MetricRule {
  double abs_tolerance = 0;
  double rel_tolerance = 0;
  std::optional<double> drain_limit = std::nullopt;  // after the drain: value <= this
  bool return_to_load = false;  // after the drain: value <= middle median + tolerance
};

struct Series {
  std::string daemon;  // "server", "agent-1", ...
  std::string metric;  // "rss_mib", "fds", "threads", "watchers", ...
  MetricRule rule = {};
  std::vector<double> t_seconds = {};  // since the load started, ascending
  std::vector<double> values = {};     // one per t_seconds
  std::optional<double> after_drain = std::nullopt;
};

struct Verdict {
  std::string daemon, metric;
  double start = 0, min = 0, max = 0, end = 0;
  double middle_median = 0, last_median = 0;
  double slope_per_10min = 0;  // least squares over the samples after the warm-up
  double tolerance = 0;
  std::optional<double> after_drain;
  int steady_samples = 0;
  bool leak = false;
  std::string reason;  // why it leaks, or "" (or why it could not be judged)
};

inline constexpr int kMinSteadySamples = 6;

// The verdict on one series. Fewer than kMinSteadySamples after the warm-up:
// no leak, and `reason` says it could not be judged.
Verdict judge(const Series& series, double warmup_fraction = 0.2);

// Least-squares slope of values over t (units per second); 0 for < 2 points.
double slope(const std::vector<double>& t, const std::vector<double>& values);

// The summary table (Markdown): daemon, metric, start, min, max, end, after
// drain, slope per 10 minutes, verdict.
void printTable(std::ostream& out, const std::vector<Verdict>& verdicts);

}  // namespace zp::soak
