// WorkloadService: the grace period a DELETE asked for is kept with its
// Terminating mark, so a deletion finished later (tick, the node's resync,
// after a restart) asks the node for the same one (docs/architecture.md §8.5).

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "workload_service_fixture.h"

namespace zp::server::testing {
namespace {

using namespace std::chrono_literals;
using api::RestartPolicy;
using api::WorkloadState;
using protocol::RemoveWorkload;

// Every RemoveWorkload sent to `node`'s grace period, in order.
std::vector<std::int64_t> graces(const FakeFleet& fleet, const std::string& node) {
  std::vector<std::int64_t> out;
  for (const auto& remove : fleet.requests<RemoveWorkload>(node)) {
    out.push_back(remove.timeout_seconds);
  }
  return out;
}

TEST_F(WorkloadServiceTest, ADeleteFinishedByTickUsesTheGracePeriodItAskedFor) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto r = accepted(spec("web-1", 512));
  apply("n1", pushed(r, WorkloadState::kRunning, "Started"));
  fleet_.failRemoves("n1", Error{Code::kUnavailable, "connection refused", ""});
  ASSERT_EQ(remove("web-1", 45s).error().code, Code::kUnavailable);
  ASSERT_TRUE(stored("web-1"));
  EXPECT_EQ(stored("web-1")->status.reason, "Terminating");
  EXPECT_EQ(stored("web-1")->termination_grace, 45s);

  fleet_.failRemoves("n1", std::nullopt);
  fleet_.clearCalls();
  clock_.advance(1h);
  tick();
  EXPECT_EQ(graces(fleet_, "n1"), std::vector<std::int64_t>{45});
  EXPECT_EQ(service_->get("web-1").error().code, Code::kNotFound);
  EXPECT_FALSE(stored("web-1"));
}

// A DELETE that comes while the first one holds the id's lock and is still
// storing its Terminating mark waits for the lock, and the removal that
// starts once the mark is stored asks the node with its shorter grace.
TEST_F(WorkloadServiceTest, ADeleteWaitingWhileTheMarkIsStoredLendsItsShorterGrace) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  auto r = accepted(spec("web-1", 512));
  apply("n1", pushed(r, WorkloadState::kRunning, "Started"));
  fleet_.clearCalls();

  // Runs io_ until `done`, at most `rounds` times (1 ms apart).
  const auto pollUntil = [&](const std::function<bool()>& done, int rounds) {
    for (int i = 0; i < rounds && !done(); ++i) {
      io_.restart();
      io_.poll();
      std::this_thread::sleep_for(1ms);
    }
    return done();
  };
  store_.holdApplies();
  // Released however the test ends: a held commit would hang the fixture.
  struct Release {
    zp::testing::FakeStore& store;
    ~Release() { store.releaseApplies(); }
  } release{store_};
  auto first = boost::asio::co_spawn(io_, service_->remove("web-1", 30s), boost::asio::use_future);
  ASSERT_TRUE(pollUntil([&] { return store_.heldApplies() == 1; }, 5'000));  // the mark, in flight
  auto second = boost::asio::co_spawn(io_, service_->remove("web-1", 5s), boost::asio::use_future);
  // The second DELETE now waits for the lock; nothing has asked the node yet.
  EXPECT_FALSE(pollUntil([&] { return !fleet_.requests<RemoveWorkload>("n1").empty(); }, 50));
  store_.releaseApplies();
  auto removed = wait(first);
  ASSERT_TRUE(removed) << removed.error().toString();
  auto also = wait(second);
  ASSERT_TRUE(also) << also.error().toString();  // the workload it saw
  EXPECT_EQ(also->spec.id, "web-1");
  EXPECT_EQ(graces(fleet_, "n1"), std::vector<std::int64_t>{5});
  EXPECT_EQ(service_->get("web-1").error().code, Code::kNotFound);
}

TEST_F(WorkloadServiceTest, ADeleteFinishedAfterARestartUsesTheStoredGracePeriod) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  accepted(spec("web-1", 512));
  accepted(spec("web-2", 512));
  fleet_.setConnected("n1", false);
  ASSERT_EQ(remove("web-1", 0s).error().code, Code::kUnavailable);
  ASSERT_EQ(remove("web-2", 120s).error().code, Code::kUnavailable);

  restartService();
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  makeService();
  ASSERT_TRUE(service_->load(store_));
  resync("n1", {});
  EXPECT_EQ(fleet_.count("StartWorkload"), 0);
  std::map<std::string, std::int64_t> asked;
  for (const auto& remove : fleet_.requests<RemoveWorkload>("n1")) {
    asked[remove.id] = remove.timeout_seconds;
  }
  EXPECT_EQ(asked, (std::map<std::string, std::int64_t>{{"web-1", 0}, {"web-2", 120}}));
  EXPECT_FALSE(stored("web-1"));
  EXPECT_FALSE(stored("web-2"));
}

TEST_F(WorkloadServiceTest, ALaterDeleteReplacesTheStoredGracePeriod) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  accepted(spec("web-1", 512));
  fleet_.setConnected("n1", false);
  ASSERT_EQ(remove("web-1", 300s).error().code, Code::kUnavailable);
  ASSERT_EQ(remove("web-1", 5s).error().code, Code::kUnavailable);
  ASSERT_TRUE(stored("web-1"));
  EXPECT_EQ(stored("web-1")->termination_grace, 5s);

  fleet_.setConnected("n1", true);
  fleet_.clearCalls();
  resync("n1", {});
  EXPECT_EQ(graces(fleet_, "n1"), std::vector<std::int64_t>{5});
  EXPECT_FALSE(stored("web-1"));
}

TEST_F(WorkloadServiceTest, ADrainFinishedLaterKeepsTheDefaultGracePeriod) {
  fleet_.addNode("n1", {"kata"}, {4096, 4000});
  fleet_.addNode("n2", {"kata"}, {4096, 4000});
  auto a = accepted(spec("a", 512, RestartPolicy::kNever));
  ASSERT_EQ(a.status.node, "n1");
  fleet_.view("n1").schedulable = false;
  fleet_.failRemoves("n1", Error{Code::kUnavailable, "connection refused", ""});
  EXPECT_FALSE(run(service_->drain("n1")));
  ASSERT_TRUE(stored("a"));
  EXPECT_EQ(stored("a")->status.reason, "Draining");
  EXPECT_EQ(stored("a")->termination_grace, std::nullopt);

  fleet_.failRemoves("n1", std::nullopt);
  fleet_.clearCalls();
  resync("n1", {});
  EXPECT_EQ(graces(fleet_, "n1"),
            std::vector<std::int64_t>{protocol::kDefaultStopTimeoutSeconds});
}

}  // namespace
}  // namespace zp::server::testing
