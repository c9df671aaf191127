#pragma once
// The assembled server against two fake agents and a SqliteStore in a
// private temporary directory (so a test can restart the server on the same
// database), over TLS as in production (docs/architecture.md §9): HTTPS for
// the API and mutual TLS to the agents, with a throw-away PKI in that
// directory (a fixture whose secure() is false runs both in plain text):
//   node-1: classes [native],             4096 MB, 4000 millicores
//   node-2: classes [edera-zone, native], 1024 MB, 2000 millicores
// With binpack, a small native workload goes to node-2 (it leaves the least
// free memory). The clock is a FakeClock (time stands still unless a test
// advances it) unless a fixture sets clock_ to the system clock before
// startServer().

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fake_agent.h"
#include "fake_clock.h"
#include "store/sqlite_store.h"
#include "test_server.h"
#include "test_tls.h"

namespace zp::server::testing {

class ServerFixture : public ::testing::Test {
 public:
  // A workload spec's JSON.
  static std::string spec(const std::string& id, const std::string& cls = "native",
                          int memory_mb = 128, const std::string& restart_policy = "Never") {
    return nlohmann::json{{"id", id},
                          {"image", "busybox:1.36"},
                          {"runtime_class", cls},
                          {"memory_mb", memory_mb},
                          {"restart_policy", restart_policy}}
        .dump();
  }

 protected:
  void SetUp() override {
    char dir[] = "/tmp/zp-server-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    if (secure()) tls_ = std::make_unique<TestTls>(std::filesystem::path(dir_) / "pki");
    node1_ = makeAgent("node-1", {"native"}, {4096, 4000});
    node2_ = makeAgent("node-2", {"edera-zone", "native"}, {1024, 2000});
    options_ = testOptions({{"node-1", node1_->address(), {}}, {"node-2", node2_->address(), {}}});
    if (tls_) {
      options_.http.tls = tls_->api;
      options_.registry.link.tls = tls_->agents;
    }
    configure();
    startServer();
  }
  void TearDown() override {
    stopServer();
    node1_.reset();
    node2_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Derived fixtures change options_ and clock_ here, before the first start.
  virtual void configure() {}
  // Whether the server and its agents use TLS (decided before anything starts).
  virtual bool secure() const { return true; }

  // A fake agent for node `id`, with its node certificate when secure().
  std::unique_ptr<FakeAgent> makeAgent(const std::string& id, std::vector<std::string> classes,
                                       api::Resources capacity) {
    return std::make_unique<FakeAgent>(id, std::move(classes), capacity,
                                       tls_ ? tls_->agent(id) : nullptr);
  }

  // Opens the database and starts a server on it; waits until every
  // configured node is Ready unless told not to.
  void startServer(bool wait_ready = true) {
    auto opened = store::SqliteStore::open((std::filesystem::path(dir_) / "zoneplane.db").string());
    ASSERT_TRUE(opened) << opened.error().toString();
    store_ = std::move(*opened);
    server_ =
        std::make_unique<TestServer>(options_, *store_, *clock_, tls_ ? tls_->client : nullptr);
    if (!wait_ready) return;
    for (const auto& node : options_.nodes) {
      ASSERT_TRUE(waitNodeState(node.id, NodeState::kReady)) << node.id << " never became Ready";
    }
  }
  // Stops the server and closes the database.
  void stopServer() {
    server_.reset();
    store_.reset();
  }
  void restartServer() {
    stopServer();
    startServer();
  }

  // POSTs a spec and expects 201; returns the response.
  HttpResult create(const std::string& body) {
    auto res = server_->post("/workloads", body);
    EXPECT_EQ(res.status, 201u) << res.body;
    return res;
  }
  // GET /workloads/{id} until `done` holds for its JSON; the last JSON seen
  // (the test's assertions tell what was wrong when it never did).
  nlohmann::json waitWorkload(const std::string& id,
                              const std::function<bool(const nlohmann::json&)>& done) {
    nlohmann::json last;
    const bool held = eventually([&] {
      last = server_->get("/workloads/" + id).json;
      return done(last);
    });
    EXPECT_TRUE(held) << "workload " << id << " never got there; last: " << last.dump();
    return last;
  }
  nlohmann::json waitState(const std::string& id, const std::string& state) {
    return waitWorkload(id, [&](const nlohmann::json& j) {
      return j.contains("status") && j["status"]["state"] == state;
    });
  }
  bool waitNodeState(const std::string& id, NodeState state) {
    return eventually([&] {
      auto node = server_->node(id);
      return node && node->state == state;
    });
  }
  // The uid of the copy `agent` holds of `id` ("" when it has none).
  static std::string agentUid(const FakeAgent& agent, const std::string& id) {
    auto status = agent.workload(id);
    return status ? status->uid : "";
  }

  std::string dir_;
  std::unique_ptr<TestTls> tls_;  // null unless secure()
  FakeClock fake_clock_;
  const Clock* clock_ = &fake_clock_;
  std::unique_ptr<FakeAgent> node1_;
  std::unique_ptr<FakeAgent> node2_;
  ServerOptions options_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<TestServer> server_;
};

// The same with the node lifecycle in short real time (withFastLifecycle)
// and the system clock.
class FastLifecycleFixture : public ServerFixture {
 protected:
  void configure() override {
    options_ = withFastLifecycle(options_);
    clock_ = &SystemClock::instance();
  }
};

// Whether the workload `j` (a GET /workloads/{id} body) is placed on `node`.
inline bool placedOn(const nlohmann::json& j, const std::string& node) {
  return j.contains("status") && j["status"]["node"] == node;
}

}  // namespace zp::server::testing
