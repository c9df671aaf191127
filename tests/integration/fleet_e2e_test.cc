// The fleet end to end (docs/architecture.md §8): three real agents on the
// real containerd, each with its own node id, port, data dir and a small
// capacity (256 MB), behind one server. Capacity exhaustion and release,
// cordon and drain, an agent killed and lost then back (exactly one copy
// afterwards), logs and watch through the CLI, and a server killed with -9.

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "e2e_fixture.h"

namespace zp::testsupport {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class FleetTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const char* name : {"a", "b", "c"}) {
      nodes_.push_back(&addAgent(name, {"--memory-mb", "256", "--cpu-millicores", "2000"}));
    }
    for (Agent* agent : nodes_) ASSERT_TRUE(startAgent(*agent));
  }

  // Fast node-loss timings, so a lost node is declared in seconds.
  std::string fleetToml() const {
    return defaultServerToml() +
           "node_not_ready_after_ms = 2000\n"
           "node_lost_after_seconds = 4\n";
  }

  void startFleetServer(std::optional<std::vector<Agent*>> nodes = std::nullopt) {
    ASSERT_TRUE(startServer(fleetToml(), nodes));
    for (Agent* agent : nodes ? *nodes : nodes_) waitReady(*agent);
  }

  void waitReady(const Agent& agent) {
    waitForNode(agent.id, [](const json& n) { return n["state"] == "Ready"; });
  }

  std::string submit(const std::string& id, const std::string& script, int memory_mb,
                     const std::string& restart = "Never") {
    auto body = json::parse(spec(id, script, "native", memory_mb));
    body["restart_policy"] = restart;
    auto created = http(cli::HttpMethod::kPost, "/workloads", body.dump());
    EXPECT_EQ(created.status, 201) << created.body.dump();
    return created.body["status"].value("node", "");
  }

  void cordon(const Agent& agent) {
    ASSERT_EQ(http(cli::HttpMethod::kPost, "/nodes/" + agent.id + "/cordon").status, 200);
  }
  void uncordon(const Agent& agent) {
    ASSERT_EQ(http(cli::HttpMethod::kPost, "/nodes/" + agent.id + "/uncordon").status, 200);
  }

  // Until the server has `n` log streams open to `agent`'s node (GET /stats).
  void waitForLogStreams(const Agent& agent, int n) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    nlohmann::json stats;
    while (std::chrono::steady_clock::now() < deadline) {
      stats = http(cli::HttpMethod::kGet, "/stats").body;
      for (const auto& node : stats["nodes"]) {
        if (node["id"] == agent.id && node["log_streams"] == n) return;
      }
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "no " << n << " log streams to node " << agent.id << ": " << stats.dump();
  }

  std::vector<Agent*> nodes_;
};

TEST_F(FleetTest, FullFleetQueuesAWorkloadAndPlacesItWhenCapacityIsReleased) {
  startFleetServer();
  // 3 nodes x 256 MB: six 128 MB workloads fill the fleet.
  std::set<std::string> used;
  for (int i = 0; i < 6; ++i) {
    used.insert(submit("full-" + std::to_string(i), "sleep 3600", 128));
  }
  EXPECT_EQ(used.size(), 3u);
  for (int i = 0; i < 6; ++i) waitForState("full-" + std::to_string(i), "Running");

  // The seventh is accepted and waits, saying why each node refused it.
  auto queued = http(cli::HttpMethod::kPost, "/workloads", spec("full-6", "sleep 3600", "native", 128));
  ASSERT_EQ(queued.status, 201) << queued.body.dump();
  EXPECT_EQ(queued.body["status"]["state"], "Pending");
  EXPECT_EQ(queued.body["status"]["reason"], "Unschedulable");
  EXPECT_EQ(queued.body["status"]["node"], "");
  const std::string message = queued.body["status"]["message"];
  EXPECT_NE(message.find("0/3 nodes available"), std::string::npos) << message;
  EXPECT_NE(message.find("3 insufficient memory"), std::string::npos) << message;
  auto nodes = http(cli::HttpMethod::kGet, "/nodes");
  for (const auto& n : nodes.body["items"]) {
    EXPECT_EQ(n["allocated"]["memory_mb"], 256) << n.dump();
    EXPECT_EQ(n["allocatable"]["memory_mb"], 0) << n.dump();
    EXPECT_EQ(n["workloads"], 2) << n.dump();
  }

  // Releasing one workload's memory places the queued one, on that node.
  const std::string freed_node =
      http(cli::HttpMethod::kGet, "/workloads/full-0").body["status"]["node"];
  ASSERT_EQ(http(cli::HttpMethod::kDelete, "/workloads/full-0?grace_seconds=0").status, 200);
  auto placed = waitForState("full-6", "Running");
  EXPECT_EQ(placed["status"]["node"], freed_node);
  EXPECT_EQ(sandboxesOf("full-6"), 1u);
  EXPECT_EQ(sandboxesOf("full-0"), 0u);
}

TEST_F(FleetTest, CordonKeepsNewWorkloadsAwayAndDrainMovesThem) {
  startFleetServer();
  Agent& a = *nodes_[0];
  Agent& b = *nodes_[1];
  Agent& c = *nodes_[2];
  cordon(a);
  cordon(c);
  // dr-move's copies each say "copy" and end on their own after 20 s: the
  // drain comes long before the first one ends.
  EXPECT_EQ(submit("dr-move", "echo copy; sleep 20", 64, "OnFailure"), b.id);
  EXPECT_EQ(submit("dr-stay", "sleep 3600", 64, "Never"), b.id);
  auto moving = waitForState("dr-move", "Running");
  waitForState("dr-stay", "Running");
  auto cordoned = http(cli::HttpMethod::kGet, "/nodes/" + a.id);
  EXPECT_EQ(cordoned.body["schedulable"], false);

  // A follow of dr-move's log, open before the drain.
  CliResult followed;
  std::jthread follower([&] { followed = cli({"logs", "-f", "dr-move"}, "timeout 60"); });
  waitForLogStreams(b, 1);

  uncordon(a);
  auto drained = cli({"nodes", "drain", b.id});
  ASSERT_EQ(drained.exit_code, 0) << drained.err;
  // OnFailure moves to the only schedulable node with a new placement;
  // Never ends Failed/Drained; b stays cordoned and runs nothing.
  auto moved = waitFor("dr-move", [&](const json& w) {
    return w["status"]["node"] == a.id && w["status"]["state"] == "Running";
  });
  EXPECT_NE(moved["status"]["uid"], moving["status"]["uid"]);
  auto stayed = waitForState("dr-stay", "Failed");
  EXPECT_EQ(stayed["status"]["reason"], "Drained");
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/nodes/" + b.id).body["schedulable"], false);
  EXPECT_EQ(sandboxesOf("dr-move", b.id), 0u);
  EXPECT_EQ(sandboxesOf("dr-move"), 1u);
  EXPECT_EQ(sandboxesOf("dr-stay", b.id), 0u);

  // The follow went on with the new copy's log on a, and ends cleanly when
  // that copy ends.
  follower.join();
  EXPECT_EQ(waitForState("dr-move", "Succeeded")["status"]["node"], a.id);
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  EXPECT_EQ(followed.out, "copy\ncopy\n");
}

TEST_F(FleetTest, KilledAgentIsLostItsWorkloadMovesAndAfterHealExactlyOneCopyRuns) {
  startFleetServer();
  Agent& a = *nodes_[0];
  cordon(*nodes_[1]);
  cordon(*nodes_[2]);
  ASSERT_EQ(submit("heal-1", "sleep 3600", 64, "Always"), a.id);
  ASSERT_EQ(submit("heal-never", "sleep 3600", 64, "Never"), a.id);
  auto first = waitForState("heal-1", "Running");
  waitForState("heal-never", "Running");
  uncordon(*nodes_[1]);
  uncordon(*nodes_[2]);

  a.process.kill9();
  waitForNode(a.id, [](const json& n) { return n["state"] == "NotReady"; }, 10s);
  // While NotReady its workloads are Unknown, not a wrong final state.
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/workloads/heal-1").body["status"]["state"], "Unknown");
  waitForNode(a.id, [](const json& n) { return n["state"] == "Lost"; }, 30s);
  auto moved = waitFor("heal-1", [&](const json& w) {
    return w["status"]["node"] != a.id && w["status"]["state"] == "Running";
  });
  EXPECT_NE(moved["status"]["uid"], first["status"]["uid"]);
  auto never = waitForState("heal-never", "Failed");
  EXPECT_EQ(never["status"]["reason"], "NodeLost");
  // The dead agent's containers still run: two copies for now.
  EXPECT_EQ(sandboxesOf("heal-1", a.id), 1u);

  // Heal: the agent comes back and is told to remove what was replaced.
  ASSERT_TRUE(startAgent(a));
  waitReady(a);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (sandboxesOf("heal-1", a.id) != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(sandboxesOf("heal-1", a.id), 0u);
  EXPECT_EQ(sandboxesOf("heal-1"), 1u);
  EXPECT_EQ(sandboxesOf("heal-never", a.id), 0u);
  auto after = http(cli::HttpMethod::kGet, "/workloads/heal-1");
  EXPECT_EQ(after.body["status"]["uid"], moved["status"]["uid"]);
  EXPECT_EQ(after.body["status"]["state"], "Running");
}

// A follow through an agent killed with -9 and started again (its
// container runs on): the CLI's body goes on after the restart with the
// next line, none lost and none twice, and ends when the workload does.
TEST_F(FleetTest, AFollowGoesOnThroughAnAgentRestart) {
  // Lost only long after the restart.
  ASSERT_TRUE(startServer(defaultServerToml() + "node_not_ready_after_ms = 2000\n"
                                                "node_lost_after_seconds = 60\n"));
  for (Agent* agent : nodes_) waitReady(*agent);
  Agent& a = *nodes_[0];
  cordon(*nodes_[1]);
  cordon(*nodes_[2]);
  ASSERT_EQ(submit("fo-1", "for i in $(seq 1 12); do echo line$i; sleep 1; done", 32), a.id);
  waitForState("fo-1", "Running");
  CliResult followed;
  std::jthread follower([&] { followed = cli({"logs", "-f", "fo-1"}, "timeout 90"); });
  waitForLogStreams(a, 1);
  std::this_thread::sleep_for(2500ms);

  a.process.kill9();
  waitForNode(
      a.id, [](const json& n) { return n["state"] == "NotReady"; }, 10s);
  std::this_thread::sleep_for(1s);  // lines written while nobody reads
  ASSERT_TRUE(startAgent(a));
  waitReady(a);

  follower.join();
  EXPECT_EQ(waitForState("fo-1", "Succeeded")["status"]["node"], a.id);
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  std::string every;
  for (int i = 1; i <= 12; ++i) every += "line" + std::to_string(i) + "\n";
  EXPECT_EQ(followed.out, every);
}

TEST_F(FleetTest, LogsAndWatchThroughTheCli) {
  startFleetServer();
  // A 40,000-byte line first: the runtime writes it in 16 KiB pieces, the
  // node sends it in pieces, and the client gets it back as one line. (The
  // runtime writes each stream on its own: a stderr line written while the
  // stdout pieces are still being written may land between them, which
  // ends the line there (README § Logs); the sleep keeps them apart.)
  submit("logs-1",
         "head -c 40000 /dev/zero | tr '\\0' x; echo; for i in 1 2 3; do echo line$i; done; "
         "sleep 1; echo oops >&2; sleep 3600",
         32);
  waitForState("logs-1", "Running");
  const auto written = std::chrono::steady_clock::now() + 60s;
  while (cli({"logs", "--stream", "stderr", "logs-1"}).out != "oops\n" &&
         std::chrono::steady_clock::now() < written) {
    std::this_thread::sleep_for(200ms);
  }
  auto tail = cli({"logs", "--tail", "2", "--stream", "stdout", "logs-1"});
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_EQ(tail.out, "line2\nline3\n");
  auto all = cli({"logs", "logs-1"});
  EXPECT_NE(all.out.find("oops"), std::string::npos) << all.out.substr(0, 200);
  EXPECT_EQ(all.out.substr(0, 40001), std::string(40000, 'x') + "\n") << all.out.substr(0, 200);
  auto stdout_only = cli({"logs", "--stream", "stdout", "--timestamps", "logs-1"});
  const auto first_line = stdout_only.out.substr(0, stdout_only.out.find('\n'));
  EXPECT_EQ(first_line.size(), 40000 + first_line.find(' ') + 1) << first_line.substr(0, 100);
  EXPECT_EQ(first_line.find('x'), first_line.find(' ') + 1);  // stamped once, at its start

  // Following ends when the workload ends, with every line.
  submit("logs-2", "echo first; sleep 2; echo second", 32);
  waitForState("logs-2", "Running");
  auto followed = cli({"logs", "-f", "logs-2"}, "timeout 60");
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  EXPECT_EQ(followed.out, "first\nsecond\n");

  // The watch prints the current workloads, then changes as they happen.
  std::thread submitter([&] {
    std::this_thread::sleep_for(1500ms);
    submit("watch-1", "sleep 1", 32);
  });
  auto watched = cli({"get", "-w"}, "timeout 8");
  submitter.join();
  EXPECT_NE(watched.out.find("logs-1"), std::string::npos) << watched.out;
  EXPECT_NE(watched.out.find("watch-1"), std::string::npos) << watched.out;
  EXPECT_NE(watched.out.find("Succeeded"), std::string::npos) << watched.out;
  // get --wait rides the same watch.
  auto waited = cli({"get", "watch-1", "--wait", "Succeeded", "--timeout", "30"});
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
}

TEST_F(FleetTest, ServerKilledWithSigkillKeepsNodesAndPlacements) {
  // Two nodes from the config; the third joins through the API.
  startFleetServer(std::vector<Agent*>{nodes_[0], nodes_[1]});
  Agent& c = *nodes_[2];
  auto added = cli({"nodes", "add", c.id, "127.0.0.1:" + std::to_string(c.port)});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  waitReady(c);
  cordon(*nodes_[0]);
  cordon(*nodes_[1]);
  ASSERT_EQ(submit("kept-1", "sleep 3600", 64, "OnFailure"), c.id);
  auto before = waitForState("kept-1", "Running");

  server_.kill9();
  ASSERT_TRUE(startServer(fleetToml(), std::vector<Agent*>{nodes_[0], nodes_[1]}));
  waitReady(c);
  auto node = http(cli::HttpMethod::kGet, "/nodes/" + c.id);
  ASSERT_EQ(node.status, 200) << node.body.dump();
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/nodes/" + nodes_[0]->id).body["schedulable"], false);
  auto after = waitForState("kept-1", "Running");
  EXPECT_EQ(after["status"]["node"], c.id);
  EXPECT_EQ(after["status"]["uid"], before["status"]["uid"]);
  EXPECT_EQ(after["status"]["sandbox_id"], before["status"]["sandbox_id"]);
  EXPECT_EQ(sandboxesOf("kept-1"), 1u);
  // A node with workloads is not removed without force.
  EXPECT_EQ(http(cli::HttpMethod::kDelete, "/nodes/" + c.id).status, 409);
}

}  // namespace
}  // namespace zp::testsupport
