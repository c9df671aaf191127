#pragma once
// IsolationMonitorTest: an IsolationMonitor over a FakeProber, with a fake
// wall clock (verified_at, attempted_at) and a fake monotonic clock (the
// schedule, the age of results); time moves only when a test advances it.

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <memory>
#include <string_view>

#include "agent/isolation/isolation_monitor.h"
#include "fake_prober.h"
#include "manager_fixture.h"
#include "server/fake_monotonic_clock.h"

namespace zp::agent::testing {

inline constexpr const char* kHostBoot = "11111111-1111-4111-8111-111111111111";
inline constexpr const char* kZoneBoot = "22222222-2222-4222-8222-222222222222";

// A report whose kernel is the host's (kHostBoot) or another one, booted
// apart (another boot id, another build).
inline probe::Report probeReport(const char* boot_id) {
  const bool host = std::string_view(boot_id) == kHostBoot;
  probe::Report r;
  r.probe_version = "1.0.0";
  r.kernel.boot_id = boot_id;
  r.kernel.sysname = "Linux";
  r.kernel.release = host ? "6.1.0-host" : "6.6.0-zone";
  r.kernel.version = host ? "#1 SMP" : "#1 SMP PREEMPT_DYNAMIC";
  return r;
}

class IsolationMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override { prober_.setDefault(probeReport(kHostBoot)); }

  IsolationMonitor::Options options(std::vector<IsolationMonitor::ClassClaim> classes) const {
    IsolationMonitor::Options o;
    o.classes = std::move(classes);
    o.interval = std::chrono::seconds(600);
    o.host = probeReport(kHostBoot);
    return o;
  }
  void make(std::vector<IsolationMonitor::ClassClaim> classes, bool enabled = true) {
    auto o = options(std::move(classes));
    o.enabled = enabled;
    make(std::move(o), prober_);
  }
  void make(IsolationMonitor::Options o, Prober& prober) {
    monitor_ = std::make_unique<IsolationMonitor>(std::move(o), prober, clock_, mono_);
  }
  // Both clocks move on (time passes).
  void advance(std::chrono::milliseconds by) {
    clock_.advance(by);
    mono_.advance(by);
  }
  const api::ClassIsolation& entry(const IsolationMonitor::View& view, const std::string& name) {
    const auto* found = api::findIsolation(view.classes, name);
    EXPECT_NE(found, nullptr) << name;
    static const api::ClassIsolation none;
    return found ? *found : none;
  }
  // Whether every class has a result verified at the fake clock's now.
  bool allVerifiedNow() {
    const auto view = monitor_->view();
    return std::all_of(view.classes.begin(), view.classes.end(),
                       [&](const auto& c) { return c.verified_at == clock_.now(); });
  }
  std::future<Status> request(const std::string& runtime_class) {
    auto promise = std::make_shared<std::promise<Status>>();
    auto future = promise->get_future();
    monitor_->request(runtime_class, [promise](Status s) { promise->set_value(std::move(s)); });
    return future;
  }
  static bool ready(std::future<Status>& f,
                    std::chrono::milliseconds wait = std::chrono::seconds(30)) {
    return f.wait_for(wait) == std::future_status::ready;
  }

  FakeClock clock_;
  server::testing::FakeMonotonicClock mono_;
  FakeProber prober_;
  std::unique_ptr<IsolationMonitor> monitor_;
};

}  // namespace zp::agent::testing
