#include "server/http/logs_handler.h"

#include <spdlog/spdlog.h>

#include <charconv>
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

// What the client sees of one line (the node sends only the asked stream's).
void appendLine(const protocol::LogLine& line, const LogsQuery& query, std::string& out) {
  if (query.request.timestamps) {
    out += line.time;
    out += ' ';
  }
  out += line.line;
  out += '\n';
}

}  // namespace

std::expected<LogsQuery, HttpResponse> parseLogsQuery(const HttpRequest& request,
                                                      const std::string& id) {
  LogsQuery query;
  query.request.id = id;
  for (const auto& [key, value] : request.query) {
    const std::string shown = value.substr(0, 80);
    if (key == "tail") {
      std::int64_t n = -1;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ptr != value.data() + value.size() ||
          (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
        return std::unexpected(
            badRequest("tail must be a whole number, not \"" + shown + "\"", "tail"));
      }
      if (ec == std::errc::result_out_of_range || n < 0 || n > protocol::kMaxLogTail) {
        return std::unexpected(invalid(
            "tail must be from 0 to " + std::to_string(protocol::kMaxLogTail) + " lines", "tail"));
      }
      query.request.tail = n;
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
    std::string message = "workload \"" + id.substr(0, 80) +
                          "\" is not placed on a node yet, so it has no logs (" +
                          std::string(api::stateName(record->status.state));
    if (!record->status.reason.empty()) message += "/" + record->status.reason;
    message += ")";
    co_return errorResponse(Error{Code::kFailedPrecondition, std::move(message), ""});
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
    if (!*first) co_return errorResponse(first->error());
    const auto* end = std::get_if<protocol::LogEnd>(&**first);
    if (end != nullptr && end->reason == "NotFound") {
      co_return errorResponse(
          Error{Code::kNotFound,
                "node \"" + node + "\" does not have workload \"" + id.substr(0, 80) + "\"", ""});
    }
  }

  HttpResponse response;
  response.content_type = "text/plain; charset=utf-8";
  response.stream = [pump, node,
                     query = std::move(*query)](ResponseStream& out) -> asio::awaitable<void> {
    out.onClose([pump] { pump->cancel(); });
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
        if (std::holds_alternative<protocol::LogEnd>(**item)) {
          end = true;
          break;
        }
        appendLine(std::get<protocol::LogLine>(**item), query, chunk);
        if (chunk.size() >= kChunkBytes) break;
        item = pump->tryTake();
      }
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
