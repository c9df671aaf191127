// ProtocolServer over loopback TCP with a WorkloadManager on FakeRuntime:
// Hello first, WorkloadEvent pushes to subscribers only, a subscriber that
// does not read is disconnected instead of growing the agent's memory, cheap
// requests are answered while slow ones fill their slots, subscribers have
// reserved connections, and list pages fit in a line. Plaintext (the
// insecure mode): TLS and the peer-cost limits are protocol_server_tls_test.cc
// and protocol_server_limits_test.cc.

#include "agent/protocol_server.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "agent/request_handler.h"
#include "agent/status_mapping.h"
#include "api/json.h"
#include "protocol_server_fixture.h"
#include "test_line_client.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using testing::eventually;
using testing::spec;

TEST_F(ProtocolServerTest, HelloComesFirstAndMustNameThisNode) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  Client c(port_);
  ASSERT_TRUE(c.connected());
  auto early = c.call({{"type", "GetStatus"}, {"id", "x"}});
  EXPECT_EQ(early.value("code", ""), "FailedPrecondition") << early.dump();
  auto node = c.call({{"type", "Hello"}, {"node_id", "node-1"}});
  EXPECT_EQ(node.value("type", ""), "Node") << node.dump();
  EXPECT_EQ(node.value("node_id", ""), "node-1") << node.dump();
  auto missing = c.call({{"type", "GetStatus"}, {"id", "x"}});
  EXPECT_EQ(missing.value("code", ""), "NotFound") << missing.dump();

  Client wrong(port_);
  auto refused = wrong.call({{"type", "Hello"}, {"node_id", "node-2"}});
  EXPECT_EQ(refused.value("code", ""), "FailedPrecondition") << refused.dump();
  EXPECT_EQ(refused.value("message", ""), "this agent is node node-1, not node-2");
  EXPECT_FALSE(wrong.read(30s).has_value());
  EXPECT_TRUE(wrong.closed);
}

TEST_F(ProtocolServerTest, OnlySubscribersGetPushes) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  Client subscriber(port_);
  Client other(port_);
  ASSERT_EQ(subscriber.call({{"type", "Hello"}, {"node_id", "node-1"}, {"subscribe", true}})
                .value("type", ""),
            "Node");
  ASSERT_EQ(other.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  ASSERT_EQ(other.call({{"type", "StartWorkload"}, {"workload", api::toJson(spec("w"))}})
                .value("type", ""),
            "Status");

  // Pushes carry no req, and end with the workload running.
  std::vector<Json> pushes;
  while (pushes.empty() || pushes.back()["workload"].value("state", "") != "Running") {
    auto line = subscriber.read();
    ASSERT_TRUE(line.has_value()) << "no Running push; got " << pushes.size();
    EXPECT_EQ(line->value("type", ""), "WorkloadEvent") << line->dump();
    EXPECT_FALSE(line->contains("req")) << line->dump();
    pushes.push_back(*line);
  }
  EXPECT_EQ(pushes.front()["workload"].value("state", ""), "Pending");
  EXPECT_EQ(pushes.back()["workload"].value("id", ""), "w");
  // The other connection got none: its next line answers its next request.
  std::vector<Json> stray;
  auto node = other.send({{"type", "NodeInfo"}, {"req", "n"}}) ? other.reply("n", &stray)
                                                               : std::nullopt;
  ASSERT_TRUE(node.has_value());
  EXPECT_TRUE(stray.empty()) << stray.front().dump();
}

TEST_F(ProtocolServerTest, ASubscriberThatDoesNotReadIsDisconnected) {
  ServerLimits limits;
  limits.max_unwritten_pushes = 50;
  ASSERT_NO_FATAL_FAILURE(startServer(limits));
  Client sleeper(port_);
  ASSERT_EQ(sleeper.call({{"type", "Hello"}, {"node_id", "node-1"}, {"subscribe", true}})
                .value("type", ""),
            "Node");
  // Far more than the socket buffers hold: the outbox grows past the limit.
  api::WorkloadStatus big;
  big.id = "w";
  big.message = std::string(64 * 1024, 'm');
  constexpr int kPushes = 600;
  for (int i = 0; i < kPushes; ++i) {
    big.restart_count = i;
    server_->publish(big);
  }
  // Reading now: fewer than all pushes arrive, then the connection ends.
  int received = 0;
  while (auto line = sleeper.read(30s)) ++received;
  EXPECT_TRUE(sleeper.closed) << "the subscriber was not disconnected";
  EXPECT_LT(received, kPushes);
  // The server serves on.
  Client fresh(port_);
  EXPECT_EQ(fresh.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
}

std::string padded(int i) {
  std::string n = std::to_string(i);
  return std::string(3 - std::min<std::size_t>(3, n.size()), '0') + n;
}

// 64 removals whose containers ignore SIGTERM fill the connection's slow
// slots; a heartbeat (NodeInfo) and other memory-only requests on the same
// connection are still answered at once (docs/architecture.md §3).
TEST_F(ProtocolServerTest, NodeInfoIsAnsweredWhileSlowRequestsFillTheirSlots) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  constexpr int kSlow = 64;
  ASSERT_EQ(ServerLimits{}.max_in_flight_per_connection, static_cast<std::size_t>(kSlow));
  std::vector<std::string> containers;
  for (int i = 0; i < kSlow; ++i) {
    containers.push_back(run("w" + padded(i)));
    runtime_.holdStops(containers.back());
  }
  Client c(port_);
  ASSERT_EQ(c.call({{"type", "Hello"}, {"node_id", "node-1"}, {"subscribe", false}})
                .value("type", ""),
            "Node");
  for (int i = 0; i < kSlow; ++i) {
    ASSERT_TRUE(c.send({{"type", "RemoveWorkload"},
                        {"id", "w" + padded(i)},
                        {"timeout_seconds", 10},
                        {"req", "rm" + padded(i)}}));
  }
  ASSERT_TRUE(eventually([&] {
    return std::all_of(containers.begin(), containers.end(),
                       [&](const std::string& id) { return runtime_.stopHeld(id); });
  }));
  // Every slot is taken; the heartbeat is answered anyway.
  auto node = c.call({{"type", "NodeInfo"}});
  EXPECT_EQ(node.value("type", ""), "Node") << node.dump();
  EXPECT_EQ(node.value("workloads", -1), kSlow) << node.dump();
  auto status = c.call({{"type", "GetStatus"}, {"id", "w000"}});
  EXPECT_EQ(status.value("type", ""), "Status") << status.dump();
  auto list = c.call({{"type", "ListWorkloads"}, {"limit", 10}});
  EXPECT_EQ(list.value("type", ""), "WorkloadList") << list.dump();
  // The removals end once their stops do.
  for (const auto& id : containers) runtime_.finishStop(id);
  std::set<std::string> removed;
  while (removed.size() < static_cast<std::size_t>(kSlow)) {
    auto line = c.read();
    ASSERT_TRUE(line.has_value()) << removed.size() << " removals answered";
    EXPECT_EQ(line->value("type", ""), "Removed") << line->dump();
    removed.insert(line->value("req", ""));
  }
}

// Other connections (log streams) fill max_connections; a subscribing
// connection (the server's) still gets one of the reserved slots, which a
// connection that does not subscribe cannot take; beyond all slots a new
// connection makes room by closing the one idle longest.
TEST_F(ProtocolServerTest, ASubscriberFindsAReservedSlotWhenOthersFillTheConnections) {
  ServerLimits limits;
  limits.max_connections = 2;
  limits.subscriber_reserve = 1;
  ASSERT_NO_FATAL_FAILURE(startServer(limits));
  Client first(port_);
  Client second(port_);
  ASSERT_EQ(first.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  ASSERT_EQ(second.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  {
    Client third(port_);
    auto refused = third.call({{"type", "Hello"}, {"node_id", "node-1"}});
    EXPECT_EQ(refused.value("code", ""), "Unavailable") << refused.dump();
    EXPECT_FALSE(third.read(30s).has_value());
    EXPECT_TRUE(third.closed);
  }
  Client server(port_);
  auto greeted = server.call({{"type", "Hello"}, {"node_id", "node-1"}, {"subscribe", true}});
  EXPECT_EQ(greeted.value("type", ""), "Node") << greeted.dump();
  EXPECT_EQ(server.call({{"type", "NodeInfo"}}).value("type", ""), "Node");
  // Every slot is taken now: the next connection closes the one idle longest
  // that does not subscribe (docs/architecture.md §9.2), never the subscriber.
  Client extra(port_);
  EXPECT_EQ(extra.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  EXPECT_FALSE(first.read(30s).has_value());
  EXPECT_TRUE(first.closed) << "the connection idle longest stayed open";
  EXPECT_EQ(second.call({{"type", "NodeInfo"}}).value("type", ""), "Node");
  EXPECT_EQ(server.call({{"type", "NodeInfo"}}).value("type", ""), "Node");
}

// Only when every open connection subscribes is a new one refused.
TEST_F(ProtocolServerTest, WhenOnlySubscribersAreOpenANewConnectionIsRefused) {
  ServerLimits limits;
  limits.max_connections = 1;
  limits.subscriber_reserve = 1;
  ASSERT_NO_FATAL_FAILURE(startServer(limits));
  Client one(port_);
  Client two(port_);
  for (auto* c : {&one, &two}) {
    ASSERT_EQ(c->call({{"type", "Hello"}, {"node_id", "node-1"}, {"subscribe", true}})
                  .value("type", ""),
              "Node");
  }
  Client extra(port_);
  auto full = extra.read(30s);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->value("code", ""), "Unavailable") << full->dump();
  EXPECT_FALSE(extra.read(30s).has_value());
  EXPECT_TRUE(extra.closed);
  EXPECT_EQ(one.call({{"type", "NodeInfo"}}).value("type", ""), "Node");
}

// Long runtime messages: each status's message is capped, and a page ends
// before its line grows near the protocol's 1 MiB (docs/architecture.md §3).
TEST_F(ProtocolServerTest, ListWorkloadsPagesStayUnderTheLineLimitWithLongMessages) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  constexpr int kWorkloads = 250;
  const std::string words(20'000, 'x');
  for (int i = 0; i < kWorkloads; ++i) {
    const auto container = run("w" + padded(i));
    runtime_.exitContainer(container, 1, "", 100ms, words);
  }
  ASSERT_TRUE(manager_->sweep().has_value());
  ASSERT_EQ(statusOf("w000").state, api::WorkloadState::kFailed);
  Client c(port_);
  ASSERT_EQ(c.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  std::vector<std::string> ids;
  std::string after;
  int pages = 0;
  while (true) {
    Json request{{"type", "ListWorkloads"}, {"limit", 500}};
    if (!after.empty()) request["continue"] = after;
    auto page = c.call(request);
    ASSERT_EQ(page.value("type", ""), "WorkloadList") << page.dump().substr(0, 300);
    EXPECT_LT(page.dump().size(), protocol::kMaxLineBytes);
    ++pages;
    for (const auto& item : page["items"]) {
      ids.push_back(item.value("id", ""));
      const std::string message = item.value("message", "");
      EXPECT_EQ(message.size(), kMaxStatusMessageBytes);
      EXPECT_TRUE(message.ends_with("\u2026")) << message.substr(message.size() - 10);
    }
    if (!page.contains("continue")) break;
    after = page.value("continue", "");
    ASSERT_LT(pages, 10);
  }
  EXPECT_GT(pages, 1);
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kWorkloads));
  for (int i = 0; i < kWorkloads; ++i) EXPECT_EQ(ids[i], "w" + padded(i));
}

}  // namespace
}  // namespace zp::agent
