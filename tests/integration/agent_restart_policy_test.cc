// restart_policy on the real agent and containerd: the agent recreates an
// exited container in the same sandbox with the next CRI attempt after a
// back-off, showing Pending/BackOff with the exit code in between.

#include <algorithm>
#include <thread>

#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

using RestartPolicy = AgentIntegrationTest;

// Reads pushes for `id` until `done(status)`; returns every status seen.
std::vector<Json> watch(LineClient& subscriber, const std::string& id,
                        const std::function<bool(const Json&)>& done) {
  std::vector<Json> seen;
  while (true) {
    auto line = subscriber.readJson(120s);
    if (!line) {
      ADD_FAILURE() << line.error().toString() << " after " << seen.size() << " events"
                    << (seen.empty() ? "" : "; last " + seen.back().dump());
      return seen;
    }
    if (line->value("type", "") != "WorkloadEvent") continue;
    const auto& status = (*line)["workload"];
    if (status.value("id", "") != id) continue;
    seen.push_back(status);
    if (done(status)) return seen;
  }
}

TEST_F(RestartPolicy, OnFailureRestartsAFailingContainerInItsSandbox) {
  ASSERT_NO_FATAL_FAILURE(startAgent({"--restart-backoff-initial-ms", "200"}));
  auto subscriber = connect(/*subscribe=*/true);
  const auto id = workloadId("ag-onfailure");
  auto spec = workload(id, {"sh", "-c", "echo hi; exit 3"});
  spec["restart_policy"] = "OnFailure";
  ASSERT_EQ(startWorkload(spec).value("type", ""), "Status");

  auto seen = watch(subscriber, id, [](const Json& s) {
    return s.value("restart_count", 0) >= 2 || s.value("state", "") == "Failed" ||
           s.value("state", "") == "Succeeded";
  });
  ASSERT_FALSE(seen.empty());
  ASSERT_GE(seen.back().value("restart_count", 0), 2) << seen.back().dump();
  // Between attempts: Pending/BackOff with the exit code; never final.
  int backoffs = 0;
  for (const auto& s : seen) {
    EXPECT_NE(s.value("state", ""), "Failed") << s.dump();
    if (s.value("reason", "") == "BackOff") {
      ++backoffs;
      EXPECT_EQ(s.value("state", ""), "Pending") << s.dump();
      EXPECT_EQ(s.value("exit_code", -1), 3) << s.dump();
    }
  }
  EXPECT_GE(backoffs, 2);

  // One sandbox throughout; the container of the current attempt only.
  const auto sandboxes = sandboxesOf(id);
  ASSERT_EQ(sandboxes.size(), 1u);
  EXPECT_EQ(sandboxes[0].id(), seen.back().value("sandbox_id", "")) << seen.back().dump();
  Json st;
  ASSERT_TRUE(waitStatus(
      id, [](const Json& s) { return s.value("restart_count", 0) >= 2 && !s.value("container_id", "").empty(); },
      60s, st))
      << st.dump();
  const auto containers = containersOf(id);
  ASSERT_GE(containers.size(), 1u);
  unsigned newest = 0;
  for (const auto& c : containers) newest = std::max(newest, c.metadata().attempt());
  EXPECT_GE(newest, 2u);
  EXPECT_LE(containers.size(), 2u);  // at most a restart's predecessor not removed yet
  // The log of the current attempt.
  EXPECT_NE(st.value("log_path", "").find("main."), std::string::npos) << st.dump();

  auto removed = removeWorkload(id, 0);
  EXPECT_EQ(removed.value("type", ""), "Removed") << removed.dump();
  EXPECT_TRUE(sandboxesOf(id).empty());
}

TEST_F(RestartPolicy, AlwaysRestartsAContainerThatSucceeded) {
  ASSERT_NO_FATAL_FAILURE(startAgent({"--restart-backoff-initial-ms", "200"}));
  const auto id = workloadId("ag-always");
  auto spec = workload(id, {"sh", "-c", "exit 0"});
  spec["restart_policy"] = "Always";
  ASSERT_EQ(startWorkload(spec).value("type", ""), "Status");
  Json st;
  ASSERT_TRUE(waitStatus(
      id,
      [](const Json& s) {
        return s.value("restart_count", 0) >= 1 || s.value("state", "") == "Succeeded" ||
               s.value("state", "") == "Failed";
      },
      120s, st))
      << st.dump();
  EXPECT_GE(st.value("restart_count", 0), 1) << st.dump();
  EXPECT_NE(st.value("state", ""), "Succeeded") << st.dump();
  EXPECT_EQ(sandboxesOf(id).size(), 1u);
}

TEST_F(RestartPolicy, NeverLeavesAnExitFinal) {
  ASSERT_NO_FATAL_FAILURE(startAgent({"--restart-backoff-initial-ms", "200"}));
  const auto id = workloadId("ag-never");
  ASSERT_EQ(startWorkload(workload(id, {"sh", "-c", "exit 3"})).value("type", ""), "Status");
  Json st;
  ASSERT_TRUE(waitTerminal(id, 120s, st)) << st.dump();
  EXPECT_EQ(st.value("state", ""), "Failed") << st.dump();
  EXPECT_EQ(st.value("exit_code", -1), 3) << st.dump();
  std::this_thread::sleep_for(1s);  // several back-offs' worth: nothing restarts it
  auto later = getStatus(id);
  EXPECT_EQ(later.value("state", ""), "Failed") << later.dump();
  EXPECT_EQ(later.value("restart_count", -1), 0) << later.dump();
  EXPECT_EQ(containersOf(id).size(), 1u);
}

}  // namespace
}  // namespace zp::agent_it
