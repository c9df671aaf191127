#pragma once
// A running server with two fake agents and an in-memory SqliteStore:
//   node-1: classes [native],             4096 MB, 4000 millicores
//   node-2: classes [edera-zone, native], 1024 MB, 2000 millicores
// and a FakeClock (clock_) that only moves when a test advances it.

#include <gtest/gtest.h>

#include <memory>

#include "fake_agent.h"
#include "fake_clock.h"
#include "store/sqlite_store.h"
#include "test_server.h"

namespace zp::server::testing {

class ServerFixture : public ::testing::Test {
 public:
  // A workload spec JSON with the given id, class and memory.
  static std::string spec(const std::string& id, const std::string& cls = "native",
                          int memory_mb = 128) {
    return R"({"id":")" + id + R"(","image":"busybox:1.36","runtime_class":")" + cls +
           R"(","memory_mb":)" + std::to_string(memory_mb) + "}";
  }

 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:");
    ASSERT_TRUE(opened) << opened.error().toString();
    store_ = std::move(*opened);
    node1_ = std::make_unique<FakeAgent>("node-1", std::vector<std::string>{"native"},
                                         api::Resources{4096, 4000});
    node2_ = std::make_unique<FakeAgent>("node-2", std::vector<std::string>{"edera-zone", "native"},
                                         api::Resources{1024, 2000});
    server_ = std::make_unique<TestServer>(
        testOptions({{"node-1", node1_->address(), {}}, {"node-2", node2_->address(), {}}}),
        *store_, clock_);
  }
  void TearDown() override { server_.reset(); }

  // POSTs a spec and expects 201; returns the response.
  HttpResult create(const std::string& body) {
    auto res = server_->post("/workloads", body);
    EXPECT_EQ(res.status, 201u) << res.body;
    return res;
  }
  store::WorkloadRecord stored(const std::string& id) {
    auto record = store_->get(id);
    EXPECT_TRUE(record) << record.error().toString();
    return record ? *record : store::WorkloadRecord{};
  }

  FakeClock clock_;  // declared first: the server reads it until it is gone
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<FakeAgent> node1_;
  std::unique_ptr<FakeAgent> node2_;
  std::unique_ptr<TestServer> server_;
};

}  // namespace zp::server::testing
