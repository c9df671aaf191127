// DELETE /workloads/{id} against a node that does not answer (README § REST
// API, docs/architecture.md §8.8): 503, the record stays Terminating, and the
// deletion finished later, also after a server restart, asks the agent for
// the grace period the DELETE named.

#include <thread>

#include "server_fixture.h"

namespace zp::server::testing {
namespace {

TEST_F(ServerFixture, ADeleteFinishedAfterARestartKeepsItsGracePeriod) {
  create(spec("web-1"));
  ASSERT_TRUE(eventually([&] { return node2_->workload("web-1").has_value(); }));
  node2_->stop();
  ASSERT_TRUE(waitNodeState("node-2", NodeState::kNotReady));
  auto refused = server_->del("/workloads/web-1?grace_seconds=45");
  ASSERT_EQ(refused.status, 503u) << refused.body;
  EXPECT_EQ(server_->get("/workloads/web-1").json["status"]["reason"], "Terminating");

  stopServer();
  startServer(/*wait_ready=*/false);
  ASSERT_TRUE(waitNodeState("node-1", NodeState::kReady));
  EXPECT_EQ(server_->get("/workloads/web-1").json["status"]["reason"], "Terminating");
  node2_->restart();
  ASSERT_TRUE(waitNodeState("node-2", NodeState::kReady));
  EXPECT_TRUE(eventually([&] { return server_->get("/workloads/web-1").status == 404u; }));
  EXPECT_FALSE(node2_->workload("web-1").has_value());
  EXPECT_EQ(node2_->lastGraceSeconds(), 45);
}

// A DELETE asking for a shorter grace period while another is still waiting
// for the node (whose container ignores SIGTERM) asks the node again at once
// instead of waiting behind the first; both then answer with the workload.
TEST_F(ServerFixture, ASecondDeleteWithAShorterGraceAsksTheNodeAtOnce) {
  create(spec("web-1"));
  ASSERT_TRUE(eventually([&] { return node2_->workload("web-1").has_value(); }));
  node2_->holdSlowCalls(true);
  unsigned first_status = 0;
  std::thread first(
      [&] { first_status = server_->del("/workloads/web-1?grace_seconds=30").status; });
  EXPECT_TRUE(eventually([&] { return node2_->heldSlowCalls() == 1; }));  // (threads to join)
  unsigned second_status = 0;
  std::thread second(
      [&] { second_status = server_->del("/workloads/web-1?grace_seconds=0").status; });
  // Without the second request the held call would be the only one for 30 s.
  EXPECT_TRUE(eventually([&] { return node2_->heldSlowCalls() == 2; }));
  node2_->releaseSlowCalls();
  first.join();
  second.join();
  EXPECT_EQ(first_status, 200u);
  EXPECT_EQ(second_status, 200u);
  EXPECT_EQ(node2_->lastGraceSeconds(), 0);
  EXPECT_EQ(server_->get("/workloads/web-1").status, 404u);
  EXPECT_FALSE(node2_->workload("web-1").has_value());
}

// One shorter ask at a time per workload: a third DELETE, shorter still,
// while the second's ask is unanswered adds no call to the node (each would
// hold one of the node's calls in flight for its whole grace period); it is
// asked once that ask returns, if the first removal is still waiting.
TEST_F(ServerFixture, ShorterDeletesAskTheNodeOneAtATime) {
  create(spec("web-1"));
  ASSERT_TRUE(eventually([&] { return node2_->workload("web-1").has_value(); }));
  node2_->holdSlowCalls(true);
  std::vector<unsigned> statuses(3, 0);
  std::vector<std::thread> deletes;
  const auto del = [&](std::size_t i, int grace) {
    deletes.emplace_back([&, i, grace] {
      statuses[i] = server_->del("/workloads/web-1?grace_seconds=" + std::to_string(grace)).status;
    });
  };
  del(0, 30);
  EXPECT_TRUE(eventually([&] { return node2_->heldSlowCalls() == 1; }));
  del(1, 20);
  EXPECT_TRUE(eventually([&] { return node2_->heldSlowCalls() == 2; }));
  del(2, 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(node2_->heldSlowCalls(), 2);
  node2_->releaseSlowCalls();
  for (auto& t : deletes) t.join();
  EXPECT_EQ(statuses, (std::vector<unsigned>{200, 200, 200}));
  EXPECT_EQ(server_->get("/workloads/web-1").status, 404u);
  EXPECT_FALSE(node2_->workload("web-1").has_value());
}

}  // namespace
}  // namespace zp::server::testing
