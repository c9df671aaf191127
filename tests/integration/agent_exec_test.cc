// ExecSync through the real agent, containerd and runc of the stack
// (docs/architecture.md §3): the exec'd process has the workload's own
// restrictions (read from inside, compared with the container's process 1),
// a real timeout kills the command, a command that is not there exits 127,
// output is capped and made UTF-8, and the refusals.

#include <map>
#include <sstream>

#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

// The lines of /proc/<pid>/status that state the process's posture.
constexpr const char* kPosture =
    "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' ";

std::map<std::string, std::string> statusLines(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon != std::string::npos) out[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return out;
}

class AgentExec : public AgentIntegrationTest {
 protected:
  // Starts the agent and a workload that sleeps; returns its Running status.
  Json runningSleeper(const std::string& id) {
    Json st;
    if (!client_) startAgent();
    auto started = startWorkload(workload(id, {"sleep", "300"}));
    EXPECT_EQ(started.value("type", ""), "Status") << started.dump();
    EXPECT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
    return st;
  }
  Json exec(const std::string& id, std::vector<std::string> command, int timeout_ms = 10'000,
            const std::string& uid = {}) {
    Json request{{"type", "ExecSync"},
                 {"workload_id", id},
                 {"command", std::move(command)},
                 {"timeout_ms", timeout_ms}};
    if (!uid.empty()) request["uid"] = uid;
    return call(request);
  }
};

TEST_F(AgentExec, TheExecdProcessHasTheWorkloadsRestrictions) {
  const std::string id = workloadId("exec-posture");
  const Json st = runningSleeper(id);
  auto reply = exec(id, {"sh", "-c",
                         std::string(kPosture) + "/proc/self/status; echo ---; " + kPosture +
                             "/proc/1/status; echo id=$(id -u):$(id -g)"});
  ASSERT_EQ(reply.value("type", ""), "ExecResult") << reply.dump();
  EXPECT_EQ(reply.value("exit_code", -1), 0) << reply.dump();
  const std::string out = reply.value("stdout", "");
  const auto split = out.find("---\n");
  ASSERT_NE(split, std::string::npos) << out;
  auto self = statusLines(out.substr(0, split));
  auto init = statusLines(out.substr(split + 4));
  ASSERT_FALSE(self.empty()) << out;
  // Same user, groups, capabilities, no_new_privs and seccomp as the
  // container's own process.
  for (const char* key : {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                          "NoNewPrivs", "Seccomp"}) {
    EXPECT_EQ(self[key], init[key]) << key << "\n" << out;
  }
  // And those are the restricted posture: the workload's user, nothing more.
  const auto uid = std::to_string(st.value("run_as_user", std::int64_t{-1}));
  const auto gid = std::to_string(st.value("run_as_group", std::int64_t{-1}));
  EXPECT_EQ(self["Uid"], "\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid) << out;
  EXPECT_EQ(self["CapEff"], "\t0000000000000000") << out;
  EXPECT_EQ(self["CapBnd"], "\t0000000000000000") << out;
  EXPECT_EQ(self["NoNewPrivs"], "\t1") << out;
  EXPECT_EQ(self["Seccomp"], "\t2") << out;
  EXPECT_NE(out.find("id=" + uid + ":" + gid + "\n"), std::string::npos) << out;
}

TEST_F(AgentExec, ExitCodeAndBothStreams) {
  const std::string id = workloadId("exec-streams");
  runningSleeper(id);
  auto reply = exec(id, {"sh", "-c", "echo out; echo err >&2; exit 7"});
  ASSERT_EQ(reply.value("type", ""), "ExecResult") << reply.dump();
  EXPECT_EQ(reply.value("exit_code", -1), 7);
  EXPECT_EQ(reply.value("stdout", ""), "out\n");
  EXPECT_EQ(reply.value("stderr", ""), "err\n");
  EXPECT_EQ(reply.value("stdout_truncated", true), false);
}

TEST_F(AgentExec, ARealTimeoutKillsTheCommand) {
  const std::string id = workloadId("exec-timeout");
  runningSleeper(id);
  auto reply = exec(id, {"sleep", "5"}, 1'000);
  ASSERT_EQ(reply.value("type", ""), "Error") << reply.dump();
  EXPECT_EQ(reply.value("code", ""), "DeadlineExceeded") << reply.dump();
  EXPECT_EQ(reply.value("id", ""), id);
  // The runtime killed it: no `sleep 5` is left in the container.
  auto ps = exec(id, {"ps", "-o", "args"});
  ASSERT_EQ(ps.value("type", ""), "ExecResult") << ps.dump();
  EXPECT_EQ(ps.value("stdout", "").find("sleep 5"), std::string::npos) << ps.dump();
  // And the workload runs on.
  EXPECT_EQ(getStatus(id).value("state", ""), "Running");
}

TEST_F(AgentExec, ACommandThatIsNotThereExits127) {
  const std::string id = workloadId("exec-missing");
  runningSleeper(id);
  auto reply = exec(id, {"no-such-command", "x"});
  ASSERT_EQ(reply.value("type", ""), "ExecResult") << reply.dump();
  EXPECT_EQ(reply.value("exit_code", -1), 127) << reply.dump();
  EXPECT_NE(reply.value("stderr", "").find("no-such-command"), std::string::npos) << reply.dump();
}

TEST_F(AgentExec, OutputIsCappedAndMadeUtf8) {
  const std::string id = workloadId("exec-output");
  runningSleeper(id);
  auto reply =
      exec(id, {"sh", "-c", "head -c 100000 /dev/zero | tr '\\000' a; printf 'x\\377y' >&2"});
  ASSERT_EQ(reply.value("type", ""), "ExecResult") << reply.dump().substr(0, 300);
  EXPECT_EQ(reply.value("stdout", "").size(), 64u * 1024);
  EXPECT_TRUE(reply.value("stdout_truncated", false));
  EXPECT_EQ(reply.value("stderr", ""), "x\xEF\xBF\xBDy");
  EXPECT_FALSE(reply.value("stderr_truncated", true));
}

TEST_F(AgentExec, RefusesAnotherSubmissionAndAWorkloadNotRunning) {
  const std::string id = workloadId("exec-refused");
  const Json st = runningSleeper(id);
  auto other = exec(id, {"true"}, 10'000, "another-uid");
  EXPECT_EQ(other.value("code", ""), "FailedPrecondition") << other.dump();
  EXPECT_EQ(exec(id, {"true"}, 10'000, st.value("uid", "")).value("type", ""), "ExecResult");

  const std::string done = workloadId("exec-done");
  Json end;
  startWorkload(workload(done, {"true"}));
  ASSERT_TRUE(waitTerminal(done, 60s, end)) << end.dump();
  EXPECT_EQ(exec(done, {"true"}).value("code", ""), "FailedPrecondition");
  EXPECT_EQ(exec("no-such-workload", {"true"}).value("code", ""), "NotFound");
}

}  // namespace
}  // namespace zp::agent_it
