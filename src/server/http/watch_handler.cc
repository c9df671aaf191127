#include "server/http/watch_handler.h"

#include <memory>
#include <nlohmann/json.hpp>

#include "api/validate.h"
#include "server/http/record_json.h"

namespace zp::server {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr const char* kKnownParameters = "watch, state, node, runtime_class, id";

std::string eventLine(const WatchEvent& event, const IsolationLookup& isolation) {
  return dumpJson(json{{"type", watchEventTypeName(event.type)},
                       {"workload", recordJson(event.record, isolation ? isolation(event.record)
                                                                       : std::nullopt)}}) +
         "\n";
}

std::string errorLine(const Error& error) {
  return dumpJson(json{{"type", "ERROR"},
                       {"error", {{"code", codeName(error.code)}, {"message", error.message}}}}) +
         "\n";
}

}  // namespace

std::expected<WatchFilter, HttpResponse> parseWatchQuery(const HttpRequest& request) {
  WatchFilter filter;
  for (const auto& [key, value] : request.query) {
    const std::string shown = value.substr(0, 80);
    if (key == "watch") {
      if (value != "true") {
        return std::unexpected(badRequest(
            "watch must be \"true\" (leave it out to list), not \"" + shown + "\"", "watch"));
      }
    } else if (key == "state") {
      auto state = api::parseState(value);
      if (!state) {
        return std::unexpected(invalid("state \"" + shown +
                                           "\" is not one of Pending, Running, Succeeded, "
                                           "Failed, Unknown",
                                       "state"));
      }
      filter.state = *state;
    } else if (key == "node" || key == "runtime_class" || key == "id") {
      if (auto bad = checkNameFilter(key, value)) return std::unexpected(std::move(*bad));
      (key == "node" ? filter.node : key == "id" ? filter.id : filter.runtime_class) = value;
    } else {
      const std::string name = key.substr(0, 80);
      return std::unexpected(badRequest(
          "unknown query parameter \"" + name + "\" for a watch (known: " + kKnownParameters + ")",
          name));
    }
  }
  return filter;
}

WatchHandler::WatchHandler(WatchHub& hub, WatchSnapshot snapshot, IsolationLookup isolation)
    : hub_(hub), snapshot_(std::move(snapshot)), isolation_(std::move(isolation)) {}

bool WatchHandler::isWatch(const HttpRequest& request) { return request.query.contains("watch"); }

asio::awaitable<HttpResponse> WatchHandler::watch(HttpRequest request) {
  auto filter = parseWatchQuery(request);
  if (!filter) co_return std::move(filter.error());
  HttpResponse response;
  response.content_type = "application/x-ndjson";
  response.stream = [this,
                     filter = std::move(*filter)](ResponseStream& out) -> asio::awaitable<void> {
    // Subscribe and take the snapshot without suspending in between: every
    // change after the snapshot is in the watcher's queue, none before.
    std::shared_ptr<Watcher> watcher = hub_.subscribe(filter, snapshot_(filter));
    out.onClose([watcher] { watcher->cancel(); });
    while (true) {
      std::optional<WatchEvent> event = co_await watcher->next();
      if (!event) break;
      std::string line = eventLine(*event, isolation_);
      if (!co_await out.write(std::move(line))) co_return;
    }
    if (watcher->error()) {
      std::string line = errorLine(*watcher->error());
      co_await out.write(std::move(line));
    }
  };
  co_return response;
}

Handler WatchHandler::withList(Handler list) {
  return [this, list = std::move(list)](HttpRequest request) -> asio::awaitable<HttpResponse> {
    auto it = request.query.find("watch");
    if (it != request.query.end() && it->second == "false") {
      request.query.erase(it);
    } else if (it != request.query.end()) {
      co_return co_await watch(std::move(request));
    }
    co_return co_await list(std::move(request));
  };
}

}  // namespace zp::server
