// The agent's line protocol (docs/architecture.md §3) on the real process: hostile
// input, many connections, many requests in flight on one connection, and
// a slow image pull that must not block anything else.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "agent_fixture.h"
#include "silent_registry.h"

namespace zp::agent_it {
namespace {

using Protocol = AgentIntegrationTest;

// Sends `raw`, then a NodeInfo probe; reads until the probe's reply and at
// least `others` other lines have arrived (replies may come in any order).
// Returns the other lines, then the probe's reply last (TransportError if none).
std::vector<Json> sendAndProbe(LineClient& c, std::string_view raw, const std::string& probe_req,
                               std::size_t others = 1) {
  std::vector<Json> lines;
  std::optional<Json> probe;
  if (!c.sendRaw(raw) || !c.send(Json{{"type", "NodeInfo"}, {"req", probe_req}})) {
    lines.push_back(Json{{"type", "TransportError"}});
    return lines;
  }
  while (!probe || lines.size() < others) {
    auto reply = c.readJson(probe ? 5s : 60s);
    if (!reply) break;
    if (reply->value("req", "") == probe_req) {
      probe = *reply;
    } else {
      lines.push_back(*reply);
    }
  }
  lines.push_back(probe ? *probe : Json{{"type", "TransportError"}});
  return lines;
}

TEST_F(Protocol, HostileInputIsAnsweredWithErrorsAndTheAgentSurvives) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  auto c = connect();

  // Each of these gets exactly one Error; the connection stays usable.
  const std::string deep_open(100'000, '[');
  const std::string deep_closed = deep_open + std::string(100'000, ']');
  std::string split_utf8;  // 30 x U+20AC: the agent quotes the first 80 bytes
  for (int i = 0; i < 30; ++i) split_utf8 += "\xe2\x82\xac";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", ""},
      {R"({"type":"Frobnicate","req":"u1"})", "u1"},
      {R"({"type":"GetStatus","req":"m1"})", "m1"},
      {R"({"type":"StopWorkload","req":"m2"})", "m2"},
      {R"({"type":"StartWorkload","req":"m3"})", "m3"},
      {R"({"req":"m4"})", "m4"},
      {R"({"type":"NodeInfo","req":"f1","extra":1})", "f1"},
      {R"({"type":42,"req":"t1"})", "t1"},
      {R"({"type":"GetStatus","req":"i1","id":"Not_A_Label"})", "i1"},
      {R"({"type":"GetStatus","req":"i2","id":")" + split_utf8 + R"("})", "i2"},
      {R"({"type":"StartWorkload","req":"w1","workload":{"id":"x","image":"","runtime_class":"native","memory_mb":-1,"cpu_millicores":0}})",
       "w1"},
      {R"({"type":"StartWorkload","req":"w2","workload":{"id":"UPPER","image":"a:1","runtime_class":"native","memory_mb":64,"cpu_millicores":100,"privileged":true}})",
       "w2"},
      {R"({"type":"StopWorkload","req":"s1","id":"abc","timeout_seconds":-5})", "s1"},
      {"{\"type\":\"\xff\xfe\",\"req\":\"b1\"}", ""},
      {"[1,2,3]", ""},
      {"\"just a string\"", ""},
      {"null", ""},
      {"   ", ""},
      {deep_open, ""},
      {deep_closed, ""},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [line, req] = cases[i];
    SCOPED_TRACE("case " + std::to_string(i) + ": " + line.substr(0, 60));
    auto lines = sendAndProbe(c, line + "\n", "probe" + std::to_string(i));
    ASSERT_EQ(lines.size(), 2u) << lines.back().dump();
    EXPECT_EQ(lines[0].value("type", ""), "Error") << lines[0].dump();
    EXPECT_FALSE(lines[0].value("code", "").empty()) << lines[0].dump();
    EXPECT_FALSE(lines[0].value("message", "").empty()) << lines[0].dump();
    if (!req.empty()) {
      EXPECT_EQ(lines[0].value("req", ""), req) << lines[0].dump();
    }
    EXPECT_EQ(lines[1].value("type", ""), "Node") << lines[1].dump();
  }

  // Blank lines are keep-alives: no reply.
  auto blank = sendAndProbe(c, "\n\r\n\n", "probe-blank", 0);
  EXPECT_EQ(blank.size(), 1u) << blank.front().dump();

  // Binary garbage, newlines included: only Errors, then the probe answers.
  std::mt19937 rng(12345);
  std::string garbage(64 * 1024, '\0');
  for (auto& ch : garbage) ch = static_cast<char>(rng() & 0xff);
  auto after_garbage = sendAndProbe(c, garbage + "\n", "probe-garbage");
  ASSERT_GE(after_garbage.size(), 2u);
  EXPECT_EQ(after_garbage.back().value("type", ""), "Node") << after_garbage.back().dump();
  for (std::size_t i = 0; i + 1 < after_garbage.size(); ++i) {
    EXPECT_EQ(after_garbage[i].value("type", ""), "Error") << after_garbage[i].dump();
  }
  auto settled = sendAndProbe(c, "", "probe-settled", 0);  // nothing else was pending
  EXPECT_EQ(settled.size(), 1u) << settled.front().dump();

  // A line of exactly 1 MiB is fine (valid JSON padded with spaces).
  {
    auto big = connect();
    std::string line = R"({"type":"NodeInfo","req":"max"})";
    line.resize(std::size_t{1} << 20, ' ');
    ASSERT_TRUE(big.sendRaw(line + "\n").has_value());
    auto reply = big.readJson(60s);
    ASSERT_TRUE(reply.has_value()) << reply.error().toString();
    EXPECT_EQ(reply->value("type", ""), "Node") << reply->dump().substr(0, 200);
    EXPECT_EQ(reply->value("req", ""), "max");
  }
  // 1 MiB + 1 bytes: an Error, then the connection is closed.
  {
    auto big = connect();
    ASSERT_TRUE(big.sendRaw(std::string((std::size_t{1} << 20) + 1, 'x') + "\n").has_value());
    auto reply = big.readJson(60s);
    ASSERT_TRUE(reply.has_value()) << reply.error().toString();
    EXPECT_EQ(reply->value("type", ""), "Error") << reply->dump();
    EXPECT_EQ(reply->value("code", ""), "ResourceExhausted") << reply->dump();
    EXPECT_TRUE(big.waitClosed(30s)) << "the agent kept the connection open";
  }
  // Peers that vanish: right after connecting, mid-line, before their reply.
  for (int i = 0; i < 5; ++i) {
    connect().close();
    auto half = connect();
    (void)half.sendRaw(R"({"type":"NodeIn)");
    auto rude = connect();
    (void)rude.sendRaw(R"({"type":"ListWorkloads","req":"r"})"
                       "\n");
  }

  // 200 concurrent connections, each with a few requests in flight.
  constexpr int kConnections = 200;
  std::vector<LineClient> conns;
  for (int i = 0; i < kConnections; ++i) conns.push_back(connect());
  std::atomic<int> good{0};
  std::vector<std::string> problems(kConnections);
  std::latch go(kConnections);
  std::vector<std::thread> threads;
  for (int i = 0; i < kConnections; ++i) {
    threads.emplace_back([&, i] {
      auto& conn = conns[i];
      go.arrive_and_wait();
      const std::string batch = R"({"type":"NodeInfo","req":"n"})"
                                "\n"
                                R"({"type":"ListWorkloads","req":"l"})"
                                "\n"
                                R"({"type":"GetStatus","req":"g","id":"missing-)" +
                                std::to_string(i) + "\"}\n{oops\n";
      if (!conn.sendRaw(batch)) {
        problems[i] = "send failed";
        return;
      }
      std::map<std::string, std::string> got;  // req -> type
      for (int r = 0; r < 4; ++r) {
        auto reply = conn.readJson(60s);
        if (!reply) {
          problems[i] = reply.error().toString();
          return;
        }
        got[reply->value("req", "-")] = reply->value("type", "");
      }
      const std::map<std::string, std::string> want = {
          {"n", "Node"}, {"l", "WorkloadList"}, {"g", "Error"}, {"-", "Error"}};
      if (got != want) {
        problems[i] = "unexpected replies";
        return;
      }
      ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), kConnections);
  for (int i = 0; i < kConnections; ++i) {
    EXPECT_TRUE(problems[i].empty()) << "connection " << i << ": " << problems[i];
  }
  conns.clear();

  // After all that: alive, and NodeInfo is right.
  ASSERT_TRUE(agent_.alive()) << "the agent died";
  auto fresh = connect();
  auto node = fresh.call(Json{{"type", "NodeInfo"}});
  ASSERT_TRUE(node.has_value()) << node.error().toString();
  EXPECT_EQ(node->value("type", ""), "Node") << node->dump();
  EXPECT_EQ(node->value("node_id", ""), node_id_) << node->dump();
  const Json classes = gvisor_handler_.empty() ? Json::array({"alt", "native"})
                                               : Json::array({"alt", "gvisor", "native"});
  EXPECT_EQ(node->value("runtime_classes", Json::array()), classes) << node->dump();
  EXPECT_EQ(node->value("workloads", -1), 0) << node->dump();
  EXPECT_GT((*node)["capacity"].value("memory_mb", 0), 0) << node->dump();
}

TEST_F(Protocol, HelloComesFirstAndMustNameThisNode) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  // Before Hello every request is refused; the connection stays usable.
  auto early = connectRaw();
  for (const Json& request : {Json{{"type", "NodeInfo"}},
                              Json{{"type", "StartWorkload"},
                                   {"workload", workload("ag-early", {"sleep", "1"})}}}) {
    auto refused = early.call(request);
    ASSERT_TRUE(refused.has_value()) << refused.error().toString();
    EXPECT_EQ(refused->value("type", ""), "Error") << refused->dump();
    EXPECT_EQ(refused->value("code", ""), "FailedPrecondition") << refused->dump();
  }
  EXPECT_TRUE(sandboxesOf("ag-early").empty());
  ASSERT_TRUE(early.hello(node_id_).has_value());
  auto node = early.call(Json{{"type", "NodeInfo"}});
  ASSERT_TRUE(node.has_value()) << node.error().toString();
  EXPECT_EQ(node->value("type", ""), "Node") << node->dump();
  EXPECT_EQ(node->value("workloads", -1), 0) << node->dump();

  // A Hello for another node: Error, then the agent closes the connection.
  auto wrong = connectRaw();
  auto refused = wrong.call(Json{{"type", "Hello"}, {"node_id", "ag-someone-else"}});
  ASSERT_TRUE(refused.has_value()) << refused.error().toString();
  EXPECT_EQ(refused->value("type", ""), "Error") << refused->dump();
  EXPECT_EQ(refused->value("code", ""), "FailedPrecondition") << refused->dump();
  EXPECT_EQ(refused->value("message", ""),
            "this agent is node " + node_id_ + ", not ag-someone-else")
      << refused->dump();
  EXPECT_TRUE(wrong.waitClosed(30s)) << "the agent kept the connection open";
  // Other connections are not affected.
  auto still = early.call(Json{{"type", "NodeInfo"}});
  ASSERT_TRUE(still.has_value()) << still.error().toString();
  EXPECT_EQ(still->value("type", ""), "Node") << still->dump();
}

TEST_F(Protocol, FiftyRequestsInFlightOnOneConnectionAreEachAnsweredOnce) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("busy");
  ASSERT_EQ(startWorkload(workload(id, {"sleep", "300"})).value("type", ""), "Status");

  constexpr int kRequests = 50;
  std::string batch;
  std::map<std::string, std::string> want;  // req -> reply type
  for (int i = 0; i < kRequests; ++i) {
    const std::string req = "p" + std::to_string(i);
    Json request;
    switch (i % 3) {
      case 0:
        request = {{"type", "GetStatus"}, {"req", req}, {"id", id}};
        want[req] = "Status";
        break;
      case 1:
        request = {{"type", "GetStatus"}, {"req", req}, {"id", "missing-" + std::to_string(i)}};
        want[req] = "Error";
        break;
      default:
        request = {{"type", "ListWorkloads"}, {"req", req}};
        want[req] = "WorkloadList";
    }
    batch += request.dump() + "\n";
  }
  auto c = connect();
  ASSERT_TRUE(c.sendRaw(batch).has_value());  // one write, nothing awaited in between
  std::map<std::string, int> seen;
  for (int i = 0; i < kRequests; ++i) {
    auto reply = c.readJson(60s);
    ASSERT_TRUE(reply.has_value()) << "after " << i << " replies: " << reply.error().toString();
    const std::string req = reply->value("req", "");
    ++seen[req];
    ASSERT_TRUE(want.contains(req)) << reply->dump();
    EXPECT_EQ(reply->value("type", ""), want[req]) << reply->dump();
    if (want[req] == "Status") {
      EXPECT_EQ(reply->value("id", ""), id);
    } else if (want[req] == "WorkloadList") {
      EXPECT_EQ((*reply)["items"].size(), 1u) << reply->dump();
    }
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRequests));
  for (const auto& [req, count] : seen) EXPECT_EQ(count, 1) << req;
  // Nothing more was sent: the next line answers the next request.
  auto next = c.call(Json{{"type", "NodeInfo"}});
  ASSERT_TRUE(next.has_value()) << next.error().toString();
  EXPECT_EQ(next->value("type", ""), "Node");
}

TEST_F(Protocol, AClientThatDoesNotReadIsThrottledAndStillGetsEveryReply) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  // Far more than the per-connection backlog (64): the agent stops reading
  // until replies are written, instead of queueing them without bound.
  constexpr int kRequests = 300;
  std::string batch;
  for (int i = 0; i < kRequests; ++i) {
    if (i % 10 == 0) batch += "not json at all\n";
    batch += Json{{"type", "ListWorkloads"}, {"req", "b" + std::to_string(i)}}.dump() + "\n";
  }
  auto c = connect();
  ASSERT_TRUE(c.sendRaw(batch).has_value());
  std::set<std::string> seen;
  int errors = 0;
  for (int i = 0; i < kRequests + kRequests / 10; ++i) {
    auto reply = c.readJson(60s);
    ASSERT_TRUE(reply.has_value()) << "after " << i << " replies: " << reply.error().toString();
    if (reply->value("type", "") == "Error") {
      ++errors;
      continue;
    }
    EXPECT_EQ(reply->value("type", ""), "WorkloadList") << reply->dump();
    EXPECT_TRUE(seen.insert(reply->value("req", "")).second) << reply->dump();
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRequests));
  EXPECT_EQ(errors, kRequests / 10);
}

TEST_F(Protocol, ASlowPullNeverBlocksStatusOrOtherWorkloads) {
  SilentRegistry registry;
  ASSERT_TRUE(registry.start());
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto slow = workloadId("slow");
  const std::string image = "127.0.0.1:" + std::to_string(registry.port()) + "/slow/app:1";
  ASSERT_EQ(startWorkload(workloadJson(slow, image, {"sh", "-c", "exit 0"})).value("type", ""),
            "Status");
  Json st;
  ASSERT_TRUE(waitStatus(
      slow, [](const Json& s) { return s.value("reason", "") == "Pulling"; }, 60s, st))
      << st.dump();
  ASSERT_TRUE(waitFor([&] { return registry.accepted() > 0; }, 60s))
      << "the runtime never connected to the silent registry";

  // The pull hangs; another connection is served meanwhile, and another workload runs.
  auto other = connect();
  for (int i = 0; i < 5; ++i) {
    auto status = other.call(Json{{"type", "GetStatus"}, {"id", slow}}, 30s);
    ASSERT_TRUE(status.has_value()) << status.error().toString();
    EXPECT_EQ(status->value("type", ""), "Status") << status->dump();
    auto node = other.call(Json{{"type", "NodeInfo"}}, 30s);
    ASSERT_TRUE(node.has_value()) << node.error().toString();
    EXPECT_EQ(node->value("node_id", ""), node_id_) << node->dump();
  }
  const auto fast = workloadId("fast");
  ASSERT_EQ(startWorkload(workload(fast, {"sleep", "300"})).value("type", ""), "Status");
  Json fast_st;
  EXPECT_TRUE(waitState(fast, "Running", 60s, fast_st)) << fast_st.dump();
  auto still = getStatus(slow);
  EXPECT_EQ(still.value("state", ""), "Pending") << still.dump();

  registry.close();  // the pull fails now
  ASSERT_TRUE(waitTerminal(slow, 240s, st)) << st.dump();
  EXPECT_EQ(st.value("state", ""), "Failed") << st.dump();
  EXPECT_EQ(st.value("reason", ""), "ErrImagePull") << st.dump();
  EXPECT_TRUE(sandboxesOf(slow).empty());
  auto removed = removeWorkload(slow, 1);
  EXPECT_EQ(removed.value("type", ""), "Removed") << removed.dump();
}

TEST_F(Protocol, StopAndRemoveDoNotWaitForAHungPull) {
  SilentRegistry registry;
  ASSERT_TRUE(registry.start());
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const std::string image = "127.0.0.1:" + std::to_string(registry.port()) + "/slow/app:1";
  const auto stopped = workloadId("stopped");
  const auto removed = workloadId("removed");
  for (const auto& id : {stopped, removed}) {
    ASSERT_EQ(startWorkload(workloadJson(id, image, {"true"})).value("type", ""), "Status");
    Json st;
    ASSERT_TRUE(waitStatus(
        id, [](const Json& s) { return s.value("reason", "") == "Pulling"; }, 60s, st))
        << st.dump();
  }
  ASSERT_TRUE(waitFor([&] { return registry.accepted() > 0; }, 60s));
  // Both answer while the pulls still hang (the registry is still silent).
  auto client = connect();
  auto stop = client.call(Json{{"type", "StopWorkload"}, {"id", stopped}, {"timeout_seconds", 0}}, 60s);
  ASSERT_TRUE(stop.has_value()) << stop.error().toString();
  EXPECT_EQ(stop->value("state", ""), "Failed") << stop->dump();
  EXPECT_EQ(stop->value("reason", ""), "Stopped") << stop->dump();
  auto gone = removeWorkload(removed, 0);
  EXPECT_EQ(gone.value("type", ""), "Removed") << gone.dump();
  EXPECT_EQ(getStatus(removed).value("code", ""), "NotFound");
  registry.close();
  // Once the pulls end nothing is created for either.
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(sandboxesOf(stopped).empty());
  EXPECT_TRUE(sandboxesOf(removed).empty());
  EXPECT_EQ(removeWorkload(stopped, 0).value("type", ""), "Removed");
}

}  // namespace
}  // namespace zp::agent_it
