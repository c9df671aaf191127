#pragma once
// WorkloadManagerTest: a WorkloadManager on FakeRuntime with real thread
// pools and a fake clock (time moves only when a test advances it), plus the
// helpers the manager tests share. Waits are for conditions (bounded
// generously), never for durations.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/workload_manager.h"
#include "fake_runtime.h"

namespace zp::agent::testing {

using namespace std::chrono_literals;

inline constexpr const char* kImage = "registry.test/app:1";

// A Clock that stands still until advance(). Thread-safe.
class FakeClock final : public Clock {
 public:
  TimePoint now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void advance(std::chrono::milliseconds by) {
    std::lock_guard lock(mutex_);
    now_ += by;
  }

 private:
  mutable std::mutex mutex_;
  TimePoint now_ = std::chrono::system_clock::now();
};

// Polls `predicate` until it holds (true) or 30 s pass (false).
inline bool eventually(const std::function<bool()>& predicate) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

inline api::WorkloadSpec spec(const std::string& id, const std::string& image = kImage) {
  api::WorkloadSpec s;
  s.id = id;
  s.image = image;
  s.runtime_class = "native";
  s.memory_mb = 64;
  s.cpu_millicores = 100;
  s.command = {"sleep", "300"};
  return s;
}

class WorkloadManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_.addImage(kImage);
    makeManager();
  }
  void TearDown() override {
    if (manager_) manager_->shutdown();
    EXPECT_TRUE(eventually([&] { return !manager_ || manager_->operationsInFlight() == 0; }));
    workers_.join();
    control_.join();
    events_.join();
  }

  WorkloadManager::Options options(std::size_t max_pulls = 2) const {
    WorkloadManager::Options o;
    o.node_id = "node-1";
    o.capacity = {4096, 4000};
    o.runtime_classes = {"native"};
    o.version = "test";
    o.pull_timeout = 7s;
    o.max_pulls_per_registry = max_pulls;
    o.retry_initial = 1ms;
    o.retry_max = 20ms;
    return o;
  }
  void makeManager(std::size_t max_pulls = 2) { makeManager(options(max_pulls)); }
  void makeManager(const WorkloadManager::Options& o) {
    manager_ = std::make_unique<WorkloadManager>(o, runtime_, clock_, workers_.get_executor(),
                                                 events_.get_executor());
  }

  api::WorkloadStatus statusOf(const std::string& id) {
    auto s = manager_->status(id);
    EXPECT_TRUE(s.has_value()) << id;
    return s ? *s : api::WorkloadStatus{};
  }
  bool reaches(const std::string& id, api::WorkloadState state) {
    return eventually([&] {
      auto s = manager_->status(id);
      return s && s->state == state;
    });
  }
  bool reason(const std::string& id, std::string_view r) {
    return eventually([&] {
      auto s = manager_->status(id);
      return s && s->reason == r;
    });
  }
  std::future<Result<api::WorkloadStatus>> stop(const std::string& id, std::chrono::seconds grace) {
    return boost::asio::co_spawn(control_, manager_->stop(id, grace), boost::asio::use_future);
  }
  std::future<Status> remove(const std::string& id, std::chrono::seconds grace = 0s,
                             const std::string& uid = {}) {
    return boost::asio::co_spawn(control_, manager_->remove(id, grace, uid),
                                 boost::asio::use_future);
  }
  // Starts `id` and waits until it runs and its pipeline has let go of it
  // (a sweep leaves a workload alone while its pipeline holds it). Other
  // operations in flight must not end meanwhile.
  std::string run(const std::string& id) { return run(spec(id)); }
  std::string run(const api::WorkloadSpec& workload, const std::string& uid = {}) {
    const int before = manager_->operationsInFlight();
    EXPECT_TRUE(manager_->start(workload, uid).has_value());
    EXPECT_TRUE(reaches(workload.id, api::WorkloadState::kRunning)) << statusOf(workload.id).message;
    EXPECT_TRUE(eventually([&] { return manager_->operationsInFlight() <= before; }));
    return runtime_.containerOf(workload.id);
  }

  FakeRuntime runtime_;
  FakeClock clock_;
  boost::asio::thread_pool workers_{2};
  boost::asio::thread_pool control_{1};  // one thread: a stop that held it would block the others
  boost::asio::thread_pool events_{1};   // the observer's calls
  std::unique_ptr<WorkloadManager> manager_;
};

}  // namespace zp::agent::testing
