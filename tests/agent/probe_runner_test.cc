// ProbeRunner on FakeRuntime: one probe is a sandbox and a container with the
// probe's posture, its report read from the container's CRI log (stdout,
// pieces joined) and decoded; the sandbox is removed whatever happened (a
// probe that never exits, an undecodable report, a cancelled run); a pull
// failure creates nothing. Deadlines follow a clock that moves a second per
// reading, so a timeout costs no real time.

#include "agent/isolation/probe_runner.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "agent/cri_configs.h"
#include "probe_runner_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using testing::kProbeImage;
using testing::Piece;
using testing::ProbeRunnerTest;
using testing::sampleReport;

TEST_F(ProbeRunnerTest, RunsTheProbeAndDecodesItsReport) {
  runtime_.addImage(kProbeImage);
  const std::string json = probe::encodeReport(sampleReport());
  const auto half = json.size() / 2;
  // The runtime split the line; stderr and a blank stdout line are not part of it.
  probeWrites({{"stderr", "starting"},
               {"stdout", json.substr(0, half), true},
               {"stderr", "noise"},
               {"stdout", json.substr(half)}});
  ProbeRunner runner(runtime_, options(), clock_);
  auto report = runner.probe("native");
  ASSERT_TRUE(report) << report.error().toString();
  EXPECT_EQ(report->probe_version, "9.8.7");
  EXPECT_EQ(report->kernel.boot_id, sampleReport().kernel.boot_id);
  // The probe's spec: restricted, nobody, read-only root, small, --connect targets.
  EXPECT_TRUE(started_.probe);
  EXPECT_EQ(started_.spec.runtime_class, "native");
  EXPECT_EQ(started_.spec.image, kProbeImage);
  EXPECT_EQ(started_.spec.command, std::vector<std::string>{"/zoneplane-probe"});
  EXPECT_EQ(started_.spec.args, (std::vector<std::string>{"--connect", "10.0.0.1:7443"}));
  EXPECT_EQ(started_.spec.security.profile, api::Profile::kRestricted);
  EXPECT_TRUE(started_.spec.security.read_only_root_fs);
  EXPECT_EQ(started_.spec.security.pids_limit, 256);
  EXPECT_EQ(started_.spec.memory_mb, 64);
  EXPECT_EQ(started_.spec.cpu_millicores, 100);
  EXPECT_EQ(started_.run_as_user, 65534);
  EXPECT_EQ(started_.run_as_group, 65534);
  EXPECT_TRUE(isValidSubmissionUid(started_.uid)) << started_.uid;
  // Nothing is left, and nothing was ever a workload.
  EXPECT_TRUE(runtime_.sandboxes().empty());
  EXPECT_TRUE(runtime_.containers().empty());
}

TEST_F(ProbeRunnerTest, PullsAnAbsentImageFirst) {
  probeWrites({{"stdout", probe::encodeReport(sampleReport())}});
  ProbeRunner runner(runtime_, options(), clock_);
  ASSERT_TRUE(runner.probe("native"));
  EXPECT_EQ(runtime_.startedPulls(kProbeImage), 1);
  ASSERT_TRUE(runner.probe("native"));
  EXPECT_EQ(runtime_.startedPulls(kProbeImage), 1);  // present now
}

TEST_F(ProbeRunnerTest, AProbeThatNeverExitsTimesOutAndIsRemoved) {
  runtime_.addImage(kProbeImage);
  ProbeRunner runner(runtime_, options(), clock_);
  auto report = runner.probe("native");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Code::kDeadlineExceeded) << report.error().toString();
  EXPECT_NE(report.error().message.find("120 s"), std::string::npos) << report.error().message;
  EXPECT_EQ(runtime_.createdContainers(), 1);
  EXPECT_TRUE(runtime_.sandboxes().empty());
  EXPECT_TRUE(runtime_.containers().empty());
}

TEST_F(ProbeRunnerTest, AnUndecodableReportFailsTheProbe) {
  runtime_.addImage(kProbeImage);
  probeWrites({{"stdout", "{\"format\": 1, \"probe_version\": "}});
  ProbeRunner runner(runtime_, options(), clock_);
  auto report = runner.probe("native");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Code::kInvalidArgument) << report.error().toString();
  EXPECT_NE(report.error().message.find("undecodable probe report"), std::string::npos)
      << report.error().message;
  EXPECT_TRUE(runtime_.sandboxes().empty());
}

TEST_F(ProbeRunnerTest, AnOversizedReportIsRefused) {
  runtime_.addImage(kProbeImage);
  probeWrites({{"stdout", std::string(kMaxProbeOutputBytes, 'x')}});
  ProbeRunner runner(runtime_, options(), clock_);
  auto report = runner.probe("native");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Code::kResourceExhausted) << report.error().toString();
  EXPECT_TRUE(runtime_.sandboxes().empty());
}

TEST_F(ProbeRunnerTest, ANonZeroExitSaysWhatTheProbeWrote) {
  runtime_.addImage(kProbeImage);
  probeWrites({{"stderr", "zoneplane-probe: --connect: \"x\" is not HOST:PORT"}}, 2);
  ProbeRunner runner(runtime_, options(), clock_);
  auto report = runner.probe("native");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().message,
            "the probe exited with code 2: zoneplane-probe: --connect: \"x\" is not HOST:PORT");
  EXPECT_TRUE(runtime_.sandboxes().empty());
}

TEST_F(ProbeRunnerTest, APullFailureCreatesNothing) {
  runtime_.failPulls(kProbeImage, Error{Code::kNotFound, "manifest unknown", ""});
  ProbeRunner runner(runtime_, options(), clock_);
  auto report = runner.probe("native");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Code::kNotFound);
  EXPECT_EQ(report.error().message,
            std::string("pulling probe image \"") + kProbeImage + "\": manifest unknown");
  EXPECT_EQ(runtime_.createdContainers(), 0);
  EXPECT_TRUE(runtime_.sandboxes().empty());
}

TEST_F(ProbeRunnerTest, AnUnreachableRuntimeFailsTheProbe) {
  runtime_.setDown(true);
  ProbeRunner runner(runtime_, options(), clock_);
  auto report = runner.probe("native");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Code::kUnavailable);
}

TEST_F(ProbeRunnerTest, CancelEndsAPullInProgressAndEveryLaterProbe) {
  runtime_.holdPulls(kProbeImage);
  ProbeRunner runner(runtime_, options(), clock_);
  auto running = std::async(std::launch::async, [&] { return runner.probe("native"); });
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (runtime_.activePulls(kProbeImage) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(runtime_.activePulls(kProbeImage), 1);
  runner.cancel();
  ASSERT_EQ(running.wait_for(30s), std::future_status::ready);
  auto report = running.get();
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Code::kCancelled);
  EXPECT_EQ(runtime_.cancelledPulls(), 1);
  EXPECT_EQ(runner.probe("native").error().code, Code::kCancelled);
  EXPECT_EQ(runtime_.startedPulls(kProbeImage), 1);
}

TEST_F(ProbeRunnerTest, CancelEndsTheWaitForExitAndRemovesTheSandbox) {
  runtime_.addImage(kProbeImage);
  std::promise<void> started;
  runtime_.setStartHook([&](const std::string&, const WorkloadIdentity&) { started.set_value(); });
  auto o = options();
  o.poll = 1h;  // only cancel() ends the wait
  ProbeRunner runner(runtime_, o, clock_);
  auto running = std::async(std::launch::async, [&] { return runner.probe("native"); });
  ASSERT_EQ(started.get_future().wait_for(30s), std::future_status::ready);
  runner.cancel();
  ASSERT_EQ(running.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(running.get().error().code, Code::kCancelled);
  EXPECT_TRUE(runtime_.sandboxes().empty());
}

TEST_F(ProbeRunnerTest, ProbeObjectsAreNeverWorkloadsAndLeftoversAreRemoved) {
  WorkloadIdentity workload;
  workload.spec.id = "w";
  workload.spec.runtime_class = "native";
  workload.uid = "u-1";
  const auto kept = runtime_.addSandbox(workload, ObjectState::kRunning);
  const auto left = runtime_.addSandbox(probeIdentity("native", kProbeImage, {}, "probe-1"),
                                        ObjectState::kRunning);
  auto snapshot = runtime_.snapshot();
  ASSERT_TRUE(snapshot);
  ASSERT_EQ(snapshot->sandboxes.size(), 1u);
  EXPECT_EQ(snapshot->sandboxes[0].sandbox_id, kept);
  EXPECT_EQ(snapshot->containers.size(), 1u);
  auto probes = runtime_.probeSandboxes();
  ASSERT_TRUE(probes);
  ASSERT_EQ(probes->size(), 1u);
  EXPECT_EQ(probes->at(0).sandbox_id, left);

  ASSERT_TRUE(removeProbeLeftovers(runtime_));
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
  EXPECT_TRUE(runtime_.sandboxes().contains(kept));
  EXPECT_TRUE(runtime_.probeSandboxes()->empty());
}

// The probe's CRI objects: its posture is a restricted workload's, and its
// labels make it no workload (never kLabelManaged, never a workload id).
TEST(ProbeIdentityTest, CriObjectsCarryTheProbeLabelAndThePosture) {
  const auto identity =
      probeIdentity("edera-zone", kProbeImage, {"10.0.0.1:1", "10.0.0.2:2"}, "probe-0123");
  const PodPlacement placement{"/zoneplane/node-7/podprobe-0123", true};
  const auto sandbox = sandboxConfig(identity, "node-7", "/data/probes/x", placement);
  const auto container = containerConfig(identity, "node-7", placement);
  for (const auto* labels : {&sandbox.labels(), &container.labels()}) {
    EXPECT_EQ(labels->at("zoneplane.io/probe"), "edera-zone");
    EXPECT_EQ(labels->at("zoneplane.io/node-id"), "node-7");
    EXPECT_FALSE(labels->contains("zoneplane.io/managed"));
    EXPECT_FALSE(labels->contains("zoneplane.io/workload-id"));
  }
  EXPECT_EQ(sandbox.metadata().name(), "zoneplane-probe");
  EXPECT_EQ(sandbox.metadata().uid(), "probe-0123");
  const auto& security = container.linux().security_context();
  EXPECT_EQ(security.run_as_user().value(), 65534);
  EXPECT_EQ(security.run_as_group().value(), 65534);
  EXPECT_TRUE(security.readonly_rootfs());
  EXPECT_TRUE(security.no_new_privs());
  EXPECT_FALSE(security.privileged());
  ASSERT_EQ(security.capabilities().drop_capabilities_size(), 1);
  EXPECT_EQ(security.capabilities().add_capabilities_size(), 0);
  EXPECT_EQ(container.linux().resources().memory_limit_in_bytes(), 64 * 1024 * 1024);
  EXPECT_EQ(container.linux().resources().unified().at("pids.max"), "256");
  EXPECT_EQ(container.command(0), "/zoneplane-probe");
  EXPECT_EQ(container.args_size(), 4);
  // A workload's labels are unchanged.
  auto workload = identity;
  workload.probe = false;
  const auto managed = sandboxConfig(workload, "node-7", "/x", placement);
  EXPECT_EQ(managed.labels().at("zoneplane.io/managed"), "true");
  EXPECT_FALSE(managed.labels().contains("zoneplane.io/probe"));
}

}  // namespace
}  // namespace zp::agent
