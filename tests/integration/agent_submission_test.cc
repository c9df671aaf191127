// Submissions on the real agent and containerd: the uid a start names is the
// sandbox's, a removal for another uid is fenced off, and ListWorkloads pages.

#include <algorithm>

#include "agent_fixture.h"

namespace zp::agent_it {
namespace {

using Submissions = AgentIntegrationTest;

TEST_F(Submissions, TheUidOfAStartIsTheSandboxsAndARemovalForAnotherUidIsFenced) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto id = workloadId("ag-fenced");
  const std::string uid = "ag-uid-" + randomHex(8);
  auto started =
      call({{"type", "StartWorkload"}, {"workload", workload(id, {"sleep", "300"})}, {"uid", uid}});
  ASSERT_EQ(started.value("type", ""), "Status") << started.dump();
  EXPECT_EQ(started.value("uid", ""), uid) << started.dump();
  Json st;
  ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
  auto sandboxes = sandboxesOf(id);
  ASSERT_EQ(sandboxes.size(), 1u);
  EXPECT_EQ(sandboxes[0].metadata().uid(), uid);
  EXPECT_EQ(sandboxes[0].labels().at("zoneplane.io/uid"), uid);
  EXPECT_NE(st.value("log_path", "").find(id + "_" + uid), std::string::npos) << st.dump();

  // The same start again: the status, no second sandbox; another uid: refused.
  auto again =
      call({{"type", "StartWorkload"}, {"workload", workload(id, {"sleep", "300"})}, {"uid", uid}});
  EXPECT_EQ(again.value("type", ""), "Status") << again.dump();
  auto other =
      call({{"type", "StartWorkload"}, {"workload", workload(id, {"sleep", "300"})}, {"uid", "ag-x"}});
  EXPECT_EQ(other.value("code", ""), "AlreadyExists") << other.dump();
  EXPECT_NE(other.value("message", "").find(uid), std::string::npos) << other.dump();
  EXPECT_EQ(sandboxesOf(id).size(), 1u);

  // A removal for another uid answers Removed and touches nothing.
  auto fenced = call({{"type", "RemoveWorkload"}, {"id", id}, {"uid", "ag-older"}, {"timeout_seconds", 0}});
  EXPECT_EQ(fenced.value("type", ""), "Removed") << fenced.dump();
  EXPECT_EQ(fenced.value("id", ""), id) << fenced.dump();
  EXPECT_EQ(getStatus(id).value("state", ""), "Running");
  ASSERT_EQ(sandboxesOf(id).size(), 1u);
  auto containers = containersOf(id);
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers[0].state(), cri::v1::CONTAINER_RUNNING);

  // Its own uid removes it.
  auto removed = call({{"type", "RemoveWorkload"}, {"id", id}, {"uid", uid}, {"timeout_seconds", 0}});
  EXPECT_EQ(removed.value("type", ""), "Removed") << removed.dump();
  EXPECT_EQ(getStatus(id).value("code", ""), "NotFound");
  EXPECT_TRUE(sandboxesOf(id).empty());
}

TEST_F(Submissions, ListWorkloadsPagesInIdOrder) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const std::string base = "ag-page-" + randomHex(6);
  std::vector<std::string> ids;
  for (int i = 4; i >= 0; --i) ids.push_back(base + "-" + std::to_string(i));
  for (const auto& id : ids) {
    ASSERT_EQ(startWorkload(workload(id, {"sleep", "300"})).value("type", ""), "Status");
  }
  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  while (pages < 10) {
    Json request{{"type", "ListWorkloads"}, {"limit", 2}};
    if (!after.empty()) request["continue"] = after;
    auto page = call(request);
    ASSERT_EQ(page.value("type", ""), "WorkloadList") << page.dump();
    ++pages;
    ASSERT_LE(page["items"].size(), 2u) << page.dump();
    for (const auto& item : page["items"]) seen.push_back(item.value("id", ""));
    after = page.value("continue", "");
    if (after.empty()) break;
    EXPECT_EQ(after, seen.back());
  }
  EXPECT_EQ(pages, 3);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(seen, ids);

  // Bad bounds are refused.
  auto zero = call({{"type", "ListWorkloads"}, {"limit", 0}});
  EXPECT_EQ(zero.value("code", ""), "InvalidArgument") << zero.dump();
  auto huge = call({{"type", "ListWorkloads"}, {"limit", 1001}});
  EXPECT_EQ(huge.value("code", ""), "InvalidArgument") << huge.dump();
}

}  // namespace
}  // namespace zp::agent_it
