// A probe's failure on its way to the server: whatever bytes the probe wrote
// on stderr, the book's `error` is printable ASCII within
// api::kMaxIsolationErrorLength, so the NodeInfo carrying it encodes and
// decodes (the server refuses a NodeInfo with a longer error, and the
// protocol's encoder turns each invalid byte into three), and the agent's log
// gets no raw byte either.

#include <gtest/gtest.h>

#include <algorithm>

#include "agent/isolation/isolation_monitor.h"
#include "captured_log.h"
#include "manager_fixture.h"
#include "probe_runner_fixture.h"
#include "protocol/messages.h"
#include "server/fake_monotonic_clock.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using testing::CapturedLog;
using testing::eventually;
using testing::kProbeImage;
using testing::printableAscii;
using testing::ProbeRunnerTest;

TEST_F(ProbeRunnerTest, BadStderrReachesTheServerAsPrintableText) {
  CapturedLog log;
  runtime_.addImage(kProbeImage);
  std::string evil(600, '\xff');
  evil += "\x1b]0;owned\x07\r\n";
  probeWrites({{"stderr", evil}}, 1);
  ProbeRunner runner(runtime_, options(), clock_);
  testing::FakeClock wall;
  server::testing::FakeMonotonicClock mono;
  IsolationMonitor::Options o;
  o.classes = {{"native", std::nullopt}};
  o.host = probe::Report{};
  IsolationMonitor monitor(std::move(o), runner, wall, mono);
  monitor.start();
  ASSERT_TRUE(eventually([&] { return !monitor.view().classes.at(0).error.empty(); }));
  monitor.stop();

  const auto view = monitor.view();
  const auto& error = view.classes.at(0).error;
  EXPECT_TRUE(printableAscii(error)) << error;
  EXPECT_LE(error.size(), api::kMaxIsolationErrorLength);
  EXPECT_EQ(error.rfind("the probe exited with code 1: ", 0), 0u) << error;

  api::NodeInfo node;
  node.node_id = "node-1";
  node.runtime_classes = {"native"};
  node.version = "1.0.0";
  node.isolation = view.classes;
  node.isolation_revision = view.revision;
  const auto line = protocol::encodeReply({std::string("r1"), node});
  auto decoded = protocol::decodeReply(line);
  ASSERT_TRUE(decoded) << decoded.error().toString();
  const auto* info = std::get_if<api::NodeInfo>(&decoded->body);
  ASSERT_NE(info, nullptr);
  ASSERT_TRUE(info->isolation.has_value());
  EXPECT_EQ(info->isolation->at(0).error, error);

  for (const auto& line : log.lines()) EXPECT_TRUE(printableAscii(line)) << line;
  EXPECT_GT(log.count("isolation probe failed"), 0u);
}

}  // namespace
}  // namespace zp::agent
