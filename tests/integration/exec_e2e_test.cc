// `zoneplane exec` end to end: the real CLI, server and agent processes and
// the stack's containerd (e2e_fixture.h). The command's output and exit code
// come through; a timeout and a refused request have their own exit codes;
// the exec is in the audit log with its node and command.

#include <nlohmann/json.hpp>

#include "e2e_fixture.h"

namespace zp::testsupport {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class ExecEndToEndTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    agent_ = &addAgent("x");
    ASSERT_TRUE(startAgent(*agent_));
    ASSERT_TRUE(startServer());
    waitForNode(agent_->id, [](const json& n) { return n["state"] == "Ready"; });
  }
  Agent* agent_ = nullptr;
};

TEST_F(ExecEndToEndTest, ExecPrintsTheOutputAndPassesTheExitCodeThrough) {
  auto created = http(cli::HttpMethod::kPost, "/workloads", spec("exec-1", "sleep 300"));
  ASSERT_EQ(created.status, 201) << created.body.dump();
  waitForState("exec-1", "Running");

  auto ran = cli({"exec", "exec-1", "--", "sh", "-c", "echo hello; echo oops >&2; exit 4"});
  EXPECT_EQ(ran.exit_code, 4) << ran.err;
  EXPECT_EQ(ran.out, "hello\n");
  EXPECT_EQ(ran.err, "oops\n");

  // The exec'd process is the workload's user, without capabilities.
  auto inside = cli({"exec", "exec-1", "--", "sh", "-c",
                     "id -u; grep -E '^(CapEff|NoNewPrivs):' /proc/self/status"});
  ASSERT_EQ(inside.exit_code, 0) << inside.err;
  const auto status = http(cli::HttpMethod::kGet, "/workloads/exec-1").body["status"];
  EXPECT_EQ(inside.out, std::to_string(status.value("run_as_user", -1)) +
                            "\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n");

  auto late = cli({"exec", "--timeout", "1s", "exec-1", "--", "sleep", "5"});
  EXPECT_EQ(late.exit_code, 124) << late.err;
  EXPECT_NE(late.err.find("did not finish within 1 s"), std::string::npos) << late.err;

  auto missing = cli({"exec", "exec-1", "--", "no-such-command"});
  EXPECT_EQ(missing.exit_code, 127) << missing.err;

  auto unknown = cli({"exec", "nope", "--", "true"});
  EXPECT_EQ(unknown.exit_code, 125);
  EXPECT_NE(unknown.err.find("nope"), std::string::npos) << unknown.err;

  // Audited: the workload, its node and the command.
  auto audit = http(cli::HttpMethod::kGet, "/audit");
  ASSERT_EQ(audit.status, 200);
  std::vector<std::string> execs;
  for (const auto& e : audit.body["items"]) {
    if (e["action"] == "POST /workloads/{id}/exec") {
      execs.push_back(e["target"].get<std::string>() + " " +
                      std::to_string(e["result"].get<int>()));
    }
  }
  EXPECT_EQ(execs,
            (std::vector<std::string>{
                "exec-1 on " + agent_->id + ": sh -c 'echo hello; echo oops >&2; exit 4' 200",
                "exec-1 on " + agent_->id +
                    ": sh -c 'id -u; grep -E '\\''^(CapEff|NoNewPrivs):'\\'' "
                    "/proc/self/status' 200",
                "exec-1 on " + agent_->id + ": sleep 5 504",
                "exec-1 on " + agent_->id + ": no-such-command 200",
                "nope (no node): true 404",
            }));
}

}  // namespace
}  // namespace zp::testsupport
