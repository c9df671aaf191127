// StartWorkload against the real agent and containerd: idempotency (also
// under concurrent submissions from several connections) and the mapping of
// runtime classes to CRI runtime handlers.

#include <latch>
#include <thread>

#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

using Start = AgentIntegrationTest;

TEST_F(Start, SameSpecTwiceMakesOneSandboxAndADifferentSpecIsRefused) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("idem");
  const auto spec = workload(id, {"sleep", "300"});
  auto first = startWorkload(spec);
  auto second = startWorkload(spec);
  ASSERT_EQ(first.value("type", ""), "Status") << first.dump();
  ASSERT_EQ(second.value("type", ""), "Status") << second.dump();
  EXPECT_EQ(second.value("id", ""), id);

  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  const std::string sandbox_id = st.value("sandbox_id", "");
  ASSERT_FALSE(sandbox_id.empty()) << st.dump();

  auto third = startWorkload(spec);
  ASSERT_EQ(third.value("type", ""), "Status") << third.dump();
  EXPECT_EQ(third.value("state", ""), "Running") << third.dump();
  EXPECT_EQ(third.value("sandbox_id", ""), sandbox_id) << third.dump();
  EXPECT_EQ(third.value("container_id", ""), st.value("container_id", "")) << third.dump();

  auto sandboxes = sandboxesOf(id);
  ASSERT_EQ(sandboxes.size(), 1u);
  EXPECT_EQ(sandboxes[0].id(), sandbox_id);
  EXPECT_EQ(containersOf(id).size(), 1u);

  // The same id with another spec is a conflict, whatever differs.
  auto bigger = spec;
  bigger["memory_mb"] = 128;
  auto other_command = spec;
  other_command["command"] = {"sleep", "301"};
  for (const auto& changed : {bigger, other_command}) {
    auto refused = startWorkload(changed);
    EXPECT_EQ(refused.value("type", ""), "Error") << refused.dump();
    EXPECT_EQ(refused.value("code", ""), "AlreadyExists") << refused.dump();
    EXPECT_EQ(refused.value("id", ""), id) << refused.dump();
  }
  EXPECT_EQ(sandboxesOf(id).size(), 1u);
  st = getStatus(id);
  EXPECT_EQ(st.value("state", ""), "Running") << st.dump();
  EXPECT_EQ(st.value("sandbox_id", ""), sandbox_id) << st.dump();
}

TEST_F(Start, ConcurrentStartsFromTwoConnectionsMakeOneSandboxEach) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  constexpr int kWorkloads = 4;
  std::vector<std::string> ids;
  std::vector<Json> specs;
  for (int i = 0; i < kWorkloads; ++i) {
    ids.push_back(workloadId("race" + std::to_string(i)));
    specs.push_back(workload(ids.back(), {"sleep", "300"}));
  }
  // Both connections send every StartWorkload back to back, released together.
  std::vector<std::vector<Json>> replies(2);
  std::latch go(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t, conn = connect()]() mutable {
      go.arrive_and_wait();
      for (int i = 0; i < kWorkloads; ++i) {
        (void)conn.send(Json{{"type", "StartWorkload"}, {"req", "s" + std::to_string(i)},
                             {"workload", specs[i]}});
      }
      for (int i = 0; i < kWorkloads; ++i) {
        auto reply = conn.readJson(60s);
        replies[t].push_back(reply ? *reply : Json{{"type", "TransportError"}});
      }
    });
  }
  for (auto& th : threads) th.join();

  for (const auto& per_conn : replies) {
    ASSERT_EQ(per_conn.size(), static_cast<std::size_t>(kWorkloads));
    for (const auto& reply : per_conn) {
      EXPECT_EQ(reply.value("type", ""), "Status") << reply.dump();
      const int i = std::stoi(reply.value("req", "s-1").substr(1));
      ASSERT_TRUE(i >= 0 && i < kWorkloads) << reply.dump();
      EXPECT_EQ(reply.value("id", ""), ids[i]) << reply.dump();
    }
  }
  for (const auto& id : ids) {
    Json st;
    ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
    auto sandboxes = sandboxesOf(id);
    ASSERT_EQ(sandboxes.size(), 1u) << id;
    EXPECT_EQ(sandboxes[0].id(), st.value("sandbox_id", "")) << st.dump();
    EXPECT_EQ(containersOf(id).size(), 1u) << id;
  }
  auto list = listWorkloads();
  EXPECT_EQ(list["items"].size(), static_cast<std::size_t>(kWorkloads)) << list.dump();
}

TEST_F(Start, RuntimeClassSelectsTheRuntimeHandler) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto alt = workloadId("alt");
  const auto native = workloadId("native");
  ASSERT_EQ(startWorkload(workload(alt, {"sleep", "300"}, "alt")).value("type", ""), "Status");
  ASSERT_EQ(startWorkload(workload(native, {"sleep", "300"}, "native")).value("type", ""), "Status");

  for (const auto& [id, handler] : {std::pair{alt, alt_handler_}, std::pair{native, std::string("runc")}}) {
    Json st;
    ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
    EXPECT_EQ(st.value("runtime_handler", ""), handler) << st.dump();
    auto sandbox = cri_->podSandboxStatus(st.value("sandbox_id", ""));
    ASSERT_TRUE(sandbox.has_value()) << sandbox.error().toString();
    EXPECT_EQ(sandbox->status().runtime_handler(), handler) << id;
    EXPECT_EQ(sandbox->status().state(), cri::v1::SANDBOX_READY);
    EXPECT_EQ(sandbox->status().metadata().name(), id);
    EXPECT_EQ(sandbox->status().metadata().namespace_(), "zoneplane");
    EXPECT_EQ(sandbox->status().labels().at("zoneplane.io/managed"), "true");
  }

  // A class this node does not offer is refused and creates nothing.
  const auto unknown = workloadId("nocls");
  auto refused = startWorkload(workload(unknown, {"sleep", "1"}, "no-such-class"));
  EXPECT_EQ(refused.value("type", ""), "Error") << refused.dump();
  EXPECT_EQ(refused.value("code", ""), "InvalidArgument") << refused.dump();
  EXPECT_TRUE(sandboxesOf(unknown).empty());
  EXPECT_EQ(getStatus(unknown).value("code", ""), "NotFound");
}

}  // namespace
}  // namespace zp::agent_it
