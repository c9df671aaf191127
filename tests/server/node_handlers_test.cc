#include "server/http/node_handlers.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "fake_clock.h"
#include "open_access.h"
#include "run_io.h"
#include "support/fake_store.h"

namespace zp::server {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;
using testing::runTask;
using namespace std::chrono_literals;

const TimePoint kClockStart = TimePoint{} + std::chrono::hours(1000);

// The handlers over a registry that is loaded but not started: its nodes
// stay NotReady/Connecting, which is all these routes need.
class NodeHandlersTest : public ::testing::Test {
 protected:
  NodeHandlersTest() {
    EXPECT_TRUE(registry.load({}, {{"node-a", "127.0.0.1:9000", {"native"}}}));
    handlers.addRoutes(router);
    router.setAccessControl(&testing::openAccess());
  }

  asio::awaitable<Status> drainNode(std::string node) {
    drained.push_back(node);
    co_return drain_result;
  }

  HttpResponse request(http::verb method, const std::string& target, std::string body = {}) {
    return runTask(io, router.dispatch(method, target, std::move(body)));
  }
  static json body(const HttpResponse& response) { return json::parse(response.body); }
  static std::string errorField(const HttpResponse& response) {
    return body(response)["error"].value("field", "");
  }

  asio::io_context io;
  zp::testing::FakeStore store;
  store::CommitQueue commits{store};
  testing::FakeClock clock{kClockStart};
  NodeRegistry registry{io.get_executor(), commits, clock, {}};
  std::vector<std::string> drained;
  Status drain_result = ok();
  NodeHandlers handlers{registry, clock,
                        [this](std::string node) { return drainNode(std::move(node)); }};
  Router router;
};

TEST_F(NodeHandlersTest, ListsAndGetsNodeViews) {
  auto list = request(http::verb::get, "/nodes");
  ASSERT_EQ(list.status, 200u) << list.body;
  const json items = body(list)["items"];
  ASSERT_EQ(items.size(), 1u);
  const json& node = items[0];
  EXPECT_EQ(node["id"], "node-a");
  EXPECT_EQ(node["address"], "127.0.0.1:9000");
  EXPECT_EQ(node["state"], "NotReady");
  EXPECT_EQ(node["reason"], "Connecting");
  EXPECT_TRUE(node.contains("message"));
  EXPECT_EQ(node["schedulable"], true);
  EXPECT_FALSE(node.contains("last_heartbeat"));
  EXPECT_FALSE(node.contains("version"));
  EXPECT_EQ(node["capacity"], (json{{"memory_mb", 0}, {"cpu_millicores", 0}}));
  EXPECT_EQ(node["runtime_classes"], json::array({"native"}));
  EXPECT_EQ(node["workloads"], 0);

  auto one = request(http::verb::get, "/nodes/node-a");
  ASSERT_EQ(one.status, 200u);
  EXPECT_EQ(body(one), node);
  EXPECT_EQ(request(http::verb::get, "/nodes/node-z").status, 404u);
  EXPECT_EQ(request(http::verb::get, "/healthz").status, 200u);
  EXPECT_EQ(body(request(http::verb::get, "/healthz"))["status"], "ok");
}

TEST_F(NodeHandlersTest, UnknownQueryParametersAre400) {
  for (const std::string target : {"/nodes?watch=true", "/nodes/node-a?x=1", "/healthz?verbose=1",
                                   "/nodes/node-a/cordon?now=1"}) {
    const auto method =
        target.find("cordon") != std::string::npos ? http::verb::post : http::verb::get;
    auto response = request(method, target);
    EXPECT_EQ(response.status, 400u) << target;
    EXPECT_EQ(body(response)["error"]["code"], "InvalidArgument") << target;
  }
  EXPECT_EQ(request(http::verb::delete_, "/nodes/node-a?forse=true").status, 400u);
  EXPECT_EQ(request(http::verb::delete_, "/nodes/node-a?force=yes").status, 400u);
  EXPECT_TRUE(registry.node("node-a"));
}

TEST_F(NodeHandlersTest, AddingANode) {
  auto created =
      request(http::verb::post, "/nodes", R"({"id":"node-b","address":"127.0.0.1:9001"})");
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(body(created)["id"], "node-b");
  EXPECT_EQ(body(created)["state"], "NotReady");
  ASSERT_EQ(created.headers.size(), 1u);
  EXPECT_EQ(created.headers[0], (std::pair<std::string, std::string>{"Location", "/nodes/node-b"}));
  auto stored = store.loadNodes();
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].id, "node-b");
  EXPECT_EQ(body(request(http::verb::get, "/nodes"))["items"].size(), 2u);

  auto exists =
      request(http::verb::post, "/nodes", R"({"id":"node-a","address":"127.0.0.1:9001"})");
  EXPECT_EQ(exists.status, 409u);
  EXPECT_EQ(body(exists)["error"]["code"], "AlreadyExists");
}

TEST_F(NodeHandlersTest, AddingRefusesBadShapesWith400AndBadValuesWith422) {
  const auto status = [&](std::string text) {
    return request(http::verb::post, "/nodes", std::move(text)).status;
  };
  EXPECT_EQ(status("{"), 400u);
  EXPECT_EQ(status("[]"), 400u);
  EXPECT_EQ(status(""), 400u);
  EXPECT_EQ(status(R"({"id":"node-b","address":"127.0.0.1:9001","extra":1})"), 400u);
  EXPECT_EQ(status(R"({"id":7,"address":"127.0.0.1:9001"})"), 400u);
  EXPECT_EQ(status(R"({"id":"node-b","id":"node-c","address":"127.0.0.1:9001"})"), 400u);
  auto bad_id =
      request(http::verb::post, "/nodes", R"({"id":"Node_B","address":"127.0.0.1:9001"})");
  EXPECT_EQ(bad_id.status, 422u);
  EXPECT_EQ(errorField(bad_id), "id");
  auto no_id = request(http::verb::post, "/nodes", R"({"address":"127.0.0.1:9001"})");
  EXPECT_EQ(no_id.status, 422u);
  EXPECT_EQ(errorField(no_id), "id");
  auto bad_address =
      request(http::verb::post, "/nodes", R"({"id":"node-b","address":"127.0.0.1:0"})");
  EXPECT_EQ(bad_address.status, 422u);
  EXPECT_EQ(errorField(bad_address), "address");
  EXPECT_EQ(status(R"({"id":"node-b"})"), 422u);
  EXPECT_EQ(store.applies(), 0);
  EXPECT_EQ(request(http::verb::post, "/nodes?x=1", R"({"id":"node-b","address":"127.0.0.1:9001"})")
                .status,
            400u);

  store.failNextApplies(1);
  auto unavailable =
      request(http::verb::post, "/nodes", R"({"id":"node-b","address":"127.0.0.1:9001"})");
  EXPECT_EQ(unavailable.status, 503u);
  EXPECT_FALSE(registry.node("node-b"));
}

TEST_F(NodeHandlersTest, RemovingANode) {
  registry.allocate("node-a", {128, 100});
  auto busy = request(http::verb::delete_, "/nodes/node-a");
  EXPECT_EQ(busy.status, 409u);
  EXPECT_EQ(body(busy)["error"]["code"], "FailedPrecondition");
  EXPECT_EQ(request(http::verb::delete_, "/nodes/node-a?force=false").status, 409u);
  auto forced = request(http::verb::delete_, "/nodes/node-a?force=true");
  ASSERT_EQ(forced.status, 200u) << forced.body;
  EXPECT_EQ(body(forced)["id"], "node-a");
  EXPECT_EQ(body(forced)["workloads"], 1);
  EXPECT_EQ(request(http::verb::delete_, "/nodes/node-a").status, 404u);
  EXPECT_EQ(request(http::verb::get, "/nodes/node-a").status, 404u);
}

TEST_F(NodeHandlersTest, CordonUncordonAndDrain) {
  auto cordoned = request(http::verb::post, "/nodes/node-a/cordon");
  ASSERT_EQ(cordoned.status, 200u) << cordoned.body;
  EXPECT_EQ(body(cordoned)["schedulable"], false);
  auto stored = store.loadNodes();
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_TRUE((*stored)[0].cordoned);
  auto uncordoned = request(http::verb::post, "/nodes/node-a/uncordon", "{}");
  ASSERT_EQ(uncordoned.status, 200u);
  EXPECT_EQ(body(uncordoned)["schedulable"], true);
  EXPECT_EQ(request(http::verb::post, "/nodes/node-a/cordon", R"({"now":true})").status, 400u);
  EXPECT_EQ(request(http::verb::post, "/nodes/node-z/cordon").status, 404u);
  EXPECT_EQ(request(http::verb::get, "/nodes/node-a/cordon").status, 405u);

  auto drained_view = request(http::verb::post, "/nodes/node-a/drain");
  ASSERT_EQ(drained_view.status, 200u) << drained_view.body;
  EXPECT_EQ(body(drained_view)["schedulable"], false);
  EXPECT_EQ(drained, std::vector<std::string>{"node-a"});

  drain_result = fail(Code::kUnavailable, "store unavailable");
  auto failed = request(http::verb::post, "/nodes/node-a/drain");
  EXPECT_EQ(failed.status, 503u);
  EXPECT_EQ(request(http::verb::post, "/nodes/node-z/drain").status, 404u);
  EXPECT_EQ(drained.size(), 2u);  // not called for an unknown node
}

TEST(NodeJsonTest, OptionalFieldsAppearWhenSet) {
  NodeView view;
  view.id = "node-a";
  view.address = "127.0.0.1:9000";
  view.state = NodeState::kReady;
  view.last_heartbeat = TimePoint{} + std::chrono::seconds(1'700'000'000) + 250ms;
  view.capacity = {4096, 4000};
  view.allocated = {1024, 500};
  view.runtime_classes = {"edera-zone", "native"};
  view.workloads = 3;
  view.version = "0.9.0";
  const TimePoint now = *view.last_heartbeat;
  const json j = nodeJson(view, now);
  EXPECT_EQ(j, json::parse(R"({
    "id": "node-a", "address": "127.0.0.1:9000", "state": "Ready", "schedulable": true,
    "last_heartbeat": "2023-11-14T22:13:20.250Z",
    "capacity": {"memory_mb": 4096, "cpu_millicores": 4000},
    "allocated": {"memory_mb": 1024, "cpu_millicores": 500},
    "allocatable": {"memory_mb": 3072, "cpu_millicores": 3500},
    "runtime_classes": ["edera-zone", "native"], "isolation": [], "workloads": 3,
    "version": "0.9.0"})"));

  api::ClassIsolation zone;
  zone.runtime_class = "edera-zone";
  zone.claim = api::IsolationLevel::kHypervisor;
  zone.level = api::IsolationLevel::kSharedKernel;
  zone.score = 15;
  zone.findings = {{"claim-not-met", api::Severity::kHigh, "boot id equal", "fix the handler"}};
  zone.verified_at = now - 90s;
  zone.probe_version = "0.9.0";
  api::ClassIsolation native;
  native.runtime_class = "native";
  native.attempted_at = now + 5s;  // the agent's clock may run ahead
  native.verified_at = now + 5s;
  native.error = "pull failed";
  view.isolation = {zone, native};
  const json items = nodeJson(view, now)["isolation"];
  EXPECT_EQ(items, json::parse(R"([
    {"runtime_class": "edera-zone", "claim": "hypervisor", "level": "shared-kernel",
     "score": 15, "quarantined": true,
     "findings": [{"id": "claim-not-met", "severity": "high", "evidence": "boot id equal",
                   "remedy": "fix the handler"}],
     "verified_at": "2023-11-14T22:11:50.250Z", "age_seconds": 90, "probe_version": "0.9.0"},
    {"runtime_class": "native", "level": "unverified", "score": 0, "quarantined": false,
     "findings": [], "verified_at": "2023-11-14T22:13:25.250Z", "age_seconds": 0,
     "attempted_at": "2023-11-14T22:13:25.250Z", "error": "pull failed"}])"));
  view.state = NodeState::kLost;
  view.reason = "NoHeartbeat";
  view.message = "no heartbeat answered for 4 s";
  view.schedulable = false;
  const json lost = nodeJson(view, now);
  EXPECT_EQ(lost["state"], "Lost");
  EXPECT_EQ(lost["reason"], "NoHeartbeat");
  EXPECT_EQ(lost["message"], "no heartbeat answered for 4 s");
  EXPECT_EQ(lost["schedulable"], false);
}

}  // namespace
}  // namespace zp::server
