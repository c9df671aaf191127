// IsolationMonitor with a FakeProber and a fake clock: every class probed at
// start and again once due, requests joining a probe queued or running, the
// revision following the book, a failed attempt keeping the result until it
// is three intervals old, quarantine below a claim, no probing without an
// image, and stopping.

#include "isolation_monitor_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using api::IsolationLevel;
using testing::eventually;
using testing::IsolationMonitorTest;
using testing::kHostBoot;
using testing::kZoneBoot;

probe::Report report(const char* boot_id) { return testing::probeReport(boot_id); }

TEST_F(IsolationMonitorTest, ProbesEveryClassAtStartThenWhenDue) {
  make({{"native", std::nullopt}, {"gvisor", IsolationLevel::kApplicationKernel}});
  // Before start: listed, unverified, no error.
  auto before = monitor_->view();
  ASSERT_EQ(before.classes.size(), 2u);
  EXPECT_EQ(before.classes[0].runtime_class, "gvisor");  // sorted
  EXPECT_EQ(before.classes[0].claim, IsolationLevel::kApplicationKernel);
  EXPECT_EQ(before.classes[1].level, IsolationLevel::kUnverified);
  EXPECT_EQ(before.classes[1].error, "");
  EXPECT_EQ(before.revision, 1);

  monitor_->start();
  ASSERT_TRUE(eventually([&] { return allVerifiedNow(); }));
  const auto first = monitor_->view();
  const auto& native = entry(first, "native");
  EXPECT_EQ(native.level, IsolationLevel::kSharedKernel);
  EXPECT_GT(native.score, 0);
  EXPECT_EQ(native.attempted_at, clock_.now());
  EXPECT_EQ(native.probe_version, "1.0.0");
  EXPECT_EQ(native.error, "");
  EXPECT_GT(first.revision, before.revision);
  EXPECT_EQ(prober_.calls("native"), 1);
  EXPECT_EQ(prober_.calls("gvisor"), 1);

  advance(600s);
  monitor_->recheck();
  ASSERT_TRUE(eventually([&] { return allVerifiedNow(); }));
  EXPECT_EQ(prober_.calls("native"), 2);
  EXPECT_EQ(prober_.calls("gvisor"), 2);
}

TEST_F(IsolationMonitorTest, ARequestJoinsTheProbeQueuedOrRunning) {
  make({{"a", std::nullopt}, {"b", std::nullopt}});
  prober_.hold("a");
  prober_.hold("b");
  monitor_->start();
  ASSERT_TRUE(eventually([&] { return prober_.blocked() == "a"; }));  // b is queued
  auto a1 = request("a");
  auto a2 = request("a");
  auto all = request("");
  auto b = request("b");
  EXPECT_FALSE(ready(a1, 0ms));

  prober_.release("a");
  ASSERT_TRUE(ready(a1));
  ASSERT_TRUE(ready(a2));
  EXPECT_TRUE(a1.get());
  EXPECT_TRUE(a2.get());
  ASSERT_TRUE(eventually([&] { return prober_.blocked() == "b"; }));
  EXPECT_FALSE(ready(all, 0ms));  // waits for b too
  EXPECT_FALSE(ready(b, 0ms));

  prober_.release("b");
  ASSERT_TRUE(ready(all));
  ASSERT_TRUE(ready(b));
  EXPECT_TRUE(all.get());
  EXPECT_TRUE(b.get());
  // One probe per class served all four requests.
  EXPECT_EQ(prober_.calls("a"), 1);
  EXPECT_EQ(prober_.calls("b"), 1);
  EXPECT_EQ(entry(monitor_->view(), "b").level, IsolationLevel::kSharedKernel);

  // A request once nothing is queued runs a probe of its own.
  auto again = request("b");
  ASSERT_TRUE(ready(again));
  EXPECT_TRUE(again.get());
  EXPECT_EQ(prober_.calls("b"), 2);
  EXPECT_EQ(prober_.calls("a"), 1);
}

TEST_F(IsolationMonitorTest, TheRevisionChangesWithTheBookOnly) {
  make({{"native", std::nullopt}});
  monitor_->start();
  ASSERT_TRUE(eventually([&] { return allVerifiedNow(); }));
  const auto verified = monitor_->revision();
  EXPECT_EQ(monitor_->view().revision, verified);

  // The same result at the same time changes nothing.
  auto same = request("native");
  ASSERT_TRUE(ready(same));
  EXPECT_EQ(monitor_->revision(), verified);

  // A later probe has a new time; another result a new level.
  advance(1s);
  auto later = request("native");
  ASSERT_TRUE(ready(later));
  const auto reprobed = monitor_->revision();
  EXPECT_GT(reprobed, verified);
  prober_.setOutcome("native", report(kZoneBoot));
  auto other = request("native");
  ASSERT_TRUE(ready(other));
  EXPECT_GT(monitor_->revision(), reprobed);
  EXPECT_EQ(entry(monitor_->view(), "native").level, IsolationLevel::kHypervisor);
}

TEST_F(IsolationMonitorTest, AFailedAttemptKeepsTheResultUntilItIsThreeIntervalsOld) {
  make({{"native", std::nullopt}});
  monitor_->start();
  ASSERT_TRUE(eventually([&] { return allVerifiedNow(); }));
  const auto verified_at = clock_.now();
  const auto score = entry(monitor_->view(), "native").score;

  prober_.setOutcome("native", fail(Code::kUnavailable, "runtime class \"native\": unreachable"));
  advance(600s);
  monitor_->recheck();
  ASSERT_TRUE(eventually([&] { return prober_.calls("native") == 2; }));
  ASSERT_TRUE(eventually([&] { return !entry(monitor_->view(), "native").error.empty(); }));
  auto failed = entry(monitor_->view(), "native");
  EXPECT_EQ(failed.level, IsolationLevel::kSharedKernel);  // kept
  EXPECT_EQ(failed.score, score);
  EXPECT_EQ(failed.verified_at, verified_at);
  EXPECT_EQ(failed.attempted_at, clock_.now());
  EXPECT_EQ(failed.error, "runtime class \"native\": unreachable");

  // Three intervals after the last success it still counts; any later it does not.
  // The retries due meanwhile stay in the prober (held), so only the expiry
  // changes the revision below.
  prober_.hold("native");
  advance(1200s);
  EXPECT_EQ(entry(monitor_->view(), "native").level, IsolationLevel::kSharedKernel);
  const auto before = monitor_->revision();
  advance(1ms);
  const auto stale = monitor_->view();
  EXPECT_GT(stale.revision, before);
  const auto& expired = entry(stale, "native");
  EXPECT_EQ(expired.level, IsolationLevel::kUnverified);
  EXPECT_EQ(expired.score, 0);
  EXPECT_TRUE(expired.findings.empty());
  EXPECT_EQ(expired.verified_at, verified_at);  // when it last was
  EXPECT_EQ(expired.error, "runtime class \"native\": unreachable");
  EXPECT_EQ(monitor_->revision(), stale.revision);  // once
  prober_.release("native");
}

TEST_F(IsolationMonitorTest, AClassVerifiedBelowItsClaimIsQuarantined) {
  make({{"edera-zone", IsolationLevel::kHypervisor},
        {"kata", IsolationLevel::kHypervisor},
        {"native", std::nullopt}});
  prober_.setOutcome("kata", report(kZoneBoot));
  monitor_->start();
  ASSERT_TRUE(eventually([&] { return allVerifiedNow(); }));
  const auto view = monitor_->view();
  const auto& edera = entry(view, "edera-zone");
  EXPECT_EQ(edera.level, IsolationLevel::kSharedKernel);
  EXPECT_TRUE(edera.quarantined());
  const auto claim = std::find_if(edera.findings.begin(), edera.findings.end(),
                                  [](const auto& f) { return f.id == "claim-not-met"; });
  ASSERT_NE(claim, edera.findings.end());
  EXPECT_EQ(claim->severity, api::Severity::kHigh);
  EXPECT_FALSE(edera.satisfies(IsolationLevel::kSharedKernel));
  EXPECT_TRUE(edera.satisfies(std::nullopt));
  const auto& kata = entry(view, "kata");
  EXPECT_EQ(kata.level, IsolationLevel::kHypervisor);
  EXPECT_FALSE(kata.quarantined());
  EXPECT_FALSE(entry(view, "native").quarantined());

  // Released once it verifies at its claim.
  prober_.setOutcome("edera-zone", report(kZoneBoot));
  advance(1s);
  auto reprobe = request("edera-zone");
  ASSERT_TRUE(ready(reprobe));
  EXPECT_FALSE(entry(monitor_->view(), "edera-zone").quarantined());
}

TEST_F(IsolationMonitorTest, WithoutAnImageNothingRuns) {
  make({{"native", std::nullopt}, {"edera-zone", IsolationLevel::kHypervisor}}, false);
  monitor_->start();
  auto asked = request("");
  ASSERT_TRUE(ready(asked, 0ms));  // answered at once
  EXPECT_TRUE(asked.get());
  const auto view = monitor_->view();
  ASSERT_EQ(view.classes.size(), 2u);
  for (const auto& c : view.classes) {
    EXPECT_EQ(c.level, IsolationLevel::kUnverified) << c.runtime_class;
    EXPECT_FALSE(c.quarantined());
    EXPECT_NE(c.error.find("no probe image"), std::string::npos) << c.error;
  }
  EXPECT_EQ(prober_.calls("native"), 0);
}

TEST_F(IsolationMonitorTest, AnUnknownClassIsNotFound) {
  make({{"native", std::nullopt}});
  auto unknown = request("gvisor");
  ASSERT_TRUE(ready(unknown, 0ms));
  const auto s = unknown.get();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Code::kNotFound);
  EXPECT_EQ(s.error().field, "runtime_class");
  EXPECT_FALSE(monitor_->offers("gvisor"));
  EXPECT_TRUE(monitor_->offers("native"));
}

TEST_F(IsolationMonitorTest, StoppingEndsTheProbeAndFailsWaitingRequests) {
  make({{"native", std::nullopt}});
  prober_.hold("native");
  monitor_->start();
  ASSERT_TRUE(eventually([&] { return prober_.blocked() == "native"; }));
  EXPECT_TRUE(monitor_->busy());
  auto waiting = request("native");
  monitor_->stop();  // the held probe is cancelled, so this returns
  ASSERT_TRUE(ready(waiting, 0ms));
  EXPECT_EQ(waiting.get().error().code, Code::kUnavailable);
  EXPECT_FALSE(monitor_->busy());
  // Nothing was learnt from the cancelled probe; later requests are refused.
  EXPECT_EQ(entry(monitor_->view(), "native").level, IsolationLevel::kUnverified);
  auto late = request("native");
  ASSERT_TRUE(ready(late, 0ms));
  EXPECT_EQ(late.get().error().code, Code::kUnavailable);
}

}  // namespace
}  // namespace zp::agent
