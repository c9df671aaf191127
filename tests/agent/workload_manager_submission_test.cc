// WorkloadManager against FakeRuntime: the submission uid (idempotence on
// (id, uid)), the removal fence on the uid, and listing in pages.

#include <gtest/gtest.h>

#include "agent/workload_manager.h"
#include "manager_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using testing::spec;
using SubmissionTest = testing::WorkloadManagerTest;

TEST_F(SubmissionTest, TheGivenUidNamesTheSubmission) {
  auto accepted = manager_->start(spec("a"), "uid-a1");
  ASSERT_TRUE(accepted.has_value()) << accepted.error().toString();
  EXPECT_EQ(accepted->uid, "uid-a1");
  EXPECT_EQ(accepted->log_path, "/fake/logs/a_uid-a1/main.log");
  ASSERT_TRUE(reaches("a", api::WorkloadState::kRunning)) << statusOf("a").message;
  const auto sandboxes = runtime_.sandboxes();
  ASSERT_EQ(sandboxes.size(), 1u);
  EXPECT_EQ(sandboxes.begin()->second.identity.uid, "uid-a1");
  EXPECT_EQ(statusOf("a").uid, "uid-a1");
}

TEST_F(SubmissionTest, WithoutAUidTheNodeMakesOne) {
  auto accepted = manager_->start(spec("a"));
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->uid.size(), 32u);
  EXPECT_TRUE(isValidSubmissionUid(accepted->uid)) << accepted->uid;
  // A re-sent identical spec without uid is the same workload, as before.
  auto again = manager_->start(spec("a"));
  ASSERT_TRUE(again.has_value()) << again.error().toString();
  EXPECT_EQ(again->uid, accepted->uid);
  ASSERT_TRUE(reaches("a", api::WorkloadState::kRunning));
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
}

TEST_F(SubmissionTest, StartIsIdempotentOnIdAndUid) {
  ASSERT_TRUE(manager_->start(spec("a"), "uid-a1").has_value());
  ASSERT_TRUE(reaches("a", api::WorkloadState::kRunning));
  // Same id, uid and spec: the current status, nothing new.
  auto same = manager_->start(spec("a"), "uid-a1");
  ASSERT_TRUE(same.has_value()) << same.error().toString();
  EXPECT_EQ(same->state, api::WorkloadState::kRunning);
  EXPECT_EQ(same->uid, "uid-a1");
  // Without uid, the same spec is the same workload too.
  auto bare = manager_->start(spec("a"));
  ASSERT_TRUE(bare.has_value()) << bare.error().toString();
  EXPECT_EQ(bare->uid, "uid-a1");

  // Another uid: AlreadyExists, naming the uid the node has.
  auto other_uid = manager_->start(spec("a"), "uid-a2");
  ASSERT_FALSE(other_uid.has_value());
  EXPECT_EQ(other_uid.error().code, Code::kAlreadyExists);
  EXPECT_NE(other_uid.error().message.find("\"uid-a1\""), std::string::npos)
      << other_uid.error().message;
  // The same uid with another spec: AlreadyExists too.
  auto changed = spec("a");
  changed.memory_mb = 128;
  auto other_spec = manager_->start(changed, "uid-a1");
  ASSERT_FALSE(other_spec.has_value());
  EXPECT_EQ(other_spec.error().code, Code::kAlreadyExists);
  EXPECT_NE(other_spec.error().message.find("different spec"), std::string::npos)
      << other_spec.error().message;

  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
  EXPECT_EQ(runtime_.containers().size(), 1u);
}

TEST_F(SubmissionTest, AUidIsNeverSharedOrMalformed) {
  ASSERT_TRUE(manager_->start(spec("a"), "uid-shared").has_value());
  auto shared = manager_->start(spec("b"), "uid-shared");
  ASSERT_FALSE(shared.has_value());
  EXPECT_EQ(shared.error().code, Code::kAlreadyExists);
  EXPECT_NE(shared.error().message.find("\"a\""), std::string::npos) << shared.error().message;

  for (const std::string& bad :
       std::vector<std::string>{"Upper", "../x", std::string(65, 'a'), "a b"}) {
    auto refused = manager_->start(spec("c"), bad);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().code, Code::kInvalidArgument) << bad;
    EXPECT_EQ(refused.error().field, "uid");
  }
  EXPECT_FALSE(manager_->status("b").has_value());
  EXPECT_FALSE(manager_->status("c").has_value());
}

TEST_F(SubmissionTest, ARecoveredWorkloadKeepsItsUid) {
  WorkloadIdentity identity;
  identity.spec = spec("old");
  identity.uid = "uid-old";
  runtime_.addSandbox(identity, ObjectState::kRunning);
  ASSERT_TRUE(manager_->recover().has_value());
  EXPECT_EQ(statusOf("old").uid, "uid-old");
  auto same = manager_->start(spec("old"), "uid-old");
  ASSERT_TRUE(same.has_value()) << same.error().toString();
  auto newer = manager_->start(spec("old"), "uid-new");
  ASSERT_FALSE(newer.has_value());
  EXPECT_EQ(newer.error().code, Code::kAlreadyExists);
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
}

TEST_F(SubmissionTest, ARemovalForAnotherUidLeavesTheWorkloadAlone) {
  ASSERT_TRUE(manager_->start(spec("a"), "uid-now").has_value());
  ASSERT_TRUE(reaches("a", api::WorkloadState::kRunning));
  auto fenced = remove("a", 0s, "uid-before");
  ASSERT_EQ(fenced.wait_for(30s), std::future_status::ready);
  auto fenced_result = fenced.get();
  ASSERT_TRUE(fenced_result.has_value()) << fenced_result.error().toString();
  EXPECT_EQ(statusOf("a").state, api::WorkloadState::kRunning);
  EXPECT_EQ(runtime_.sandboxes().size(), 1u);
  EXPECT_EQ(runtime_.containers().begin()->second.state, ObjectState::kRunning);

  // The right uid removes it.
  auto removed = remove("a", 0s, "uid-now");
  ASSERT_EQ(removed.wait_for(30s), std::future_status::ready);
  auto removed_result = removed.get();
  ASSERT_TRUE(removed_result.has_value()) << removed_result.error().toString();
  EXPECT_FALSE(manager_->status("a").has_value());
  EXPECT_TRUE(runtime_.sandboxes().empty());
  // An unknown id is still NotFound, uid or not.
  auto missing = remove("a", 0s, "uid-now");
  ASSERT_EQ(missing.wait_for(30s), std::future_status::ready);
  auto missing_result = missing.get();
  ASSERT_FALSE(missing_result.has_value());
  EXPECT_EQ(missing_result.error().code, Code::kNotFound);
}

TEST_F(SubmissionTest, ListingPagesInIdOrder) {
  for (const char* id : {"e", "b", "d", "a", "c"}) {
    ASSERT_TRUE(manager_->start(spec(id)).has_value());
  }
  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  do {
    auto page = manager_->list(after, 2);
    ++pages;
    ASSERT_LE(page.items.size(), 2u);
    for (const auto& st : page.items) seen.push_back(st.id);
    if (!page.next.empty()) {
      EXPECT_EQ(page.next, page.items.back().id);
    }
    after = page.next;
  } while (!after.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e"}));

  // A page that ends exactly at the last workload has no `next`.
  auto last = manager_->list("c", 2);
  ASSERT_EQ(last.items.size(), 2u);
  EXPECT_TRUE(last.next.empty());
  // `after` need not name a workload that exists.
  auto from_bb = manager_->list("bb", 1);
  ASSERT_EQ(from_bb.items.size(), 1u);
  EXPECT_EQ(from_bb.items[0].id, "c");
  EXPECT_EQ(from_bb.next, "c");
  EXPECT_TRUE(manager_->list("e", 5).items.empty());
  EXPECT_EQ(manager_->list("", 500).items.size(), 5u);
}

}  // namespace
}  // namespace zp::agent
