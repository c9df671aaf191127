#include "common/status.h"

#include <gtest/gtest.h>

namespace zp {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return fail(Code::kInvalidArgument, "odd", "x");
  return x / 2;
}

TEST(StatusTest, ResultCarriesValueOrError) {
  ASSERT_TRUE(half(4));
  EXPECT_EQ(*half(4), 2);
  auto r = half(3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_EQ(r.error().toString(), "InvalidArgument: odd (field: x)");
}

TEST(StatusTest, CodeNamesRoundTrip) {
  for (Code c : {Code::kInvalidArgument, Code::kNotFound, Code::kAlreadyExists,
                 Code::kFailedPrecondition, Code::kResourceExhausted, Code::kUnavailable,
                 Code::kStorageFull, Code::kDeadlineExceeded, Code::kCancelled,
                 Code::kUnimplemented, Code::kInternal}) {
    EXPECT_EQ(codeFromName(codeName(c)), c);
  }
  EXPECT_EQ(codeName(Code::kStorageFull), "StorageFull");
  EXPECT_EQ(codeFromName("NoSuchCode"), Code::kInternal);
}

}  // namespace
}  // namespace zp
