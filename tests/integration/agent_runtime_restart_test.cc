// A runtime restart (issue 5 §5, "A runtime restart fails new workloads for
// good"): containerd is killed (-9) and started again with the same root and
// state by `scripts/stack restart-containerd`. Workloads submitted while it is
// down wait as Pending/RuntimeUnavailable instead of failing, a running one is
// shown Unknown/RuntimeUnavailable rather than a stale Running, and once
// containerd is back everything runs, the existing container untouched.
//
// This restarts the shared containerd of the stack for a few seconds.

#include <future>

#include "agent_fixture.h"

#ifndef ZP_STACK_SCRIPT
#error "ZP_STACK_SCRIPT must name scripts/stack (see CMakeLists.txt)"
#endif

namespace zp::agent_it {
namespace {

class RuntimeRestart : public AgentIntegrationTest {
 protected:
  // Runs `scripts/stack restart-containerd ARGS` in the background; its output
  // goes to the test's directory. The future gives the exit status.
  std::future<int> restartContainerd(const std::string& args) {
    const std::string command = std::string(ZP_STACK_SCRIPT) + " restart-containerd " + args +
                                " >>" + (dir_ / "restart.log").string() + " 2>&1";
    return std::async(std::launch::async, [command] { return std::system(command.c_str()); });
  }
  // Whatever happened, containerd must be up again for everyone else.
  void ensureContainerdUp(int rc) {
    if (rc == 0) return;
    ADD_FAILURE() << "restart-containerd failed (" << rc << "):\n"
                  << readFile(dir_ / "restart.log");
    std::system((std::string(ZP_STACK_SCRIPT) + " start >/dev/null 2>&1").c_str());
  }
  bool containerdDown() { return !cri_->ping({.timeout = 1s}).has_value(); }
  // The test's own CRI client reconnects too (its channel was broken).
  void waitCriReady() {
    ASSERT_TRUE(waitFor(
        [&] { return cri_->ping({.timeout = 2s, .wait_for_ready = true}).has_value(); }, 60s));
  }
};

TEST_F(RuntimeRestart, WorkloadsSubmittedWhileContainerdIsDownRunOnceItIsBack) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto existing = workloadId("existing");
  ASSERT_EQ(startWorkload(workload(existing, {"sleep", "300"})).value("type", ""), "Status");
  Json before;
  ASSERT_TRUE(waitState(existing, "Running", 60s, before)) << before.dump();

  auto restarted = restartContainerd("--kill --down 5");
  ASSERT_TRUE(waitFor([&] { return containerdDown(); }, 30s)) << "containerd did not go down";

  // Submitted at once, while it is down: they wait, they do not fail.
  std::vector<std::string> fresh;
  for (int i = 0; i < 3; ++i) {
    fresh.push_back(workloadId("fresh"));
    ASSERT_EQ(startWorkload(workload(fresh.back(), {"sleep", "300"})).value("type", ""), "Status");
  }
  Json st;
  for (const auto& id : fresh) {
    EXPECT_TRUE(waitStatus(
        id, [](const Json& s) { return s.value("reason", "") == "RuntimeUnavailable"; }, 30s, st))
        << st.dump();
    EXPECT_EQ(st.value("state", ""), "Pending") << st.dump();
  }
  // The running workload is not presented as fresh.
  EXPECT_TRUE(waitStatus(
      existing,
      [](const Json& s) {
        return s.value("state", "") == "Unknown" && s.value("reason", "") == "RuntimeUnavailable";
      },
      30s, st))
      << st.dump();
  EXPECT_NE(st.value("message", "").find("last observed state: Running"), std::string::npos)
      << st.dump();

  const int rc = restarted.get();
  ensureContainerdUp(rc);
  ASSERT_EQ(rc, 0);
  ASSERT_NO_FATAL_FAILURE(waitCriReady());

  // Back: the new ones run, the existing one kept running in the same container.
  for (const auto& id : fresh) EXPECT_TRUE(waitState(id, "Running", 90s, st)) << st.dump();
  ASSERT_TRUE(waitState(existing, "Running", 60s, st)) << st.dump();
  EXPECT_EQ(st.value("container_id", ""), before.value("container_id", "")) << st.dump();
  for (const auto& id : fresh) EXPECT_EQ(sandboxesOf(id).size(), 1u) << id;

  // Right after a restart without a pause (the reconnect window of the
  // original bug), new workloads run too.
  auto quick = restartContainerd("--kill");
  const int quick_rc = quick.get();
  ensureContainerdUp(quick_rc);
  ASSERT_EQ(quick_rc, 0);
  ASSERT_NO_FATAL_FAILURE(waitCriReady());
  std::vector<std::string> after;
  for (int i = 0; i < 2; ++i) {
    after.push_back(workloadId("after"));
    ASSERT_EQ(startWorkload(workload(after.back(), {"sleep", "300"})).value("type", ""), "Status");
  }
  for (const auto& id : after) EXPECT_TRUE(waitState(id, "Running", 90s, st)) << st.dump();
  EXPECT_TRUE(waitState(existing, "Running", 60s, st)) << st.dump();
}

}  // namespace
}  // namespace zp::agent_it
