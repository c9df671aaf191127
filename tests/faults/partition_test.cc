// Scenario "partition" (docs/architecture.md §11.1, §8.2, §8.6): two agents,
// each in a network namespace of its own joined to the host by a veth pair
// (isolated_network.h), the server on the host. Node A's host end goes down
// for 60 s (20 s in the short mode) while A runs workloads of every restart
// policy and B runs some of its own. Expected, in order: A NotReady (its
// workloads Unknown), A Lost after node_lost_after_seconds, its OnFailure and
// Always workloads placed again on B with new uids, its Never one Failed/
// NodeLost; B's own untouched. Then the link comes back: A resyncs, its stale
// copies (still running there all along) are fenced, and exactly one copy of
// every workload runs. Timed: NotReady, Lost, rescheduled (from the
// partition's start) and heal -> converged.

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "fault_fixture.h"
#include "isolated_network.h"

namespace zp::faults {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

double secondsBetween(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// One workload of the scenario and what must become of it.
struct PartitionTracked {
  std::string id;
  std::string restart;  // Never | OnFailure | Always
  bool on_partitioned;  // placed on A before the partition
  std::string uid;      // the placement before the partition
};

class PartitionTest : public FaultTest {
 protected:
  void SetUp() override {
    FaultTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (int i = 0; i < 2; ++i) {
      auto net = IsolatedNetwork::create(IsolatedNetwork::stackScope(), suffix_.substr(0, 6), i,
                                         dir_ / "network.log");
      ASSERT_TRUE(net) << net.error().message;
      networks_.push_back(std::move(*net));
      Agent& agent = addAgent(i == 0 ? "a" : "b");
      ASSERT_TRUE(startIsolatedAgent(agent, *networks_.back()));
    }
  }

  void TearDown() override {
    // The agents first, then their namespaces, then the rest (the fixture
    // removes the test's directory, which holds the network's log).
    for (auto& agent : agents_) agent->process.terminate();
    networks_.clear();
    FaultTest::TearDown();
  }

  // The fixture's agent command line, run inside `net` and listening on its
  // inner address (E2eTest::startAgent listens on loopback only).
  ::testing::AssertionResult startIsolatedAgent(Agent& agent, const IsolatedNetwork& net) {
    std::vector<std::string> argv = net.launcher();
    const auto tls = pki_.node(agent.id);
    argv.insert(argv.end(),
                {ZP_AGENT_BINARY, "--node-id", agent.id, "--listen",
                 net.innerAddress() + ":" + std::to_string(agent.port), "--data-dir",
                 (dir_ / agent.id).string(), "--runtime-class", "native=runc@" + endpoint_,
                 "--tls-cert", tls.cert, "--tls-key", tls.key, "--tls-ca", tls.ca});
    auto s = agent.process.start(argv, "zoneplane-agent listening on ", dir_ / (agent.id + ".log"));
    if (!s) return ::testing::AssertionFailure() << s.error().message;
    return ::testing::AssertionSuccess();
  }

  std::string nodeAddress(std::size_t i) const {
    return networks_[i]->innerAddress() + ":" + std::to_string(agents_[i]->port);
  }

  std::string submit(const std::string& id, const std::string& restart) {
    // Ends at once on SIGTERM, as a service should: a fence takes no grace period.
    auto body =
        json::parse(spec(id, "trap 'exit 0' TERM; while :; do sleep 1; done", "native", 32));
    body["restart_policy"] = restart;
    auto created = http(cli::HttpMethod::kPost, "/workloads", body.dump());
    EXPECT_EQ(created.status, 201) << created.body.dump();
    return created.body["status"].value("node", "");
  }

  void setCordon(const Agent& agent, bool cordoned) {
    const std::string op = cordoned ? "/cordon" : "/uncordon";
    ASSERT_EQ(http(cli::HttpMethod::kPost, "/nodes/" + agent.id + op).status, 200);
  }

  // Waits (90 s at most) until node `agent` holds exactly one established
  // connection on its port (the server's): seconds from `since`, -1 (and a
  // failure) if it never does.
  double staleConnectionGone(const Agent& agent, SteadyClock::time_point since) {
    int held = -1;
    while (SteadyClock::now() < since + 90s) {
      auto n = networks_[0]->establishedOn(agent.port);
      if (!n) {
        ADD_FAILURE() << n.error().message;
        return -1;
      }
      held = *n;
      if (held == 1) return secondsBetween(since, SteadyClock::now());
      std::this_thread::sleep_for(500ms);
    }
    ADD_FAILURE() << "node " << agent.id << " still holds " << held
                  << " connections: one the partition cut was never closed";
    return -1;
  }

  std::vector<std::unique_ptr<IsolatedNetwork>> networks_;
};

TEST_F(PartitionTest, PartitionedNodeIsLostItsWorkloadsMoveAndAfterHealOneCopyRuns) {
  const int partition_seconds = scaled(60, 20);
  const int lost_after_seconds = scaled(20, 8);
  Agent& a = *agents_[0];
  Agent& b = *agents_[1];
  std::string toml = defaultServerToml() +
                     "node_lost_after_seconds = " + std::to_string(lost_after_seconds) + "\n";
  for (std::size_t i = 0; i < agents_.size(); ++i) {
    toml += "[[nodes]]\nid = \"" + agents_[i]->id + "\"\naddress = \"" + nodeAddress(i) + "\"\n";
  }
  ASSERT_TRUE(startServer(toml, std::vector<Agent*>{}));
  for (const Agent* agent : {&a, &b}) {
    waitForNode(agent->id, [](const json& n) { return n["state"] == "Ready"; });
  }
  ASSERT_FALSE(HasFailure());

  // A's workloads (every restart policy), then B's own.
  std::vector<PartitionTracked> tracked;
  setCordon(b, true);
  for (int i = 0; i < scaled(3, 2); ++i)
    tracked.push_back({"pa-always-" + std::to_string(i), "Always", true, ""});
  for (int i = 0; i < scaled(2, 1); ++i)
    tracked.push_back({"pa-onfail-" + std::to_string(i), "OnFailure", true, ""});
  tracked.push_back({"pa-never-0", "Never", true, ""});
  for (const auto& t : tracked) ASSERT_EQ(submit(t.id, t.restart), a.id) << t.id;
  setCordon(b, false);
  setCordon(a, true);
  for (int i = 0; i < scaled(2, 1); ++i) {
    tracked.push_back({"pb-always-" + std::to_string(i), "Always", false, ""});
    ASSERT_EQ(submit(tracked.back().id, "Always"), b.id);
  }
  setCordon(a, false);
  for (auto& t : tracked) t.uid = waitForState(t.id, "Running")["status"].value("uid", "");
  ASSERT_FALSE(HasFailure());

  // ---- A brief partition: NotReady, back before Lost; nothing moves.
  const int brief_seconds = scaled(14, 6);  // NotReady after ~4 s; Lost would come later
  const auto brief_start = SteadyClock::now();
  ASSERT_TRUE(networks_[0]->partition());
  waitForNode(
      a.id, [](const json& n) { return n["state"] == "NotReady"; }, 20s);
  const double brief_not_ready_s = secondsBetween(brief_start, SteadyClock::now());
  std::this_thread::sleep_until(brief_start + std::chrono::seconds(brief_seconds));
  const auto brief_healed = SteadyClock::now();
  ASSERT_TRUE(networks_[0]->heal());
  waitForNode(
      a.id, [](const json& n) { return n["state"] == "Ready"; }, 60s);
  const double brief_ready_s = secondsBetween(brief_healed, SteadyClock::now());
  int brief_moved = 0;
  for (const auto& [id, st] : statuses()) {
    for (const auto& t : tracked) {
      if (t.id == id && (st.value("uid", "") != t.uid || st.value("state", "") != "Running")) {
        ++brief_moved;
        ADD_FAILURE() << id
                      << " changed during a partition shorter than the lost timeout: " << st.dump();
      }
    }
  }
  // What the agent holds: the server's new connection, and soon no half-open
  // one left from before the partition (the agent's TCP keepalive probes a
  // silent peer after 30 s; the host answers with a reset).
  const double brief_stale_closed_s = staleConnectionGone(a, brief_healed);
  ASSERT_FALSE(HasFailure());

  // ---- The partition.
  const auto start = SteadyClock::now();
  ASSERT_TRUE(networks_[0]->partition());
  std::optional<SteadyClock::time_point> not_ready_at, lost_at, moved_at;
  int unknown_seen = 0;  // A's workloads shown Unknown while A was NotReady
  int b_disturbed = 0;   // observations of B's own workloads not Running
  int early_final = 0;   // A's workloads final before A was Lost
  while (SteadyClock::now() < start + std::chrono::seconds(partition_seconds)) {
    const auto now = SteadyClock::now();
    // The workloads first, then the node: a workload seen ended was read
    // before the node, so the node's state read after it shows whether it
    // was Lost by then (read the other way round, A could become Lost and
    // its Never workloads NodeLost between the two reads).
    const auto current = statuses();
    const std::string state = http(cli::HttpMethod::kGet, "/nodes/" + a.id).body.value("state", "");
    if (state == "NotReady" && !not_ready_at) not_ready_at = now;
    if (state == "Lost" && !lost_at) lost_at = now;
    bool moved = lost_at.has_value();
    for (const auto& t : tracked) {
      const auto it = current.find(t.id);
      if (it == current.end()) continue;  // counted as lost at the end
      const json& st = it->second;
      const std::string s = st.value("state", "");
      if (!t.on_partitioned) {
        if (s != "Running") ++b_disturbed;
        continue;
      }
      if (not_ready_at && !lost_at && s == "Unknown") ++unknown_seen;
      if (!lost_at && (s == "Failed" || s == "Succeeded")) ++early_final;
      if (t.restart == "Never") {
        moved = moved && s == "Failed" && st.value("reason", "") == "NodeLost";
      } else {
        moved =
            moved && s == "Running" && st.value("node", "") == b.id && st.value("uid", "") != t.uid;
      }
    }
    if (moved && !moved_at) moved_at = now;
    std::this_thread::sleep_for(250ms);
  }
  ASSERT_TRUE(not_ready_at) << "A never became NotReady during the partition";
  EXPECT_TRUE(lost_at) << "A was not Lost within " << partition_seconds << " s";
  EXPECT_TRUE(moved_at) << "A's workloads were not placed again within the partition";
  EXPECT_GT(unknown_seen, 0) << "A's workloads were never shown Unknown while A was NotReady";
  // The stale copies still run on A: nothing told it.
  for (const auto& t : tracked) {
    if (t.on_partitioned) {
      EXPECT_EQ(sandboxesOf(t.id, a.id), 1u) << t.id;
    }
  }

  // ---- Heal: A resyncs and fences what was placed elsewhere.
  const auto healed = SteadyClock::now();
  ASSERT_TRUE(networks_[0]->heal());
  std::optional<SteadyClock::time_point> ready_at, converged_at;
  while (SteadyClock::now() < healed + 120s && !converged_at) {
    const auto now = SteadyClock::now();
    if (!ready_at &&
        http(cli::HttpMethod::kGet, "/nodes/" + a.id).body.value("state", "") == "Ready") {
      ready_at = now;
    }
    bool whole = ready_at.has_value();
    for (const auto& t : tracked) {
      if (!whole) break;
      const std::size_t want = t.restart == "Never" ? 0 : 1;
      whole = sandboxesOf(t.id, a.id) == 0 && sandboxesOf(t.id) == want;
    }
    if (whole)
      converged_at = now;
    else
      std::this_thread::sleep_for(250ms);
  }
  EXPECT_TRUE(ready_at) << "A did not become Ready after the heal";
  EXPECT_TRUE(converged_at) << "not exactly one copy of every workload 120 s after the heal";
  const double stale_closed_s = staleConnectionGone(a, healed);

  // ---- The final state of every workload.
  int lost = 0, duplicated = 0, wrong_state = 0;
  const auto final_statuses = statuses();
  for (const auto& t : tracked) {
    SCOPED_TRACE(t.id);
    const auto it = final_statuses.find(t.id);
    if (it == final_statuses.end()) {
      ++lost;
      ADD_FAILURE() << "record gone";
      continue;
    }
    const json& st = it->second;
    const std::size_t copies = sandboxesOf(t.id);
    if (t.restart == "Never") {
      // §8.6: a Never workload of a lost node ends Failed/NodeLost; its copy is fenced.
      if (st.value("state", "") != "Failed" || st.value("reason", "") != "NodeLost") {
        ++wrong_state;
        ADD_FAILURE() << "expected Failed/NodeLost: " << st.dump();
      }
      if (copies != 0) {
        ++duplicated;
        ADD_FAILURE() << copies << " copies of an ended workload";
      }
      continue;
    }
    if (copies == 0) ++lost;
    if (copies > 1) ++duplicated;
    const bool moved_ok = !t.on_partitioned || st.value("uid", "") != t.uid;
    if (st.value("state", "") != "Running" || st.value("node", "") != b.id || !moved_ok) {
      ++wrong_state;
      ADD_FAILURE() << "expected Running on " << b.id << ": " << st.dump();
    }
    EXPECT_EQ(copies, 1u);
  }

  const auto since = [&](const std::optional<SteadyClock::time_point>& at,
                         SteadyClock::time_point from) {
    return at ? secondsBetween(from, *at) : -1.0;
  };
  FaultFigures figures;
  figures.scenario = "partition";
  figures.faults = "node A's link down " + std::to_string(partition_seconds) +
                   " s (node_lost_after_seconds " + std::to_string(lost_after_seconds) + ")";
  figures.workloads = static_cast<int>(tracked.size());
  figures.lost = lost;
  figures.duplicated = duplicated;
  figures.wrong_state = wrong_state;
  figures.recover_seconds = since(converged_at, healed);
  figures.details = {{"brief_partition_s", brief_seconds},
                     {"brief_not_ready_s", brief_not_ready_s},
                     {"brief_heal_ready_s", brief_ready_s},
                     {"brief_stale_connection_closed_s", brief_stale_closed_s},
                     {"not_ready_s", since(not_ready_at, start)},
                     {"lost_s", since(lost_at, start)},
                     {"rescheduled_s", since(moved_at, start)},
                     {"heal_ready_s", since(ready_at, healed)},
                     {"heal_converged_s", since(converged_at, healed)},
                     {"stale_connection_closed_s", stale_closed_s},
                     {"unknown_observations", unknown_seen},
                     {"final_before_lost", early_final},
                     {"other_node_disturbed", b_disturbed}};
  report(figures);
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(wrong_state, 0);
  EXPECT_EQ(brief_moved, 0);
  EXPECT_EQ(early_final, 0) << "a workload of A ended before A was Lost";
  EXPECT_EQ(b_disturbed, 0) << "B's own workloads were disturbed by A's partition";
}

}  // namespace
}  // namespace zp::faults
