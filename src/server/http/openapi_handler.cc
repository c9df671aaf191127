#include "server/http/openapi_handler.h"

#include "embedded/api_docs.h"

namespace zp::server {

std::string_view openApiDocument() {
  const EmbeddedFile* file = findEmbedded(embedded::api_docs(), "openapi.json");
  return file != nullptr ? file->content : std::string_view{};
}

void OpenApiHandler::addRoutes(Router& router) {
  router.add(boost::beast::http::verb::get, "/openapi.json", auth::Permission::kPublic,
             [](HttpRequest request) -> boost::asio::awaitable<HttpResponse> {
               if (auto bad = unknownQueryParameter(request, "GET /openapi.json", {})) {
                 co_return std::move(*bad);
               }
               HttpResponse response;
               response.body = std::string(openApiDocument());
               response.content_type = "application/json";
               co_return response;
             });
}

}  // namespace zp::server
