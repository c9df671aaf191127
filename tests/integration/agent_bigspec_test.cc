// Big specs (issue 5 §5, "Big specs freeze the node"): each sandbox used to
// carry the whole spec as an annotation, so a node with many ~1 MB specs had
// a ListPodSandbox over the gRPC limit and its status sweep failed for every
// workload. Specs are now bounded (api::kMaxPayloadBytes of command, args and
// env) and a sandbox's annotation is capped (spec_annotation.h): 17 workloads
// at the limits plus an exiting canary keep their statuses, survive an agent
// restart, and stay idempotent.

#include "agent/spec_annotation.h"
#include "agent_fixture.h"
#include "api/validate.h"

namespace zp::agent_it {
namespace {

using BigSpecs = AgentIntegrationTest;

// `sleep 300` with env filling the rest of the payload bound exactly.
Json bigWorkload(const std::string& id, const std::string& image, char fill) {
  Json w = workloadJson(id, image, {"sleep", "300"});
  std::size_t left = api::kMaxPayloadBytes - std::string("sleep300").size();
  Json env = Json::object();
  for (int i = 0; left > 0; ++i) {
    const std::string name = "V" + std::to_string(i);
    const std::size_t value = std::min(api::kMaxStringBytes, left - name.size());
    env[name] = std::string(value, fill);
    left -= name.size() + value;
  }
  w["env"] = env;
  return w;
}

TEST_F(BigSpecs, SeventeenAtTheLimitsKeepTheSweepAndRecoveryWorking) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  std::vector<std::string> ids;
  for (int i = 0; i < 17; ++i) {
    ids.push_back(workloadId("big"));
    auto accepted = startWorkload(bigWorkload(ids.back(), image_, 'x'));
    ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump().substr(0, 500);
  }
  Json st;
  for (const auto& id : ids) ASSERT_TRUE(waitState(id, "Running", 120s, st)) << st.dump();
  const auto canary = workloadId("canary");
  ASSERT_EQ(startWorkload(workload(canary, {"sh", "-c", "sleep 2; exit 0"})).value("type", ""),
            "Status");
  ASSERT_TRUE(waitState(canary, "Succeeded", 60s, st)) << st.dump();

  // Each sandbox's spec annotation stays under the cap; the env is inside the container.
  for (const auto& sb : sandboxesOf(ids.front())) {
    ASSERT_TRUE(sb.annotations().contains("zoneplane.io/spec"));
    EXPECT_LE(sb.annotations().at("zoneplane.io/spec").size(), agent::kMaxSpecAnnotationBytes);
    EXPECT_EQ(sb.annotations().at("zoneplane.io/spec").find("\"env\""), std::string::npos);
    EXPECT_EQ(sb.annotations().at("zoneplane.io/spec-sha256").size(), 64u);
  }

  // An agent restart recovers all of them from the runtime.
  agent_.kill9();
  ASSERT_NO_FATAL_FAILURE(startAgent());
  auto list = listWorkloads();
  ASSERT_EQ(list.value("type", ""), "WorkloadList") << list.dump().substr(0, 500);
  std::map<std::string, Json> after;
  for (const auto& item : list["items"]) after[item.value("id", "")] = item;
  ASSERT_EQ(after.size(), ids.size() + 1);
  for (const auto& id : ids) EXPECT_EQ(after[id].value("state", ""), "Running") << after[id].dump();
  EXPECT_EQ(after[canary].value("state", ""), "Succeeded") << after[canary].dump();

  // Re-submitting the same big spec is idempotent (compared by digest); a
  // different one under the same id is refused; nothing new is created.
  for (const auto& id : ids) {
    auto again = startWorkload(bigWorkload(id, image_, 'x'));
    ASSERT_EQ(again.value("type", ""), "Status") << again.dump().substr(0, 500);
    EXPECT_EQ(again.value("sandbox_id", ""), after[id].value("sandbox_id", ""));
  }
  auto changed = startWorkload(bigWorkload(ids.front(), image_, 'y'));
  EXPECT_EQ(changed.value("code", ""), "AlreadyExists") << changed.dump().substr(0, 500);
  for (const auto& id : ids) EXPECT_EQ(sandboxesOf(id).size(), 1u) << id;

  // And the sweep still sees exits after the restart.
  const auto canary2 = workloadId("canary");
  ASSERT_EQ(startWorkload(workload(canary2, {"sh", "-c", "exit 0"})).value("type", ""), "Status");
  ASSERT_TRUE(waitState(canary2, "Succeeded", 60s, st)) << st.dump();
}

}  // namespace
}  // namespace zp::agent_it
