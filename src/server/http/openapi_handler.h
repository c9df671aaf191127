#pragma once
// GET /openapi.json (docs/architecture.md §7): the OpenAPI 3.1 document of
// the API, docs/api/openapi.json as compiled into the server
// (zp_embed_files). Public: a client can read it before it has a token.

#include <string_view>

#include "server/http/router.h"

namespace zp::server {

// The document's text, exactly as in the repository; static storage.
std::string_view openApiDocument();

// Stateless; the route may be added to any number of routers.
class OpenApiHandler {
 public:
  void addRoutes(Router& router);
};

}  // namespace zp::server
