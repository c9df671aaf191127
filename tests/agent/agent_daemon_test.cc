// AgentDaemon on FakeRuntime: stopping while a ProbeIsolation request waits
// for a probe (docs/architecture.md §10.2), and the status sweep brought
// forward by a runtime's container event (§4).

#include "agent/agent_daemon.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "fake_runtime.h"
#include "manager_fixture.h"
#include "test_line_client.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;

constexpr const char* kProbeImage = "registry.test/zoneplane/probe:1";

// An AgentDaemon of node "node-1" (class "native", plain text) on `runtime`,
// run on a thread of its own until stop() or destruction.
class RunningDaemon {
 public:
  RunningDaemon(testing::FakeRuntime& runtime, std::int64_t status_interval_ms,
                std::chrono::milliseconds event_coalesce = DaemonOptions{}.event_coalesce) {
    AgentConfig config;
    config.node_id = "node-1";
    config.listen_host = "127.0.0.1";
    config.listen_port = 0;
    config.metrics_listen = "127.0.0.1:0";  // never the fixed default port in a test
    config.insecure_plaintext = true;
    config.status_interval_ms = status_interval_ms;
    config.runtime_classes["native"] = RuntimeClassConfig{"unix:///fake.sock", "runc"};
    config.probe.image = kProbeImage;
    DaemonOptions options;
    options.handle_signals = false;
    options.worker_threads = 1;
    options.control_threads = 1;
    options.event_coalesce = event_coalesce;
    options.on_listening = [this](const std::string& where) { listening_.set_value(where); };
    daemon_ = std::make_unique<AgentDaemon>(config, runtime, options);
    running_ = std::async(std::launch::async, [this] { return daemon_->run(); });
  }
  ~RunningDaemon() {
    if (running_.valid()) (void)stop();
  }
  // The port it listens on, once it does (0 if it never did within 30 s).
  unsigned short port() {
    auto where = listening_.get_future();
    if (where.wait_for(30s) != std::future_status::ready) return 0;
    const auto address = where.get();
    return static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)));
  }
  void requestStop() { daemon_->requestStop(); }
  // Stops it and returns what run() returned.
  Status stop() {
    daemon_->requestStop();
    if (running_.wait_for(30s) != std::future_status::ready) {
      return fail(Code::kDeadlineExceeded, "the daemon did not stop within 30 s");
    }
    return running_.get();
  }

 private:
  std::promise<std::string> listening_;
  std::unique_ptr<AgentDaemon> daemon_;
  std::future<Status> running_;
};

TEST(AgentDaemonTest, AProbeRequestWaitingAtStopIsAnsweredUnavailable) {
  testing::FakeRuntime runtime;
  runtime.holdPulls(kProbeImage);  // the start's probe waits for its image
  RunningDaemon agent(runtime, 100);
  const auto port = agent.port();
  ASSERT_NE(port, 0);

  Client c(port);
  ASSERT_TRUE(c.connected());
  ASSERT_EQ(c.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (runtime.activePulls(kProbeImage) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(runtime.activePulls(kProbeImage), 1);
  ASSERT_TRUE(c.send({{"type", "ProbeIsolation"}, {"runtime_class", "native"}, {"req", "p"}}));
  // Answered after the ProbeIsolation line was read: its probe is waited for.
  ASSERT_EQ(c.call({{"type", "NodeInfo"}}).value("type", ""), "Node");

  agent.requestStop();
  auto reply = c.reply("p");
  ASSERT_TRUE(reply.has_value()) << "the connection closed without an answer";
  EXPECT_EQ(reply->value("type", ""), "Error") << reply->dump();
  EXPECT_EQ(reply->value("code", ""), "Unavailable") << reply->dump();
  EXPECT_TRUE(agent.stop());
  EXPECT_EQ(runtime.cancelledPulls(), 1);
}

TEST(AgentDaemonTest, AContainerEventBringsTheNextSweepForward) {
  testing::FakeRuntime runtime;
  runtime.holdPulls(kProbeImage);        // no probe runs meanwhile
  RunningDaemon agent(runtime, 60'000);  // no sweep of its own within the test
  ASSERT_NE(agent.port(), 0);
  ASSERT_TRUE(testing::eventually([&] { return runtime.watched(); }));
  for (int round = 0; round < 3; ++round) {
    const int before = runtime.listings();
    runtime.emitContainerEvent();
    EXPECT_TRUE(testing::eventually([&] { return runtime.listings() > before; }))
        << "no sweep after event " << round;
  }
  EXPECT_TRUE(agent.stop());
  EXPECT_FALSE(runtime.watched());  // the watch ended with the daemon
}

// A relist's report is a whole listing's: its sweep does not wait for more
// events (here an hour, which the test would not outlast).
TEST(AgentDaemonTest, AnExitRelistsReportBringsTheSweepWithoutTheEventsWait) {
  testing::FakeRuntime runtime;
  runtime.holdPulls(kProbeImage);
  RunningDaemon agent(runtime, 60'000, std::chrono::hours(1));
  ASSERT_NE(agent.port(), 0);
  ASSERT_TRUE(testing::eventually([&] { return runtime.watched(); }));
  for (int round = 0; round < 3; ++round) {
    const int before = runtime.listings();
    runtime.emitContainerEvent(ContainerNews::kListing);
    EXPECT_TRUE(testing::eventually([&] { return runtime.listings() > before; }))
        << "no sweep after report " << round;
  }
  EXPECT_TRUE(agent.stop());
}

}  // namespace
}  // namespace zp::agent
