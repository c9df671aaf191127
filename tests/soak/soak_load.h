#pragma once
// SoakTest: the end-to-end fixture (real server and agents, TLS and an admin
// token, tests/integration/e2e_fixture.h) plus the soak's load and sampling.
//
// Load (docs/architecture.md §11.1), placed by the spread scheduler: one
// submission every submit interval while fewer than max_live workloads are
// live, cycling through ten kinds: six that print and exit 0, two that exit
// 1, two long ones that print a line a second until deleted after 20-40 s. Finished workloads are
// checked (Succeeded/exit 0, Failed/exit 1) and deleted. Two stream threads open and close streams
// all the time: `zoneplane logs --follow` of a running long workload for 4 s, and `GET
// /workloads?watch=true` (curl) for 3 s.
//
// Sampling: every sample interval, /proc of the server and each agent (RSS,
// fds, threads) and the server's GET /stats (its backlogs and each node's
// link: calls, log streams, workloads placed and known to the agent).
//
// Threads: the test's thread runs the submit/reap loop; two stream threads
// and one sampler thread run beside it. live_ and the counters are shared
// under mu_ (or atomic); series_ belongs to whoever samples (the sampler
// during the load, the test's thread after it).

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "e2e_fixture.h"
#include "soak_verdict.h"

namespace zp::soak {

struct SoakCounts {
  std::atomic<int> submitted{0}, succeeded{0}, failed{0}, deleted{0}, deleted_running{0};
  std::atomic<int> errors{0};
  std::atomic<int> log_streams{0}, log_lines{0}, watch_streams{0}, watch_lines{0};
};

class SoakTest : public testsupport::E2eTest {
 protected:
  enum class Kind { kOk, kFail, kLong };
  struct Tracked {
    Kind kind;
    std::chrono::steady_clock::time_point submitted;
    std::chrono::seconds lifetime{0};  // kLong: deleted this long after it runs
    bool running = false;
  };

  // Settings from the environment: ZONEPLANE_SOAK_MINUTES (default 2),
  // ZONEPLANE_SOAK_MAX_LIVE (30), ZONEPLANE_SOAK_SUBMIT_MS (1000),
  // ZONEPLANE_SOAK_SAMPLE_SECONDS (5, 2 for runs under 5 minutes).
  static double envNumber(const char* name, double fallback);

  // Starts three agents and the server, waits until every node is Ready.
  void startCluster();
  // One submission of the next kind; counts and tracks it.
  void submitOne();
  // Checks every live workload: finished ones are checked and deleted, long
  // ones past their lifetime deleted, stuck ones reported.
  void reap();
  // Deletes every live workload and waits until the server and every agent
  // hold none (at most `timeout`); then counts the sandboxes containerd
  // still has of the soak's nodes into sandboxes_left_ (an error unless 0).
  void drain(std::chrono::seconds timeout);
  std::size_t liveCount();

  void logStreams(const std::atomic<bool>& stop);
  void watchStreams(const std::atomic<bool>& stop);
  void samplerLoop(const std::atomic<bool>& stop, std::chrono::steady_clock::time_point start,
                   std::chrono::seconds interval);
  // One round of samples at `t` seconds: into series_, or (after_drain) into
  // the series' after-drain values (the lowest of the rounds kept).
  void sampleAll(double t, bool after_drain);

  void error(const std::string& what);
  std::vector<Series> series() const;
  std::vector<std::string> errorMessages();

  SoakCounts counts_;
  double rss_rel_tolerance_ = 0.10;
  int sandboxes_left_ = -1;  // after the drain; -1 before it counted them

 private:
  void add(const std::string& daemon, const std::string& metric, const MetricRule& rule, double t,
           double value, bool after_drain);
  bool removeWorkload(const std::string& id, bool running);

  std::mutex mu_;
  std::map<std::string, Tracked> live_;
  std::set<std::string> deleted_ids_;
  std::vector<std::string> error_messages_;
  std::vector<std::string> series_order_;
  std::map<std::string, Series> series_;  // by daemon/metric
  int next_ = 0;
};

}  // namespace zp::soak
