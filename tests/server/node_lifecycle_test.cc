#include "server/nodes/node_lifecycle.h"

#include <gtest/gtest.h>

namespace zp::server {
namespace {

using namespace std::chrono_literals;

const MonotonicTime kMonoStart = MonotonicTime{} + std::chrono::hours(1000);

TEST(NodeLifecycleTest, StartsNotReadyAndBecomesReadyOnlyByResync) {
  NodeLifecycle node({}, kMonoStart);
  EXPECT_EQ(node.state(), NodeState::kNotReady);
  EXPECT_EQ(node.reason(), node_reason::kConnecting);
  EXPECT_FALSE(node.lastHeartbeat());
  // Heartbeats alone never make a node Ready.
  EXPECT_FALSE(node.heartbeatOk(kMonoStart + 1s));
  EXPECT_FALSE(node.tick(kMonoStart + 2s));
  EXPECT_EQ(node.state(), NodeState::kNotReady);
  EXPECT_TRUE(node.resynced(kMonoStart + 3s));
  EXPECT_EQ(node.state(), NodeState::kReady);
  EXPECT_EQ(node.reason(), "");
  EXPECT_EQ(node.message(), "");
  EXPECT_EQ(node.lastHeartbeat(), kMonoStart + 3s);
  EXPECT_FALSE(node.resynced(kMonoStart + 4s));  // no change
}

TEST(NodeLifecycleTest, ADeadNodeIsNotReadyWithinFiveSeconds) {
  NodeLifecycle node({}, kMonoStart);
  node.resynced(kMonoStart);
  // Heartbeats every second until the node dies just after t = 10 s.
  for (int s = 1; s <= 10; ++s) {
    node.heartbeatOk(kMonoStart + std::chrono::seconds(s));
    EXPECT_FALSE(node.tick(kMonoStart + std::chrono::seconds(s) + 200ms));
  }
  const MonotonicTime died = kMonoStart + 10s + 1ms;
  // The registry ticks every 200 ms.
  MonotonicTime now = died;
  while (node.state() == NodeState::kReady) {
    now += 200ms;
    node.tick(now);
    ASSERT_LT(now - died, 10s);
  }
  EXPECT_LE(now - died, 5s);
  EXPECT_GE(now - (kMonoStart + 10s), 4s);  // not before not_ready_after
  EXPECT_EQ(node.state(), NodeState::kNotReady);
  EXPECT_EQ(node.reason(), node_reason::kNoHeartbeat);
  EXPECT_NE(node.message().find("4 s"), std::string::npos) << node.message();
}

TEST(NodeLifecycleTest, LostThirtySecondsAfterBecomingNotReady) {
  NodeLifecycle node({}, kMonoStart);
  node.resynced(kMonoStart);
  EXPECT_TRUE(node.connectionLost(kMonoStart + 2s, node_reason::kConnectionLost, "closed"));
  EXPECT_EQ(node.state(), NodeState::kNotReady);
  EXPECT_EQ(node.reason(), node_reason::kConnectionLost);
  EXPECT_EQ(node.message(), "closed");
  // Reconnection attempts change the reason, not when NotReady began.
  EXPECT_FALSE(node.connectionLost(kMonoStart + 3s, node_reason::kConnectionRefused, "refused"));
  EXPECT_EQ(node.reason(), node_reason::kConnectionRefused);
  EXPECT_EQ(node.notReadySince(), kMonoStart + 2s);
  EXPECT_FALSE(node.tick(kMonoStart + 31s));
  EXPECT_EQ(node.state(), NodeState::kNotReady);
  EXPECT_TRUE(node.tick(kMonoStart + 32s));
  EXPECT_EQ(node.state(), NodeState::kLost);
  EXPECT_EQ(node.reason(), node_reason::kConnectionRefused);  // still says why
  EXPECT_FALSE(node.tick(kMonoStart + 100s));
  // A heartbeat does not bring a Lost node back; a resync does.
  EXPECT_FALSE(node.heartbeatOk(kMonoStart + 101s));
  EXPECT_FALSE(node.connectionLost(kMonoStart + 102s, node_reason::kNodeIdMismatch, "other"));
  EXPECT_EQ(node.state(), NodeState::kLost);
  EXPECT_TRUE(node.resynced(kMonoStart + 103s));
  EXPECT_EQ(node.state(), NodeState::kReady);
}

TEST(NodeLifecycleTest, NeverConnectedNodeIsLostAfterLostAfter) {
  NodeLifecycle node({}, kMonoStart);
  EXPECT_FALSE(node.tick(kMonoStart + 29s));
  EXPECT_TRUE(node.tick(kMonoStart + 30s));
  EXPECT_EQ(node.state(), NodeState::kLost);
  EXPECT_EQ(node.reason(), node_reason::kConnecting);
}

TEST(NodeLifecycleTest, NoHeartbeatThenRecoveryNeedsAResync) {
  LifecycleOptions options;
  options.not_ready_after = 2s;
  options.lost_after = 10s;
  NodeLifecycle node(options, kMonoStart);
  node.resynced(kMonoStart);
  EXPECT_TRUE(node.tick(kMonoStart + 2s));
  EXPECT_EQ(node.state(), NodeState::kNotReady);
  // Heartbeats answered again on the old connection: still NotReady.
  node.heartbeatOk(kMonoStart + 3s);
  EXPECT_FALSE(node.tick(kMonoStart + 3s));
  EXPECT_EQ(node.state(), NodeState::kNotReady);
  EXPECT_TRUE(node.resynced(kMonoStart + 4s));
  EXPECT_EQ(node.state(), NodeState::kReady);
  // Ready again: the heartbeat clock starts at the resync.
  EXPECT_FALSE(node.tick(kMonoStart + 5s));
  EXPECT_TRUE(node.tick(kMonoStart + 6s));
}

TEST(NodeLifecycleTest, ConnectionLossIsImmediate) {
  NodeLifecycle node({}, kMonoStart);
  node.resynced(kMonoStart);
  node.heartbeatOk(kMonoStart + 1s);
  EXPECT_TRUE(node.connectionLost(kMonoStart + 1s + 10ms, node_reason::kConnectionLost, "reset"));
  EXPECT_EQ(node.state(), NodeState::kNotReady);
  EXPECT_EQ(node.lastHeartbeat(), kMonoStart + 1s);  // kept for the view
}

// A node whose connection said Hello is resyncing: while its heartbeats are
// answered it is not Lost, however long the resync takes (§8.2).
TEST(NodeLifecycleTest, AResyncingNodeThatAnswersIsNeverLost) {
  NodeLifecycle node({}, kMonoStart);
  node.resynced(kMonoStart);
  ASSERT_TRUE(node.connectionLost(kMonoStart + 1s, node_reason::kConnectionLost, "reset"));
  // Back after 20 s: Hello answered, the resync begins.
  EXPECT_FALSE(node.greeted(kMonoStart + 20s));
  EXPECT_TRUE(node.resyncing());
  EXPECT_EQ(node.state(), NodeState::kNotReady);
  EXPECT_EQ(node.reason(), node_reason::kResyncing);
  // The resync takes a minute, heartbeats answered every second.
  for (int s = 21; s <= 80; ++s) {
    node.heartbeatOk(kMonoStart + std::chrono::seconds(s));
    EXPECT_FALSE(node.tick(kMonoStart + std::chrono::seconds(s) + 500ms)) << s;
  }
  EXPECT_EQ(node.state(), NodeState::kNotReady);
  EXPECT_EQ(node.reason(), node_reason::kResyncing);
  EXPECT_TRUE(node.resynced(kMonoStart + 81s));
  EXPECT_EQ(node.state(), NodeState::kReady);
  EXPECT_FALSE(node.resyncing());
}

// A resync that breaks off: Lost lost_after after the last sign of life.
TEST(NodeLifecycleTest, AResyncThatBreaksCountsFromTheLastSignOfLife) {
  NodeLifecycle node({}, kMonoStart);
  node.resynced(kMonoStart);
  ASSERT_TRUE(node.connectionLost(kMonoStart + 1s, node_reason::kConnectionLost, "reset"));
  node.greeted(kMonoStart + 10s);
  node.heartbeatOk(kMonoStart + 40s);
  EXPECT_FALSE(node.connectionLost(kMonoStart + 41s, node_reason::kConnectionLost, "reset again"));
  EXPECT_FALSE(node.resyncing());
  EXPECT_EQ(node.notReadySince(), kMonoStart + 40s);
  // Heartbeats answered on a connection that is no longer resyncing do not count.
  node.heartbeatOk(kMonoStart + 50s);
  EXPECT_FALSE(node.tick(kMonoStart + 69s));
  EXPECT_TRUE(node.tick(kMonoStart + 70s));
  EXPECT_EQ(node.state(), NodeState::kLost);
}

// Silence during the resync still ends in Lost (the link also drops the
// connection when a heartbeat goes unanswered).
TEST(NodeLifecycleTest, ASilentResyncingNodeIsStillLost) {
  NodeLifecycle node({}, kMonoStart);
  node.greeted(kMonoStart + 5s);
  EXPECT_FALSE(node.tick(kMonoStart + 34s));
  EXPECT_TRUE(node.tick(kMonoStart + 35s));
  EXPECT_EQ(node.state(), NodeState::kLost);
}

}  // namespace
}  // namespace zp::server
