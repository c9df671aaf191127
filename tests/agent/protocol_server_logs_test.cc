// Logs over the protocol server: the handler streams a workload's CRI log
// file (docs/architecture.md §3): tails, one stream, follows across restarts
// and removals.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "protocol_server_fixture.h"
#include "test_line_client.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using testing::eventually;
using testing::spec;

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
      } else if (type == "LogMark") {
        got.push_back("MARK:" + std::to_string(line->value("attempt", -1)) + ":" +
                      std::to_string(line->value("offset", -1)));
      } else {
        got.push_back(type == "LogEnd" ? "END:" + line->value("reason", "") : line->dump());
        return got;
      }
    }
    got.push_back("NoEnd");
    return got;
  }

  // Workload "w" (restart_policy Always, running `container`) exits and
  // runs again as its restart 1.
  void restartOnce(const std::string& container) {
    runtime_.exitContainer(container, 1);
    ASSERT_TRUE(eventually([&] {
      EXPECT_TRUE(manager_->sweep().has_value());
      return statusOf("w").reason == "BackOff";
    }));
    clock_.advance(1h);
    ASSERT_TRUE(eventually([&] {
      EXPECT_TRUE(manager_->sweep().has_value());
      return statusOf("w").restart_count == 1 &&
             statusOf("w").state == api::WorkloadState::kRunning;
    }));
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
  ASSERT_NO_FATAL_FAILURE(restartOnce(container));
  const auto second_path = statusOf("w").log_path;
  ASSERT_NE(second_path, first_path);
  append(second_path, {"attempt 1"});
  auto next = follower.read();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->value("line", ""), "attempt 1") << next->dump();
}

// Marks say where the lines sent end in the file; `from` starts at one,
// skipping the lines the client already has after it.
TEST_F(LogsTest, MarksAndATakeUpFromOne) {
  run("w");
  const auto path = statusOf("w").log_path;
  append(path, {"one", "two"});
  const auto two = std::to_string(std::filesystem::file_size(path));
  append(path, {"three"});
  const auto three = std::to_string(std::filesystem::file_size(path));
  EXPECT_EQ(stream({{"id", "w"}, {"marks", true}}, *client_),
            (std::vector<std::string>{"MARK:0:0", "one", "two", "three", "MARK:0:" + three,
                                      "END:Completed"}));
  EXPECT_EQ(
      stream({{"id", "w"}, {"marks", true}, {"tail", 1}}, *client_),
      (std::vector<std::string>{"MARK:0:" + two, "three", "MARK:0:" + three, "END:Completed"}));
  // Two lines after the mark at 0 are had: from the third on; the first
  // mark comes once the skipped lines are behind.
  EXPECT_EQ(
      stream({{"id", "w"}, {"marks", true}, {"from", {{"attempt", 0}, {"offset", 0}, {"skip", 2}}}},
             *client_),
      (std::vector<std::string>{"three", "MARK:0:" + three, "END:Completed"}));
  EXPECT_EQ(
      stream({{"id", "w"}, {"from", {{"attempt", 0}, {"offset", std::stoll(two)}}}}, *client_),
      (std::vector<std::string>{"three", "END:Completed"}));
}

// A take-up in an earlier restart's log reads on there while its file is
// left, then the current one; once it is gone, the current one from its start.
TEST_F(LogsTest, ATakeUpInAnEarlierRestartsLog) {
  auto s = spec("w");
  s.restart_policy = api::RestartPolicy::kAlways;
  const auto container = run(s);
  const auto first_path = statusOf("w").log_path;
  append(first_path, {"a0", "b0"});
  const auto a0 = static_cast<std::int64_t>(std::filesystem::file_size(first_path)) / 2;
  ASSERT_NO_FATAL_FAILURE(restartOnce(container));
  const auto second_path = statusOf("w").log_path;
  append(second_path, {"a1"});
  const Json from{{"attempt", 0}, {"offset", a0}};
  ASSERT_TRUE(std::filesystem::exists(first_path));
  // Following: the rest of the earlier log, then the current one's.
  Client follower(port_);
  ASSERT_EQ(follower.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  ASSERT_TRUE(follower.send(
      {{"type", "Logs"}, {"id", "w"}, {"follow", true}, {"from", from}, {"req", "f"}}));
  EXPECT_EQ(follower.read().value_or(Json{}).value("line", ""), "b0");
  EXPECT_EQ(follower.read().value_or(Json{}).value("line", ""), "a1");
  // A read without follow ends with the file it started in.
  EXPECT_EQ(stream({{"id", "w"}, {"from", from}}, *client_),
            (std::vector<std::string>{"b0", "END:Completed"}));
  std::filesystem::remove(first_path);
  EXPECT_EQ(stream({{"id", "w"}, {"from", from}}, *client_),
            (std::vector<std::string>{"a1", "END:Completed"}));
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
