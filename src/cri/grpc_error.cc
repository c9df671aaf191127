#include "cri/grpc_error.h"

#include <string>
#include <utility>

namespace zp::cri {

Code codeFromGrpc(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
      return Code::kUnavailable;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Code::kDeadlineExceeded;
    case grpc::StatusCode::NOT_FOUND:
      return Code::kNotFound;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Code::kInvalidArgument;
    case grpc::StatusCode::ALREADY_EXISTS:
      return Code::kAlreadyExists;
    case grpc::StatusCode::UNIMPLEMENTED:
      return Code::kUnimplemented;
    case grpc::StatusCode::CANCELLED:
      return Code::kCancelled;
    default:
      return Code::kInternal;
  }
}

Error errorFromGrpc(std::string_view rpc, const grpc::Status& status) {
  std::string message(rpc);
  message += ": ";
  if (status.error_message().empty()) {
    message +=
        "gRPC status " + std::to_string(static_cast<int>(status.error_code())) + " with no message";
  } else {
    message += status.error_message();
  }
  return Error{codeFromGrpc(status.error_code()), std::move(message), {}};
}

}  // namespace zp::cri
