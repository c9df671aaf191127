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

}  // namespace
}  // namespace zp::agent
