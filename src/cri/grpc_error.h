#pragma once
// Translation of gRPC call failures into zoneplane errors.

#include <grpcpp/support/status.h>

#include <string_view>

#include "common/status.h"

namespace zp::cri {

// UNAVAILABLE→kUnavailable, DEADLINE_EXCEEDED→kDeadlineExceeded,
// NOT_FOUND→kNotFound, INVALID_ARGUMENT→kInvalidArgument,
// ALREADY_EXISTS→kAlreadyExists, UNIMPLEMENTED→kUnimplemented,
// CANCELLED→kCancelled, anything else (including OK) → kInternal.
Code codeFromGrpc(grpc::StatusCode code);

// The error for a failed call of `rpc` (e.g. "PullImage"). The message is
// "<rpc>: <the runtime's message, verbatim>", or names the gRPC code when the
// runtime sent no message. The code is codeFromGrpc's, except that a runtime
// still starting up (containerd's "server is not initialized yet", sent as
// UNKNOWN) is kUnavailable: it is as transient as an unreachable socket.
// Precondition: !status.ok().
Error errorFromGrpc(std::string_view rpc, const grpc::Status& status);

}  // namespace zp::cri
