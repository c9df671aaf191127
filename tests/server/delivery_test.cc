// Delivery of accepted workloads to their node: transient failures are
// retried with per-workload exponential backoff (capped); a node's permanent
// refusal ends the workload Failed/DeliveryFailed. Time is a FakeClock.

#include <gtest/gtest.h>

#include "api/validate.h"
#include "fake_agent.h"
#include "fake_clock.h"
#include "server/workload_controller.h"
#include "store/sqlite_store.h"
#include "test_server.h"

namespace zp::server::testing {
namespace {

using namespace std::chrono_literals;

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:");
    ASSERT_TRUE(opened);
    store_ = std::move(*opened);
    node_ = std::make_unique<FakeAgent>("node-1", std::vector<std::string>{"native"},
                                        api::Resources{4096, 4000});
    auto options = testOptions({{"node-1", node_->address(), {}}});
    options.delivery_backoff = {2s, 8s};
    server_ = std::make_unique<TestServer>(std::move(options), *store_, clock_);
  }

  nlohmann::json create(const std::string& id) {
    auto res = server_->post("/workloads", R"({"id":")" + id + R"(","image":"busybox:1.36"})");
    EXPECT_EQ(res.status, 201u) << res.body;
    return res.json;
  }
  int reconcile() {
    return server_->run<int>([&] { return server_->server().reconciler().reconcileOnce(); });
  }
  int starts() const { return node_->count("StartWorkload"); }
  api::WorkloadStatus stored(const std::string& id) {
    auto record = store_->get(id);
    EXPECT_TRUE(record) << record.error().toString();
    return record ? record->status : api::WorkloadStatus{};
  }

  FakeClock clock_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<FakeAgent> node_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(DeliveryTest, APermanentRefusalEndsFailedWithTheAgentsMessage) {
  const std::pair<Code, const char*> refusals[] = {
      {Code::kInvalidArgument, "runtime class \"native\" is not offered by node \"node-1\""},
      {Code::kResourceExhausted, "line of 1048700 bytes exceeds the limit of 1048576 bytes"},
      {Code::kUnimplemented, "unknown message type"},
      {Code::kAlreadyExists, "workload exists with a different spec"}};
  int n = 0;
  for (const auto& [code, message] : refusals) {
    const std::string id = "refused-" + std::to_string(n++);
    node_->failStarts(Error{code, message, ""});
    auto res = create(id);
    EXPECT_EQ(res["status"]["state"], "Failed") << id;
    EXPECT_EQ(res["status"]["reason"], "DeliveryFailed") << id;
    const std::string shown = res["status"]["message"];
    EXPECT_NE(shown.find(message), std::string::npos) << shown;
    EXPECT_NE(shown.find(std::string(codeName(code))), std::string::npos) << shown;
    EXPECT_TRUE(res["status"].contains("finished_at"));
    EXPECT_EQ(stored(id).state, api::WorkloadState::kFailed);
  }
  // Final: never re-sent, however much time passes.
  node_->failStarts(std::nullopt);
  node_->resetCounts();
  clock_.advance(1h);
  EXPECT_EQ(reconcile(), 0);
  EXPECT_EQ(server_->get("/workloads/refused-0").json["status"]["reason"], "DeliveryFailed");
  EXPECT_EQ(starts(), 0);
}

TEST_F(DeliveryTest, TransientFailuresAreRetriedWithCappedExponentialBackoff) {
  node_->failStarts(Error{Code::kUnavailable, "runtime restarting", ""});
  auto res = create("wl-1");
  EXPECT_EQ(res["status"]["state"], "Pending");
  EXPECT_EQ(res["status"]["reason"], "Scheduled");
  EXPECT_NE(res["status"]["message"].get<std::string>().find(
                "attempt 1 failed; next attempt in 2s): runtime restarting"),
            std::string::npos)
      << res["status"]["message"];
  EXPECT_EQ(starts(), 1);

  // Waits of 2, 4, 8, 8 s: nothing is sent before each is over.
  int expected = 1;
  for (auto wait : {2s, 4s, 8s, 8s}) {
    EXPECT_EQ(reconcile(), 0);
    clock_.advance(wait - 1ms);
    EXPECT_EQ(reconcile(), 0);
    EXPECT_EQ(starts(), expected);
    clock_.advance(1ms);
    EXPECT_EQ(reconcile(), 1);
    EXPECT_EQ(starts(), ++expected);
  }
  EXPECT_NE(stored("wl-1").message.find("attempt 5 failed; next attempt in 8s"), std::string::npos)
      << stored("wl-1").message;

  // The node accepts it: delivered, and no more re-sends.
  node_->failStarts(std::nullopt);
  clock_.advance(8s);
  EXPECT_EQ(reconcile(), 1);
  ASSERT_TRUE(node_->workload("wl-1"));
  EXPECT_EQ(stored("wl-1").reason, "ContainerCreating");
  clock_.advance(1h);
  EXPECT_EQ(reconcile(), 0);
  EXPECT_EQ(starts(), expected + 1);
}

TEST_F(DeliveryTest, ReadingAWorkloadDoesNotBypassTheBackoff) {
  node_->failStarts(Error{Code::kDeadlineExceeded, "slow", ""});
  create("wl-1");
  for (int i = 0; i < 5; ++i) {
    auto res = server_->get("/workloads/wl-1");
    EXPECT_EQ(res.json["status"]["state"], "Pending");
    EXPECT_NE(res.json["status"]["message"].get<std::string>().find("next attempt in 2s"),
              std::string::npos);
  }
  EXPECT_EQ(starts(), 1);
  clock_.advance(2s);
  server_->get("/workloads/wl-1");  // due now: the read re-sends it
  EXPECT_EQ(starts(), 2);
}

TEST_F(DeliveryTest, ATransientFailureThenARefusalEndsFailed) {
  node_->failStarts(Error{Code::kUnavailable, "not now", ""});
  create("wl-1");
  node_->failStarts(Error{Code::kInvalidArgument, "never", "workload.image"});
  clock_.advance(2s);
  EXPECT_EQ(reconcile(), 1);
  EXPECT_EQ(stored("wl-1").state, api::WorkloadState::kFailed);
  EXPECT_EQ(stored("wl-1").reason, "DeliveryFailed");
  clock_.advance(1h);
  EXPECT_EQ(reconcile(), 0);
  EXPECT_EQ(starts(), 2);
}

TEST_F(DeliveryTest, AnInternalErrorThatPersistsEndsFailedInsteadOfRetryingForever) {
  node_->failStarts(Error{Code::kInternal, "agent sent a reply that is not a JSON object", ""});
  create("wl-1");
  for (int attempt = 2; attempt < kMaxInternalErrorAttempts; ++attempt) {
    clock_.advance(8s);
    EXPECT_EQ(reconcile(), 1);
    EXPECT_EQ(stored("wl-1").state, api::WorkloadState::kPending) << attempt;
  }
  clock_.advance(8s);
  EXPECT_EQ(reconcile(), 1);
  EXPECT_EQ(stored("wl-1").state, api::WorkloadState::kFailed);
  EXPECT_EQ(stored("wl-1").reason, "DeliveryFailed");
  EXPECT_NE(stored("wl-1").message.find(std::to_string(kMaxInternalErrorAttempts) + " attempts"),
            std::string::npos)
      << stored("wl-1").message;
  clock_.advance(1h);
  EXPECT_EQ(reconcile(), 0);
  EXPECT_EQ(starts(), kMaxInternalErrorAttempts);
}

TEST_F(DeliveryTest, DeletingAWorkloadThatBacksOffForgetsIt) {
  node_->failStarts(Error{Code::kUnavailable, "not now", ""});
  create("wl-1");
  EXPECT_EQ(server_->del("/workloads/wl-1").status, 200u);
  node_->failStarts(std::nullopt);
  // A new submission with the same id is delivered at once.
  auto res = create("wl-1");
  EXPECT_EQ(res["status"]["reason"], "ContainerCreating");
  EXPECT_EQ(starts(), 2);
}

// The largest spec admission accepts, in the characters that cost the most
// to encode, still fits one protocol line: it reaches the (fake) agent, whose
// reader has the real 1 MiB line limit, and is not refused.
TEST_F(DeliveryTest, ASpecAtTheBoundsFitsTheProtocol) {
  nlohmann::json env = nlohmann::json::object();
  const std::size_t entries = api::kMaxPayloadBytes / api::kMaxStringBytes;
  for (std::size_t i = 0; i < entries; ++i) {
    const std::string name = "E" + std::to_string(i);
    env[name] = std::string(api::kMaxStringBytes - name.size(), '\x01');  // "\u0001" in JSON
  }
  nlohmann::json spec{{"id", "big-1"}, {"image", "busybox:1.36"}, {"env", env}};
  const std::string body = spec.dump();
  ASSERT_GT(body.size(), 6 * api::kMaxPayloadBytes - 1024);
  auto res = server_->post("/workloads", body);
  ASSERT_EQ(res.status, 201u) << res.body.substr(0, 300);
  EXPECT_EQ(res.json["status"]["reason"], "ContainerCreating");
  ASSERT_TRUE(node_->workload("big-1"));
  // One byte more is refused at admission, before anything is sent.
  env["E0"] = env["E0"].get<std::string>() + "x";
  spec["id"] = "big-2";
  spec["env"] = env;
  auto over = server_->post("/workloads", spec.dump());
  EXPECT_EQ(over.status, 422u);
  EXPECT_EQ(over.json["error"]["field"], "env");
  EXPECT_EQ(starts(), 1);
}

TEST(PermanentRefusalTest, TransientCodesAreRetriedEverythingElseIsFinal) {
  for (Code code :
       {Code::kUnavailable, Code::kDeadlineExceeded, Code::kCancelled, Code::kInternal}) {
    EXPECT_FALSE(isPermanentRefusal(Error{code, "", ""})) << codeName(code);
  }
  for (Code code : {Code::kInvalidArgument, Code::kResourceExhausted, Code::kUnimplemented,
                    Code::kFailedPrecondition, Code::kAlreadyExists, Code::kNotFound}) {
    EXPECT_TRUE(isPermanentRefusal(Error{code, "", ""})) << codeName(code);
  }
}

TEST(DeliveryBackoffTest, DoublesFromInitialUpToMaxPerWorkload) {
  FakeClock clock;
  DeliveryBackoff backoff({100ms, 1s}, clock);
  EXPECT_TRUE(backoff.due("a"));
  EXPECT_EQ(backoff.failed("a"), 100ms);
  EXPECT_FALSE(backoff.due("a"));
  EXPECT_TRUE(backoff.due("b"));  // per workload
  EXPECT_EQ(backoff.failed("a"), 200ms);
  EXPECT_EQ(backoff.failed("a"), 400ms);
  EXPECT_EQ(backoff.failed("a"), 800ms);
  EXPECT_EQ(backoff.failed("a"), 1s);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(backoff.failed("a"), 1s);  // no overflow
  EXPECT_EQ(backoff.failures("a"), 105);
  clock.advance(999ms);
  EXPECT_FALSE(backoff.due("a"));
  clock.advance(1ms);
  EXPECT_TRUE(backoff.due("a"));
  backoff.clear("a");
  EXPECT_EQ(backoff.failures("a"), 0);
  EXPECT_EQ(backoff.size(), 0u);
}

}  // namespace
}  // namespace zp::server::testing
