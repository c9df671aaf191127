// WorkloadManager against FakeRuntime, with real thread pools: stops that
// wait out a grace period hold no thread, pulls are limited per registry and
// cancelled by a removal, an unreachable runtime is transient, a failing
// sweep degrades instead of freezing, and recovery honours trimmed specs.
// No timing thresholds: every wait is for a condition (bounded generously).

#include "agent/workload_manager.h"

#include <gtest/gtest.h>

#include "agent/cri_configs.h"
#include "agent/spec_annotation.h"
#include "api/validate.h"
#include "manager_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::FakeRuntime;
using testing::kImage;
using testing::spec;
using WorkloadManagerTest = testing::WorkloadManagerTest;

TEST_F(WorkloadManagerTest, StartRunsThroughToRunning) {
  auto accepted = manager_->start(spec("a"));
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->state, api::WorkloadState::kPending);
  ASSERT_TRUE(reaches("a", api::WorkloadState::kRunning)) << statusOf("a").message;
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
  EXPECT_EQ(runtime_.containers().size(), 1u);
  EXPECT_EQ(runtime_.startedPulls(kImage), 0);  // present: no pull
}

TEST_F(WorkloadManagerTest, AStopInItsGracePeriodHoldsNoThread) {
  const auto slow = run("slow");
  const auto quick = run("quick");
  const auto canary = run("canary");
  runtime_.holdStops(slow);

  auto slow_stop = stop("slow", 20s);
  ASSERT_TRUE(eventually([&] { return runtime_.stopHeld(slow); }));
  // The only control thread is free: another stop completes meanwhile...
  auto quick_stop = stop("quick", 0s);
  ASSERT_EQ(quick_stop.wait_for(30s), std::future_status::ready);
  auto quick_result = quick_stop.get();
  ASSERT_TRUE(quick_result.has_value()) << quick_result.error().toString();
  EXPECT_EQ(quick_result->reason, "Stopped");
  // ...and a sweep observes an exit.
  runtime_.exitContainer(canary, 0);
  ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(statusOf("canary").state, api::WorkloadState::kSucceeded);
  EXPECT_EQ(slow_stop.wait_for(0s), std::future_status::timeout);

  runtime_.finishStop(slow);
  ASSERT_EQ(slow_stop.wait_for(30s), std::future_status::ready);
  auto slow_result = slow_stop.get();
  ASSERT_TRUE(slow_result.has_value()) << slow_result.error().toString();
  EXPECT_EQ(slow_result->state, api::WorkloadState::kFailed);
  EXPECT_EQ(slow_result->exit_code, 137);
  EXPECT_EQ(slow_result->reason, "Stopped");
}

TEST_F(WorkloadManagerTest, AStopCutShortByARuntimeRestartIsRepeatedOnceItIsBack) {
  const auto id = run("restarted");
  runtime_.holdStops(id);
  auto stopping = stop("restarted", 20s);
  ASSERT_TRUE(eventually([&] { return runtime_.stopHeld(id); }));
  runtime_.crash();
  EXPECT_EQ(stopping.wait_for(50ms), std::future_status::timeout);  // waits for the runtime
  runtime_.setDown(false);
  ASSERT_EQ(stopping.wait_for(30s), std::future_status::ready);
  auto stopped = stopping.get();
  ASSERT_TRUE(stopped.has_value()) << stopped.error().toString();
  EXPECT_EQ(stopped->reason, "Stopped");
  EXPECT_EQ(stopped->state, api::WorkloadState::kFailed);
}

TEST_F(WorkloadManagerTest, PullsAreLimitedPerRegistryAndARemovalFreesItsSlot) {
  // Two slots per registry (makeManager). Three pulls from a hung registry...
  const std::vector<std::string> hung = {"hung.test/a:1", "hung.test/b:1", "hung.test/c:1"};
  for (const auto& image : hung) runtime_.holdPulls(image);
  for (std::size_t i = 0; i < hung.size(); ++i) {
    ASSERT_TRUE(manager_->start(spec("h" + std::to_string(i), hung[i])).has_value());
  }
  ASSERT_TRUE(eventually([&] {
    return runtime_.activePulls(hung[0]) + runtime_.activePulls(hung[1]) +
               runtime_.activePulls(hung[2]) ==
           2;
  }));
  // ...the third waits (no thread held), and says so.
  std::size_t waiting = 3;
  for (std::size_t i = 0; i < hung.size(); ++i) {
    if (runtime_.startedPulls(hung[i]) == 0) waiting = i;
  }
  ASSERT_LT(waiting, 3u);
  const std::string waiter = "h" + std::to_string(waiting);
  EXPECT_TRUE(eventually([&] {
    return statusOf(waiter).message.find("waiting to pull") != std::string::npos;
  })) << statusOf(waiter).message;
  // Other registries are not affected.
  EXPECT_EQ(run("other").empty(), false);

  // Removing a pulling workload cancels its pull; its slot goes to the waiter.
  const std::size_t first = waiting == 0 ? 1 : 0;
  auto removed = remove("h" + std::to_string(first));
  ASSERT_EQ(removed.wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(removed.get().has_value());
  EXPECT_FALSE(manager_->status("h" + std::to_string(first)).has_value());
  EXPECT_GE(runtime_.cancelledPulls(), 1);
  ASSERT_TRUE(eventually([&] { return runtime_.activePulls(hung[waiting]) == 1; }));
  EXPECT_EQ(statusOf(waiter).message, "pulling image " + hung[waiting]);

  // Removing the rest frees everything: a new pull from there starts at once.
  for (std::size_t i = 0; i < hung.size(); ++i) {
    if (i == first) continue;
    auto r = remove("h" + std::to_string(i));
    ASSERT_EQ(r.wait_for(30s), std::future_status::ready);
    ASSERT_TRUE(r.get().has_value());
  }
  EXPECT_TRUE(runtime_.sandboxes().size() == 1u);  // only "other"
  runtime_.holdPulls("hung.test/d:1");
  ASSERT_TRUE(manager_->start(spec("d", "hung.test/d:1")).has_value());
  ASSERT_TRUE(eventually([&] { return runtime_.activePulls("hung.test/d:1") == 1; }));
  runtime_.completePull("hung.test/d:1", ok());
  EXPECT_TRUE(reaches("d", api::WorkloadState::kRunning)) << statusOf("d").message;
}

TEST_F(WorkloadManagerTest, AnExpiredPullFailsWithATimeoutMessage) {
  const std::string image = "slow.test/app:1";
  runtime_.failPulls(image, Error{Code::kDeadlineExceeded, "PullImage: Deadline Exceeded", ""});
  ASSERT_TRUE(manager_->start(spec("late", image)).has_value());
  ASSERT_TRUE(reaches("late", api::WorkloadState::kFailed));
  const auto st = statusOf("late");
  EXPECT_EQ(st.reason, "ErrImagePull");
  EXPECT_NE(st.message.find("\"" + image + "\""), std::string::npos) << st.message;
  EXPECT_NE(st.message.find("failed: timeout"), std::string::npos) << st.message;
  EXPECT_NE(st.message.find("7 s"), std::string::npos) << st.message;
}

TEST_F(WorkloadManagerTest, APullFailureNeverQuotesWhatAnswered) {
  const std::string image = "127.0.0.1:9000/a/b:1";
  runtime_.failPulls(image, Error{Code::kInternal,
                                  "PullImage: failed to pull and unpack image \"" + image +
                                      "\": failed to do request: Head \"http://127.0.0.1:9000/v2/"
                                      "a/b/manifests/1\": net/http: HTTP/1.x transport connection "
                                      "broken: malformed HTTP status code \"JSON:\"",
                                  ""});
  ASSERT_TRUE(manager_->start(spec("leak", image)).has_value());
  ASSERT_TRUE(reaches("leak", api::WorkloadState::kFailed));
  const auto st = statusOf("leak");
  EXPECT_EQ(st.reason, "ErrImagePull");
  EXPECT_EQ(st.message.find("JSON"), std::string::npos) << st.message;
  EXPECT_NE(st.message.find("bad response"), std::string::npos) << st.message;
}

TEST_F(WorkloadManagerTest, AnUnreachableRuntimeKeepsNewWorkloadsPendingUntilItIsBack) {
  runtime_.setDown(true);
  ASSERT_TRUE(manager_->start(spec("patient")).has_value());
  ASSERT_TRUE(reason("patient", "RuntimeUnavailable")) << statusOf("patient").message;
  EXPECT_EQ(statusOf("patient").state, api::WorkloadState::kPending);
  EXPECT_NE(statusOf("patient").message.find("connection refused"), std::string::npos);
  runtime_.setDown(false);
  EXPECT_TRUE(reaches("patient", api::WorkloadState::kRunning)) << statusOf("patient").message;
}

TEST_F(WorkloadManagerTest, ARuntimeLostDuringAPullIsWaitedForAndThePullRetried) {
  const std::string image = "flaky.test/app:1";
  runtime_.failPulls(image, Error{Code::kUnavailable, "PullImage: Socket closed", ""},
                     /*once=*/true);
  ASSERT_TRUE(manager_->start(spec("flaky", image)).has_value());
  ASSERT_TRUE(reaches("flaky", api::WorkloadState::kRunning)) << statusOf("flaky").message;
  EXPECT_EQ(runtime_.startedPulls(image), 2);
}

TEST_F(WorkloadManagerTest, APullTheRuntimeCancelsItselfIsRetriedNotTakenForAStop) {
  // gRPC CANCELLED from the runtime is not the agent cancelling the workload.
  const std::string image = "cancelling.test/app:1";
  runtime_.failPulls(image, Error{Code::kCancelled, "PullImage: context canceled", ""},
                     /*once=*/true);
  ASSERT_TRUE(manager_->start(spec("retried", image)).has_value());
  ASSERT_TRUE(reaches("retried", api::WorkloadState::kRunning)) << statusOf("retried").message;
  EXPECT_EQ(runtime_.startedPulls(image), 2);
}

TEST_F(WorkloadManagerTest, ALostRunSandboxReplyAdoptsTheSandboxInsteadOfMakingTwo) {
  runtime_.loseNextRunSandboxReply();
  ASSERT_TRUE(manager_->start(spec("once")).has_value());
  ASSERT_TRUE(reaches("once", api::WorkloadState::kRunning)) << statusOf("once").message;
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
  EXPECT_EQ(statusOf("once").sandbox_id, runtime_.sandboxes().begin()->first);
}

// A sandbox of this node that no workload owns (say, of a RunPodSandbox
// whose reply was lost after its workload was removed) is removed by the
// first sweep and then by one sweep per orphan_scan_interval; the sweeps in
// between list only the containers.
TEST_F(WorkloadManagerTest, OrphanSandboxesAreFoundByTheFirstSweepAndThenOncePerScanInterval) {
  const auto orphan = [](const std::string& id) {
    WorkloadIdentity identity;
    identity.spec = spec(id);
    identity.uid = "uid-" + id;
    return identity;
  };
  const std::string kept = run("kept");
  const auto kept_sandbox = statusOf("kept").sandbox_id;
  runtime_.addSandbox(orphan("left-1"), ObjectState::kRunning);
  const int full = runtime_.fullSnapshots();
  ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(runtime_.fullSnapshots(), full + 1);
  ASSERT_EQ(runtime_.sandboxes().size(), 1u);
  EXPECT_EQ(runtime_.sandboxes().begin()->first, kept_sandbox);

  runtime_.addSandbox(orphan("left-2"), ObjectState::kRunning);
  clock_.advance(999ms);
  ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(runtime_.fullSnapshots(), full + 1);
  EXPECT_EQ(runtime_.sandboxes().size(), 2u);  // not listed yet
  // A container-only sweep still sees an exit.
  runtime_.exitContainer(kept, 0, "Completed");
  ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(statusOf("kept").state, api::WorkloadState::kSucceeded);
  EXPECT_EQ(runtime_.fullSnapshots(), full + 1);

  clock_.advance(1ms);
  ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(runtime_.fullSnapshots(), full + 2);
  ASSERT_EQ(runtime_.sandboxes().size(), 1u);
  EXPECT_EQ(runtime_.sandboxes().begin()->first, kept_sandbox);
}

// The sandboxes cannot be listed (say, a listing over the message limit):
// the sweep lists the containers alone, and still sees an exit.
TEST_F(WorkloadManagerTest, ASweepWhoseSandboxListingFailsStillListsTheContainers) {
  const std::string container = run("w");
  const int listed = runtime_.fullSnapshots();
  runtime_.failSandboxListing(
      Error{Code::kInternal, "ListPodSandbox: grpc: received message larger than max", ""});
  runtime_.exitContainer(container, 0, "Completed");
  ASSERT_TRUE(manager_->sweep().has_value());  // the first sweep: a scan, tried
  EXPECT_EQ(statusOf("w").state, api::WorkloadState::kSucceeded);
  EXPECT_EQ(runtime_.fullSnapshots(), listed);
}

// containerd restarted during StartContainer keeps the container created and
// its half-made task, and refuses to start it again ("task ... already
// exists"): the workload is not failed; the container is replaced and runs.
TEST_F(WorkloadManagerTest, AStartInterruptedByARuntimeRestartReplacesTheContainer) {
  runtime_.interruptNextStart();
  ASSERT_TRUE(manager_->start(spec("interrupted")).has_value());
  ASSERT_TRUE(reaches("interrupted", api::WorkloadState::kRunning)) << statusOf("interrupted").message;
  const auto containers = runtime_.containers();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(statusOf("interrupted").container_id, containers.begin()->first);
  EXPECT_EQ(containers.begin()->second.state, ObjectState::kRunning);
  EXPECT_EQ(runtime_.createdContainers(), 2);
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
}

// containerd restarted during StartContainer and, reloading, found the task
// stopped before it was started: exited with code 1, no reason, no start
// time. The process never ran: the container is replaced and runs.
TEST_F(WorkloadManagerTest, AStartThatARuntimeRestartEndedWithoutAStartIsRedone) {
  runtime_.cutNextStartToExit(1);
  ASSERT_TRUE(manager_->start(spec("cut-to-exit")).has_value());
  ASSERT_TRUE(reaches("cut-to-exit", api::WorkloadState::kRunning))
      << statusOf("cut-to-exit").message;
  const auto containers = runtime_.containers();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(statusOf("cut-to-exit").container_id, containers.begin()->first);
  EXPECT_EQ(runtime_.createdContainers(), 2);
  EXPECT_EQ(statusOf("cut-to-exit").restart_count, 0);
}

// The same interrupted start, but containerd's own verdict is a start error
// of the workload (StartError, exit 128): it still fails, nothing replaced.
TEST_F(WorkloadManagerTest, AStartErrorAfterAnInterruptedStartStillFails) {
  runtime_.cutNextStartToExit(128, "StartError",
                              "exec: \"nope\": executable file not found in $PATH: unknown");
  ASSERT_TRUE(manager_->start(spec("bad-exec-cut")).has_value());
  ASSERT_TRUE(reaches("bad-exec-cut", api::WorkloadState::kFailed))
      << statusOf("bad-exec-cut").message;
  EXPECT_EQ(statusOf("bad-exec-cut").reason, "StartError");
  EXPECT_EQ(runtime_.createdContainers(), 1);
}

TEST_F(WorkloadManagerTest, AReplacementWhoseCreateFailsIsCreatedAgainOnTheNextTry) {
  runtime_.interruptNextStart(Error{Code::kUnavailable, "fake runtime: Socket closed", {}});
  ASSERT_TRUE(manager_->start(spec("replaced-late")).has_value());
  ASSERT_TRUE(reaches("replaced-late", api::WorkloadState::kRunning))
      << statusOf("replaced-late").message;
  const auto containers = runtime_.containers();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(statusOf("replaced-late").container_id, containers.begin()->first);
  EXPECT_EQ(containers.begin()->second.state, ObjectState::kRunning);
}

TEST_F(WorkloadManagerTest, AContainerWhoseLogPipesTheRuntimeLostIsReplaced) {
  // containerd restarted between CreateContainer and StartContainer.
  runtime_.failNext("startContainer",
                    Error{Code::kInternal,
                          "StartContainer: failed to create containerd task: failed to create shim "
                          "task: failed to start io pipe copy: unable to copy pipes: no such file "
                          "or directory: unknown",
                          {}});
  ASSERT_TRUE(manager_->start(spec("lost-io")).has_value());
  ASSERT_TRUE(reaches("lost-io", api::WorkloadState::kRunning)) << statusOf("lost-io").message;
  const auto containers = runtime_.containers();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(statusOf("lost-io").container_id, containers.begin()->first);
  EXPECT_EQ(runtime_.createdContainers(), 2);
}

TEST_F(WorkloadManagerTest, StatusesReadWhileTheRuntimeIsDownAreShownUnknown) {
  run("steady");
  runtime_.setDown(true);
  EXPECT_FALSE(manager_->sweep().has_value());
  auto st = statusOf("steady");
  EXPECT_EQ(st.state, api::WorkloadState::kUnknown);
  EXPECT_EQ(st.reason, "RuntimeUnavailable");
  EXPECT_NE(st.message.find("last observed state: Running"), std::string::npos) << st.message;
  runtime_.setDown(false);
  ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_EQ(statusOf("steady").state, api::WorkloadState::kRunning);
}

TEST_F(WorkloadManagerTest, AFailingListingDegradesToOneCheckPerWorkload) {
  run("busy");
  const auto canary = run("canary");
  runtime_.exitContainer(canary, 0);
  runtime_.failSnapshot(Error{Code::kResourceExhausted, "ListPodSandbox: message too large", ""});
  EXPECT_FALSE(manager_->sweep().has_value());
  EXPECT_EQ(statusOf("canary").state, api::WorkloadState::kSucceeded);
  EXPECT_EQ(statusOf("busy").state, api::WorkloadState::kRunning);
}

TEST_F(WorkloadManagerTest, AnOomKillIsFailedEvenWhenTheShellExitedZero) {
  const auto hog = run("hog");
  runtime_.exitContainer(hog, 0, "OOMKilled");
  // (A sweep leaves a workload alone while its pipeline, which reported
  // Running just before, still holds it: sweep until it is seen.)
  EXPECT_TRUE(eventually([&] {
    EXPECT_TRUE(manager_->sweep().has_value());
    return statusOf("hog").state != api::WorkloadState::kRunning;
  }));
  EXPECT_EQ(statusOf("hog").state, api::WorkloadState::kFailed);
  EXPECT_EQ(statusOf("hog").reason, "OOMKilled");
}

api::WorkloadSpec bigSpec(const std::string& id) {
  auto s = spec(id);
  s.env["BIG"] = std::string(api::kMaxPayloadBytes / 16, 'x');  // over the annotation cap
  return s;
}

// The identity a restarted agent reads back from a sandbox made for `full`
// (through the real annotations).
WorkloadIdentity recovered(const api::WorkloadSpec& full, const std::string& uid) {
  WorkloadIdentity made;
  made.spec = full;
  made.uid = uid;
  const auto config = sandboxConfig(made, "node-1", "/logs", PodPlacement{});
  cri::v1::PodSandbox listed;
  *listed.mutable_metadata() = config.metadata();
  *listed.mutable_annotations() = config.annotations();
  auto identity = identityFromSandbox(listed);
  EXPECT_TRUE(identity.has_value());
  return identity ? *identity : WorkloadIdentity{};
}

// Nothing of these ever ran: a sandbox without a container (ready; with a
// trimmed spec; not ready), a created container in a stopped sandbox. A
// restarted agent cannot tell a start cut short from a stop whose removal
// failed, so it removes them and lists none; the server delivers again what
// it still wants. A workload that ran is kept.
TEST_F(WorkloadManagerTest, RecoveryRemovesEveryWorkloadNothingOfWhichRan) {
  const auto big = recovered(bigSpec("big-half"), "u1");
  ASSERT_FALSE(big.spec_complete);
  EXPECT_TRUE(big.spec.env.empty());
  const auto small = recovered(spec("small-half"), "u2");
  ASSERT_TRUE(small.spec_complete);
  runtime_.addSandbox(big, std::nullopt);
  runtime_.addSandbox(small, std::nullopt);
  runtime_.addSandbox(recovered(spec("not-ready"), "u15"), std::nullopt, 0, 0,
                      ObjectState::kNotReady);
  runtime_.addSandbox(recovered(spec("created-stopped"), "u16"), ObjectState::kCreated, 0, 0,
                      ObjectState::kNotReady);
  const auto kept = runtime_.addSandbox(recovered(spec("ran"), "u17"), ObjectState::kRunning);

  ASSERT_TRUE(manager_->recover().has_value());
  for (const auto* id : {"big-half", "small-half", "not-ready", "created-stopped"}) {
    EXPECT_FALSE(manager_->status(id).has_value()) << id;
  }
  EXPECT_EQ(statusOf("ran").state, api::WorkloadState::kRunning);
  const auto sandboxes = runtime_.sandboxes();
  ASSERT_EQ(sandboxes.size(), 1u);
  EXPECT_EQ(sandboxes.begin()->first, kept);
  EXPECT_EQ(runtime_.containers().size(), 1u);

  // Delivered again, each is created anew (the big one from its full spec).
  ASSERT_TRUE(manager_->start(bigSpec("big-half"), "u1").has_value());
  ASSERT_TRUE(manager_->start(spec("small-half"), "u2").has_value());
  EXPECT_TRUE(reaches("big-half", api::WorkloadState::kRunning)) << statusOf("big-half").message;
  EXPECT_TRUE(reaches("small-half", api::WorkloadState::kRunning))
      << statusOf("small-half").message;
  EXPECT_EQ(runtime_.sandboxes().size(), 3u);
}

// Of two sandboxes of one workload, the one whose container ran is kept,
// even when the other is newer.
TEST_F(WorkloadManagerTest, RecoveryKeepsTheDuplicateThatRan) {
  const auto ran = runtime_.addSandbox(recovered(spec("dup"), "u18"), ObjectState::kRunning);
  clock_.advance(1s);
  runtime_.addSandbox(recovered(spec("dup"), "u19"), std::nullopt);
  ASSERT_TRUE(manager_->recover().has_value());
  const auto sandboxes = runtime_.sandboxes();
  ASSERT_EQ(sandboxes.size(), 1u);
  EXPECT_EQ(sandboxes.begin()->first, ran);
  EXPECT_EQ(statusOf("dup").uid, "u18");
  EXPECT_EQ(statusOf("dup").state, api::WorkloadState::kRunning);
}

TEST_F(WorkloadManagerTest, ARecoveredTrimmedSpecIsComparedByDigest) {
  const auto big = recovered(bigSpec("big-run"), "u3");
  ASSERT_FALSE(big.spec_complete);
  runtime_.addSandbox(big, ObjectState::kRunning);
  ASSERT_TRUE(manager_->recover().has_value());
  EXPECT_EQ(statusOf("big-run").state, api::WorkloadState::kRunning);

  auto same = manager_->start(bigSpec("big-run"));
  ASSERT_TRUE(same.has_value()) << same.error().toString();
  EXPECT_EQ(same->state, api::WorkloadState::kRunning);
  auto other = bigSpec("big-run");
  other.env["BIG"].back() = 'y';
  auto refused = manager_->start(other);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Code::kAlreadyExists);
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
}

TEST_F(WorkloadManagerTest, ShutdownEndsEveryWait) {
  runtime_.holdPulls("hung.test/x:1");
  ASSERT_TRUE(manager_->start(spec("x", "hung.test/x:1")).has_value());
  ASSERT_TRUE(manager_->start(spec("y", "hung.test/x:1")).has_value());
  ASSERT_TRUE(manager_->start(spec("z", "hung.test/x:1")).has_value());  // waits for a slot
  ASSERT_TRUE(eventually([&] {
    return runtime_.activePulls("hung.test/x:1") == 2 && manager_->operationsInFlight() == 3;
  }));
  const auto running = run("r");
  runtime_.holdStops(running);
  auto stopping = stop("r", 300s);
  ASSERT_TRUE(eventually([&] { return runtime_.stopHeld(running); }));
  ASSERT_TRUE(eventually([&] { return runtime_.activePulls("hung.test/x:1") == 2; }));
  manager_->shutdown();
  EXPECT_TRUE(eventually([&] { return manager_->operationsInFlight() == 0; }));
  ASSERT_EQ(stopping.wait_for(30s), std::future_status::ready);
  auto stopped = stopping.get();
  ASSERT_FALSE(stopped.has_value());
  EXPECT_EQ(stopped.error().code, Code::kCancelled);
  EXPECT_FALSE(manager_->start(spec("late")).has_value());
}

// An agent killed during StartContainer: containerd cancels the start and ends
// the container StartError ("context canceled") before the process ran. The
// restarted agent starts a new container rather than report Failed.
TEST_F(WorkloadManagerTest, AStartCancelledByTheAgentsDeathIsRedoneAfterARestart) {
  const auto identity = recovered(spec("cut-short"), "u7");
  runtime_.addSandbox(identity, ObjectState::kCreated);
  const auto first = runtime_.containerOf("cut-short");
  runtime_.exitContainer(first, 128, "StartError", std::chrono::milliseconds(0),
                         "failed to start containerd task \"" + first + "\": context canceled: unknown");
  ASSERT_TRUE(manager_->recover().has_value());
  ASSERT_TRUE(reaches("cut-short", api::WorkloadState::kRunning)) << statusOf("cut-short").message;
  const auto containers = runtime_.containers();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_NE(containers.begin()->first, first);
  EXPECT_EQ(statusOf("cut-short").container_id, containers.begin()->first);
}

// An agent killed during RunPodSandbox: the runtime kept the sandbox, not
// ready and without a container. The restarted agent removes it; delivered
// again, the workload runs in a new one.
TEST_F(WorkloadManagerTest, ASandboxWhoseStartTheAgentsDeathCutShortIsRemovedAfterARestart) {
  const auto identity = recovered(spec("cut-sandbox"), "u12");
  const auto leftover = runtime_.addSandbox(identity, std::nullopt, 0, 0, ObjectState::kNotReady);
  ASSERT_TRUE(manager_->recover().has_value());
  EXPECT_FALSE(manager_->status("cut-sandbox").has_value());
  EXPECT_TRUE(runtime_.sandboxes().empty());

  ASSERT_TRUE(manager_->start(spec("cut-sandbox"), "u12").has_value());
  ASSERT_TRUE(reaches("cut-sandbox", api::WorkloadState::kRunning))
      << statusOf("cut-sandbox").message;
  const auto sandboxes = runtime_.sandboxes();
  ASSERT_EQ(sandboxes.size(), 1u);
  EXPECT_NE(sandboxes.begin()->first, leftover);
  EXPECT_EQ(sandboxes.begin()->second.state, ObjectState::kReady);
  EXPECT_EQ(statusOf("cut-sandbox").sandbox_id, sandboxes.begin()->first);
  EXPECT_EQ(runtime_.containers().size(), 1u);
}

// A workload stopped before its container existed leaves no sandbox behind,
// so a restarted agent has nothing to mistake for a start to finish.
TEST_F(WorkloadManagerTest, AWorkloadStoppedBeforeItsContainerExistedIsNotRedoneAfterARestart) {
  runtime_.failNext("createContainer", Error{Code::kUnavailable, "fake runtime: away", {}},
                    1000000);
  ASSERT_TRUE(manager_->start(spec("early-stop")).has_value());
  ASSERT_TRUE(eventually([&] { return runtime_.sandboxes().size() == 1; }));
  auto stopping = stop("early-stop", 0s);
  ASSERT_EQ(stopping.wait_for(30s), std::future_status::ready);
  const auto stopped = stopping.get();
  ASSERT_TRUE(stopped.has_value()) << stopped.error().toString();
  EXPECT_EQ(stopped->state, api::WorkloadState::kFailed);
  EXPECT_EQ(stopped->reason, "Stopped");
  EXPECT_EQ(stopped->message, "stopped before the container started");
  EXPECT_TRUE(stopped->sandbox_id.empty());
  EXPECT_TRUE(runtime_.sandboxes().empty());
  EXPECT_TRUE(runtime_.containers().empty());

  // The record stays while the agent runs; a restarted one has nothing to resume.
  EXPECT_EQ(statusOf("early-stop").state, api::WorkloadState::kFailed);
  manager_->shutdown();
  ASSERT_TRUE(eventually([&] { return manager_->operationsInFlight() == 0; }));
  makeManager();
  ASSERT_TRUE(manager_->recover().has_value());
  EXPECT_FALSE(manager_->status("early-stop").has_value());
  EXPECT_TRUE(runtime_.sandboxes().empty());
}

// A sandbox recovery could not remove: a delivery of the same submission
// looks for it and runs the workload in it (a new RunPodSandbox would find
// its name taken); one nobody delivers again is the orphan scan's.
TEST_F(WorkloadManagerTest, ASandboxRecoveryCouldNotRemoveIsReusedOrLeftToTheOrphanScan) {
  auto left = recovered(spec("left-reused"), "u13");
  left.run_as_user = left.run_as_group = UidRange{}.start + 4242;  // its labels' user
  const auto reused = runtime_.addSandbox(left, std::nullopt);
  runtime_.addSandbox(recovered(spec("left-alone"), "u14"), std::nullopt);
  runtime_.failNext("removeWorkload", Error{Code::kInternal, "fake runtime: refused", {}}, 2);
  ASSERT_TRUE(manager_->recover().has_value());
  EXPECT_FALSE(manager_->status("left-reused").has_value());
  EXPECT_FALSE(manager_->status("left-alone").has_value());
  ASSERT_EQ(runtime_.sandboxes().size(), 2u);

  const int looked = runtime_.findSandboxCalls();
  ASSERT_TRUE(manager_->start(spec("left-reused"), "u13").has_value());
  ASSERT_TRUE(reaches("left-reused", api::WorkloadState::kRunning))
      << statusOf("left-reused").message;
  EXPECT_GT(runtime_.findSandboxCalls(), looked);
  EXPECT_EQ(statusOf("left-reused").sandbox_id, reused);
  EXPECT_EQ(statusOf("left-reused").run_as_user, left.run_as_user);  // the sandbox's user

  clock_.advance(1h);  // the next sweep scans for orphans
  ASSERT_TRUE(manager_->sweep().has_value());
  const auto sandboxes = runtime_.sandboxes();
  ASSERT_EQ(sandboxes.size(), 1u);
  EXPECT_EQ(sandboxes.begin()->first, reused);
}

// A RunPodSandbox whose reply was lost made a sandbox that no id records; a
// stop while the pipeline waits for the runtime finds and removes it.
TEST_F(WorkloadManagerTest, ASandboxWhoseReplyWasLostIsRemovedByAStop) {
  runtime_.loseNextRunSandboxReply(/*then_down=*/true);
  ASSERT_TRUE(manager_->start(spec("lost-reply")).has_value());
  ASSERT_TRUE(reason("lost-reply", "RuntimeUnavailable")) << statusOf("lost-reply").message;
  ASSERT_EQ(runtime_.sandboxes().size(), 1u);
  const int looked = runtime_.findSandboxCalls();
  auto stopping = stop("lost-reply", 0s);
  // The stop looks for the sandbox (the runtime is down: it waits), having
  // cancelled the pipeline first; only then does the runtime come back.
  ASSERT_TRUE(eventually([&] { return runtime_.findSandboxCalls() > looked; }));
  runtime_.setDown(false);
  ASSERT_EQ(stopping.wait_for(30s), std::future_status::ready);
  const auto stopped = stopping.get();
  ASSERT_TRUE(stopped.has_value()) << stopped.error().toString();
  EXPECT_EQ(stopped->reason, "Stopped");
  EXPECT_EQ(stopped->message, "stopped before the container started");
  EXPECT_TRUE(runtime_.sandboxes().empty());
}

// A stop whose removal of the sandbox fails still stops the workload, and
// the sandbox is left to the orphan scan.
TEST_F(WorkloadManagerTest, ASandboxAStopCouldNotRemoveIsLeftToTheOrphanScan) {
  runtime_.failNext("createContainer", Error{Code::kUnavailable, "fake runtime: away", {}},
                    1000000);
  ASSERT_TRUE(manager_->start(spec("stuck-sandbox")).has_value());
  ASSERT_TRUE(eventually([&] { return runtime_.sandboxes().size() == 1; }));
  runtime_.failNext("removeWorkload", Error{Code::kInternal, "fake runtime: refused", {}});
  auto stopping = stop("stuck-sandbox", 0s);
  ASSERT_EQ(stopping.wait_for(30s), std::future_status::ready);
  const auto stopped = stopping.get();
  ASSERT_TRUE(stopped.has_value()) << stopped.error().toString();
  EXPECT_EQ(stopped->state, api::WorkloadState::kFailed);
  EXPECT_EQ(stopped->reason, "Stopped");
  EXPECT_EQ(stopped->message,
            "stopped before the container started; its sandbox is removed once the runtime "
            "answers");
  EXPECT_TRUE(stopped->sandbox_id.empty());
  ASSERT_EQ(runtime_.sandboxes().size(), 1u);

  clock_.advance(1h);  // the next sweep scans for orphans
  ASSERT_TRUE(manager_->sweep().has_value());
  EXPECT_TRUE(runtime_.sandboxes().empty());
  EXPECT_EQ(statusOf("stuck-sandbox").state, api::WorkloadState::kFailed);
}

// ...and an agent restarted before that scan removes the sandbox instead of
// running the stopped workload (it looks like a creation cut short).
TEST_F(WorkloadManagerTest, ASandboxAStopCouldNotRemoveDoesNotRunAfterARestart) {
  runtime_.failNext("createContainer", Error{Code::kUnavailable, "fake runtime: away", {}},
                    1000000);
  ASSERT_TRUE(manager_->start(spec("stopped-left")).has_value());
  ASSERT_TRUE(eventually([&] { return runtime_.sandboxes().size() == 1; }));
  runtime_.failNext("removeWorkload", Error{Code::kInternal, "fake runtime: refused", {}});
  auto stopping = stop("stopped-left", 0s);
  ASSERT_EQ(stopping.wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(stopping.get().has_value());
  ASSERT_EQ(runtime_.sandboxes().size(), 1u);

  manager_->shutdown();
  ASSERT_TRUE(eventually([&] { return manager_->operationsInFlight() == 0; }));
  makeManager();
  ASSERT_TRUE(manager_->recover().has_value());
  EXPECT_FALSE(manager_->status("stopped-left").has_value());
  EXPECT_TRUE(runtime_.sandboxes().empty());
  EXPECT_TRUE(runtime_.containers().empty());
}

// The same when the cancellation killed the task's shim while it started.
TEST_F(WorkloadManagerTest, AStartWhoseShimWasKilledWithTheAgentIsRedoneAfterARestart) {
  const auto identity = recovered(spec("shim-killed"), "u8");
  runtime_.addSandbox(identity, ObjectState::kCreated);
  const auto first = runtime_.containerOf("shim-killed");
  runtime_.exitContainer(first, 128, "StartError", std::chrono::milliseconds(0),
                         "failed to create containerd task: failed to start shim: start failed: : "
                         "signal: killed: unknown");
  ASSERT_TRUE(manager_->recover().has_value());
  ASSERT_TRUE(reaches("shim-killed", api::WorkloadState::kRunning)) << statusOf("shim-killed").message;
  EXPECT_NE(runtime_.containerOf("shim-killed"), first);
  EXPECT_EQ(runtime_.containers().size(), 1u);
}

// A start refused for good (StartError for another reason) still fails the workload.
TEST_F(WorkloadManagerTest, AStartErrorOfItsOwnStillFails) {
  const auto identity = recovered(spec("bad-exec"), "u9");
  runtime_.addSandbox(identity, ObjectState::kCreated);
  const auto first = runtime_.containerOf("bad-exec");
  runtime_.exitContainer(first, 128, "StartError", std::chrono::milliseconds(0),
                         "exec: \"nope\": executable file not found in $PATH: unknown");
  ASSERT_TRUE(manager_->recover().has_value());
  EXPECT_EQ(statusOf("bad-exec").state, api::WorkloadState::kFailed);
  EXPECT_EQ(runtime_.containerOf("bad-exec"), first);
}

// The restarted agent found the container still created, but before its own
// start arrived containerd finished cancelling the dead agent's start and
// ended the container: the start is refused ("container is in
// CONTAINER_EXITED state"). The agent looks again and replaces the container.
TEST_F(WorkloadManagerTest, AStartRefusedBecauseACancelledStartEndedTheContainerIsRedone) {
  const auto identity = recovered(spec("ended-meanwhile"), "u10");
  runtime_.addSandbox(identity, ObjectState::kCreated);
  const auto first = runtime_.containerOf("ended-meanwhile");
  runtime_.cutNextStartToExit(
      128, "StartError",
      "failed to start containerd task \"" + first + "\": context canceled: unknown",
      Error{Code::kInternal,
            "StartContainer: failed to set starting state for container \"" + first +
                "\": container is in CONTAINER_EXITED state",
            ""});
  ASSERT_TRUE(manager_->recover().has_value());
  ASSERT_TRUE(reaches("ended-meanwhile", api::WorkloadState::kRunning))
      << statusOf("ended-meanwhile").message;
  const auto containers = runtime_.containers();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_NE(containers.begin()->first, first);
  EXPECT_EQ(statusOf("ended-meanwhile").restart_count, 0);
}

// A process that ran and exited between the look and the start (a start whose
// reply was lost went through): the same refusal, and its exit stands.
TEST_F(WorkloadManagerTest, AStartRefusedBecauseTheProcessAlreadyRanLeavesItsExit) {
  const auto identity = recovered(spec("ran-meanwhile"), "u11");
  runtime_.addSandbox(identity, ObjectState::kCreated);
  const auto first = runtime_.containerOf("ran-meanwhile");
  runtime_.cutNextStartToExit(
      3, "Error", "",
      Error{Code::kInternal,
            "StartContainer: failed to set starting state for container \"" + first +
                "\": container is in CONTAINER_EXITED state",
            ""});
  ASSERT_TRUE(manager_->recover().has_value());
  ASSERT_TRUE(reaches("ran-meanwhile", api::WorkloadState::kFailed))
      << statusOf("ran-meanwhile").message;
  EXPECT_EQ(statusOf("ran-meanwhile").exit_code, 3);
  EXPECT_EQ(runtime_.containerOf("ran-meanwhile"), first);
}

// The restarted agent's start meets the cancelled one still being finished by
// containerd ("container is already in starting state"): it waits, it does not fail.
TEST_F(WorkloadManagerTest, AStartStillInProgressInTheRuntimeIsWaitedFor) {
  runtime_.failNext("startContainer",
                    Error{Code::kInternal,
                          "StartContainer: failed to set starting state for container \"c\": "
                          "container is already in starting state",
                          ""});
  ASSERT_TRUE(manager_->start(spec("starting")).has_value());
  ASSERT_TRUE(reaches("starting", api::WorkloadState::kRunning)) << statusOf("starting").message;
  EXPECT_EQ(runtime_.containers().size(), 1u);
}

}  // namespace
}  // namespace zp::agent
