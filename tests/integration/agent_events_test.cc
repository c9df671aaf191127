// Status pushes on the real agent and containerd: a subscribed connection is
// told a workload's progress as it happens (WorkloadEvent, no req), without
// asking.

#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

class Events : public AgentIntegrationTest {
 protected:
  // Starts workload `name` that runs 3 s and exits with `code`, and waits
  // until it is Running (the start pipeline does not see the exit itself),
  // then until the agent shows its exit: Failed with that code, in `last`.
  void runUntilItExits(const std::string& name, int code, Json& last) {
    const auto id = workloadId(name);
    const std::string script = "sleep 3; exit " + std::to_string(code);
    ASSERT_EQ(startWorkload(workload(id, {"sh", "-c", script})).value("type", ""), "Status");
    ASSERT_TRUE(waitState(id, "Running", 30s, last)) << last.dump();
    ASSERT_TRUE(waitTerminal(id, 30s, last)) << last.dump();
    EXPECT_EQ(last.value("state", ""), "Failed") << last.dump();
    EXPECT_EQ(last.value("exit_code", -1), code) << last.dump();
  }
};

TEST_F(Events, ASubscriberIsToldTheWorkloadSucceeded) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  auto subscriber = connect(/*subscribe=*/true);
  const auto id = workloadId("ag-pushed");
  ASSERT_EQ(startWorkload(workload(id, {"sh", "-c", "exit 0"})).value("type", ""), "Status");

  std::vector<Json> events;
  std::string last_state;
  while (last_state != "Succeeded") {
    auto line = subscriber.readJson(120s);
    ASSERT_TRUE(line.has_value()) << line.error().toString() << " after " << events.size()
                                  << " events; last state " << last_state;
    ASSERT_EQ(line->value("type", ""), "WorkloadEvent") << line->dump();
    EXPECT_FALSE(line->contains("req")) << line->dump();
    const auto& status = (*line)["workload"];
    if (status.value("id", "") != id) continue;
    events.push_back(status);
    last_state = status.value("state", "");
    ASSERT_NE(last_state, "Failed") << status.dump();
  }
  const auto& done = events.back();
  EXPECT_EQ(done.value("exit_code", -1), 0) << done.dump();
  EXPECT_EQ(done.value("reason", ""), "Completed") << done.dump();
  EXPECT_EQ(done.value("node", ""), node_id_) << done.dump();
  EXPECT_FALSE(done.value("container_id", "").empty()) << done.dump();
  EXPECT_EQ(events.front().value("state", ""), "Pending") << events.front().dump();
  // What was pushed last is what the node reports.
  auto status = getStatus(id);
  EXPECT_EQ(status.value("state", ""), "Succeeded") << status.dump();
  EXPECT_EQ(status.value("finished_at", ""), done.value("finished_at", "")) << status.dump();
}

// containerd 1.6 streams no container events, so with the sweep a minute
// apart and the exit hints off only the exit relist can show an exit within
// the test's wait (the first sweep comes a full interval after the start).
TEST_F(Events, TheExitRelistShowsAnExitLongBeforeTheSweep) {
  ASSERT_NO_FATAL_FAILURE(startAgent({"--status-interval-ms", "60000", "--exit-relist-interval-ms",
                                      "20", "--exit-hints", "false"}));
  Json last;
  ASSERT_NO_FATAL_FAILURE(runUntilItExits("ag-relist", 3, last));
  EXPECT_EQ(last.value("reason", ""), "Error") << last.dump();
}

// The same with the relist off instead: the removal of the container's cgroup
// (runc's, below the agent's pod cgroup) is what brings the sweep forward.
TEST_F(Events, TheCgroupExitHintShowsAnExitLongBeforeTheSweep) {
  ASSERT_NO_FATAL_FAILURE(startAgent(
      {"--status-interval-ms", "60000", "--exit-relist-interval-ms", "0", "--exit-hints", "true"}));
  Json last;
  ASSERT_NO_FATAL_FAILURE(runUntilItExits("ag-hint", 4, last));
}

}  // namespace
}  // namespace zp::agent_it
