#pragma once
// The WorkloadService fixture of the workload_service_*_test.cc files: a
// FakeFleet, a FakeStore behind a real CommitQueue and a FakeClock
// (service_fixture.h), plus helpers to feed the service what nodes say.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "server/workloads/workload_service.h"
#include "service_fixture.h"

namespace zp::server::testing {

// A status as the node would push it for the record's current copy.
inline api::WorkloadStatus pushed(const store::WorkloadRecord& record, api::WorkloadState state,
                                  std::string reason, std::optional<int> exit_code = std::nullopt) {
  api::WorkloadStatus status;
  status.id = record.spec.id;
  status.uid = record.status.uid;
  status.node = record.status.node;
  status.state = state;
  status.reason = std::move(reason);
  status.exit_code = exit_code;
  return status;
}

inline bool isHex32(const std::string& uid) {
  return uid.size() == 32 && uid.find_first_not_of("0123456789abcdef") == std::string::npos;
}

class WorkloadServiceTest : public ServiceFixture {
 protected:
  void apply(const std::string& node, const api::WorkloadStatus& status) {
    service_->onStatus(node, status);
    settle();
  }
  void resync(const std::string& node, std::vector<api::WorkloadStatus> items) {
    run(service_->onResync(node, std::move(items)));
  }
  std::vector<std::string> ids(const Result<ListPage>& page) {
    std::vector<std::string> out;
    EXPECT_TRUE(page) << page.error().toString();
    if (page) {
      for (const auto& r : page->items) out.push_back(r.spec.id);
    }
    return out;
  }
  // Replaces the service with one whose deliveries are paced at a fixed
  // 1,000/s: a burst of two permits, then one per probe_interval's worth.
  void makePacedService(std::chrono::milliseconds probe_interval) {
    auto options = defaultOptions();
    options.pacing.lag_target = std::chrono::microseconds(500);
    options.pacing.probe_interval = probe_interval;
    options.pacing.min_rate = options.pacing.max_rate = options.pacing.initial_rate = 1'000;
    makeService(options);
  }
  // Submits wl-0 … wl-<count - 1> one after another; how many were accepted.
  boost::asio::awaitable<int> submitNumbered(int count) {
    int accepted = 0;
    for (int i = 0; i < count; ++i) {
      auto submission = service_->submit(spec("wl-" + std::to_string(i)));
      auto record = co_await std::move(submission);
      if (record) ++accepted;
    }
    co_return accepted;
  }
  // Forgets the service and the fleet, as a server restart does.
  void restartService() {
    settle();
    service_->stop();
    service_.reset();
    fleet_.reset();
  }
};

// --- submit -----------------------------------------------------------------

}  // namespace zp::server::testing
