// WorkloadHandlers::exec: POST /workloads/{id}/exec (workload_handlers.h).

#include "server/http/exec_request.h"
#include "server/http/workload_handlers.h"

namespace zp::server {

namespace asio = boost::asio;

asio::awaitable<HttpResponse> WorkloadHandlers::exec(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "POST /workloads/{id}/exec", {})) {
    co_return std::move(*bad);
  }
  std::string id = request.params["id"];
  auto body = decodeExecBody(request.body);
  if (!body) co_return errorResponse(http_status::kBadRequest, body.error());
  const std::string command = quotedCommand(body->command);
  auto running = service_.exec(std::move(id), std::move(body->command), body->timeout);
  ExecAnswer answer = co_await std::move(running);
  HttpResponse response;
  if (!answer.result) {
    const Error& error = answer.result.error();
    response = error.code == Code::kInvalidArgument ? errorResponse(http_status::kBadRequest, error)
                                                    : errorResponse(error);
  } else {
    response = jsonResponse(http_status::kOk, execResultJson(*answer.result));
  }
  // Who (the principal) and what workload the audit has already; where and what ran.
  response.audit.detail =
      (answer.node.empty() ? std::string("(no node)") : "on " + answer.node) + ": " + command;
  co_return response;
}

}  // namespace zp::server
