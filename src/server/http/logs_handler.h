#pragma once
// GET /workloads/{id}/logs?tail=N&follow=true|false&timestamps=true|false
//   &stream=stdout|stderr  (docs/architecture.md §3 Logs, §7)
// 200 text/plain: the container's log lines as the node reads them, one per
// line, prefixed by the runtime's RFC 3339 time and a space with
// timestamps=true, only the named stream with `stream`; streamed while
// `follow` (until the workload is final and its log drained, is deleted, or
// the client leaves). A follow whose copy is removed while the workload
// lives on (drained, fenced) goes on with the log of the workload's next
// copy, from its start, once that copy's node has it; one whose node's
// connection fails (the agent restarted, the node is unreachable) goes on
// from where it stood once the node answers again, or with the next copy. The node selects the
// stream, so `tail` counts lines of the selected stream (of both without
// `stream`).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "protocol/messages.h"
#include "server/http/http_message.h"
#include "server/http/log_pump.h"
#include "server/nodes/fleet.h"
#include "server/workloads/watch_hub.h"
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

// Serves log requests. Borrows the Fleet and the WatchHub, which outlive it
// (a null hub: a follow ends at its copy's removal, incomplete). Runs on the
// server's executor.
class LogsHandler {
 public:
  LogsHandler(Fleet& fleet, WorkloadLookup lookup, WatchHub* hub, LogsOptions options = {});

  // Errors: 400/422 (parameters), 404 (no such workload, or the node does
  // not have it), 409 FailedPrecondition (not placed on a node yet), 429
  // ResourceExhausted (the node's log streams are all in use), 503 (node
  // unreachable), or the status of the node's error code. An error from
  // the node after the headers ends the body incomplete (no last chunk).
  boost::asio::awaitable<HttpResponse> logs(HttpRequest request);

 private:
  struct Follow;
  // A copy's log opened and its first answer awaited (up to
  // first_answer_wait): the pump, or null when the node does not have the
  // workload (answered NotFound), or the node's error.
  boost::asio::awaitable<Result<std::shared_ptr<LogPump>>> openCopy(std::string node,
                                                                    protocol::Logs request,
                                                                    std::shared_ptr<Follow> follow);
  // openCopy without its second try: an agent from before Logs.marks
  // refuses marks and from (InvalidArgument), and openCopy asks it again
  // without them.
  boost::asio::awaitable<Result<std::shared_ptr<LogPump>>> openCopyAs(
      std::string node, protocol::Logs request, std::shared_ptr<Follow> follow);
  // One copy's log being read: the pump, its node and its placement's uid.
  struct Copy {
    std::shared_ptr<LogPump> pump;
    std::string node;
    std::string uid;
  };
  // After the log of the copy of `ended_uid` ended (`removed`: the node
  // answered NotFound for it), decides from the record and its changes:
  // the next copy (another uid, or the same one the node did not have yet)
  // once its node has it, its whole log opened (no tail); nullopt for a
  // clean end (the workload was deleted, or the placement read became final
  // by its container's end); an error when the placement became final with
  // its copy removed or ended by the server (Drained, NodeLost,
  // DeliveryFailed), a final placement's node has no copy, the watch ended
  // (server stopping, the client left, fell behind) or a node failed.
  boost::asio::awaitable<Result<std::optional<Copy>>> nextCopy(std::shared_ptr<Follow> follow,
                                                               protocol::Logs request,
                                                               std::string ended_uid, bool removed);
  // After the connection to the node of the copy `lost` failed mid-follow,
  // with the body at `at` in its log: opens the same copy again from there
  // once its node answers (asked at the record's next change or after
  // 250 ms, then again at every change or after a wait doubling to 5 s);
  // or, when the record moves on meanwhile
  // (placed again, ended by the server, deleted) or the node answers
  // without the copy, what nextCopy makes of it. An error the node will
  // not get over (not Unavailable, DeadlineExceeded or ResourceExhausted)
  // ends it.
  boost::asio::awaitable<Result<std::optional<Copy>>> resumeCopy(std::shared_ptr<Follow> follow,
                                                                 protocol::Logs request, Copy lost,
                                                                 protocol::LogPosition at);
  // Returns at the next change of the record `now` (as published) or after
  // `most`: OK; an error when the watch ended by itself (the client left,
  // the server stops), so there is nothing to wait for.
  boost::asio::awaitable<Status> awaitChange(std::shared_ptr<Follow> follow,
                                             store::WorkloadRecord now,
                                             std::chrono::milliseconds most);
  // The response body: the lines of `copy`, then (following) of the copies
  // after it.
  boost::asio::awaitable<void> stream(ResponseStream& out, std::shared_ptr<Follow> follow,
                                      Copy copy, LogsQuery query);

  Fleet& fleet_;
  WorkloadLookup lookup_;
  WatchHub* hub_;
  LogsOptions options_;
};

}  // namespace zp::server
