#include "cri/grpc_error.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace zp::cri {
namespace {

TEST(CodeFromGrpc, MapsTheCodesCriRuntimesUse) {
  const std::vector<std::pair<grpc::StatusCode, Code>> cases = {
      {grpc::StatusCode::UNAVAILABLE, Code::kUnavailable},
      {grpc::StatusCode::DEADLINE_EXCEEDED, Code::kDeadlineExceeded},
      {grpc::StatusCode::NOT_FOUND, Code::kNotFound},
      {grpc::StatusCode::INVALID_ARGUMENT, Code::kInvalidArgument},
      {grpc::StatusCode::ALREADY_EXISTS, Code::kAlreadyExists},
      {grpc::StatusCode::UNIMPLEMENTED, Code::kUnimplemented},
      {grpc::StatusCode::CANCELLED, Code::kCancelled},
  };
  for (const auto& [grpc_code, expected] : cases) {
    EXPECT_EQ(codeFromGrpc(grpc_code), expected) << static_cast<int>(grpc_code);
  }
}

TEST(CodeFromGrpc, EverythingElseIsInternal) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::UNKNOWN, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::FAILED_PRECONDITION,
        grpc::StatusCode::ABORTED, grpc::StatusCode::OUT_OF_RANGE, grpc::StatusCode::INTERNAL,
        grpc::StatusCode::DATA_LOSS, grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::OK}) {
    EXPECT_EQ(codeFromGrpc(code), Code::kInternal) << static_cast<int>(code);
  }
}

TEST(ErrorFromGrpc, KeepsTheRuntimeMessageVerbatimAfterTheRpcName) {
  const std::string runtime_message =
      "failed to pull and unpack image \"127.0.0.1:5000/nope:1\": not found";
  Error error =
      errorFromGrpc("PullImage", grpc::Status(grpc::StatusCode::NOT_FOUND, runtime_message));
  EXPECT_EQ(error.code, Code::kNotFound);
  EXPECT_EQ(error.message, "PullImage: " + runtime_message);
  EXPECT_TRUE(error.field.empty());
}

TEST(ErrorFromGrpc, ARuntimeStillStartingIsUnavailable) {
  Error error = errorFromGrpc(
      "ImageStatus", grpc::Status(grpc::StatusCode::UNKNOWN, "server is not initialized yet"));
  EXPECT_EQ(error.code, Code::kUnavailable);
  EXPECT_EQ(error.message, "ImageStatus: server is not initialized yet");
  // Only as UNKNOWN: the same words in another code keep that code.
  EXPECT_EQ(errorFromGrpc("X", grpc::Status(grpc::StatusCode::NOT_FOUND,
                                            "server is not initialized yet"))
                .code,
            Code::kNotFound);
}

TEST(ErrorFromGrpc, NamesTheCodeWhenTheRuntimeSentNoMessage) {
  Error error = errorFromGrpc("Version", grpc::Status(grpc::StatusCode::UNKNOWN, ""));
  EXPECT_EQ(error.code, Code::kInternal);
  EXPECT_EQ(error.message, "Version: gRPC status 2 with no message");
}

}  // namespace
}  // namespace zp::cri
