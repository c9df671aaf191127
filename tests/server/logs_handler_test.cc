// GET /workloads/{id}/logs through Router + HttpServer, with a fake Fleet
// whose log stream the test feeds.
#include "server/http/logs_handler.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "http_harness.h"
#include "open_access.h"
#include "server/async_event.h"

namespace zp::server::testing {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

// What the fake stream yields, fed by the test; on the server's executor.
struct LogScript {
  explicit LogScript(asio::any_io_executor executor) : changed(std::move(executor)) {}
  std::deque<Result<LogStream::Item>> items;
  bool cancelled = false;
  bool destroyed = false;
  AsyncEvent changed;
};

class FakeLogStream final : public LogStream {
 public:
  explicit FakeLogStream(std::shared_ptr<LogScript> script) : script_(std::move(script)) {}
  ~FakeLogStream() override { script_->destroyed = true; }
  asio::awaitable<Result<Item>> next() override {
    auto script = script_;
    while (script->items.empty() && !script->cancelled) co_await script->changed.wait();
    if (script->cancelled) co_return fail(Code::kCancelled, "log stream cancelled");
    Result<Item> item = std::move(script->items.front());
    script->items.pop_front();
    co_return item;
  }
  void cancel() override {
    script_->cancelled = true;
    script_->changed.notify();
  }

 private:
  std::shared_ptr<LogScript> script_;
};

class FakeFleet final : public Fleet {
 public:
  explicit FakeFleet(std::shared_ptr<LogScript> script) : script_(std::move(script)) {}
  std::vector<NodeView> nodes() const override { return {}; }
  std::optional<NodeView> node(std::string_view) const override { return std::nullopt; }
  void allocate(std::string_view, const api::Resources&) override {}
  void release(std::string_view, const api::Resources&) override {}
  asio::awaitable<Result<protocol::ReplyBody>> call(std::string_view, protocol::RequestBody,
                                                    std::chrono::milliseconds) override {
    co_return fail(Code::kUnimplemented, "not in this test");
  }
  asio::awaitable<Result<std::unique_ptr<LogStream>>> openLogs(std::string_view node,
                                                               protocol::Logs request) override {
    opened.emplace_back(std::string(node), request);
    if (open_error) co_return fail(*open_error);
    if (!next_scripts.empty()) {
      auto script = next_scripts.front();
      next_scripts.pop_front();
      co_return std::make_unique<FakeLogStream>(script);
    }
    co_return std::make_unique<FakeLogStream>(script_);
  }

  std::optional<Error> open_error;
  std::vector<std::pair<std::string, protocol::Logs>> opened;
  // The scripts of the next streams opened, in order; then the shared one.
  std::deque<std::shared_ptr<LogScript>> next_scripts;

 private:
  std::shared_ptr<LogScript> script_;
};

protocol::LogLine line(std::string text, std::string stream = "stdout") {
  return protocol::LogLine{"2026-11-29T13:40:31.123456789Z", std::move(stream), std::move(text),
                           false};
}

class LogsHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::WorkloadRecord placed;
    placed.spec.id = "web-1";
    placed.status.id = "web-1";
    placed.status.uid = "uid-1";
    placed.status.state = api::WorkloadState::kRunning;
    placed.status.node = "node-1";
    records_["web-1"] = placed;
    store::WorkloadRecord waiting;
    waiting.spec.id = "queued";
    waiting.status.id = "queued";
    waiting.status.reason = "Unschedulable";
    records_["queued"] = waiting;
    store::WorkloadRecord delivering;  // placed, not on its node yet
    delivering.spec.id = "new";
    delivering.status.id = "new";
    delivering.status.node = "node-1";
    delivering.status.reason = "Scheduled";
    records_["new"] = delivering;

    router_.setAccessControl(&openAccess());
    router_.add(http::verb::get, "/workloads/{id}/logs", auth::Permission::kReadLogs,
                [this](HttpRequest r) { return handler_.logs(std::move(r)); });
    http_ = std::make_unique<HttpHarness>(io_, router_);
    http_->start();
  }
  void TearDown() override { http_.reset(); }

  void push(Result<LogStream::Item> item) { push(script_, std::move(item)); }
  void push(const std::shared_ptr<LogScript>& script, Result<LogStream::Item> item) {
    http_->onExecutor([&] {
      script->items.push_back(item);
      script->changed.notify();
    });
  }
  // The next stream opened yields `items` (then waits for more).
  std::shared_ptr<LogScript> nextStream(std::vector<Result<LogStream::Item>> items) {
    auto script = std::make_shared<LogScript>(io_.get_executor());
    for (auto& item : items) script->items.push_back(std::move(item));
    http_->onExecutor([&] { fleet_.next_scripts.push_back(script); });
    return script;
  }
  // The workload service's part: the record changes and the watch hears it.
  void change(const std::string& id, const std::function<void(api::WorkloadStatus&)>& edit,
              WatchEventType type = WatchEventType::kModified) {
    http_->onExecutor([&] {
      edit(records_[id].status);
      hub_.publish(WatchEvent{type, records_[id]});
      if (type == WatchEventType::kDeleted) records_.erase(id);
    });
  }
  // A follow of web-1 that read "first" from its copy, whose log then ended
  // with `end`: the handler waits for the record's next change.
  std::unique_ptr<StreamingRequest> followUntilTheCopyEnds(Result<LogStream::Item> end,
                                                           const std::string& query = {}) {
    push(line("first"));
    auto follow = std::make_unique<StreamingRequest>(http_->port(),
                                                     "/workloads/web-1/logs?follow=true" + query);
    EXPECT_EQ(follow->status(), 200u);
    EXPECT_EQ(follow->readLine(), "first");
    push(std::move(end));
    EXPECT_TRUE(waitForWatchers(1));
    return follow;
  }
  void setState(api::WorkloadState state, std::string reason) {
    change("web-1", [&](api::WorkloadStatus& s) {
      s.state = state;
      s.reason = reason;
    });
  }
  std::size_t opened() {
    return http_->onExecutor([&] { return fleet_.opened.size(); });
  }
  bool waitForWatchers(std::size_t n) {
    for (int i = 0; i < 2000; ++i) {
      if (http_->onExecutor([&] { return hub_.watcherCount(); }) == n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
  HttpResult get(const std::string& target) {
    return httpRequest(http_->port(), http::verb::get, target);
  }
  bool waitForStreamGone() {
    for (int i = 0; i < 2000; ++i) {
      if (http_->onExecutor([&] { return script_->destroyed; })) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  asio::io_context io_;
  std::shared_ptr<LogScript> script_ = std::make_shared<LogScript>(io_.get_executor());
  FakeFleet fleet_{script_};
  std::map<std::string, store::WorkloadRecord> records_;
  WatchHub hub_{io_.get_executor()};
  LogsHandler handler_{fleet_,
                       [this](const std::string& id) -> Result<store::WorkloadRecord> {
                         auto it = records_.find(id);
                         if (it == records_.end()) return fail(Code::kNotFound, "no such workload");
                         return it->second;
                       },
                       &hub_, LogsOptions{50ms}};
  Router router_;
  std::unique_ptr<HttpHarness> http_;
};

TEST_F(LogsHandlerTest, StreamsTheLinesUntilTheEnd) {
  push(line("hello"));
  push(line("oops", "stderr"));
  push(protocol::LogEnd{"Completed"});
  auto res = get("/workloads/web-1/logs");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(res.header("transfer-encoding"), "chunked");
  EXPECT_EQ(res.body, "hello\noops\n");
  EXPECT_TRUE(waitForStreamGone());
}

TEST_F(LogsHandlerTest, AsksTheWorkloadsNodeWithTheParameters) {
  push(protocol::LogEnd{"Completed"});
  auto res = get("/workloads/web-1/logs?tail=5&follow=false&timestamps=true&stream=stdout");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "");
  change("web-1", [](api::WorkloadStatus& s) { s.state = api::WorkloadState::kSucceeded; });
  push(protocol::LogEnd{"Completed"});
  EXPECT_EQ(get("/workloads/web-1/logs?follow=true").status, 200u);
  auto opened = http_->onExecutor([&] { return fleet_.opened; });
  ASSERT_EQ(opened.size(), 2u);
  EXPECT_EQ(opened[0].first, "node-1");
  EXPECT_EQ(opened[0].second.id, "web-1");
  EXPECT_EQ(opened[0].second.tail, 5);
  EXPECT_FALSE(opened[0].second.follow);
  EXPECT_TRUE(opened[0].second.timestamps);
  EXPECT_EQ(opened[0].second.stream, "stdout");  // the node selects the stream (and its tail)
  // Without parameters: everything of both streams.
  EXPECT_EQ(opened[1].second.tail, std::nullopt);
  EXPECT_TRUE(opened[1].second.follow);
  EXPECT_FALSE(opened[1].second.timestamps);
  EXPECT_EQ(opened[1].second.stream, std::nullopt);
}

TEST_F(LogsHandlerTest, TimestampsPrefixTheLinesTheNodeSends) {
  // The node answers only the asked stream; the handler shows what it sends.
  push(line("oops", "stderr"));
  push(line("again", "stderr"));
  push(protocol::LogEnd{"Completed"});
  auto res = get("/workloads/web-1/logs?timestamps=true&stream=stderr&tail=2");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body,
            "2026-11-29T13:40:31.123456789Z oops\n2026-11-29T13:40:31.123456789Z again\n");
  auto opened = http_->onExecutor([&] { return fleet_.opened; });
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].second.stream, "stderr");
  EXPECT_EQ(opened[0].second.tail, 2);
}

protocol::LogLine piece(std::string text, std::string time, std::string stream = "stdout") {
  return protocol::LogLine{std::move(time), std::move(stream), std::move(text), true};
}

// A record the node sent in pieces (partial on all but the last) is one line
// for the client, stamped once with its first piece's time; a line of the
// other stream in between ends the open line, and the rest starts its own.
TEST_F(LogsHandlerTest, PiecesOfOneRecordAreJoinedIntoOneLine) {
  const std::string big(protocol::kMaxLogLineBytes, 'x');
  push(piece(big, "T1"));
  push(piece(big, "T2"));
  push(protocol::LogLine{"T3", "stdout", "end", false});
  push(protocol::LogLine{"T4", "stdout", "short", false});
  push(piece("half", "T5"));
  push(protocol::LogLine{"T6", "stderr", "oops", false});
  push(protocol::LogLine{"T7", "stdout", "rest", false});
  push(protocol::LogEnd{"Completed"});
  auto res = get("/workloads/web-1/logs?timestamps=true");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "T1 " + big + big + "end\nT4 short\nT5 half\nT6 oops\nT7 rest\n");

  push(piece("a", "T1"));
  push(protocol::LogLine{"T2", "stdout", "b", false});
  push(protocol::LogEnd{"Completed"});
  EXPECT_EQ(get("/workloads/web-1/logs").body, "ab\n");

  // A line left open when the body ends cleanly ends with it.
  push(piece("open", "T1"));
  push(protocol::LogEnd{"Completed"});
  EXPECT_EQ(get("/workloads/web-1/logs").body, "open\n");
}

TEST_F(LogsHandlerTest, UnknownAndUnplacedWorkloads) {
  auto unknown = get("/workloads/nope/logs");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.json["error"]["code"], "NotFound");
  EXPECT_EQ(unknown.json["error"]["message"], "no workload \"nope\"");
  auto queued = get("/workloads/queued/logs");
  EXPECT_EQ(queued.status, 409u);
  EXPECT_EQ(queued.json["error"]["code"], "FailedPrecondition");
  EXPECT_EQ(queued.json["error"]["message"],
            "workload \"queued\" is not placed on a node yet, so it has no logs "
            "(Pending/Unschedulable)");
  EXPECT_TRUE(http_->onExecutor([&] { return fleet_.opened.empty(); }));
}

TEST_F(LogsHandlerTest, BadParameters) {
  const std::vector<std::tuple<std::string, unsigned, std::string>> cases = {
      {"tail=abc", 422, "tail"},
      {"tail=", 422, "tail"},
      {"tail=-1", 422, "tail"},
      {"tail=100001", 422, "tail"},
      {"tail=99999999999999999999", 422, "tail"},
      {"follow=yes", 400, "follow"},
      {"timestamps=1", 400, "timestamps"},
      {"stream=both", 422, "stream"},
      {"stream=", 422, "stream"},
      {"stream=STDERR", 422, "stream"},
      {"since=5m", 400, "since"},
  };
  for (const auto& [query, status, field] : cases) {
    auto res = get("/workloads/web-1/logs?" + query);
    EXPECT_EQ(res.status, status) << query;
    EXPECT_EQ(res.json["error"]["field"], field) << query;
    EXPECT_EQ(res.json["error"]["code"], "InvalidArgument") << query;
  }
  EXPECT_TRUE(http_->onExecutor([&] { return fleet_.opened.empty(); }));
  push(protocol::LogEnd{"Completed"});
  EXPECT_EQ(get("/workloads/web-1/logs?tail=100000&follow=false").status, 200u);
}

TEST_F(LogsHandlerTest, ANodeErrorBeforeTheFirstLineIsTheHttpStatus) {
  const auto expectError = [&](const std::string& id, unsigned status, const std::string& message) {
    auto res = get("/workloads/" + id + "/logs");
    EXPECT_EQ(res.status, status) << id;
    EXPECT_EQ(res.json["error"]["message"], message) << id;
  };
  const std::string gone =
      "node \"node-1\" no longer has workload \"web-1\" (Running), so its logs are gone with its "
      "copy";
  // The agent answers an id it does not have with Error{NotFound} (or ends
  // the stream at once with LogEnd{NotFound}): the 404 names the record the
  // server still has.
  push(fail(Code::kNotFound, "no workload \"web-1\" on this node"));
  expectError("web-1", 404u, gone);
  push(protocol::LogEnd{"NotFound"});
  expectError("web-1", 404u, gone);

  push(fail(Code::kUnavailable, "connection to node-1 lost"));
  expectError("web-1", 503u, "connection to node-1 lost");

  // Placed but not delivered yet: the node does not have it yet, like a
  // workload not placed yet (409).
  push(protocol::LogEnd{"NotFound"});
  expectError("new", 409u,
              "workload \"new\" has not reached node \"node-1\" yet, so it has no logs "
              "(Pending/Scheduled)");

  http_->onExecutor([&] { fleet_.open_error = Error{Code::kUnavailable, "node-1 is down", ""}; });
  expectError("web-1", 503u, "node-1 is down");
}

// The node's log streams are all in use (NodeRegistry/AgentLink cap): 429
// with the error, so the client knows to retry later.
TEST_F(LogsHandlerTest, TooManyLogStreamsIs429) {
  http_->onExecutor([&] {
    fleet_.open_error = Error{Code::kResourceExhausted,
                              "too many log streams for node \"node-1\" (32 open, at most 32)", ""};
  });
  auto busy = get("/workloads/web-1/logs?follow=true");
  EXPECT_EQ(busy.status, 429u);
  EXPECT_EQ(busy.json["error"]["code"], "ResourceExhausted");
  EXPECT_EQ(busy.json["error"]["message"],
            "too many log streams for node \"node-1\" (32 open, at most 32)");
}

TEST_F(LogsHandlerTest, FollowSendsTheHeadersBeforeAnyLineAndEndsWhenTheClientLeaves) {
  StreamingRequest follow(http_->port(), "/workloads/web-1/logs?follow=true");
  EXPECT_EQ(follow.status(), 200u);  // nothing logged yet
  push(line("first"));
  EXPECT_EQ(follow.readLine(), "first");
  push(line("second"));
  EXPECT_EQ(follow.readLine(), "second");
  follow.close();
  EXPECT_TRUE(waitForStreamGone());  // the node's connection is closed
  EXPECT_TRUE(http_->onExecutor([&] { return script_->cancelled; }));
}

// Without a mark from the node, the handler cannot say where to go on.
TEST_F(LogsHandlerTest, ANodeErrorAfterTheHeadersLeavesTheBodyIncomplete) {
  push(line("first"));
  StreamingRequest follow(http_->port(), "/workloads/web-1/logs?follow=true");
  EXPECT_EQ(follow.status(), 200u);
  EXPECT_EQ(follow.readLine(), "first");
  push(fail(Code::kUnavailable, "connection to node-1 lost"));
  EXPECT_EQ(follow.readLine(), std::nullopt);
  EXPECT_FALSE(follow.complete());
}

// The connection to the node fails mid-follow (its agent restarts): the
// follow asks again, at every change of the record and after a backoff,
// and goes on from the last mark, skipping the lines had after it.
TEST_F(LogsHandlerTest, AFollowWhoseNodeFailsGoesOnWhereItStoodOnceTheNodeAnswers) {
  push(protocol::LogMark{0, 0});
  push(line("first"));
  StreamingRequest follow(http_->port(), "/workloads/web-1/logs?follow=true");
  EXPECT_EQ(follow.status(), 200u);
  EXPECT_EQ(follow.readLine(), "first");
  push(protocol::LogMark{0, 100});
  push(line("second"));
  EXPECT_EQ(follow.readLine(), "second");
  http_->onExecutor([&] { fleet_.open_error = Error{Code::kUnavailable, "node-1: refused", ""}; });
  push(fail(Code::kUnavailable, "connection to node-1 lost"));
  EXPECT_TRUE(waitForWatchers(1));                            // waits before it asks
  setState(api::WorkloadState::kUnknown, "NodeUnreachable");  // asked, refused
  auto back = nextStream({line("third")});
  http_->onExecutor([&] { fleet_.open_error.reset(); });
  setState(api::WorkloadState::kRunning, "Started");
  EXPECT_EQ(follow.readLine(), "third");
  EXPECT_TRUE(waitForWatchers(0));

  const auto asked = http_->onExecutor([&] { return fleet_.opened; });
  ASSERT_GE(asked.size(), 2u);
  EXPECT_TRUE(asked.front().second.marks);
  EXPECT_EQ(asked.front().second.from, std::nullopt);
  const auto& again = asked.back().second;
  EXPECT_EQ(asked.back().first, "node-1");
  EXPECT_EQ(again.uid, "uid-1");
  EXPECT_TRUE(again.follow);
  EXPECT_TRUE(again.marks);
  EXPECT_EQ(again.tail, std::nullopt);
  ASSERT_TRUE(again.from.has_value());
  EXPECT_EQ(again.from->attempt, 0);
  EXPECT_EQ(again.from->offset, 100);
  EXPECT_EQ(again.from->skip, 1);

  // Without a change of the record, the backoff asks again (refused once
  // here, then answered).
  http_->onExecutor([&] { fleet_.open_error = Error{Code::kUnavailable, "node-1: refused", ""}; });
  const auto before = opened();
  push(back, protocol::LogMark{0, 300});
  push(back, fail(Code::kUnavailable, "connection to node-1 lost"));
  for (int i = 0; i < 2000 && opened() < before + 1; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(opened(), before + 1);  // the refused attempt
  nextStream({line("fourth")});
  http_->onExecutor([&] { fleet_.open_error.reset(); });
  EXPECT_EQ(follow.readLine(), "fourth");
  const auto last = http_->onExecutor([&] { return fleet_.opened.back().second; });
  ASSERT_TRUE(last.from.has_value());
  EXPECT_EQ(last.from->offset, 300);
  EXPECT_EQ(last.from->skip, 0);
}

// An agent from before marks refuses the field: the follow asks again
// without marks (and, with no mark, cannot go on after a failed connection).
TEST_F(LogsHandlerTest, AnAgentWithoutMarksIsAskedAgainWithoutThem) {
  nextStream({fail(Error{Code::kInvalidArgument, "unknown field \"marks\"", "marks"})});
  auto plain = nextStream({line("plain")});
  StreamingRequest follow(http_->port(), "/workloads/web-1/logs?follow=true");
  EXPECT_EQ(follow.status(), 200u);
  EXPECT_EQ(follow.readLine(), "plain");
  const auto asked = http_->onExecutor([&] { return fleet_.opened; });
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_TRUE(asked[0].second.marks);
  EXPECT_FALSE(asked[1].second.marks);
  push(plain, fail(Code::kUnavailable, "connection to node-1 lost"));
  EXPECT_EQ(follow.readLine(), std::nullopt);
  EXPECT_FALSE(follow.complete());
}

// Meanwhile the node was lost and the workload placed elsewhere: the follow
// goes on with the next copy from its start; ended by the server instead
// (NodeLost, restart_policy Never), the body ends incomplete.
TEST_F(LogsHandlerTest, AFollowWhoseNodeIsLostGoesOnWithTheNextCopyOrEndsIncomplete) {
  push(protocol::LogMark{0, 0});
  push(line("first"));
  StreamingRequest follow(http_->port(), "/workloads/web-1/logs?follow=true");
  EXPECT_EQ(follow.readLine(), "first");
  // The first piece of a long line: the next copy's lines do not join it.
  push(protocol::LogLine{"2026-11-29T13:40:32Z", "stdout", "half", true});
  http_->onExecutor([&] { fleet_.open_error = Error{Code::kUnavailable, "node-1: refused", ""}; });
  push(fail(Code::kUnavailable, "connection to node-1 lost"));
  EXPECT_TRUE(waitForWatchers(1));
  auto moved = nextStream({line("elsewhere")});
  http_->onExecutor([&] { fleet_.open_error.reset(); });
  change("web-1", [](api::WorkloadStatus& s) {
    s.uid = "uid-2";
    s.node = "node-2";
    s.state = api::WorkloadState::kRunning;
    s.reason = "Started";
  });
  EXPECT_EQ(follow.readLine(), "half");
  EXPECT_EQ(follow.readLine(), "elsewhere");
  const auto asked = http_->onExecutor([&] { return fleet_.opened.back(); });
  EXPECT_EQ(asked.first, "node-2");
  EXPECT_EQ(asked.second.uid, "uid-2");
  EXPECT_EQ(asked.second.from, std::nullopt);

  http_->onExecutor([&] { fleet_.open_error = Error{Code::kUnavailable, "node-2: refused", ""}; });
  push(moved, fail(Code::kUnavailable, "connection to node-2 lost"));  // no mark yet from it
  EXPECT_EQ(follow.readLine(), std::nullopt);
  EXPECT_FALSE(follow.complete());

  http_->onExecutor([&] { fleet_.open_error.reset(); });
  auto third = nextStream({protocol::LogMark{0, 0}, line("x")});
  StreamingRequest never(http_->port(), "/workloads/web-1/logs?follow=true");
  EXPECT_EQ(never.readLine(), "x");
  http_->onExecutor([&] { fleet_.open_error = Error{Code::kUnavailable, "node-2: refused", ""}; });
  push(third, fail(Code::kUnavailable, "connection to node-2 lost"));
  EXPECT_TRUE(waitForWatchers(1));
  setState(api::WorkloadState::kFailed, std::string(api::reason::kNodeLost));
  EXPECT_EQ(never.readLine(), std::nullopt);
  EXPECT_FALSE(never.complete());
}

// The followed copy removed while its workload lives on (drained, fenced):
// the follow waits for the next copy, opens its whole log on its node once
// the node has it, and goes on there. A deletion ends the body cleanly.
TEST_F(LogsHandlerTest, AFollowGoesOnWithTheNextCopyOfAMovedWorkload) {
  auto follow = followUntilTheCopyEnds(protocol::LogEnd{"NotFound"}, "&tail=10");
  // The new copy's node does not have it yet at the first look.
  nextStream({protocol::LogEnd{"NotFound"}});
  auto moved = nextStream({line("again")});
  change("web-1", [](api::WorkloadStatus& s) {
    s.uid = "uid-2";
    s.node = "";
    s.state = api::WorkloadState::kPending;
    s.reason = "Unschedulable";
  });
  change("web-1", [](api::WorkloadStatus& s) {
    s.node = "node-2";
    s.reason = std::string(api::reason::kScheduled);
  });
  setState(api::WorkloadState::kRunning, "Started");
  EXPECT_EQ(follow->readLine(), "again");
  EXPECT_TRUE(waitForWatchers(0));
  auto asked = http_->onExecutor([&] { return fleet_.opened; });
  ASSERT_EQ(asked.size(), 3u);
  EXPECT_EQ(asked[0].first, "node-1");
  EXPECT_EQ(asked[0].second.tail, 10);
  EXPECT_EQ(asked[0].second.uid, "uid-1");  // the placement's copy, no other
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(asked[i].first, "node-2");            // once placed, not while unplaced
    EXPECT_EQ(asked[i].second.tail, std::nullopt);  // the new copy's whole log
    EXPECT_TRUE(asked[i].second.follow);
    EXPECT_EQ(asked[i].second.uid, "uid-2");
  }

  push(moved, line("more"));
  EXPECT_EQ(follow->readLine(), "more");
  change("web-1",
         [](api::WorkloadStatus& s) { s.reason = std::string(api::reason::kTerminating); });
  push(moved, protocol::LogEnd{"NotFound"});
  EXPECT_EQ(follow->readLine(), std::nullopt);
  EXPECT_TRUE(follow->complete());
}

// The node says the copy's log is complete once the copy is final; a record
// that does not show the end yet (its status on the way) is waited for.
TEST_F(LogsHandlerTest, AFollowEndsCleanlyWhenTheWorkloadsLastCopyEnds) {
  auto follow = followUntilTheCopyEnds(protocol::LogEnd{"Completed"});
  setState(api::WorkloadState::kSucceeded, "Completed");
  EXPECT_EQ(follow->readLine(), std::nullopt);
  EXPECT_TRUE(follow->complete());
  EXPECT_TRUE(waitForWatchers(0));
  EXPECT_EQ(opened(), 1u);
}

TEST_F(LogsHandlerTest, AWorkloadDeletedWhileAFollowWaitsForItsNextCopyEndsTheBodyCleanly) {
  auto follow = followUntilTheCopyEnds(protocol::LogEnd{"NotFound"});
  change(
      "web-1", [](api::WorkloadStatus&) {}, WatchEventType::kDeleted);
  EXPECT_EQ(follow->readLine(), std::nullopt);
  EXPECT_TRUE(follow->complete());
  EXPECT_TRUE(waitForWatchers(0));
}

// A workload that ends without a new copy (a drained Never workload): the
// body ends incomplete, as it does when the copy is removed under a read
// that does not follow.
TEST_F(LogsHandlerTest, ACopyRemovedWithoutANextCopyEndsTheBodyIncomplete) {
  auto follow = followUntilTheCopyEnds(protocol::LogEnd{"NotFound"});
  nextStream({protocol::LogEnd{"NotFound"}});  // looked for once more: gone
  setState(api::WorkloadState::kFailed, "Drained");
  EXPECT_EQ(follow->readLine(), std::nullopt);
  EXPECT_FALSE(follow->complete());
  EXPECT_TRUE(waitForWatchers(0));
  EXPECT_EQ(opened(), 2u);

  setState(api::WorkloadState::kRunning, "Started");
  push(line("second"));
  push(protocol::LogEnd{"NotFound"});
  StreamingRequest read(http_->port(), "/workloads/web-1/logs");
  EXPECT_EQ(read.status(), 200u);
  EXPECT_EQ(read.readLine(), "second");
  EXPECT_EQ(read.readLine(), std::nullopt);
  EXPECT_FALSE(read.complete());
}

// A node may end a copy's log with Completed while it removes the copy (the
// copy is final first): the record decides, and a workload the server ended
// (Drained, NodeLost, DeliveryFailed) had its copy taken away.
TEST_F(LogsHandlerTest, ACopyTheServerEndedEndsTheBodyIncompleteEvenIfItsLogCompleted) {
  auto follow = followUntilTheCopyEnds(protocol::LogEnd{"Completed"});
  setState(api::WorkloadState::kFailed, "Drained");
  EXPECT_EQ(follow->readLine(), std::nullopt);
  EXPECT_FALSE(follow->complete());
  EXPECT_EQ(opened(), 1u);  // a copy that completed is not read again
}

// The next placement ends before its node ever has it (the delivery failed):
// nothing more will come, so the follow ends, incomplete.
TEST_F(LogsHandlerTest, ANextCopyThatEndsBeforeItsNodeHasItEndsTheFollow) {
  auto follow = followUntilTheCopyEnds(protocol::LogEnd{"NotFound"});
  nextStream({fail(Code::kNotFound, "no such workload")});
  change("web-1", [](api::WorkloadStatus& s) {
    s.uid = "uid-2";
    s.node = "node-2";
    s.state = api::WorkloadState::kFailed;
    s.reason = std::string(api::reason::kDeliveryFailed);
  });
  EXPECT_EQ(follow->readLine(), std::nullopt);
  EXPECT_FALSE(follow->complete());
  EXPECT_TRUE(waitForWatchers(0));
}

// The new copy's node answers NotFound only after the first-answer wait
// (50 ms here): still "not there yet", looked for again at the next change.
TEST_F(LogsHandlerTest, ALateNotFoundFromTheNextCopysNodeIsWaitedOut) {
  auto follow = followUntilTheCopyEnds(protocol::LogEnd{"NotFound"});
  auto late = nextStream({});
  nextStream({line("again")});
  change("web-1", [](api::WorkloadStatus& s) {
    s.uid = "uid-2";
    s.node = "node-2";
    s.state = api::WorkloadState::kPending;
    s.reason = std::string(api::reason::kScheduled);
  });
  for (int i = 0; i < 2000 && opened() < 2; ++i) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);  // past the first-answer wait: the body goes on
  push(late, fail(Code::kNotFound, "no such workload"));
  ASSERT_TRUE(waitForWatchers(1));
  setState(api::WorkloadState::kRunning, "Started");
  EXPECT_EQ(follow->readLine(), "again");
  EXPECT_EQ(opened(), 3u);
}

TEST_F(LogsHandlerTest, AClientLeavingWhileTheFollowWaitsForTheNextCopyEndsTheWatch) {
  auto follow = followUntilTheCopyEnds(protocol::LogEnd{"NotFound"});
  follow->close();
  EXPECT_TRUE(waitForWatchers(0));
}

TEST_F(LogsHandlerTest, HeadReleasesTheNodesStream) {
  push(line("first"));
  auto head = httpRequest(http_->port(), http::verb::head, "/workloads/web-1/logs?follow=true");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_TRUE(waitForStreamGone());
}

TEST_F(LogsHandlerTest, StopEndsAFollow) {
  StreamingRequest follow(http_->port(), "/workloads/web-1/logs?follow=true");
  push(line("first"));
  EXPECT_EQ(follow.readLine(), "first");
  http_->stopAndJoin();
  EXPECT_TRUE(script_->destroyed);
  EXPECT_EQ(follow.readLine(), std::nullopt);
}

}  // namespace
}  // namespace zp::server::testing
