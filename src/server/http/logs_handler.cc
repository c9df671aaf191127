#include "server/http/logs_handler.h"

#include <spdlog/spdlog.h>

#include <memory>

#include "server/http/log_pump.h"

namespace zp::server {

namespace asio = boost::asio;

namespace {

constexpr const char* kKnownParameters = "tail, follow, timestamps, stream";
// Lines ready at once are sent together, up to about this many bytes.
constexpr std::size_t kChunkBytes = 64 * 1024;


std::optional<bool> parseBool(const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return std::nullopt;
}

// "Pending/Unschedulable", or the state alone when there is no reason: how
// an error names the record it is about.
std::string stateAndReason(const api::WorkloadStatus& status) {
  std::string shown(api::stateName(status.state));
  if (!status.reason.empty()) shown += "/" + status.reason;
  return shown;
}

// What the client sees of the log: one text line per record. A record the
// node sent in pieces (LogLine.partial on all but the last: it was longer
// than kMaxLogLineBytes) is joined back here, with the timestamp once, at
// its start. Pieces of one stream are joined; a line of
// the other stream in between ends the open line first (plain text cannot
// interleave two), and the record's rest then starts a line of its own.
class LineJoiner {
 public:
  explicit LineJoiner(bool timestamps) : timestamps_(timestamps) {}

  void append(const protocol::LogLine& line, std::string& out) {
    if (open_ && *open_ != line.stream) {
      out += '\n';
      open_.reset();
    }
    if (!open_ && timestamps_) {
      out += line.time;
      out += ' ';
    }
    out += line.line;
    if (line.partial) {
      open_ = line.stream;
    } else {
      out += '\n';
      open_.reset();
    }
  }

  // The body ends cleanly: a line still open ends too.
  void finish(std::string& out) {
    if (open_) out += '\n';
    open_.reset();
  }

 private:
  bool timestamps_;
  std::optional<std::string> open_;  // the stream of a line begun and not ended
};

}  // namespace

std::expected<LogsQuery, HttpResponse> parseLogsQuery(const HttpRequest& request,
                                                      const std::string& id) {
  LogsQuery query;
  query.request.id = id;
  for (const auto& [key, value] : request.query) {
    const std::string shown = value.substr(0, 80);
    if (key == "tail") {
      auto n = wholeNumberParameter(value, 0, protocol::kMaxLogTail, "tail");
      if (!n) return std::unexpected(errorResponse(n.error()));
      query.request.tail = *n;
    } else if (key == "follow" || key == "timestamps") {
      auto flag = parseBool(value);
      if (!flag) {
        return std::unexpected(
            badRequest(key + " must be true or false, not \"" + shown + "\"", key));
      }
      (key == "follow" ? query.request.follow : query.request.timestamps) = *flag;
    } else if (key == "stream") {
      if (!protocol::isLogStream(value)) {
        return std::unexpected(
            invalid("stream must be stdout or stderr, not \"" + shown + "\"", "stream"));
      }
      query.request.stream = value;
    } else {
      const std::string name = key.substr(0, 80);
      return std::unexpected(badRequest(
          "unknown query parameter \"" + name + "\" (known: " + kKnownParameters + ")", name));
    }
  }
  return query;
}

LogsHandler::LogsHandler(Fleet& fleet, WorkloadLookup lookup, LogsOptions options)
    : fleet_(fleet), lookup_(std::move(lookup)), options_(options) {}

asio::awaitable<HttpResponse> LogsHandler::logs(HttpRequest request) {
  const std::string id = request.params["id"];
  auto query = parseLogsQuery(request, id);
  if (!query) co_return std::move(query.error());

  auto record = lookup_(id);
  if (!record) {
    if (record.error().code == Code::kNotFound) {
      co_return errorResponse(
          Error{Code::kNotFound, "no workload \"" + id.substr(0, 80) + "\"", ""});
    }
    co_return errorResponse(record.error());
  }
  const std::string node = record->status.node;
  if (node.empty()) {
    co_return errorResponse(Error{Code::kFailedPrecondition,
                                  "workload \"" + id.substr(0, 80) +
                                      "\" is not placed on a node yet, so it has no logs (" +
                                      stateAndReason(record->status) + ")",
                                  ""});
  }

  protocol::Logs logs_request = query->request;
  auto opened = co_await fleet_.openLogs(node, std::move(logs_request));
  if (!opened) {
    // The node's log streams are all in use (§8.2): the client may retry later.
    if (opened.error().code == Code::kResourceExhausted) {
      co_return errorResponse(http_status::kTooManyRequests, opened.error());
    }
    co_return errorResponse(opened.error());
  }
  auto pump = std::make_shared<LogPump>(co_await asio::this_coro::executor, std::move(*opened));

  // An answer that comes at once decides the status: the node's error, or
  // NotFound when it does not have the workload.
  co_await pump->waitReady(options_.first_answer_wait);
  if (const LogPump::Item* first = pump->peek()) {
    const auto* end = *first ? std::get_if<protocol::LogEnd>(&**first) : nullptr;
    const bool no_copy = *first ? end != nullptr && end->reason == "NotFound"
                                : first->error().code == Code::kNotFound;
    if (no_copy) {
      const std::string shown = stateAndReason(record->status);
      // Placed, but not delivered yet: like a workload not placed yet (409).
      if (record->status.state == api::WorkloadState::kPending) {
        co_return errorResponse(Error{Code::kFailedPrecondition,
                                      "workload \"" + id.substr(0, 80) +
                                          "\" has not reached node \"" + node +
                                          "\" yet, so it has no logs (" + shown + ")",
                                      ""});
      }
      // The record outlives its copy (a fenced copy, a lost node, a copy the
      // node removed): say which record, so the 404 is not read as "no such
      // workload".
      co_return errorResponse(Error{Code::kNotFound,
                                    "node \"" + node + "\" no longer has workload \"" +
                                        id.substr(0, 80) + "\" (" + shown +
                                        "), so its logs are gone with its copy",
                                    ""});
    }
    if (!*first) co_return errorResponse(first->error());
  }

  HttpResponse response;
  response.content_type = "text/plain; charset=utf-8";
  response.stream = [pump, node, lookup = lookup_,
                     query = std::move(*query)](ResponseStream& out) -> asio::awaitable<void> {
    out.onClose([pump] { pump->cancel(); });
    LineJoiner joiner(query.request.timestamps);
    while (true) {
      std::optional<LogPump::Item> item = co_await pump->take();
      if (!item) co_return;  // cancelled
      // Everything ready at once goes out in one chunk.
      std::string chunk;
      bool end = false;
      std::optional<Error> failure;
      while (item) {
        if (!*item) {
          failure = item->error();
          break;
        }
        if (const auto* log_end = std::get_if<protocol::LogEnd>(&**item)) {
          end = true;
          // The copy followed was removed while its workload lives on (a
          // fenced copy, a drain, a lost node's workload placed again): the
          // body ends incomplete, so the client sees these are not all of
          // the workload's logs, rather than a clean end. A deletion ends
          // it cleanly.
          if (log_end->reason == "NotFound") {
            auto now = lookup(query.request.id);
            if (now && now->status.reason != api::reason::kTerminating) {
              failure =
                  Error{Code::kUnavailable,
                        "the copy followed was removed; the workload is now " +
                            std::string(api::stateName(now->status.state)) +
                            (now->status.node.empty() ? std::string()
                                                      : " on node \"" + now->status.node + "\""),
                        ""};
            }
          }
          break;
        }
        joiner.append(std::get<protocol::LogLine>(**item), chunk);
        if (chunk.size() >= kChunkBytes) break;
        item = pump->tryTake();
      }
      if (end && !failure) joiner.finish(chunk);
      if (!chunk.empty() && !co_await out.write(std::move(chunk))) co_return;
      if (failure) {
        if (failure->code != Code::kCancelled) {
          spdlog::warn("logs of workload \"{}\" from node \"{}\" ended early: {}", query.request.id,
                       node, failure->toString());
        }
        out.abort();
        co_return;
      }
      if (end) co_return;
    }
  };
  co_return response;
}

}  // namespace zp::server
