// WorkloadManager against FakeRuntime: the observer is told every status
// change, once, in order, and nothing when nothing changed.

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "agent/workload_manager.h"
#include "manager_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::spec;

class EventsTest : public testing::WorkloadManagerTest {
 protected:
  void SetUp() override {
    WorkloadManagerTest::SetUp();
    manager_->setObserver([this](const api::WorkloadStatus& status) {
      std::lock_guard lock(mutex_);
      if (status.id == watched_) seen_.push_back(status);
      ++calls_;
    });
  }
  std::vector<api::WorkloadStatus> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  bool saw(api::WorkloadState state) {
    return eventually([&] {
      auto all = seen();
      return !all.empty() && all.back().state == state;
    });
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  std::mutex mutex_;
  std::string watched_ = "w";
  std::vector<api::WorkloadStatus> seen_;
  int calls_ = 0;
};

TEST_F(EventsTest, EveryChangeIsToldOnceAndInOrder) {
  const auto container = run("w");
  ASSERT_TRUE(saw(api::WorkloadState::kRunning));
  auto events = seen();
  // Accepted first, Running last, and the states never go back.
  EXPECT_EQ(events.front().state, api::WorkloadState::kPending);
  EXPECT_EQ(events.front().reason, "Scheduled");
  EXPECT_EQ(events.back().reason, "Started");
  EXPECT_EQ(events.back().container_id, container);
  EXPECT_FALSE(events.back().sandbox_id.empty());
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_NE(events[i], events[i - 1]) << "event " << i << " repeats the one before";
    EXPECT_FALSE(events[i].state == api::WorkloadState::kPending &&
                 events[i - 1].state == api::WorkloadState::kRunning);
  }
  // The last event is the status the node reports.
  EXPECT_EQ(events.back(), statusOf("w"));

  // Sweeps that change nothing tell nothing.
  const int before = calls();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(calls(), before);

  // An exit is told once.
  runtime_.exitContainer(container, 0);
  ASSERT_TRUE(manager_->sweep().has_value());
  ASSERT_TRUE(saw(api::WorkloadState::kSucceeded));
  ASSERT_TRUE(manager_->sweep().has_value());
  events = seen();
  EXPECT_EQ(events.back().exit_code, 0);
  EXPECT_EQ(events.back(), statusOf("w"));
  const auto succeeded = std::count_if(events.begin(), events.end(), [](const auto& e) {
    return e.state == api::WorkloadState::kSucceeded;
  });
  EXPECT_EQ(succeeded, 1);
}

TEST_F(EventsTest, ARuntimeOutageAndItsEndAreTold) {
  run("w");
  ASSERT_TRUE(saw(api::WorkloadState::kRunning));
  runtime_.setDown(true);
  EXPECT_FALSE(manager_->sweep().has_value());
  ASSERT_TRUE(saw(api::WorkloadState::kUnknown));
  EXPECT_EQ(seen().back().reason, "RuntimeUnavailable");
  EXPECT_FALSE(manager_->sweep().has_value());  // still down: nothing new
  runtime_.setDown(false);
  ASSERT_TRUE(manager_->sweep().has_value());
  ASSERT_TRUE(saw(api::WorkloadState::kRunning));
  const auto events = seen();
  const auto unknown = std::count_if(events.begin(), events.end(), [](const auto& e) {
    return e.state == api::WorkloadState::kUnknown;
  });
  EXPECT_EQ(unknown, 1);
}

TEST_F(EventsTest, AStopIsToldAndARemovalIsNot) {
  run("w");
  ASSERT_TRUE(saw(api::WorkloadState::kRunning));
  auto stopped = stop("w", 0s);
  ASSERT_EQ(stopped.wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(stopped.get().has_value());
  ASSERT_TRUE(eventually([&] { return seen().back().reason == "Stopped"; }));
  EXPECT_EQ(seen().back().state, api::WorkloadState::kFailed);
  const auto count = seen().size();
  auto removed = remove("w");
  ASSERT_EQ(removed.wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(removed.get().has_value());
  ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(seen().size(), count);
}

}  // namespace
}  // namespace zp::agent
