// WorkloadManager with every worker thread blocked in a runtime call (start
// pipelines whose synchronous CRI calls hang until their deadline, as with a
// stopped containerd): status changes still reach the observer, so the
// server hears at once that the node's workloads are Unknown instead of
// after the workers come free.

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "agent/workload_manager.h"
#include "manager_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using testing::eventually;

class BusyWorkersTest : public testing::WorkloadManagerTest {
 protected:
  void SetUp() override {
    WorkloadManagerTest::SetUp();
    manager_->setObserver([this](const api::WorkloadStatus& status) {
      std::lock_guard lock(mutex_);
      seen_.push_back(status);
    });
  }
  void TearDown() override {
    release();
    WorkloadManagerTest::TearDown();
  }
  // Every startContainer from now on blocks its worker until release().
  void blockStarts() {
    runtime_.setStartHook([this](const std::string&, const WorkloadIdentity&) {
      std::unique_lock lock(mutex_);
      ++blocked_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return released_; });
    });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  int blocked() {
    std::lock_guard lock(mutex_);
    return blocked_;
  }
  bool told(const std::string& id, api::WorkloadState state) {
    return eventually([&] {
      std::lock_guard lock(mutex_);
      for (const auto& s : seen_) {
        if (s.id == id && s.state == state) return true;
      }
      return false;
    });
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<api::WorkloadStatus> seen_;
  int blocked_ = 0;
  bool released_ = false;
};

TEST_F(BusyWorkersTest, StatusChangesAreToldWhileEveryWorkerIsBlockedInTheRuntime) {
  run("steady");
  ASSERT_TRUE(told("steady", api::WorkloadState::kRunning));
  blockStarts();
  // One start pipeline per worker thread (the fixture has two), each stuck in a call.
  for (const char* id : {"stuck-0", "stuck-1"}) {
    ASSERT_TRUE(manager_->start(testing::spec(id)).has_value());
  }
  ASSERT_TRUE(eventually([&] { return blocked() == 2; }));

  // The runtime stops answering: the sweep shows the running workload Unknown.
  runtime_.failSnapshot(Error{Code::kUnavailable, "runtime did not answer within 1000 ms", {}});
  (void)manager_->sweep();
  EXPECT_EQ(statusOf("steady").state, api::WorkloadState::kUnknown);
  EXPECT_TRUE(told("steady", api::WorkloadState::kUnknown))
      << "the change waited for a worker thread";

  release();
  runtime_.failSnapshot(std::nullopt);
  EXPECT_TRUE(reaches("stuck-0", api::WorkloadState::kRunning));
  EXPECT_TRUE(reaches("stuck-1", api::WorkloadState::kRunning));
}

}  // namespace
}  // namespace zp::agent
