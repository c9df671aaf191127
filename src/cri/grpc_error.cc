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

bool isStartingUp(const grpc::Status& status) {
  // containerd's CRI plugin answers every call with this plain error (gRPC
  // UNKNOWN) until it has finished loading its state after a (re)start.
  return status.error_code() == grpc::StatusCode::UNKNOWN &&
         status.error_message().find("server is not initialized yet") != std::string::npos;
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
  const Code code = isStartingUp(status) ? Code::kUnavailable : codeFromGrpc(status.error_code());
  return Error{code, std::move(message), {}};
}

}  // namespace zp::cri
