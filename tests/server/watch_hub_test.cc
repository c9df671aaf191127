#include "server/workloads/watch_hub.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace zp::server {
namespace {

namespace asio = boost::asio;
using api::WorkloadState;

store::WorkloadRecord record(const std::string& id, WorkloadState state,
                             const std::string& node = "node-1",
                             const std::string& runtime_class = "native") {
  store::WorkloadRecord r;
  r.spec.id = id;
  r.spec.image = "busybox:1.36";
  r.spec.runtime_class = runtime_class;
  r.status.id = id;
  r.status.state = state;
  r.status.node = node;
  return r;
}

// What a consumer saw: "TYPE id state" per event.
struct Seen {
  std::vector<std::string> events;
  bool ended = false;
};

asio::awaitable<void> consume(Watcher& watcher, Seen& seen) {
  while (auto event = co_await watcher.next()) {
    seen.events.push_back(std::string(watchEventTypeName(event->type)) + " " +
                          event->record.spec.id + " " +
                          std::string(api::stateName(event->record.status.state)));
  }
  seen.ended = true;
}

class WatchHubTest : public ::testing::Test {
 protected:
  void start(Watcher& watcher, Seen& seen) {
    asio::co_spawn(io_, consume(watcher, seen), asio::detached);
    poll();
  }
  void publish(WatchEventType type, store::WorkloadRecord r) {
    hub_.publish(WatchEvent{type, std::move(r)});
    poll();
  }
  // Runs what is ready (poll() leaves the context stopped when it runs dry).
  void poll() {
    io_.restart();
    io_.poll();
  }

  asio::io_context io_;
  WatchHub hub_{io_.get_executor(), 3};
};

TEST_F(WatchHubTest, InitialRecordsComeFirstAsAddedThenChanges) {
  auto watcher = hub_.subscribe(
      {}, {record("a", WorkloadState::kRunning), record("b", WorkloadState::kPending)});
  publish(WatchEventType::kModified, record("b", WorkloadState::kRunning));  // queued before
  Seen seen;
  start(*watcher, seen);
  publish(WatchEventType::kAdded, record("c", WorkloadState::kPending));
  publish(WatchEventType::kDeleted, record("a", WorkloadState::kRunning));
  EXPECT_EQ(seen.events,
            (std::vector<std::string>{"ADDED a Running", "ADDED b Pending", "MODIFIED b Running",
                                      "ADDED c Pending", "DELETED a Running"}));
  EXPECT_FALSE(seen.ended);
}

TEST_F(WatchHubTest, AFilterSeesRecordsEnterAndLeaveIt) {
  WatchFilter running;
  running.state = WorkloadState::kRunning;
  // Initial records the filter does not match are dropped.
  auto watcher = hub_.subscribe(
      running, {record("a", WorkloadState::kRunning), record("b", WorkloadState::kPending)});
  Seen seen;
  start(*watcher, seen);
  publish(WatchEventType::kModified, record("b", WorkloadState::kRunning));    // enters
  publish(WatchEventType::kModified, record("a", WorkloadState::kRunning));    // stays
  publish(WatchEventType::kModified, record("a", WorkloadState::kSucceeded));  // leaves
  publish(WatchEventType::kModified, record("a", WorkloadState::kFailed));     // still out
  publish(WatchEventType::kDeleted, record("b", WorkloadState::kRunning));     // gone
  publish(WatchEventType::kAdded, record("c", WorkloadState::kPending));       // never in
  EXPECT_EQ(seen.events,
            (std::vector<std::string>{"ADDED a Running", "ADDED b Running", "MODIFIED a Running",
                                      "DELETED a Succeeded", "DELETED b Running"}));
}

TEST_F(WatchHubTest, NodeClassAndIdFiltersMatchTheirFields) {
  WatchFilter filter;
  filter.node = "node-2";
  filter.runtime_class = "kata";
  filter.id = "x";
  EXPECT_TRUE(filter.matches(record("x", WorkloadState::kPending, "node-2", "kata")));
  EXPECT_FALSE(filter.matches(record("y", WorkloadState::kPending, "node-2", "kata")));
  EXPECT_FALSE(filter.matches(record("x", WorkloadState::kPending, "node-1", "kata")));
  EXPECT_FALSE(filter.matches(record("x", WorkloadState::kPending, "node-2", "native")));
  EXPECT_TRUE(WatchFilter{}.matches(record("z", WorkloadState::kFailed, "", "")));
  // A rescheduled workload leaves a node filter.
  WatchFilter on_node;
  on_node.node = "node-1";
  auto watcher = hub_.subscribe(on_node, {record("x", WorkloadState::kRunning, "node-1")});
  Seen seen;
  start(*watcher, seen);
  publish(WatchEventType::kModified, record("x", WorkloadState::kPending, "node-2"));
  EXPECT_EQ(seen.events, (std::vector<std::string>{"ADDED x Running", "DELETED x Pending"}));
}

TEST_F(WatchHubTest, AWatcherThatFallsBehindEndsWithAnErrorAndOthersGoOn) {
  auto slow = hub_.subscribe({});
  auto fast = hub_.subscribe({});
  Seen fast_seen;
  start(*fast, fast_seen);
  // Nobody reads `slow`: its queue holds 3, the 4th change ends it.
  for (int i = 0; i < 4; ++i) {
    publish(WatchEventType::kAdded, record("w" + std::to_string(i), WorkloadState::kPending));
  }
  EXPECT_EQ(fast_seen.events.size(), 4u);
  EXPECT_TRUE(slow->ended());
  ASSERT_TRUE(slow->error().has_value());
  EXPECT_EQ(slow->error()->code, Code::kResourceExhausted);
  EXPECT_EQ(slow->error()->message, "watch fell behind; list again");
  EXPECT_EQ(hub_.watcherCount(), 1u);
  Seen slow_seen;
  start(*slow, slow_seen);
  EXPECT_TRUE(slow_seen.events.empty());  // the backlog is dropped, not delivered
  EXPECT_TRUE(slow_seen.ended);
  EXPECT_FALSE(fast->ended());
}

TEST_F(WatchHubTest, TheInitialRecordsDoNotCountAgainstTheQueue) {
  std::vector<store::WorkloadRecord> many;
  for (int i = 0; i < 10; ++i)
    many.push_back(record("w" + std::to_string(i), WorkloadState::kRunning));
  auto watcher = hub_.subscribe({}, many);
  publish(WatchEventType::kModified, record("w0", WorkloadState::kFailed));
  EXPECT_FALSE(watcher->ended());
  Seen seen;
  start(*watcher, seen);
  EXPECT_EQ(seen.events.size(), 11u);
}

TEST_F(WatchHubTest, CancelWakesAWaitingConsumer) {
  auto watcher = hub_.subscribe({});
  Seen seen;
  start(*watcher, seen);
  EXPECT_FALSE(seen.ended);
  watcher->cancel();
  poll();
  EXPECT_TRUE(seen.ended);
  EXPECT_FALSE(watcher->error().has_value());
  EXPECT_EQ(hub_.watcherCount(), 0u);
  publish(WatchEventType::kAdded, record("a", WorkloadState::kPending));  // nobody left
}

TEST_F(WatchHubTest, ShutdownEndsEveryWatcherAndRefusesNewOnes) {
  auto first = hub_.subscribe({});
  auto second = hub_.subscribe({});
  Seen seen1, seen2;
  start(*first, seen1);
  start(*second, seen2);
  hub_.shutdown();
  poll();
  EXPECT_TRUE(seen1.ended);
  EXPECT_TRUE(seen2.ended);
  EXPECT_EQ(hub_.watcherCount(), 0u);
  auto late = hub_.subscribe({}, {record("a", WorkloadState::kRunning)});
  EXPECT_TRUE(late->ended());
  EXPECT_EQ(hub_.watcherCount(), 0u);
}

TEST_F(WatchHubTest, DestroyingAWatcherLeavesTheHub) {
  auto watcher = hub_.subscribe({});
  EXPECT_EQ(hub_.watcherCount(), 1u);
  watcher.reset();
  EXPECT_EQ(hub_.watcherCount(), 0u);
  publish(WatchEventType::kAdded, record("a", WorkloadState::kPending));
}

TEST_F(WatchHubTest, WatchersOutlivingTheHubAreEnded) {
  std::unique_ptr<Watcher> watcher;
  {
    WatchHub hub(io_.get_executor());
    watcher = hub.subscribe({});
  }
  EXPECT_TRUE(watcher->ended());
}

}  // namespace
}  // namespace zp::server
