#pragma once
// The /workloads routes of the REST API (docs/architecture.md §7); they only
// translate between HTTP and the WorkloadService:
//   POST /workloads          body: WorkloadSpec JSON -> 201 {spec, status} + Location
//   GET /workloads/{id}      -> 200 {spec, status}
//   GET /workloads?state=&node=&runtime_class=&limit=&continue=
//                            -> 200 {items: [{spec, status}], continue?}
//   GET /workloads?watch=true[&...]  -> the watch hook's answer (the hook checks
//                            the parameters: a watch takes `id`, a list does not)
//   DELETE /workloads/{id}?grace_seconds=N -> 200 {spec, status} of the removed workload
//   POST /workloads/{id}/exec  body: {command, timeout_seconds?} -> 200 {exit_code,
//                            stdout, stderr, stdout_truncated, stderr_truncated}
//                            (exec_request.h); 400 bad body, 404, 409 not
//                            Running, 503 node not Ready, 504 timed out. The
//                            audit entry names the node and the command.
// A placed workload's status carries the isolation of its class on its node
// at the time of the answer (record_json.h).
//
// Input errors: a body that is not JSON, or JSON of the wrong shape (not an
// object, unknown field, wrong type, a key twice) is 400, as is an unknown
// query parameter; a well-formed value that is invalid or that admission
// refuses is 422, naming the field. A submission no node can take now is
// accepted (201, Pending/Unschedulable). The service's other errors map
// through errorResponse (404, 409, 503).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <functional>

#include "server/http/http_message.h"
#include "server/http/router.h"
#include "server/workloads/workload_service.h"

namespace zp::server {

// Answers GET /workloads?watch=true (the whole request, filters included).
using WatchHook = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;

// Borrows the service, which must outlive it. Runs on the server's single executor.
class WorkloadHandlers {
 public:
  // Without a watch hook, watch=true is 400 "watch is not supported".
  explicit WorkloadHandlers(WorkloadService& service, WatchHook watch = {})
      : service_(service), watch_(std::move(watch)) {}

  void addRoutes(Router& router);

  boost::asio::awaitable<HttpResponse> create(HttpRequest request);
  boost::asio::awaitable<HttpResponse> get(HttpRequest request);
  boost::asio::awaitable<HttpResponse> list(HttpRequest request);
  boost::asio::awaitable<HttpResponse> remove(HttpRequest request);
  boost::asio::awaitable<HttpResponse> exec(HttpRequest request);  // workload_exec_handler.cc

 private:
  WorkloadService& service_;
  WatchHook watch_;
};

}  // namespace zp::server
