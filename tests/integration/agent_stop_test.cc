// Grace periods hold no thread (issue 5 §5, "Stops starve everything"):
// four removals that each wait out a 20 s grace period for containers that
// ignore SIGTERM must not delay a fifth removal with no grace period, nor the
// status sweep (an exiting canary is observed meanwhile). Before the fix the
// four took every control thread: the fifth waited 20 s, statuses froze.

#include <set>

#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

using Stops = AgentIntegrationTest;

TEST_F(Stops, LongGracePeriodsDelayNeitherAQuickRemovalNorTheSweep) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  // `sleep` is PID 1 of its container's PID namespace: it has no SIGTERM
  // handler, so the kernel drops SIGTERM and only SIGKILL (after the grace
  // period) ends it.
  std::vector<std::string> stubborn;
  for (int i = 0; i < 4; ++i) stubborn.push_back(workloadId("stubborn"));
  const auto quick = workloadId("quick");
  for (const auto& id : stubborn) {
    ASSERT_EQ(startWorkload(workload(id, {"sleep", "300"})).value("type", ""), "Status");
  }
  ASSERT_EQ(startWorkload(workload(quick, {"sleep", "300"})).value("type", ""), "Status");
  Json st;
  for (const auto& id : stubborn) ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  ASSERT_TRUE(waitState(quick, "Running", 60s, st)) << st.dump();
  // The canary exits a few seconds from now, while the grace periods run.
  const auto canary = workloadId("canary");
  ASSERT_EQ(startWorkload(workload(canary, {"sh", "-c", "sleep 3; exit 0"})).value("type", ""),
            "Status");
  ASSERT_TRUE(waitState(canary, "Running", 60s, st)) << st.dump();

  // All five removals in flight at once on one connection; the four first.
  auto c = connect();
  for (std::size_t i = 0; i < stubborn.size(); ++i) {
    ASSERT_TRUE(c.send(Json{{"type", "RemoveWorkload"},
                            {"id", stubborn[i]},
                            {"timeout_seconds", 20},
                            {"req", "slow-" + std::to_string(i)}}));
  }
  const auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send(
      Json{{"type", "RemoveWorkload"}, {"id", quick}, {"timeout_seconds", 0}, {"req", "quick"}}));

  // The quick one is answered first, and well inside the 20 s grace period.
  auto first = c.readJson(60s);
  ASSERT_TRUE(first.has_value()) << first.error().toString();
  EXPECT_EQ(first->value("req", ""), "quick") << first->dump();
  EXPECT_EQ(first->value("type", ""), "Removed") << first->dump();
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 12s);
  EXPECT_TRUE(sandboxesOf(quick).empty());

  // The sweep goes on: the canary's exit is observed...
  ASSERT_TRUE(waitState(canary, "Succeeded", 60s, st)) << st.dump();
  // ...while the four are still in their grace period: none answered yet.
  auto early = c.readLine(0ms);
  EXPECT_FALSE(early.has_value()) << "a long-grace removal was answered before the canary's exit "
                                     "was observed: "
                                  << (early ? *early : "");
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 18s);

  // Then each of the four ends after its grace period (SIGKILL), and is gone.
  std::set<std::string> answered;
  if (early) answered.insert(Json::parse(*early).value("req", ""));
  while (answered.size() < stubborn.size()) {
    auto reply = c.readJson(90s);
    ASSERT_TRUE(reply.has_value()) << reply.error().toString();
    EXPECT_EQ(reply->value("type", ""), "Removed") << reply->dump();
    answered.insert(reply->value("req", ""));
  }
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 19s);  // the grace period was honoured
  for (const auto& id : stubborn) {
    EXPECT_TRUE(sandboxesOf(id).empty()) << id;
    EXPECT_EQ(getStatus(id).value("code", ""), "NotFound");
  }
}

}  // namespace
}  // namespace zp::agent_it
