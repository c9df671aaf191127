#include "server/workloads/delivery_backoff.h"

#include <gtest/gtest.h>

#include "server/workloads/workload_ids.h"

namespace zp::server {
namespace {

using namespace std::chrono_literals;

TEST(DeliveryBackoffTest, DoublesFromInitialUpToMaxPerWorkload) {
  DeliveryBackoff backoff({100ms, 1s});
  TimePoint now{};
  EXPECT_TRUE(backoff.due("a", now));
  EXPECT_EQ(backoff.failed("a", now), 100ms);
  EXPECT_FALSE(backoff.due("a", now));
  EXPECT_TRUE(backoff.due("b", now));  // per workload
  EXPECT_EQ(backoff.failed("a", now), 200ms);
  EXPECT_EQ(backoff.failed("a", now), 400ms);
  EXPECT_EQ(backoff.failed("a", now), 800ms);
  EXPECT_EQ(backoff.failed("a", now), 1s);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(backoff.failed("a", now), 1s);  // no overflow
  EXPECT_EQ(backoff.failures("a"), 105);
  EXPECT_FALSE(backoff.due("a", now + 999ms));
  EXPECT_TRUE(backoff.due("a", now + 1s));
  backoff.clear("a");
  EXPECT_EQ(backoff.failures("a"), 0);
  EXPECT_EQ(backoff.size(), 0u);
}

TEST(DeliveryBackoffTest, TheDefaultsAreTwoSecondsDoublingToAMinute) {
  DeliveryBackoff backoff;
  TimePoint now{};
  for (auto wait : {2s, 4s, 8s, 16s, 32s, 60s, 60s}) EXPECT_EQ(backoff.failed("a", now), wait);
}

TEST(PermanentRefusalTest, TransientCodesAreRetriedEverythingElseIsFinal) {
  for (Code code :
       {Code::kUnavailable, Code::kDeadlineExceeded, Code::kCancelled, Code::kInternal}) {
    EXPECT_FALSE(isPermanentRefusal(Error{code, "", ""})) << codeName(code);
  }
  for (Code code : {Code::kInvalidArgument, Code::kResourceExhausted, Code::kUnimplemented,
                    Code::kFailedPrecondition, Code::kAlreadyExists, Code::kNotFound}) {
    EXPECT_TRUE(isPermanentRefusal(Error{code, "", ""})) << codeName(code);
  }
}

TEST(WorkloadIdsTest, GeneratedIdsAndUidsHaveTheirShape) {
  const std::string id = generateWorkloadId();
  ASSERT_EQ(id.size(), 13u);
  EXPECT_EQ(id.substr(0, 3), "wl-");
  EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789", 3), std::string::npos);
  const std::string uid = generateUid();
  ASSERT_EQ(uid.size(), 32u);
  EXPECT_EQ(uid.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(generateUid(), uid);
  EXPECT_NE(generateWorkloadId(), id);
}

}  // namespace
}  // namespace zp::server
