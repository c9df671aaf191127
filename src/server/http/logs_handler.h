#pragma once
// GET /workloads/{id}/logs?tail=N&follow=true|false&timestamps=true|false
//   &stream=stdout|stderr  (docs/architecture.md §3 Logs, §7)
// 200 text/plain: the container's log lines as the node reads them, one per
// line, prefixed by the runtime's RFC 3339 time and a space with
// timestamps=true, only the named stream with `stream`; streamed while
// `follow` (until the workload is final and its log drained, or the client
// leaves). The node selects the stream, so `tail` counts lines of the
// selected stream (of both without `stream`).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <expected>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "protocol/messages.h"
#include "server/http/http_message.h"
#include "server/nodes/fleet.h"
#include "store/store.h"

namespace zp::server {

// A workload's record by id: kNotFound when there is none.
using WorkloadLookup = std::function<Result<store::WorkloadRecord>(const std::string& id)>;

struct LogsQuery {
  protocol::Logs request;  // id, tail, follow, timestamps, stream for the node
};
// Parses the query of a logs request for workload `id`, or the error
// response: an unknown parameter or a value of the wrong type (tail not a
// whole number, follow/timestamps not true|false) is 400, a tail outside
// 0..protocol::kMaxLogTail or a stream other than stdout|stderr is 422.
std::expected<LogsQuery, HttpResponse> parseLogsQuery(const HttpRequest& request,
                                                      const std::string& id);

struct LogsOptions {
  // How long to wait for the node's first answer before sending 200 and the
  // headers: an error answered within it (no such workload on the node, node
  // unreachable) becomes the HTTP status; a follow on a quiet log does not
  // hold the headers back longer than this.
  std::chrono::milliseconds first_answer_wait{1'000};
};

// Serves log requests. Borrows the Fleet, which outlives it. Runs on the
// server's executor.
class LogsHandler {
 public:
  LogsHandler(Fleet& fleet, WorkloadLookup lookup, LogsOptions options = {});

  // Errors: 400/422 (parameters), 404 (no such workload, or the node does
  // not have it), 409 FailedPrecondition (not placed on a node yet), 429
  // ResourceExhausted (the node's log streams are all in use), 503 (node
  // unreachable), or the status of the node's error code. An error from
  // the node after the headers ends the body incomplete (no last chunk).
  boost::asio::awaitable<HttpResponse> logs(HttpRequest request);

 private:
  Fleet& fleet_;
  WorkloadLookup lookup_;
  LogsOptions options_;
};

}  // namespace zp::server
