// AgentDaemon on FakeRuntime, stopping while a ProbeIsolation request waits
// for a probe (docs/architecture.md §10.2): the request is answered
// Error{Unavailable} before the connection closes.

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "agent/agent_daemon.h"
#include "fake_runtime.h"
#include "test_line_client.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;

constexpr const char* kProbeImage = "registry.test/zoneplane/probe:1";

TEST(AgentDaemonStopTest, AProbeRequestWaitingAtStopIsAnsweredUnavailable) {
  testing::FakeRuntime runtime;
  runtime.holdPulls(kProbeImage);  // the start's probe waits for its image
  AgentConfig config;
  config.node_id = "node-1";
  config.listen_host = "127.0.0.1";
  config.listen_port = 0;
  config.metrics_listen = "127.0.0.1:0";  // never the fixed default port in a test
  config.insecure_plaintext = true;
  config.runtime_classes["native"] = RuntimeClassConfig{"unix:///fake.sock", "runc"};
  config.probe.image = kProbeImage;
  std::promise<std::string> listening;
  DaemonOptions options;
  options.handle_signals = false;
  options.worker_threads = 1;
  options.control_threads = 1;
  options.on_listening = [&](const std::string& where) { listening.set_value(where); };
  AgentDaemon daemon(config, runtime, options);
  auto running = std::async(std::launch::async, [&] { return daemon.run(); });
  auto where = listening.get_future();
  ASSERT_EQ(where.wait_for(30s), std::future_status::ready);
  const auto address = where.get();
  const auto port = static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)));

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

  daemon.requestStop();
  auto reply = c.reply("p");
  ASSERT_TRUE(reply.has_value()) << "the connection closed without an answer";
  EXPECT_EQ(reply->value("type", ""), "Error") << reply->dump();
  EXPECT_EQ(reply->value("code", ""), "Unavailable") << reply->dump();
  ASSERT_EQ(running.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(running.get());
  EXPECT_EQ(runtime.cancelledPulls(), 1);
}

}  // namespace
}  // namespace zp::agent
