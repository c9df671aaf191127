// ProtocolServer over loopback TCP with a WorkloadManager on FakeRuntime:
// Hello first, WorkloadEvent pushes to subscribers only, a subscriber that
// does not read is disconnected instead of growing the agent's memory, cheap
// requests are answered while slow ones fill their slots, subscribers have
// reserved connections, and list pages fit in a line.

#include "agent/protocol_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "agent/request_handler.h"
#include "agent/status_mapping.h"
#include "api/json.h"
#include "protocol_server_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using testing::eventually;
using testing::spec;

// A blocking line client for the tests (one thread).
class Client {
 public:
  explicit Client(unsigned short port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(const Json& message) {
    const std::string line = message.dump() + "\n";
    return ::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  }
  // The next line as JSON; nullopt on timeout or end of stream (`closed` then set).
  std::optional<Json> read(std::chrono::milliseconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
        auto j = Json::parse(buffer_.substr(0, nl), nullptr, false);
        buffer_.erase(0, nl + 1);
        return j;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[64 * 1024];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed = true;
        return std::nullopt;
      }
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }
  // Reads until the reply carrying `req` (pushes before it are collected).
  std::optional<Json> reply(const std::string& req, std::vector<Json>* pushes = nullptr) {
    while (auto line = read()) {
      if (line->value("req", "") == req) return line;
      if (pushes != nullptr) pushes->push_back(*line);
    }
    return std::nullopt;
  }
  Json call(Json request) {
    const std::string req = "r" + std::to_string(++next_);
    request["req"] = req;
    if (!send(request)) return Json{{"type", "SendFailed"}};
    return reply(req).value_or(Json{{"type", "NoReply"}});
  }

  bool closed = false;

 private:
  int fd_ = -1;
  std::string buffer_;
  int next_ = 0;
};

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
// connection that does not subscribe cannot take.
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
  // Every slot is taken now: the next connection is refused at once.
  Client extra(port_);
  auto full = extra.read(30s);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->value("code", ""), "Unavailable") << full->dump();
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

// Logs: the handler streams a workload's CRI log file.
class LogsTest : public ProtocolServerTest {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/zp-logs-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    runtime_.setLogRoot(dir_.string());
    ProtocolServerTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(startServer());
    client_ = std::make_unique<Client>(port_);
    ASSERT_EQ(client_->call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  }
  void TearDown() override {
    client_.reset();
    ProtocolServerTest::TearDown();
    std::filesystem::remove_all(dir_);
  }
  static void append(const std::string& path, const std::vector<std::string>& lines,
                     const std::string& stream = "stdout") {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream out(path, std::ios::app);
    for (const auto& l : lines) {
      out << "2026-11-29T13:40:31.000000001Z " << stream << " F " << l << "\n";
    }
  }
  // Sends Logs and collects LogLine texts until LogEnd; returns {texts..., "END:<reason>"}.
  std::vector<std::string> stream(Json request, Client& c) {
    request["type"] = "Logs";
    request["req"] = "logs";
    std::vector<std::string> got;
    if (!c.send(request)) return {"SendFailed"};
    while (auto line = c.read()) {
      if (line->value("req", "") != "logs") continue;
      const auto type = line->value("type", "");
      if (type == "LogLine") {
        got.push_back(line->value("line", ""));
      } else {
        got.push_back(type == "LogEnd" ? "END:" + line->value("reason", "") : line->dump());
        return got;
      }
    }
    got.push_back("NoEnd");
    return got;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Client> client_;
};

TEST_F(LogsTest, TailThenCompleted) {
  const auto container = run("w");
  const auto path = statusOf("w").log_path;
  append(path, {"one", "two", "three"});
  EXPECT_EQ(stream({{"id", "w"}}, *client_),
            (std::vector<std::string>{"one", "two", "three", "END:Completed"}));
  EXPECT_EQ(stream({{"id", "w"}, {"tail", 2}}, *client_),
            (std::vector<std::string>{"two", "three", "END:Completed"}));
  EXPECT_EQ(stream({{"id", "w"}, {"tail", 0}}, *client_),
            (std::vector<std::string>{"END:Completed"}));
  auto missing = client_->call({{"type", "Logs"}, {"id", "nope"}});
  EXPECT_EQ(missing.value("type", ""), "Error") << missing.dump();
  EXPECT_EQ(missing.value("code", ""), "NotFound") << missing.dump();
}

TEST_F(LogsTest, TailOfOneStream) {
  const auto container = run("w");
  const auto path = statusOf("w").log_path;
  append(path, {"line1", "line2", "line3"});
  append(path, {"oops"}, "stderr");
  EXPECT_EQ(stream({{"id", "w"}, {"tail", 2}, {"stream", "stdout"}}, *client_),
            (std::vector<std::string>{"line2", "line3", "END:Completed"}));
  EXPECT_EQ(stream({{"id", "w"}, {"tail", 2}, {"stream", "stderr"}}, *client_),
            (std::vector<std::string>{"oops", "END:Completed"}));
  EXPECT_EQ(stream({{"id", "w"}, {"tail", 2}}, *client_),
            (std::vector<std::string>{"line3", "oops", "END:Completed"}));
  auto bad = client_->call({{"type", "Logs"}, {"id", "w"}, {"stream", "both"}});
  EXPECT_EQ(bad.value("type", ""), "Error") << bad.dump();
  EXPECT_EQ(bad.value("code", ""), "InvalidArgument") << bad.dump();
  EXPECT_EQ(bad.value("field", ""), "stream") << bad.dump();
}

TEST_F(LogsTest, FollowOfOneStreamSkipsTheOther) {
  const auto container = run("w");
  const auto path = statusOf("w").log_path;
  append(path, {"out before"});
  Client follower(port_);
  ASSERT_EQ(follower.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  ASSERT_TRUE(follower.send(
      {{"type", "Logs"}, {"id", "w"}, {"follow", true}, {"stream", "stderr"}, {"req", "f"}}));
  append(path, {"out during"});
  append(path, {"err"}, "stderr");
  auto first = follower.read();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->value("line", ""), "err") << first->dump();
  EXPECT_EQ(first->value("stream", ""), "stderr") << first->dump();
  append(path, {"out last"});
  runtime_.exitContainer(container, 0);
  ASSERT_TRUE(manager_->sweep().has_value());
  auto end = follower.read();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->value("type", ""), "LogEnd") << end->dump();
  EXPECT_EQ(end->value("reason", ""), "Completed") << end->dump();
}

TEST_F(LogsTest, FollowStreamsUntilTheWorkloadIsFinalAndDrained) {
  const auto container = run("w");
  const auto path = statusOf("w").log_path;
  append(path, {"before"});
  Client follower(port_);
  ASSERT_EQ(follower.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  ASSERT_TRUE(follower.send({{"type", "Logs"}, {"id", "w"}, {"follow", true}, {"req", "f"}}));
  auto first = follower.read();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->value("line", ""), "before") << first->dump();
  append(path, {"during"});
  auto second = follower.read();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->value("line", ""), "during") << second->dump();
  // Still following: nothing more, no end.
  EXPECT_FALSE(follower.read(100ms).has_value());
  // The container exits after a last line: the stream drains it and ends.
  append(path, {"last words"});
  runtime_.exitContainer(container, 0);
  ASSERT_TRUE(manager_->sweep().has_value());
  auto third = follower.read();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->value("line", ""), "last words") << third->dump();
  auto end = follower.read();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->value("type", ""), "LogEnd") << end->dump();
  EXPECT_EQ(end->value("reason", ""), "Completed") << end->dump();
  EXPECT_EQ(end->value("req", ""), "f") << end->dump();
}

TEST_F(LogsTest, FollowMovesToTheLogOfARestart) {
  auto s = spec("w");
  s.restart_policy = api::RestartPolicy::kAlways;
  const auto container = run(s);
  const auto first_path = statusOf("w").log_path;
  append(first_path, {"attempt 0"});
  Client follower(port_);
  ASSERT_EQ(follower.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  ASSERT_TRUE(follower.send({{"type", "Logs"}, {"id", "w"}, {"follow", true}, {"req", "f"}}));
  ASSERT_EQ(follower.read().value_or(Json{}).value("line", ""), "attempt 0");
  runtime_.exitContainer(container, 1);
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    return statusOf("w").reason == "BackOff";
  }));
  clock_.advance(1h);
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    return statusOf("w").restart_count == 1 && statusOf("w").state == api::WorkloadState::kRunning;
  }));
  const auto second_path = statusOf("w").log_path;
  ASSERT_NE(second_path, first_path);
  append(second_path, {"attempt 1"});
  auto next = follower.read();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->value("line", ""), "attempt 1") << next->dump();
}

TEST_F(LogsTest, ARemovedWorkloadEndsItsStream) {
  run("w");
  append(statusOf("w").log_path, {"x"});
  Client follower(port_);
  ASSERT_EQ(follower.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  ASSERT_TRUE(follower.send({{"type", "Logs"}, {"id", "w"}, {"follow", true}, {"req", "f"}}));
  ASSERT_EQ(follower.read().value_or(Json{}).value("line", ""), "x");
  auto removed = remove("w");
  ASSERT_EQ(removed.wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(removed.get().has_value());
  auto end = follower.read();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->value("type", ""), "LogEnd") << end->dump();
  EXPECT_EQ(end->value("reason", ""), "NotFound") << end->dump();
}

}  // namespace
}  // namespace zp::agent
