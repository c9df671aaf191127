// IsolationMonitor's schedule and book over time: a request made before
// start() is served once started; the schedule and the age of a result follow
// the monotonic clock whatever the wall clock does; a failed probe is retried
// after 10 s, doubling up to the interval; a result that expires neither
// releases nor re-announces a quarantine; the book's lock is never held while
// a probe is judged or logged.

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <condition_variable>

#include "captured_log.h"
#include "isolation_monitor_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using api::IsolationLevel;
using testing::CapturedLog;
using testing::eventually;
using testing::IsolationMonitorTest;
using testing::kHostBoot;
using testing::kZoneBoot;
using testing::probeReport;

TEST_F(IsolationMonitorTest, ARequestBeforeStartIsServedOnceStarted) {
  make({{"native", std::nullopt}});
  auto early = request("native");
  EXPECT_FALSE(ready(early, 0ms));
  EXPECT_EQ(prober_.calls("native"), 0);
  monitor_->start();
  ASSERT_TRUE(ready(early));
  EXPECT_TRUE(early.get());
  EXPECT_EQ(prober_.calls("native"), 1);  // the start's probe served it
  EXPECT_EQ(entry(monitor_->view(), "native").level, IsolationLevel::kSharedKernel);
}

TEST_F(IsolationMonitorTest, TheScheduleFollowsTheMonotonicClockNotTheWallClock) {
  make({{"native", std::nullopt}});
  const auto started = mono_.now();
  monitor_->start();
  ASSERT_TRUE(eventually([&] { return allVerifiedNow(); }));
  EXPECT_EQ(monitor_->nextProbe("native"), started + 600s);

  // The wall clock is stepped back an hour; ten minutes pass.
  clock_.advance(-1h);
  advance(600s);
  monitor_->recheck();
  ASSERT_TRUE(eventually([&] { return prober_.calls("native") == 2; }));
  ASSERT_TRUE(eventually([&] { return allVerifiedNow(); }));
  EXPECT_EQ(monitor_->nextProbe("native"), started + 1200s);
}

TEST_F(IsolationMonitorTest, AResultAgesByTheMonotonicClockNotTheWallClock) {
  make({{"native", std::nullopt}});
  monitor_->start();
  ASSERT_TRUE(eventually([&] { return allVerifiedNow(); }));
  prober_.setOutcome("native", fail(Code::kUnavailable, "unreachable"));

  // The wall clock goes back a day while three intervals and a moment pass:
  // the result is that old all the same.
  clock_.advance(-24h);
  advance(1800s);
  EXPECT_EQ(entry(monitor_->view(), "native").level, IsolationLevel::kSharedKernel);
  advance(1ms);
  EXPECT_EQ(entry(monitor_->view(), "native").level, IsolationLevel::kUnverified);
}

TEST_F(IsolationMonitorTest, AFailedProbeIsRetriedAfterTenSecondsDoublingToTheInterval) {
  make({{"native", std::nullopt}});
  prober_.setOutcome("native", fail(Code::kDeadlineExceeded, "the pull is slow"));
  monitor_->start();
  int calls = 1;
  auto due = mono_.now();  // of the attempt just made
  for (const auto delay : {10s, 20s, 40s, 80s, 160s, 320s, 600s, 600s}) {
    SCOPED_TRACE(delay.count());
    // The attempt at `due` failed: the next one is `delay` later.
    ASSERT_TRUE(eventually([&] { return monitor_->nextProbe("native") == due + delay; }));
    EXPECT_EQ(prober_.calls("native"), calls);
    due += delay;
    advance(delay);
    monitor_->recheck();
    ++calls;
    ASSERT_TRUE(eventually([&] { return prober_.calls("native") == calls; }));
  }
  // A success waits the interval; the next failure starts again from 10 s.
  ASSERT_TRUE(eventually([&] { return monitor_->nextProbe("native") == due + 600s; }));
  prober_.setOutcome("native", probeReport(kHostBoot));
  due += 600s;
  advance(600s);
  monitor_->recheck();
  ASSERT_TRUE(eventually([&] { return monitor_->nextProbe("native") == due + 600s; }));
  EXPECT_EQ(entry(monitor_->view(), "native").error, "");
  prober_.setOutcome("native", fail(Code::kUnavailable, "unreachable"));
  due += 600s;
  advance(600s);
  monitor_->recheck();
  ASSERT_TRUE(eventually([&] { return monitor_->nextProbe("native") == due + 10s; }));
}

TEST_F(IsolationMonitorTest, AnExpiredResultNeitherReleasesNorQuarantinesAgain) {
  CapturedLog log;
  make({{"edera-zone", IsolationLevel::kHypervisor}});
  monitor_->start();
  ASSERT_TRUE(eventually([&] { return allVerifiedNow(); }));
  ASSERT_TRUE(entry(monitor_->view(), "edera-zone").quarantined());
  EXPECT_EQ(log.count("is quarantined"), 1u);

  // No success for three intervals: unverified, which is no release.
  prober_.setOutcome("edera-zone", fail(Code::kUnavailable, "unreachable"));
  advance(1800s + 1ms);
  ASSERT_EQ(entry(monitor_->view(), "edera-zone").level, IsolationLevel::kUnverified);
  EXPECT_EQ(log.count("no longer quarantined"), 0u);

  // Verified below its claim again: still the same quarantine.
  prober_.setOutcome("edera-zone", probeReport(kHostBoot));
  auto again = request("edera-zone");
  ASSERT_TRUE(ready(again));
  ASSERT_TRUE(entry(monitor_->view(), "edera-zone").quarantined());
  EXPECT_EQ(log.count("is quarantined"), 1u);

  // Verified at its claim: released, once.
  prober_.setOutcome("edera-zone", probeReport(kZoneBoot));
  advance(1s);
  auto released = request("edera-zone");
  ASSERT_TRUE(ready(released));
  EXPECT_FALSE(entry(monitor_->view(), "edera-zone").quarantined());
  EXPECT_EQ(log.count("no longer quarantined"), 1u);
}

// A sink whose write of a line containing `text` blocks until release().
class BlockingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit BlockingSink(std::string text) : text_(std::move(text)) {}
  bool blocked() {
    std::lock_guard lock(state_);
    return blocked_;
  }
  void release() {
    {
      std::lock_guard lock(state_);
      released_ = true;
    }
    changed_.notify_all();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    if (std::string_view(message.payload.data(), message.payload.size()).find(text_) ==
        std::string_view::npos) {
      return;
    }
    std::unique_lock lock(state_);
    blocked_ = true;
    changed_.wait(lock, [&] { return released_; });
    blocked_ = false;
  }
  void flush_() override {}

 private:
  const std::string text_;
  std::mutex state_;
  std::condition_variable changed_;
  bool blocked_ = false;
  bool released_ = false;
};

TEST_F(IsolationMonitorTest, TheBookIsReadableWhileAProbeIsJudgedAndLogged) {
  auto sink = std::make_shared<BlockingSink>("verified");
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("blocking", sink));
  make({{"native", std::nullopt}});
  monitor_->start();
  const bool logging = eventually([&] { return sink->blocked(); });
  // The monitor's thread is writing "verified ...": the network's calls go on.
  auto viewing = std::async(std::launch::async, [&] { return monitor_->view().revision; });
  const bool answered = viewing.wait_for(30s) == std::future_status::ready;
  sink->release();
  monitor_->stop();
  spdlog::set_default_logger(previous);
  EXPECT_TRUE(logging);
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace zp::agent
