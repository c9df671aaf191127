// DELETE /workloads/{id} against a node that does not answer (README § REST
// API, docs/architecture.md §8.8): 503, the record stays Terminating, and the
// deletion finished later, also after a server restart, asks the agent for
// the grace period the DELETE named.

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

}  // namespace
}  // namespace zp::server::testing
