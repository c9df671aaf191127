// GET /workloads?watch=true through Router + HttpServer, with a WatchHub fed
// by the test.
#include "server/http/watch_handler.h"

#include <gtest/gtest.h>

#include <thread>

#include "http_harness.h"
#include "open_access.h"
#include "server/http/record_json.h"

namespace zp::server::testing {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using api::WorkloadState;
using nlohmann::json;
using namespace std::chrono_literals;

store::WorkloadRecord record(const std::string& id, WorkloadState state,
                             const std::string& node = "node-1") {
  store::WorkloadRecord r;
  r.spec.id = id;
  r.spec.image = "busybox:1.36";
  r.spec.runtime_class = "native";
  r.status.id = id;
  r.status.state = state;
  r.status.node = node;
  return r;
}

json eventJson(const std::string& type, const store::WorkloadRecord& r) {
  return json{{"type", type}, {"workload", recordJson(r)}};
}

class WatchHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.setAccessControl(&openAccess());
    router_.add(http::verb::get, "/workloads", auth::Permission::kRead,
                handler_.withList([this](HttpRequest request) -> asio::awaitable<HttpResponse> {
                  list_queries_.push_back(request.query);
                  co_return jsonResponse(http_status::kOk, json{{"items", json::array()}});
                }));
    http_ = std::make_unique<HttpHarness>(io_, router_);
    http_->start();
  }
  void TearDown() override { http_.reset(); }

  void publish(WatchEventType type, store::WorkloadRecord r) {
    http_->onExecutor([&] { hub_.publish(WatchEvent{type, r}); });
  }
  std::size_t watchers() {
    return http_->onExecutor([&] { return hub_.watcherCount(); });
  }
  // Waits (bounded) until the hub has `n` watchers: leaving is noticed asynchronously.
  bool waitForWatchers(std::size_t n) {
    for (int i = 0; i < 2000; ++i) {
      if (watchers() == n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  asio::io_context io_;
  WatchHub hub_{io_.get_executor(), 3};
  std::vector<store::WorkloadRecord> table_ = {record("a", WorkloadState::kRunning),
                                               record("b", WorkloadState::kPending)};
  std::vector<WatchFilter> snapshots_;  // the filters the snapshot hook was asked for
  WatchHandler handler_{hub_,
                        [this](const WatchFilter& filter) {
                          snapshots_.push_back(filter);
                          return table_;  // unfiltered: the watcher filters too
                        },
                        // Only node-3 has verified its classes.
                        [](const store::WorkloadRecord& r) -> std::optional<api::ClassIsolation> {
                          if (r.status.node != "node-3") return std::nullopt;
                          api::ClassIsolation c;
                          c.runtime_class = r.spec.runtime_class;
                          c.level = api::IsolationLevel::kHypervisor;
                          c.score = 90;
                          c.verified_at = TimePoint{} + std::chrono::seconds(1'700'000'000);
                          return c;
                        }};
  std::vector<std::map<std::string, std::string>> list_queries_;
  Router router_;
  std::unique_ptr<HttpHarness> http_;
};

TEST_F(WatchHandlerTest, StreamsTheMatchingRecordsThenTheirChanges) {
  StreamingRequest watch(http_->port(), "/workloads?watch=true&state=Running&node=node-1");
  EXPECT_EQ(watch.status(), 200u);
  EXPECT_EQ(watch.header("Content-Type"), "application/x-ndjson");
  EXPECT_EQ(json::parse(*watch.readLine()), eventJson("ADDED", table_[0]));

  publish(WatchEventType::kModified, record("b", WorkloadState::kRunning));
  EXPECT_EQ(json::parse(*watch.readLine()),
            eventJson("ADDED", record("b", WorkloadState::kRunning)));
  publish(WatchEventType::kModified, record("a", WorkloadState::kSucceeded));
  EXPECT_EQ(json::parse(*watch.readLine()),
            eventJson("DELETED", record("a", WorkloadState::kSucceeded)));
  publish(WatchEventType::kModified, record("b", WorkloadState::kRunning, "node-2"));
  publish(WatchEventType::kAdded, record("c", WorkloadState::kRunning));
  EXPECT_EQ(json::parse(*watch.readLine()),
            eventJson("DELETED", record("b", WorkloadState::kRunning, "node-2")));
  EXPECT_EQ(json::parse(*watch.readLine()),
            eventJson("ADDED", record("c", WorkloadState::kRunning)));

  ASSERT_EQ(http_->onExecutor([&] { return snapshots_.size(); }), 1u);
  const WatchFilter asked = http_->onExecutor([&] { return snapshots_[0]; });
  EXPECT_EQ(asked.state, WorkloadState::kRunning);
  EXPECT_EQ(asked.node, "node-1");
  EXPECT_FALSE(asked.runtime_class.has_value());
  EXPECT_TRUE(http_->onExecutor([&] { return list_queries_.empty(); }));
}

TEST_F(WatchHandlerTest, EventsCarryTheIsolationOfTheClassOnItsNode) {
  StreamingRequest watch(http_->port(), "/workloads?watch=true&node=node-3");
  publish(WatchEventType::kAdded, record("z", WorkloadState::kRunning, "node-3"));
  const json event = json::parse(*watch.readLine());
  EXPECT_EQ(event["type"], "ADDED");
  EXPECT_EQ(event["workload"]["status"]["isolation"],
            json::parse(R"({"level":"hypervisor","score":90,"quarantined":false,
                            "verified_at":"2023-11-14T22:13:20.000Z"})"));
}

TEST_F(WatchHandlerTest, AnUnfilteredWatchPassesEveryEventOn) {
  StreamingRequest watch(http_->port(), "/workloads?watch=true");
  EXPECT_EQ(json::parse(*watch.readLine())["type"], "ADDED");
  EXPECT_EQ(json::parse(*watch.readLine())["type"], "ADDED");
  publish(WatchEventType::kDeleted, record("a", WorkloadState::kRunning));
  EXPECT_EQ(json::parse(*watch.readLine()),
            eventJson("DELETED", record("a", WorkloadState::kRunning)));
}

TEST_F(WatchHandlerTest, TheClientLeavingEndsTheWatcher) {
  {
    StreamingRequest watch(http_->port(), "/workloads?watch=true&id=a");
    EXPECT_EQ(json::parse(*watch.readLine()), eventJson("ADDED", table_[0]));
    EXPECT_EQ(watchers(), 1u);
    watch.close();
  }
  EXPECT_TRUE(waitForWatchers(0));
}

TEST_F(WatchHandlerTest, AWatchThatFallsBehindEndsWithAnErrorLine) {
  StreamingRequest watch(http_->port(), "/workloads?watch=true&id=zzz");  // no initial records
  ASSERT_TRUE(waitForWatchers(1));
  // More changes at once than the queue holds (3), before the writer runs.
  http_->onExecutor([&] {
    for (int i = 0; i < 5; ++i)
      hub_.publish({WatchEventType::kModified, record("zzz", WorkloadState::kPending)});
  });
  EXPECT_EQ(json::parse(*watch.readLine()),
            json::parse(R"({"type":"ERROR","error":{"code":"ResourceExhausted",
                            "message":"watch fell behind; list again"}})"));
  EXPECT_EQ(watch.readLine(), std::nullopt);
  EXPECT_TRUE(watch.complete());
  EXPECT_TRUE(waitForWatchers(0));
}

TEST_F(WatchHandlerTest, HubShutdownEndsTheBody) {
  StreamingRequest watch(http_->port(), "/workloads?watch=true&state=Pending");
  EXPECT_EQ(json::parse(*watch.readLine()), eventJson("ADDED", table_[1]));
  http_->onExecutor([&] { hub_.shutdown(); });
  EXPECT_EQ(watch.readLine(), std::nullopt);
  EXPECT_TRUE(watch.complete());
}

TEST_F(WatchHandlerTest, BadParametersAreRefusedBeforeStreaming) {
  auto unknown = httpRequest(http_->port(), http::verb::get, "/workloads?watch=true&limit=5");
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(unknown.json["error"]["field"], "limit");
  EXPECT_EQ(unknown.header("content-type"), "application/json");
  auto state = httpRequest(http_->port(), http::verb::get, "/workloads?watch=true&state=Bogus");
  EXPECT_EQ(state.status, 422u);
  EXPECT_EQ(state.json["error"]["field"], "state");
  auto empty_node = httpRequest(http_->port(), http::verb::get, "/workloads?watch=true&node=");
  EXPECT_EQ(empty_node.status, 422u);
  // An id no workload can have would stream nothing forever.
  auto bad_id = httpRequest(http_->port(), http::verb::get, "/workloads?watch=true&id=BAD_ID");
  EXPECT_EQ(bad_id.status, 422u);
  EXPECT_EQ(bad_id.json["error"]["field"], "id");
  auto not_bool = httpRequest(http_->port(), http::verb::get, "/workloads?watch=yes");
  EXPECT_EQ(not_bool.status, 400u);
  EXPECT_EQ(not_bool.json["error"]["field"], "watch");
  EXPECT_EQ(watchers(), 0u);
}

TEST_F(WatchHandlerTest, ListRequestsGoToTheListHandler) {
  EXPECT_EQ(httpRequest(http_->port(), http::verb::get, "/workloads?state=Running").status, 200u);
  EXPECT_EQ(httpRequest(http_->port(), http::verb::get, "/workloads?watch=false&node=n").status,
            200u);
  auto queries = http_->onExecutor([&] { return list_queries_; });
  ASSERT_EQ(queries.size(), 2u);
  EXPECT_EQ(queries[0], (std::map<std::string, std::string>{{"state", "Running"}}));
  EXPECT_EQ(queries[1], (std::map<std::string, std::string>{{"node", "n"}}));
}

TEST_F(WatchHandlerTest, HeadSubscribesNothing) {
  auto head = httpRequest(http_->port(), http::verb::head, "/workloads?watch=true");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("content-type"), "application/x-ndjson");
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(watchers(), 0u);
  EXPECT_TRUE(http_->onExecutor([&] { return snapshots_.empty(); }));
}

}  // namespace
}  // namespace zp::server::testing
