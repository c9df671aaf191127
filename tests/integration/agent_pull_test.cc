// Image pulls against registries that misbehave (issue 5 §5, "One slow
// registry blocks the node"): a registry that accepts connections and never
// answers takes only its own pull slots (max_pulls_per_registry, default 3),
// removing its workloads cancels their pulls in the runtime and frees the
// slots; the pull deadline (pull_timeout_seconds) fails a workload with a
// clear message; what answers at a registry's address is never quoted.

#include <algorithm>
#include <map>

#include "agent_fixture.h"
#include "silent_registry.h"

namespace zp::agent_it {
namespace {

using Pulls = AgentIntegrationTest;

// status message -> how many of `ids` have it as a prefix.
std::map<std::string, int> phases(const Json& list, const std::vector<std::string>& ids) {
  std::map<std::string, int> out;
  for (const auto& item : list.value("items", Json::array())) {
    if (std::find(ids.begin(), ids.end(), item.value("id", "")) == ids.end()) continue;
    const std::string message = item.value("message", "");
    if (message.starts_with("pulling image ")) ++out["pulling"];
    if (message.starts_with("waiting to pull image ")) ++out["waiting"];
    if (item.value("state", "") != "Pending") ++out["not pending"];
  }
  return out;
}

TEST_F(Pulls, AHungRegistryTakesOnlyItsSlotsAndRemovingItsWorkloadsFreesThem) {
  SilentRegistry registry;
  ASSERT_TRUE(registry.start());
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const std::string hung = "127.0.0.1:" + std::to_string(registry.port()) + "/hung/app:";
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(workloadId("hung"));
    auto accepted = startWorkload(workloadJson(ids.back(), hung + std::to_string(i), {"true"}));
    ASSERT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
  }
  // Three pull (and hang); seven wait for a slot of that registry.
  std::map<std::string, int> seen;
  ASSERT_TRUE(waitFor(
      [&] {
        seen = phases(listWorkloads(), ids);
        return seen["pulling"] == 3 && seen["waiting"] == 7;
      },
      60s))
      << "pulling " << seen["pulling"] << ", waiting " << seen["waiting"] << ": "
      << listWorkloads().dump();
  ASSERT_TRUE(waitFor([&] { return registry.accepted() >= 3; }, 60s))
      << "the runtime never connected to the silent registry";

  // The node is not blocked: a workload from another registry runs.
  const auto fast = workloadId("fast");
  ASSERT_EQ(startWorkload(workload(fast, {"sleep", "300"})).value("type", ""), "Status");
  Json st;
  EXPECT_TRUE(waitState(fast, "Running", 60s, st)) << st.dump();
  EXPECT_EQ(phases(listWorkloads(), ids)["not pending"], 0);

  // Removing the hung workloads answers at once...
  for (const auto& id : ids) {
    auto removed = removeWorkload(id, 0);
    EXPECT_EQ(removed.value("type", ""), "Removed") << removed.dump();
    EXPECT_TRUE(sandboxesOf(id).empty()) << id;
  }
  // ...and cancels their pulls in the runtime: it hangs up on the registry.
  EXPECT_TRUE(waitFor([&] { return registry.closedByPeer() == registry.accepted(); }, 60s))
      << registry.closedByPeer() << " of " << registry.accepted() << " connections closed";

  // Every slot is free again: three new pulls from there start at once.
  std::vector<std::string> again;
  for (int i = 0; i < 3; ++i) {
    again.push_back(workloadId("again"));
    ASSERT_EQ(
        startWorkload(workloadJson(again.back(), hung + "again" + std::to_string(i), {"true"}))
            .value("type", ""),
        "Status");
  }
  EXPECT_TRUE(waitFor([&] { return phases(listWorkloads(), again)["pulling"] == 3; }, 60s))
      << listWorkloads().dump();
  for (const auto& id : again) EXPECT_EQ(removeWorkload(id, 0).value("type", ""), "Removed");
}

TEST_F(Pulls, AnExpiredPullDeadlineFailsTheWorkloadWithATimeoutMessage) {
  SilentRegistry registry;
  ASSERT_TRUE(registry.start());
  ASSERT_NO_FATAL_FAILURE(startAgent({"--pull-timeout-seconds", "2"}));
  const auto id = workloadId("late");
  const std::string image = "127.0.0.1:" + std::to_string(registry.port()) + "/slow/app:1";
  ASSERT_EQ(startWorkload(workloadJson(id, image, {"true"})).value("type", ""), "Status");
  Json st;
  ASSERT_TRUE(waitTerminal(id, 60s, st)) << st.dump();
  EXPECT_EQ(st.value("state", ""), "Failed") << st.dump();
  EXPECT_EQ(st.value("reason", ""), "ErrImagePull") << st.dump();
  const std::string message = st.value("message", "");
  EXPECT_NE(message.find("\"" + image + "\""), std::string::npos) << message;
  EXPECT_NE(message.find("failed: timeout"), std::string::npos) << message;
  EXPECT_NE(message.find("is 2 s"), std::string::npos) << message;
  EXPECT_TRUE(sandboxesOf(id).empty());
}

TEST_F(Pulls, AFailedPullNamesTheKindOfFailureAndNeverQuotesWhatAnswered) {
  // A server that is no registry: it greets every connection with a JSON error line.
  SilentRegistry garbage;
  ASSERT_TRUE(garbage.start(
      R"({"type":"Error","code":"InvalidArgument","message":"malformed JSON at byte 0"})"
      "\n"));
  ASSERT_NO_FATAL_FAILURE(startAgent());
  struct Case {
    std::string image;
    std::string kind;
  };
  const Case cases[] = {
      {"127.0.0.1:" + std::to_string(garbage.port()) + "/a/b:1", "bad response"},
      // Nothing listens on port 1.
      {"127.0.0.1:1/a/b:1", "unreachable"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.image);
    const auto id = workloadId("badreg");
    ASSERT_EQ(startWorkload(workloadJson(id, c.image, {"true"})).value("type", ""), "Status");
    Json st;
    ASSERT_TRUE(waitTerminal(id, 120s, st)) << st.dump();
    EXPECT_EQ(st.value("reason", ""), "ErrImagePull") << st.dump();
    const std::string message = st.value("message", "");
    EXPECT_NE(message.find("\"" + c.image + "\""), std::string::npos) << message;
    EXPECT_NE(message.find("failed: " + c.kind + ":"), std::string::npos) << message;
    // Not a word of what answered (the agent's reply has "JSON" and "InvalidArgument").
    EXPECT_EQ(message.find("JSON"), std::string::npos) << message;
    EXPECT_EQ(message.find("InvalidArgument"), std::string::npos) << message;
    EXPECT_EQ(message.find("malformed"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace zp::agent_it
