#pragma once
// The NodeRegistry fixture of node_registry*_test.cc: a registry on a private
// io_context over a FakeStore behind a real CommitQueue, fake wall and
// monotonic clocks the tests advance together, and a listener recording its
// calls. Fake agents (fake_agent.h) are its nodes.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fake_agent.h"
#include "fake_clock.h"
#include "fake_monotonic_clock.h"
#include "run_io.h"
#include "server/nodes/node_registry.h"
#include "support/fake_store.h"

namespace zp::server::testing {

inline const TimePoint kStart = TimePoint{} + std::chrono::hours(1000);

// Records the listener calls as "what:node:detail" lines.
class RecordingListener final : public FleetListener {
 public:
  boost::asio::awaitable<void> onResync(std::string node,
                                        std::vector<api::WorkloadStatus> items) override {
    // The node is not Ready while its resync is handed up.
    auto view = registry != nullptr ? registry->node(node) : std::nullopt;
    events.push_back("resync:" + node + ":" + std::to_string(items.size()) + ":" +
                     std::string(view ? nodeStateName(view->state) : "?"));
    if (during_resync) {
      auto hook = during_resync;
      co_await hook();
    }
  }
  void onStatus(const std::string& node, const api::WorkloadStatus& s) override {
    events.push_back("status:" + node + ":" + s.id + ":" + std::string(api::stateName(s.state)));
  }
  void onNodeChanged(const NodeView& node) override {
    last_changed = node;
    events.push_back("changed:" + node.id + ":" + std::string(nodeStateName(node.state)) +
                     (node.schedulable ? "" : ":cordoned"));
  }
  void onIsolationChanged(const std::string& node,
                          const std::vector<std::string>& classes) override {
    std::string joined;
    for (const auto& c : classes) joined += (joined.empty() ? "" : ",") + c;
    events.push_back("isolation:" + node + ":" + joined);
  }
  void onNodeRemoved(const std::string& node) override { events.push_back("removed:" + node); }

  int countOf(const std::string& event) const {
    return static_cast<int>(std::count(events.begin(), events.end(), event));
  }

  const NodeRegistry* registry = nullptr;
  std::vector<std::string> events;
  std::optional<NodeView> last_changed;  // the view of the last onNodeChanged
  std::function<boost::asio::awaitable<void>()> during_resync;  // awaited inside onResync
};

class NodeRegistryTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (registry) registry->shutdown();
    io.restart();
    io.run_for(std::chrono::seconds(10));
    EXPECT_TRUE(io.stopped()) << "the registry left work behind after shutdown()";
  }

  static NodeRegistryOptions options() {
    NodeRegistryOptions o;
    o.tick_interval = std::chrono::hours(1);  // the tests tick themselves
    o.spread_heartbeats = false;              // a first tick sends the first heartbeat
    o.link.backoff_initial = std::chrono::milliseconds(10);
    o.link.backoff_max = std::chrono::milliseconds(40);
    o.link.hello_timeout = std::chrono::milliseconds(300);
    return o;
  }

  NodeRegistry& make(std::vector<NodeConfig> configured = {},
                     NodeRegistryOptions registry_options = options()) {
    registry = std::make_unique<NodeRegistry>(io.get_executor(), commits, clock, registry_options,
                                              monotonic);
    registry->setListener(&listener);
    listener.registry = registry.get();
    auto stored = store.loadNodes();
    EXPECT_TRUE(stored);
    EXPECT_TRUE(registry->load(*stored, configured));
    return *registry;
  }

  NodeView view(const std::string& id) {
    auto v = registry->node(id);
    EXPECT_TRUE(v) << id;
    return v.value_or(NodeView{});
  }

  bool waitFor(const std::string& event, int times = 1) {
    return runUntil(io, [&] { return listener.countOf(event) >= times; });
  }

  // Both clocks move on together.
  void advance(std::chrono::milliseconds by) {
    clock.advance(by);
    monotonic.advance(by);
  }

  // One heartbeat round of the fake clocks: the answer has come back.
  void heartbeat(const std::string& id) {
    advance(std::chrono::seconds(1));
    registry->tick(monotonic.now());
    ASSERT_TRUE(runUntil(io, [&] { return view(id).last_heartbeat == clock.now(); }));
  }

  std::vector<store::NodeRecord> storedNodes() {
    auto nodes = store.loadNodes();
    EXPECT_TRUE(nodes);
    return nodes.value_or(std::vector<store::NodeRecord>{});
  }

  boost::asio::io_context io;
  zp::testing::FakeStore store;
  store::CommitQueue commits{store};
  FakeClock clock{kStart};
  FakeMonotonicClock monotonic;
  RecordingListener listener;
  std::unique_ptr<NodeRegistry> registry;
};

}  // namespace zp::server::testing
