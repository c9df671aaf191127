// POST /workloads/{id}/exec on the assembled Server with fake agents
// (docs/architecture.md §7, §9.3): roles, the answers and their codes, the
// body's validation, and the audit entry (who, workload, node, command).

#include "access_fixture.h"

namespace zp::server::testing {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using namespace std::chrono_literals;

class ServerExecTest : public AccessFixture {
 protected:
  // A workload running on the node it was placed on (`node_`, `agent_`).
  void running(const std::string& id) {
    auto created = create(spec(id));
    node_ = created.json["status"]["node"].get<std::string>();
    agent_ = node_ == "node-1" ? node1_.get() : node2_.get();
    ASSERT_TRUE(eventually([&] { return agent_->workload(id).has_value(); }));
    agent_->setState(id, api::WorkloadState::kRunning, "Started");
    waitState(id, "Running");
  }
  std::string node_;
  FakeAgent* agent_ = nullptr;
  HttpResult exec(const std::string& id, const std::string& body, const std::string& token = {}) {
    if (token.empty()) return server_->post("/workloads/" + id + "/exec", body);
    return as(token, http::verb::post, "/workloads/" + id + "/exec", body);
  }
  // The target of the last audit entry whose action is the exec route.
  std::vector<std::string> execAudit() {
    std::vector<std::string> out;
    for (const auto& e : audit()) {
      if (e["action"] == "POST /workloads/{id}/exec") {
        out.push_back(e["principal"].get<std::string>() + " " + e["target"].get<std::string>() +
                      " " + std::to_string(e["result"].get<int>()));
      }
    }
    return out;
  }
};

TEST_F(ServerExecTest, OperatorRunsACommandAndViewerIsRefused) {
  running("web");
  const std::string viewer = newToken("watcher", "viewer");
  const std::string op = newToken("ops", "operator");

  auto refused = exec("web", R"({"command":["id"]})", viewer);
  EXPECT_EQ(refused.status, 403u) << refused.body;
  EXPECT_TRUE(agent_->execs().empty());

  auto ran = exec("web", R"({"command":["sh","-c","echo hi"],"timeout_seconds":7})", op);
  ASSERT_EQ(ran.status, 200u) << ran.body;
  EXPECT_EQ(ran.json, (json{{"exit_code", 0},
                            {"stdout", "sh\n-c\necho hi\n"},
                            {"stderr", ""},
                            {"stdout_truncated", false},
                            {"stderr_truncated", false}}));
  auto execs = agent_->execs();
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].workload_id, "web");
  EXPECT_EQ(execs[0].uid, agentUid(*agent_, "web"));
  EXPECT_EQ(execs[0].timeout_ms, 7000);
  EXPECT_EQ(execs[0].max_output_bytes, protocol::kMaxExecOutputBytes);

  // Both audited: the refusal by its workload, the exec with node and command.
  EXPECT_EQ(execAudit(), (std::vector<std::string>{
                             "watcher web 403",
                             "ops web on " + node_ + ": sh -c 'echo hi' 200",
                         }));
}

TEST_F(ServerExecTest, AnswersAndCodesOfTheAgent) {
  running("web");
  agent_->setExecAnswer([](const protocol::ExecSync& m) -> protocol::ReplyBody {
    if (m.command[0] == "slow") {
      return protocol::ErrorReply{Error{Code::kDeadlineExceeded,
                                        "the command did not finish within 1 s", "timeout_seconds"},
                                  m.workload_id};
    }
    if (m.command[0] == "busy") {
      return protocol::ErrorReply{Error{Code::kResourceExhausted, "node runs 16 execs", ""},
                                  m.workload_id};
    }
    if (m.command[0] == "gone") {
      return protocol::ErrorReply{Error{Code::kNotFound, "no workload", "id"}, m.workload_id};
    }
    return protocol::ExecResult{42, "out\xEF\xBF\xBD", "err", true, false};
  });
  auto result = exec("web", R"({"command":["x"]})");
  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(result.json["exit_code"], 42);
  EXPECT_EQ(result.json["stdout"], "out\xEF\xBF\xBD");
  EXPECT_EQ(result.json["stdout_truncated"], true);
  EXPECT_EQ(agent_->execs().back().timeout_ms, 10'000);  // the default

  auto slow = exec("web", R"({"command":["slow"],"timeout_seconds":1})");
  EXPECT_EQ(slow.status, 504u) << slow.body;
  EXPECT_EQ(slow.json["error"]["code"], "DeadlineExceeded");
  EXPECT_EQ(exec("web", R"({"command":["busy"]})").status, 503u);
  auto gone = exec("web", R"({"command":["gone"]})");
  EXPECT_EQ(gone.status, 409u) << gone.body;
}

TEST_F(ServerExecTest, UnknownPendingAndUnplacedWorkloads) {
  auto missing = exec("nope", R"({"command":["true"]})");
  EXPECT_EQ(missing.status, 404u) << missing.body;

  create(spec("starting"));
  ASSERT_TRUE(eventually([&] {
    return node1_->workload("starting").has_value() || node2_->workload("starting").has_value();
  }));
  auto pending = exec("starting", R"({"command":["true"]})");
  EXPECT_EQ(pending.status, 409u) << pending.body;
  EXPECT_NE(pending.json["error"]["message"].get<std::string>().find("not Running"),
            std::string::npos);

  // Bigger than any node: accepted Pending/Unschedulable, never placed.
  create(spec("huge", "native", 100'000));
  auto unplaced = exec("huge", R"({"command":["true"]})");
  EXPECT_EQ(unplaced.status, 409u) << unplaced.body;
  EXPECT_TRUE(node1_->execs().empty());
  EXPECT_TRUE(node2_->execs().empty());
}

TEST_F(ServerExecTest, NodeNotReadyIs503) {
  running("web");
  agent_->stop();  // connections close, new ones are refused
  ASSERT_TRUE(waitNodeState(node_, NodeState::kNotReady));
  auto res = exec("web", R"({"command":["true"]})");
  EXPECT_EQ(res.status, 503u) << res.body;
  EXPECT_TRUE(agent_->execs().empty());
}

TEST_F(ServerExecTest, InvalidBodiesAre400AndAudited) {
  running("web");
  const std::string long_arg(protocol::kMaxExecArgBytes + 1, 'a');
  json many = json::array();
  for (std::size_t i = 0; i <= protocol::kMaxExecArgs; ++i) many.push_back("a");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{not json", ""},
      {R"(["id"])", ""},
      {R"({})", "command"},
      {R"({"command":[]})", "command"},
      {R"({"command":"id"})", "command"},
      {R"({"command":["id",1]})", "command[1]"},
      {R"({"command":[""]})", "command[0]"},
      {R"({"command":["a\u0000b"]})", "command[0]"},
      {json{{"command", {long_arg}}}.dump(), "command[0]"},
      {json{{"command", many}}.dump(), "command"},
      {R"({"command":["id"],"timeout_seconds":0})", "timeout_seconds"},
      {R"({"command":["id"],"timeout_seconds":301})", "timeout_seconds"},
      {R"({"command":["id"],"timeout_seconds":"5"})", "timeout_seconds"},
      {R"({"command":["id"],"tty":true})", "tty"},
  };
  for (const auto& [body, field] : bad) {
    auto res = exec("web", body);
    EXPECT_EQ(res.status, 400u) << body << ": " << res.body;
    EXPECT_EQ(res.json["error"]["code"], "InvalidArgument") << body;
    if (!field.empty()) {
      EXPECT_EQ(res.json["error"].value("field", ""), field) << body;
    }
  }
  EXPECT_TRUE(agent_->execs().empty());
  EXPECT_EQ(execAudit().size(), bad.size());
  EXPECT_EQ(server_->post("/workloads/web/exec?x=1", R"({"command":["id"]})").status, 400u);
}

TEST_F(ServerExecTest, TheAuditedCommandIsBounded) {
  running("web");
  json command = json::array();
  for (int i = 0; i < 64; ++i) command.push_back(std::string(4000, 'x'));
  auto res = exec("web", json{{"command", command}}.dump());
  ASSERT_EQ(res.status, 200u);
  auto entries = execAudit();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_LE(entries[0].size(), 300u);
  EXPECT_NE(entries[0].find("web on " + node_ + ": xxx"), std::string::npos);
}

// A long workload id and a long command of multi-byte characters pass the
// audit field's bound: it is cut between characters, so the stored entry
// stays valid UTF-8 (no U+FFFD where a character was split).
TEST_F(ServerExecTest, TheAuditedCommandIsCutBetweenCharacters) {
  const std::string id(63, 'w');
  running(id);
  std::string wide;
  for (int i = 0; i < 400; ++i) wide += "\u00e9";  // é, two bytes each
  auto res = exec(id, json{{"command", json::array({"echo", wide})}}.dump());
  ASSERT_EQ(res.status, 200u) << res.body;
  auto entries = execAudit();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].find("\xEF\xBF\xBD"), std::string::npos) << entries[0];
  EXPECT_NE(entries[0].find(id + " on " + node_ + ": echo '\u00e9\u00e9"), std::string::npos)
      << entries[0];
}

}  // namespace
}  // namespace zp::server::testing
