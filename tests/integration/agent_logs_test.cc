// Logs on the real agent and containerd: the tail of a running container's
// log, and following a container until it exits (docs/architecture.md §3).

#include <thread>

#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

using Logs = AgentIntegrationTest;

// Sends `request` (a Logs request) on `c` and reads its replies until LogEnd
// (or an Error): the LogLine objects, then the final reply.
std::vector<Json> readStream(LineClient& c, Json request, std::chrono::milliseconds timeout = 120s) {
  request["type"] = "Logs";
  request["req"] = "logs-1";
  std::vector<Json> out;
  if (!c.send(request)) {
    out.push_back(Json{{"type", "TransportError"}});
    return out;
  }
  while (true) {
    auto line = c.readJson(timeout);
    if (!line) {
      out.push_back(Json{{"type", "TransportError"}, {"message", line.error().toString()}});
      return out;
    }
    if (line->value("req", "") != "logs-1") continue;
    out.push_back(*line);
    if (line->value("type", "") != "LogLine") return out;
  }
}

TEST_F(Logs, TheTailOfARunningContainer) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("ag-tail");
  // (stdout and stderr reach the log through separate pipes: the second
  // lets the stderr line land first.)
  ASSERT_EQ(startWorkload(workload(id, {"sh", "-c",
                                        "echo oops >&2; sleep 1; "
                                        "for i in 1 2 3 4 5; do echo line$i; done; sleep 300"}))
                .value("type", ""),
            "Status");
  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  waitLogContains(st.value("log_path", ""), "line5");

  auto c = connect();
  auto tail = readStream(c, {{"id", id}, {"tail", 3}});
  ASSERT_EQ(tail.size(), 4u) << tail.back().dump();
  EXPECT_EQ(tail[0].value("line", ""), "line3") << tail[0].dump();
  EXPECT_EQ(tail[0].value("stream", ""), "stdout");
  EXPECT_EQ(tail[1].value("line", ""), "line4");
  EXPECT_EQ(tail[2].value("line", ""), "line5");
  EXPECT_FALSE(tail[0].value("time", "").empty()) << tail[0].dump();
  EXPECT_EQ(tail[3].value("type", ""), "LogEnd") << tail[3].dump();
  EXPECT_EQ(tail[3].value("reason", ""), "Completed") << tail[3].dump();

  // Everything, in order.
  auto all = readStream(c, {{"id", id}});
  ASSERT_EQ(all.size(), 7u) << all.back().dump();
  EXPECT_EQ(all[0].value("line", ""), "oops") << all[0].dump();
  EXPECT_EQ(all[0].value("stream", ""), "stderr") << all[0].dump();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(all[i + 1].value("line", ""), "line" + std::to_string(i + 1));
  }

  // One stream: the tail counts only its lines.
  auto out = readStream(c, {{"id", id}, {"tail", 2}, {"stream", "stdout"}});
  ASSERT_EQ(out.size(), 3u) << out.back().dump();
  EXPECT_EQ(out[0].value("line", ""), "line4") << out[0].dump();
  EXPECT_EQ(out[1].value("line", ""), "line5") << out[1].dump();
  EXPECT_EQ(out[2].value("type", ""), "LogEnd") << out[2].dump();
  auto err = readStream(c, {{"id", id}, {"tail", 2}, {"stream", "stderr"}});
  ASSERT_EQ(err.size(), 2u) << err.back().dump();
  EXPECT_EQ(err[0].value("line", ""), "oops") << err[0].dump();
  EXPECT_EQ(err[0].value("stream", ""), "stderr") << err[0].dump();
  EXPECT_EQ(err[1].value("type", ""), "LogEnd") << err[1].dump();

  // An unknown workload.
  auto missing = readStream(c, {{"id", "ag-no-such-workload"}});
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].value("type", ""), "Error") << missing[0].dump();
  EXPECT_EQ(missing[0].value("code", ""), "NotFound") << missing[0].dump();

  // With a uid: only that submission's copy.
  const std::string uid = st.value("uid", "");
  ASSERT_FALSE(uid.empty()) << st.dump();
  auto own = readStream(c, {{"id", id}, {"tail", 1}, {"uid", uid}});
  ASSERT_EQ(own.size(), 2u) << own.back().dump();
  EXPECT_EQ(own[0].value("line", ""), "line5") << own[0].dump();
  auto other = readStream(c, {{"id", id}, {"follow", true}, {"uid", "another-uid"}});
  ASSERT_EQ(other.size(), 1u) << other.back().dump();
  EXPECT_EQ(other[0].value("type", ""), "Error") << other[0].dump();
  EXPECT_EQ(other[0].value("code", ""), "NotFound") << other[0].dump();
}

TEST_F(Logs, FollowStreamsUntilTheContainerExits) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("ag-follow");
  ASSERT_EQ(startWorkload(workload(id, {"sh", "-c",
                                        "echo first; sleep 2; echo second; sleep 1; "
                                        "echo third; exit 0"}))
                .value("type", ""),
            "Status");
  // Follow from the start, before the container even runs.
  auto c = connect();
  const auto sent = std::chrono::steady_clock::now();
  auto lines = readStream(c, {{"id", id}, {"follow", true}});
  ASSERT_EQ(lines.size(), 4u) << lines.back().dump();
  EXPECT_EQ(lines[0].value("line", ""), "first");
  EXPECT_EQ(lines[1].value("line", ""), "second");
  EXPECT_EQ(lines[2].value("line", ""), "third");
  EXPECT_EQ(lines[3].value("type", ""), "LogEnd") << lines[3].dump();
  EXPECT_EQ(lines[3].value("reason", ""), "Completed") << lines[3].dump();
  // It followed (the lines took seconds to come), and ended with the workload.
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 3s);
  EXPECT_EQ(getStatus(id).value("state", ""), "Succeeded");

  // The connection serves on after the stream.
  auto node = c.call(Json{{"type", "NodeInfo"}});
  ASSERT_TRUE(node.has_value()) << node.error().toString();
  EXPECT_EQ(node->value("type", ""), "Node");
}

TEST_F(Logs, AFollowerThatGoesAwayEndsItsStream) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("ag-chatty");
  ASSERT_EQ(startWorkload(workload(id, {"sh", "-c", "while true; do echo chatter; done"}))
                .value("type", ""),
            "Status");
  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  {
    // A follower that reads a little, then stops reading and leaves.
    auto c = connect();
    ASSERT_TRUE(c.send(Json{{"type", "Logs"}, {"id", id}, {"follow", true}, {"req", "l"}}));
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.readLine(60s).has_value());
    std::this_thread::sleep_for(1s);  // the container writes on; the agent must not buffer it
  }
  // The agent is fine and answers at once.
  auto node = call(Json{{"type", "NodeInfo"}});
  EXPECT_EQ(node.value("type", ""), "Node") << node.dump();
  auto removed = removeWorkload(id, 0);
  EXPECT_EQ(removed.value("type", ""), "Removed") << removed.dump();
}

}  // namespace
}  // namespace zp::agent_it
