// The node's isolation over the protocol (docs/architecture.md §3, §10):
// Hello and NodeInfo carry the revision and the whole list, which NodeInfo
// leaves out when the request names the current revision; ProbeIsolation
// probes (joining a probe in progress) and answers with the Node, an unknown
// class is NotFound; a heartbeat is answered while a probe runs.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/isolation/isolation_monitor.h"
#include "fake_prober.h"
#include "protocol_server_fixture.h"
#include "test_line_client.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using testing::eventually;

class ProtocolIsolationTest : public ProtocolServerTest {
 protected:
  void startWithIsolation() {
    probe::Report host;
    host.kernel.boot_id = "11111111-1111-4111-8111-111111111111";
    host.kernel.release = "6.1.0";
    prober_.setDefault(host);  // every class shares the host's kernel
    IsolationMonitor::Options o;
    o.classes = {{"native", std::nullopt}, {"edera-zone", api::IsolationLevel::kHypervisor}};
    o.interval = 600s;
    o.host = host;
    monitor_ = std::make_unique<IsolationMonitor>(std::move(o), prober_, clock_);
    isolation_ = monitor_.get();
    ASSERT_NO_FATAL_FAILURE(startServer());
  }
  void TearDown() override {
    if (monitor_) monitor_->stop();
    ProtocolServerTest::TearDown();
  }
  bool verified() {
    const auto view = monitor_->view();
    return std::all_of(view.classes.begin(), view.classes.end(),
                       [](const auto& c) { return c.verified_at.has_value(); });
  }

  testing::FakeProber prober_;
  std::unique_ptr<IsolationMonitor> monitor_;
};

TEST_F(ProtocolIsolationTest, NodeInfoLeavesTheListOutWhenTheRevisionIsKnown) {
  ASSERT_NO_FATAL_FAILURE(startWithIsolation());
  monitor_->start();
  ASSERT_TRUE(eventually([&] { return verified(); }));
  Client c(port_);
  auto node = c.call({{"type", "Hello"}, {"node_id", "node-1"}});
  ASSERT_EQ(node.value("type", ""), "Node") << node.dump();
  const auto revision = node.value("isolation_revision", std::int64_t{0});
  EXPECT_GT(revision, 1);
  ASSERT_TRUE(node.contains("isolation")) << node.dump();
  ASSERT_EQ(node["isolation"].size(), 2u);
  EXPECT_EQ(node["isolation"][0].value("runtime_class", ""), "edera-zone");  // sorted
  EXPECT_EQ(node["isolation"][0].value("level", ""), "shared-kernel");
  EXPECT_EQ(node["isolation"][0].value("quarantined", false), true) << node.dump();
  EXPECT_EQ(node["isolation"][1].value("runtime_class", ""), "native");

  auto known = c.call({{"type", "NodeInfo"}, {"isolation_revision", revision}});
  EXPECT_EQ(known.value("type", ""), "Node") << known.dump();
  EXPECT_EQ(known.value("isolation_revision", std::int64_t{0}), revision);
  EXPECT_FALSE(known.contains("isolation")) << known.dump();
  for (const auto& request : {Json{{"type", "NodeInfo"}, {"isolation_revision", revision - 1}},
                              Json{{"type", "NodeInfo"}}}) {
    auto full = c.call(request);
    ASSERT_TRUE(full.contains("isolation")) << request.dump() << " -> " << full.dump();
    EXPECT_EQ(full["isolation"].size(), 2u);
  }
}

TEST_F(ProtocolIsolationTest, ProbeIsolationProbesAndAnswersWithTheNode) {
  ASSERT_NO_FATAL_FAILURE(startWithIsolation());
  prober_.hold("native");
  monitor_->start();
  ASSERT_TRUE(eventually([&] { return prober_.blocked() == "native"; }));
  Client c(port_);
  ASSERT_EQ(c.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  ASSERT_TRUE(c.send({{"type", "ProbeIsolation"}, {"runtime_class", "native"}, {"req", "p"}}));
  // The probe is running: a heartbeat is answered meanwhile.
  auto heartbeat = c.call({{"type", "NodeInfo"}});
  EXPECT_EQ(heartbeat.value("type", ""), "Node") << heartbeat.dump();
  EXPECT_EQ(prober_.blocked(), "native");  // answered while the probe still runs
  prober_.release("native");
  auto probed = c.reply("p");
  ASSERT_TRUE(probed.has_value());
  EXPECT_EQ(probed->value("type", ""), "Node") << probed->dump();
  ASSERT_TRUE(probed->contains("isolation")) << probed->dump();
  const auto& native = (*probed)["isolation"][1];
  EXPECT_EQ(native.value("runtime_class", ""), "native");
  EXPECT_EQ(native.value("level", ""), "shared-kernel") << probed->dump();
  EXPECT_EQ(prober_.calls("native"), 1);  // joined the probe that was running

  ASSERT_TRUE(eventually([&] { return verified(); }));  // the start's probes are over
  auto all = c.call({{"type", "ProbeIsolation"}});
  EXPECT_EQ(all.value("type", ""), "Node") << all.dump();
  EXPECT_EQ(prober_.calls("native"), 2);
  EXPECT_EQ(prober_.calls("edera-zone"), 2);

  auto unknown = c.call({{"type", "ProbeIsolation"}, {"runtime_class", "gvisor"}});
  EXPECT_EQ(unknown.value("type", ""), "Error") << unknown.dump();
  EXPECT_EQ(unknown.value("code", ""), "NotFound") << unknown.dump();
  EXPECT_EQ(unknown.value("field", ""), "runtime_class") << unknown.dump();
}

TEST_F(ProtocolServerTest, WithoutAMonitorProbeIsolationIsUnimplemented) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  Client c(port_);
  ASSERT_EQ(c.call({{"type", "Hello"}, {"node_id", "node-1"}}).value("type", ""), "Node");
  auto reply = c.call({{"type", "ProbeIsolation"}});
  EXPECT_EQ(reply.value("code", ""), "Unimplemented") << reply.dump();
}

}  // namespace
}  // namespace zp::agent
