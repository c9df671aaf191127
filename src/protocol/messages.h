#pragma once
// The control plane <-> agent protocol (docs/architecture.md §3): one JSON object per
// line; every request may carry "req", echoed in its reply. This header holds
// the typed messages and their codec; it does no I/O.
//
// Requests:  StartWorkload {workload}, GetStatus {id}, StopWorkload {id,
//            timeout_seconds?}, RemoveWorkload {id, timeout_seconds?}, ListWorkloads,
//            NodeInfo.
// Replies:   Status {…WorkloadStatus}, WorkloadList {items}, Node {…NodeInfo},
//            Removed {id}, Error {id?, code, message, field?}.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/node.h"
#include "api/workload.h"
#include "common/status.h"

namespace zp::protocol {

// A line (without its '\n') may be at most this long.
inline constexpr std::size_t kMaxLineBytes = 1 << 20;
inline constexpr std::size_t kMaxReqLength = 256;
// Stop grace period bounds, seconds.
inline constexpr std::int64_t kDefaultStopTimeoutSeconds = 10;
inline constexpr std::int64_t kMaxStopTimeoutSeconds = 300;

struct StartWorkload {
  api::WorkloadSpec workload;
};
struct GetStatus {
  std::string id;
};
struct StopWorkload {
  std::string id;
  std::int64_t timeout_seconds = kDefaultStopTimeoutSeconds;  // grace before SIGKILL
};
struct RemoveWorkload {
  std::string id;
  std::int64_t timeout_seconds = kDefaultStopTimeoutSeconds;  // grace for a still-running container
};
struct ListWorkloads {};
struct NodeInfo {};

using RequestBody =
    std::variant<StartWorkload, GetStatus, StopWorkload, RemoveWorkload, ListWorkloads, NodeInfo>;

struct Request {
  std::optional<std::string> req;
  RequestBody body;
};

struct WorkloadList {
  std::vector<api::WorkloadStatus> items;
};
struct Removed {
  std::string id;
};
struct ErrorReply {
  Error error;
  std::string id;  // the workload concerned, empty if none
};

using ReplyBody = std::variant<api::WorkloadStatus, WorkloadList, api::NodeInfo, Removed, ErrorReply>;

struct Reply {
  std::optional<std::string> req;
  ReplyBody body;
};

// A request line that could not be decoded: the error, plus whatever
// correlation could still be read from it, so the Error reply can echo them.
struct RequestError {
  Error error;
  std::optional<std::string> req;
  std::string id;
};

// Decodes and validates one request line (without '\n'). Every field is
// checked (ids are DNS-1123 labels, workloads pass validateWorkloadSpec,
// unknown fields are rejected).
std::expected<Request, RequestError> decodeRequest(std::string_view line);
// Encodes a request as one line, without the trailing '\n'.
std::string encodeRequest(const Request& request);

// Decodes one reply line. Tolerates unknown fields (newer agents).
Result<Reply> decodeReply(std::string_view line);
// Encodes a reply as one line, without the trailing '\n'.
std::string encodeReply(const Reply& reply);

// The "type" value of each message.
std::string_view typeName(const RequestBody& body);
std::string_view typeName(const ReplyBody& body);

}  // namespace zp::protocol
