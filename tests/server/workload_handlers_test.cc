// The /workloads routes through Router::dispatch, on a WorkloadService with
// fakes (service_fixture.h): status codes, bodies, the 400-vs-422 rules.

#include "server/http/workload_handlers.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/validate.h"
#include "open_access.h"
#include "service_fixture.h"

namespace zp::server::testing {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

struct Reply {
  unsigned status = 0;
  json body;
  HttpResponse raw;
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : raw.headers) {
      if (k == name) return v;
    }
    return {};
  }
};

class WorkloadHandlersTest : public ServiceFixture {
 protected:
  WorkloadHandlersTest() {
    fleet_.addNode("n1", {"kata"}, {1024, 4000});
    routes();
  }
  void routes(WatchHook watch = {}) {
    router_ = Router{};
    router_.setAccessControl(&openAccess());
    handlers_ = std::make_unique<WorkloadHandlers>(*service_, std::move(watch));
    handlers_->addRoutes(router_);
  }

  Reply send(http::verb method, const std::string& target, std::string body = {}) {
    auto response = run(router_.dispatch(method, target, std::move(body)));
    Reply reply;
    reply.status = response.status;
    reply.body = json::parse(response.body, nullptr, false);
    reply.raw = std::move(response);
    return reply;
  }
  Reply post(std::string body) { return send(http::verb::post, "/workloads", std::move(body)); }
  Reply get(const std::string& target) { return send(http::verb::get, target); }
  Reply del(const std::string& target) { return send(http::verb::delete_, target); }

  static std::string body(const std::string& id, int memory_mb = 128) {
    return R"({"id":")" + id + R"(","image":"busybox:1.36","memory_mb":)" +
           std::to_string(memory_mb) + "}";
  }

  Router router_;
  std::unique_ptr<WorkloadHandlers> handlers_;
};

TEST_F(WorkloadHandlersTest, PostIs201WithLocationAndTheRecord) {
  auto res = post(body("web-1"));
  ASSERT_EQ(res.status, 201u) << res.raw.body;
  EXPECT_EQ(res.header("Location"), "/workloads/web-1");
  EXPECT_EQ(res.raw.content_type, "application/json");
  EXPECT_EQ(res.body["spec"]["id"], "web-1");
  EXPECT_EQ(res.body["spec"]["runtime_class"], "kata");
  EXPECT_EQ(res.body["spec"]["trust"], "untrusted");
  EXPECT_EQ(res.body["status"]["state"], "Pending");
  EXPECT_EQ(res.body["status"]["reason"], "Scheduled");
  EXPECT_EQ(res.body["status"]["node"], "n1");
  EXPECT_EQ(res.body["status"]["uid"].get<std::string>().size(), 32u);
  EXPECT_TRUE(res.body["status"].contains("created_at"));
  EXPECT_EQ(fleet_.count("StartWorkload"), 1);

  auto generated = post(R"({"image":"busybox:1.36"})");
  ASSERT_EQ(generated.status, 201u);
  const std::string id = generated.body["spec"]["id"];
  EXPECT_EQ(id.substr(0, 3), "wl-");
  EXPECT_EQ(generated.header("Location"), "/workloads/" + id);
}

TEST_F(WorkloadHandlersTest, NoRoomIs201Unschedulable) {
  auto res = post(body("big", 4096));
  ASSERT_EQ(res.status, 201u) << res.raw.body;
  EXPECT_EQ(res.body["status"]["state"], "Pending");
  EXPECT_EQ(res.body["status"]["reason"], "Unschedulable");
  EXPECT_EQ(res.body["status"]["message"], "0/1 nodes available: 1 insufficient memory");
  EXPECT_EQ(res.body["status"]["node"], "");
  EXPECT_FALSE(res.body["status"].contains("uid"));
}

TEST_F(WorkloadHandlersTest, ShapeErrorsAre400) {
  auto malformed = post(R"({"image": )");
  EXPECT_EQ(malformed.status, 400u);
  EXPECT_EQ(malformed.body["error"]["code"], "InvalidArgument");
  EXPECT_NE(malformed.body["error"]["message"].get<std::string>().find("malformed JSON"),
            std::string::npos);
  EXPECT_EQ(post("").status, 400u);
  EXPECT_EQ(post("[1,2]").status, 400u);
  auto deep = post(R"({"image":"busybox","env":)" + std::string(1 << 19, '['));
  EXPECT_EQ(deep.status, 400u);
  EXPECT_EQ(deep.body["error"]["message"], "malformed JSON: nested deeper than 64 levels");
  auto unknown = post(R"({"image":"busybox","replicas":3})");
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(unknown.body["error"]["field"], "replicas");
  auto type = post(R"({"image":"busybox","memory_mb":"lots"})");
  EXPECT_EQ(type.status, 400u);
  EXPECT_EQ(type.body["error"]["field"], "memory_mb");
  auto twice = post(R"({"image":"busybox","image":"nginx"})");
  EXPECT_EQ(twice.status, 400u);
  auto param = send(http::verb::post, "/workloads?dry_run=1", body("web-1"));
  EXPECT_EQ(param.status, 400u);
  EXPECT_EQ(param.body["error"]["field"], "dry_run");
  EXPECT_EQ(store_.workloadCount(), 0u);
}

TEST_F(WorkloadHandlersTest, InvalidValuesAndPolicyRefusalsAre422WithTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {body("Bad_Id"), "id"},
      {R"({"image":"UPPER/Case"})", "image"},
      {body("small", 1), "memory_mb"},
      {R"({"memory_mb":128})", "image"},
      {R"({"image":"busybox","runtime_class":"native"})", "runtime_class"},
      {R"({"image":"busybox","runtime_class":"gvisor"})", "runtime_class"},
      {R"({"image":"busybox","security":{"profile":"baseline"}})", "security.profile"},
      {R"({"image":"localhost:5000/app"})", "image"},
  };
  for (const auto& [submission, field] : cases) {
    auto res = post(submission);
    EXPECT_EQ(res.status, 422u) << submission << " " << res.raw.body;
    EXPECT_EQ(res.body["error"]["code"], "InvalidArgument") << submission;
    EXPECT_EQ(res.body["error"]["field"], field) << submission;
  }
  EXPECT_EQ(store_.workloadCount(), 0u);
  EXPECT_TRUE(fleet_.calls().empty());
}

TEST_F(WorkloadHandlersTest, DuplicateIs409AndAStoreFailureIs503) {
  ASSERT_EQ(post(body("web-1")).status, 201u);
  auto dup = post(body("web-1"));
  EXPECT_EQ(dup.status, 409u);
  EXPECT_EQ(dup.body["error"]["code"], "AlreadyExists");
  store_.failNextApplies(1);
  auto down = post(body("web-2"));
  EXPECT_EQ(down.status, 503u);
  EXPECT_EQ(down.body["error"]["code"], "Unavailable");
  EXPECT_EQ(get("/workloads/web-2").status, 404u);
}

TEST_F(WorkloadHandlersTest, AFullDiskIs507WithAJsonErrorAndReadsStillWork) {
  ASSERT_EQ(post(body("web-1")).status, 201u);
  store_.failNextApplies(1, Code::kStorageFull);
  auto full = post(body("web-2"));
  EXPECT_EQ(full.status, 507u) << full.raw.body;
  EXPECT_EQ(full.raw.content_type, "application/json");
  EXPECT_EQ(full.body["error"]["code"], "StorageFull");
  EXPECT_NE(full.body["error"]["message"].get<std::string>().find("database disk is full"),
            std::string::npos)
      << full.raw.body;
  EXPECT_EQ(get("/workloads/web-2").status, 404u);
  EXPECT_EQ(get("/workloads/web-1").status, 200u);
  EXPECT_EQ(get("/workloads").body["items"].size(), 1u);
  EXPECT_EQ(fleet_.count("StartWorkload"), 1);  // nothing sent for web-2

  // A delete whose mark cannot be stored changes nothing.
  store_.failNextApplies(1, Code::kStorageFull);
  auto undeleted = del("/workloads/web-1");
  EXPECT_EQ(undeleted.status, 507u) << undeleted.raw.body;
  EXPECT_EQ(undeleted.body["error"]["code"], "StorageFull");
  EXPECT_NE(get("/workloads/web-1").body["status"]["reason"], "Terminating");
  EXPECT_EQ(fleet_.count("RemoveWorkload"), 0);

  // Space is back: the same submission succeeds.
  EXPECT_EQ(post(body("web-2")).status, 201u);
  EXPECT_EQ(store_.workloadCount(), 2u);
}

TEST_F(WorkloadHandlersTest, GetIsTheServicesView) {
  ASSERT_EQ(post(body("web-1")).status, 201u);
  auto res = get("/workloads/web-1");
  ASSERT_EQ(res.status, 200u);
  EXPECT_EQ(res.body["spec"]["id"], "web-1");
  EXPECT_EQ(res.body["status"]["reason"], "ContainerCreating");
  fleet_.setState("n1", NodeState::kNotReady, "NoHeartbeat");
  auto unknown = get("/workloads/web-1");
  EXPECT_EQ(unknown.body["status"]["state"], "Unknown");
  EXPECT_EQ(unknown.body["status"]["reason"], "NodeUnreachable");

  auto missing = get("/workloads/nope");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.body["error"]["code"], "NotFound");
  EXPECT_EQ(get("/workloads/web-1?verbose=1").status, 400u);
}

TEST_F(WorkloadHandlersTest, ListFiltersAndPages) {
  for (const char* id : {"w1", "w2", "w3"}) {
    ASSERT_EQ(post(body(id)).status, 201u);
    clock_.advance(std::chrono::seconds(1));
  }
  auto all = get("/workloads");
  ASSERT_EQ(all.status, 200u);
  ASSERT_EQ(all.body["items"].size(), 3u);
  EXPECT_EQ(all.body["items"][0]["spec"]["id"], "w1");
  EXPECT_FALSE(all.body.contains("continue"));

  auto first = get("/workloads?limit=2");
  ASSERT_EQ(first.body["items"].size(), 2u);
  ASSERT_TRUE(first.body.contains("continue"));
  const std::string next = first.body["continue"];
  auto second = get("/workloads?limit=2&continue=" + next);
  ASSERT_EQ(second.status, 200u) << second.raw.body;
  ASSERT_EQ(second.body["items"].size(), 1u);
  EXPECT_EQ(second.body["items"][0]["spec"]["id"], "w3");
  EXPECT_FALSE(second.body.contains("continue"));

  EXPECT_EQ(get("/workloads?state=Pending&node=n1&runtime_class=kata").body["items"].size(), 3u);
  EXPECT_EQ(get("/workloads?state=Running").body["items"].size(), 0u);
  EXPECT_EQ(get("/workloads?node=n2").body["items"].size(), 0u);

  auto state = get("/workloads?state=Sleeping");
  EXPECT_EQ(state.status, 422u);
  EXPECT_EQ(state.body["error"]["field"], "state");
  for (const char* bad : {"0", "1001", "x", "-1", ""}) {
    auto limit = get(std::string("/workloads?limit=") + bad);
    EXPECT_EQ(limit.status, 422u) << bad;
    EXPECT_EQ(limit.body["error"]["field"], "limit") << bad;
  }
  // A name filter that cannot name anything is refused, as for a watch.
  for (const char* bad : {"node=", "runtime_class=", "node=ABC", "runtime_class=a_b"}) {
    auto filter = get(std::string("/workloads?") + bad);
    EXPECT_EQ(filter.status, 422u) << bad;
    EXPECT_EQ(filter.body["error"]["field"], std::string(bad).substr(0, std::string(bad).find('=')))
        << bad;
  }
  for (const char* bad : {"nonsense", "-1.x", "1.X", "1", ".x"}) {
    auto token = get(std::string("/workloads?continue=") + bad);
    EXPECT_EQ(token.status, 422u) << bad;
    EXPECT_EQ(token.body["error"]["field"], "continue") << bad;
  }
  auto unknown = get("/workloads?sort=id");
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(unknown.body["error"]["field"], "sort");
}

TEST_F(WorkloadHandlersTest, WatchGoesToTheHook) {
  auto unsupported = get("/workloads?watch=true");
  EXPECT_EQ(unsupported.status, 400u);
  EXPECT_EQ(unsupported.body["error"]["message"], "watch is not supported");
  EXPECT_EQ(get("/workloads?watch=maybe").status, 422u);
  EXPECT_EQ(get("/workloads?watch=false").status, 200u);

  std::map<std::string, std::string> seen;
  routes([&seen](HttpRequest request) -> boost::asio::awaitable<HttpResponse> {
    seen = request.query;
    co_return HttpResponse{200, "{}\n", "application/x-ndjson", {}, {}, {}};
  });
  auto watched = get("/workloads?watch=true&node=n1");
  EXPECT_EQ(watched.status, 200u);
  EXPECT_EQ(watched.raw.content_type, "application/x-ndjson");
  EXPECT_EQ(seen, (std::map<std::string, std::string>{{"watch", "true"}, {"node", "n1"}}));
  // The hook judges a watch's parameters (id is one); a list does not take id.
  auto one = get("/workloads?watch=true&id=web-1");
  EXPECT_EQ(one.status, 200u);
  EXPECT_EQ(seen, (std::map<std::string, std::string>{{"watch", "true"}, {"id", "web-1"}}));
  auto listed = get("/workloads?id=web-1");
  EXPECT_EQ(listed.status, 400u);
  EXPECT_EQ(listed.body["error"]["field"], "id");
  EXPECT_EQ(get("/workloads?watch=false&id=web-1").status, 400u);
}

TEST_F(WorkloadHandlersTest, DeleteRemovesAndAnswersTheRecord) {
  ASSERT_EQ(post(body("web-1")).status, 201u);
  ASSERT_EQ(post(body("web-2")).status, 201u);
  for (const char* bad : {"-1", "x", "301", "1.5", ""}) {
    auto res = del(std::string("/workloads/web-1?grace_seconds=") + bad);
    EXPECT_EQ(res.status, 422u) << bad;
    EXPECT_EQ(res.body["error"]["field"], "grace_seconds") << bad;
  }
  EXPECT_EQ(del("/workloads/web-1?force=1").status, 400u);
  EXPECT_EQ(fleet_.count("RemoveWorkload"), 0);

  auto res = del("/workloads/web-1?grace_seconds=3");
  ASSERT_EQ(res.status, 200u) << res.raw.body;
  EXPECT_EQ(res.body["spec"]["id"], "web-1");
  EXPECT_TRUE(res.body.contains("status"));
  auto removes = fleet_.requests<protocol::RemoveWorkload>();
  ASSERT_EQ(removes.size(), 1u);
  EXPECT_EQ(removes[0].timeout_seconds, 3);
  EXPECT_EQ(get("/workloads/web-1").status, 404u);
  EXPECT_EQ(del("/workloads/web-1").status, 404u);

  fleet_.setConnected("n1", false);
  auto down = del("/workloads/web-2");
  EXPECT_EQ(down.status, 503u);
  EXPECT_EQ(down.body["error"]["code"], "Unavailable");
  EXPECT_EQ(get("/workloads/web-2").status, 200u);
  fleet_.setConnected("n1", true);
  EXPECT_EQ(del("/workloads/web-2").status, 200u);
  EXPECT_EQ(fleet_.requests<protocol::RemoveWorkload>().back().timeout_seconds,
            protocol::kDefaultStopTimeoutSeconds);
}

// The largest spec admission accepts, in the characters that cost the most
// to encode, still fits one protocol line and reaches the node; one byte
// more is refused at admission, before anything is sent.
TEST_F(WorkloadHandlersTest, ASpecAtTheBoundsFitsTheProtocol) {
  json env = json::object();
  const std::size_t entries = api::kMaxPayloadBytes / api::kMaxStringBytes;
  for (std::size_t i = 0; i < entries; ++i) {
    const std::string name = "E" + std::to_string(i);
    env[name] = std::string(api::kMaxStringBytes - name.size(), '\x01');  // "\u0001" in JSON
  }
  json spec{{"id", "big-1"}, {"image", "busybox:1.36"}, {"env", env}};
  const std::string text = spec.dump();
  ASSERT_GT(text.size(), 6 * api::kMaxPayloadBytes - 1024);
  auto res = post(text);
  ASSERT_EQ(res.status, 201u) << res.raw.body.substr(0, 300);
  EXPECT_EQ(get("/workloads/big-1").body["status"]["reason"], "ContainerCreating");
  EXPECT_TRUE(fleet_.copies("n1").contains("big-1"));
  env["E0"] = env["E0"].get<std::string>() + "x";
  spec["id"] = "big-2";
  spec["env"] = env;
  auto over = post(spec.dump());
  EXPECT_EQ(over.status, 422u);
  EXPECT_EQ(over.body["error"]["field"], "env");
  EXPECT_EQ(fleet_.count("StartWorkload"), 1);
}

}  // namespace
}  // namespace zp::server::testing
