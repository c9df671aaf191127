#include "server/http/metrics_handler.h"

#include "metrics/text_format.h"

namespace zp::server {

void MetricsHandler::addRoutes(Router& router) {
  router.add(boost::beast::http::verb::get, "/metrics", auth::Permission::kRead,
             [this](HttpRequest r) { return metrics(std::move(r)); });
}

boost::asio::awaitable<HttpResponse> MetricsHandler::metrics(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "/metrics", {})) co_return *bad;
  HttpResponse response;
  response.status = http_status::kOk;
  response.content_type = std::string(metrics::kContentType);
  response.body = registry_.render();
  co_return response;
}

}  // namespace zp::server
