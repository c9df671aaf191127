#pragma once
// GET /workloads?watch=true[&state=&node=&runtime_class=&id=]
// (docs/architecture.md §7): an NDJSON stream of
//   {"type":"ADDED"|"MODIFIED"|"DELETED","workload":{"spec":{...},"status":{...}}}
// lines: the records matching now as ADDED, then every change, until the
// client leaves or the server stops. A watcher that falls behind ends with
//   {"type":"ERROR","error":{"code":"ResourceExhausted","message":"watch fell behind; list again"}}

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <expected>
#include <functional>
#include <vector>

#include "common/status.h"
#include "server/http/http_message.h"
#include "server/http/record_json.h"
#include "server/http/router.h"
#include "server/workloads/watch_hub.h"
#include "store/store.h"

namespace zp::server {

// The records matching a filter now (the workload service's table).
using WatchSnapshot = std::function<std::vector<store::WorkloadRecord>(const WatchFilter&)>;

// The filter a watch request asks for, or the error response. Known
// parameters: watch (must be "true"), state, node, runtime_class, id; any
// other is 400 naming it; a value that is not a state, or an empty node,
// runtime_class or id, is 422 naming the parameter.
std::expected<WatchFilter, HttpResponse> parseWatchQuery(const HttpRequest& request);

// Serves watch requests. Borrows the hub, which outlives it. Runs on the
// server's executor.
class WatchHandler {
 public:
  // `isolation` (may be empty) adds each record's isolation as its event is
  // written (record_json.h).
  WatchHandler(WatchHub& hub, WatchSnapshot snapshot, IsolationLookup isolation = {});

  // Whether `request` asks for a watch (it has a "watch" query parameter).
  static bool isWatch(const HttpRequest& request);

  // 200 application/x-ndjson, streamed; 400/422 for bad parameters. The
  // subscription and the snapshot are taken together when the body starts.
  boost::asio::awaitable<HttpResponse> watch(HttpRequest request);

  // The GET /workloads handler: watch=true here, watch=false (the parameter
  // removed) and requests without it to `list`, any other value 400.
  Handler withList(Handler list);

 private:
  WatchHub& hub_;
  WatchSnapshot snapshot_;
  IsolationLookup isolation_;
};

}  // namespace zp::server
