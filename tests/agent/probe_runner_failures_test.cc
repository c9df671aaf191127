// ProbeRunner on FakeRuntime when things go wrong: every runtime step that
// fails after the sandbox exists still removes it (a lost RunPodSandbox reply
// included, found by its labels); a removal that fails is swept before the
// next probe; a probe that exits non-zero is quoted by the last line of its
// stderr (read from the end, however many lines came before), as printable
// ASCII; a log over kMaxProbeLogBytes is refused before it is read. And the
// warning for a probe image named without a digest.

#include <gtest/gtest.h>

#include <algorithm>

#include "agent/isolation/probe_runner.h"
#include "probe_runner_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using testing::kProbeImage;
using testing::Piece;
using testing::printableAscii;
using testing::ProbeRunnerTest;
using testing::sampleReport;

TEST_F(ProbeRunnerTest, AFailingCreateOrStartRemovesTheSandbox) {
  runtime_.addImage(kProbeImage);
  for (const char* call : {"createContainer", "startContainer"}) {
    SCOPED_TRACE(call);
    runtime_.failNext(call, Error{Code::kInternal, std::string(call) + " broke", ""});
    ProbeRunner runner(runtime_, options(), clock_);
    auto report = runner.probe("native");
    ASSERT_FALSE(report);
    EXPECT_NE(report.error().message.find(std::string(call) + " broke"), std::string::npos)
        << report.error().message;
    EXPECT_TRUE(runtime_.sandboxes().empty());
    EXPECT_TRUE(runtime_.containers().empty());
  }
}

TEST_F(ProbeRunnerTest, ASandboxWhoseReplyWasLostIsFoundAndRemoved) {
  runtime_.addImage(kProbeImage);
  runtime_.loseNextRunSandboxReply();  // created, but the agent hears kUnavailable
  ProbeRunner runner(runtime_, options(), clock_);
  auto report = runner.probe("native");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Code::kUnavailable);
  EXPECT_TRUE(runtime_.sandboxes().empty());
}

TEST_F(ProbeRunnerTest, ASandboxTheRuntimeFailedToRemoveIsSweptBeforeTheNextProbe) {
  runtime_.addImage(kProbeImage);
  probeWrites({{"stdout", probe::encodeReport(sampleReport())}});
  ProbeRunner runner(runtime_, options(), clock_);
  runtime_.failNext("removeWorkload", Error{Code::kUnavailable, "runtime busy", ""});
  ASSERT_TRUE(runner.probe("native"));  // the report was read; the removal failed
  ASSERT_EQ(runtime_.sandboxes().size(), 1u);

  ASSERT_TRUE(runner.probe("native"));
  EXPECT_TRUE(runtime_.sandboxes().empty());  // the leftover and the new probe's sandbox
}

TEST_F(ProbeRunnerTest, ASandboxThatCouldNotBeLookedForIsSweptBeforeTheNextProbe) {
  runtime_.addImage(kProbeImage);
  runtime_.loseNextRunSandboxReply();
  runtime_.failNext("findSandbox", Error{Code::kUnavailable, "runtime busy", ""});
  ProbeRunner runner(runtime_, options(), clock_);
  ASSERT_FALSE(runner.probe("native"));
  ASSERT_EQ(runtime_.sandboxes().size(), 1u);  // unknown to the runner

  probeWrites({{"stdout", probe::encodeReport(sampleReport())}});
  ASSERT_TRUE(runner.probe("native"));
  EXPECT_TRUE(runtime_.sandboxes().empty());
}

TEST_F(ProbeRunnerTest, TheLastOfManyStderrLinesSaysWhy) {
  runtime_.addImage(kProbeImage);
  std::vector<Piece> pieces;
  for (int i = 0; i < 100; ++i) pieces.push_back({"stderr", "progress " + std::to_string(i)});
  pieces.push_back({"stdout", "not a report"});
  pieces.push_back({"stderr", "zoneplane-probe: cannot read /proc/self/status"});
  pieces.push_back({"stderr", "   "});  // blank lines do not count
  probeWrites(pieces, 1);
  ProbeRunner runner(runtime_, options(), clock_);
  auto report = runner.probe("native");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().message,
            "the probe exited with code 1: zoneplane-probe: cannot read /proc/self/status");
}

TEST_F(ProbeRunnerTest, StderrIsQuotedAsPrintableAsciiAndBounded) {
  runtime_.addImage(kProbeImage);
  // Invalid UTF-8, control characters and an escape sequence, long.
  std::string evil = "\x1b[31mred\x01\x7f";
  evil += std::string(2000, '\xff');
  evil += "the end";
  probeWrites({{"stderr", evil}}, 3);
  ProbeRunner runner(runtime_, options(), clock_);
  auto report = runner.probe("native");
  ASSERT_FALSE(report);
  const auto& message = report.error().message;
  EXPECT_TRUE(printableAscii(message)) << message;
  EXPECT_LE(message.size(), 600u) << message;
  EXPECT_EQ(message.rfind("the probe exited with code 3: ...", 0), 0u) << message;
  EXPECT_TRUE(message.ends_with("???the end")) << message;
}

TEST_F(ProbeRunnerTest, ALogOverTheBoundIsNotRead) {
  runtime_.addImage(kProbeImage);
  // A valid report, and more stderr than a probe may write.
  std::vector<Piece> pieces{{"stdout", probe::encodeReport(sampleReport())}};
  const std::string noise(4096, 'n');
  for (std::uint64_t written = 0; written <= kMaxProbeLogBytes; written += noise.size()) {
    pieces.push_back({"stderr", noise});
  }
  probeWrites(pieces);
  ProbeRunner runner(runtime_, options(), clock_);
  auto report = runner.probe("native");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Code::kResourceExhausted) << report.error().toString();
  EXPECT_NE(report.error().message.find("more than the 1048576"), std::string::npos)
      << report.error().message;
  EXPECT_TRUE(runtime_.sandboxes().empty());
}

TEST(ProbeImageTest, AnImageWithoutADigestIsWarnedAbout) {
  EXPECT_FALSE(unpinnedProbeImageWarning(""));
  EXPECT_FALSE(unpinnedProbeImageWarning(
      "127.0.0.1:5000/zoneplane/probe@sha256:"
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  const auto tagged = unpinnedProbeImageWarning("registry.example.com/zoneplane/probe:0.1.0");
  ASSERT_TRUE(tagged);
  EXPECT_NE(tagged->find("registry.example.com/zoneplane/probe:0.1.0"), std::string::npos);
  EXPECT_NE(tagged->find("@sha256:"), std::string::npos) << *tagged;
  EXPECT_TRUE(unpinnedProbeImageWarning("zoneplane/probe"));
}

}  // namespace
}  // namespace zp::agent
