#pragma once
// A WorkloadService on a private io_context with a FakeFleet, a FakeStore
// behind a real CommitQueue, a FakeClock and a recording WatchSink. settle()
// runs the io_context until the service has no background work left (the
// commit thread's completions included), so tests never sleep.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_clock.h"
#include "fake_fleet.h"
#include "server/admission.h"
#include "server/workloads/workload_service.h"
#include "store/commit_queue.h"
#include "support/fake_store.h"

namespace zp::server::testing {

class RecordingSink final : public WatchSink {
 public:
  void publish(const WatchEvent& event) override { events.push_back(event); }
  // "ADDED wl-1", "MODIFIED wl-1", ...
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      out.push_back(std::string(watchEventTypeName(e.type)) + " " + e.record.spec.id);
    }
    return out;
  }
  std::vector<WatchEvent> events;
};

class ServiceFixture : public ::testing::Test {
 protected:
  ServiceFixture() { makeService(); }
  ~ServiceFixture() override {
    settle();
    service_->stop();
    commits_->stop();
    settle();
  }

  void makeService(WorkloadServiceOptions options = defaultOptions()) {
    if (service_) {
      settle();
      service_->stop();
      service_.reset();
    }
    service_ = std::make_unique<WorkloadService>(io_.get_executor(), fleet_, *commits_, admission_,
                                                 clock_, &sink_, std::move(options));
  }

  static WorkloadServiceOptions defaultOptions() {
    WorkloadServiceOptions options;
    options.scheduler = Scheduler{SchedulerPolicy::kBinpack, defaultMemoryFloors()};
    return options;
  }

  // Runs the io_context until the service is idle and nothing is ready to run.
  void settle() {
    for (int rounds = 0; rounds < 100'000; ++rounds) {
      io_.restart();
      const std::size_t ran = io_.poll();
      if (ran == 0 && (!service_ || service_->idle())) return;
      if (ran == 0) io_.run_one_for(std::chrono::milliseconds(100));  // a commit completes
    }
    ADD_FAILURE() << "the service never became idle";
  }

  template <typename T>
  T run(boost::asio::awaitable<T> task) {
    auto future = boost::asio::co_spawn(io_, std::move(task), boost::asio::use_future);
    return wait(future);
  }
  // Runs the io_context until `future` (of a call spawned on it) is ready,
  // then until the service is idle. (idle() does not count callers' calls.)
  template <typename T>
  T wait(std::future<T>& future) {
    settle();
    for (int rounds = 0; future.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
         ++rounds) {
      if (rounds == 600) throw std::runtime_error("the call never completed");
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(100));
      settle();
    }
    return future.get();
  }

  static api::WorkloadSpec spec(const std::string& id, std::int64_t memory_mb = 128,
                                api::RestartPolicy restart = api::RestartPolicy::kNever) {
    api::WorkloadSpec s;
    s.id = id;
    s.image = "busybox:1.36";
    s.memory_mb = memory_mb;
    s.restart_policy = restart;
    return s;
  }

  Result<store::WorkloadRecord> submit(api::WorkloadSpec s) {
    return run(service_->submit(std::move(s)));
  }
  // Submits and expects it accepted.
  store::WorkloadRecord accepted(api::WorkloadSpec s) {
    const std::string id = s.id;
    auto record = submit(std::move(s));
    EXPECT_TRUE(record) << id << ": " << record.error().toString();
    return record ? *record : store::WorkloadRecord{};
  }
  Result<store::WorkloadRecord> remove(const std::string& id,
                                       std::chrono::seconds grace = std::chrono::seconds(10)) {
    return run(service_->remove(id, grace));
  }
  store::WorkloadRecord record(const std::string& id) {
    auto r = service_->get(id);
    EXPECT_TRUE(r) << id << ": " << r.error().toString();
    return r ? *r : store::WorkloadRecord{};
  }
  api::WorkloadStatus status(const std::string& id) { return record(id).status; }
  // What the store holds now.
  std::optional<store::WorkloadRecord> stored(const std::string& id) {
    settle();
    auto all = store_.loadWorkloads();
    for (auto& r : *all) {
      if (r.spec.id == id) return r;
    }
    return std::nullopt;
  }
  void tick() {
    service_->tick(clock_.now());
    settle();
  }
  void nodeChanged(const std::string& node) {
    service_->onNodeChanged(fleet_.view(node));
    settle();
  }

  FakeClock clock_;
  zp::testing::FakeStore store_;
  std::unique_ptr<store::CommitQueue> commits_ = std::make_unique<store::CommitQueue>(store_);
  FakeFleet fleet_;
  NamedClassPolicy isolation_{TrustPolicyConfig::defaults()};
  ImagePolicy images_;
  Admission admission_{isolation_, images_};
  RecordingSink sink_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<WorkloadService> service_;
};

}  // namespace zp::server::testing
