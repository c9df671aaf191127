#pragma once
// The /tokens and /audit routes of the REST API (docs/architecture.md §9.3),
// all for admin tokens:
//
//   POST   /tokens {"name", "role", "expires_in"?}
//            201 {"id", "name"?, "role", "created_at", "expires_at"?, "token"}: the
//            only time the token is shown. role "join" makes a join token
//            (name optional, default lifetime 1 h); 409 when the name is taken
//   GET    /tokens            200 {"items": [{"id", "name"?, "role", "created_at",
//                             "expires_at"?, "last_used_at"?, "used"?}]}
//   DELETE /tokens/{name}     200 the token's view; revoked at once; 404. An
//                             unnamed join token is revoked by its id.
//   GET    /audit?since=RFC3339&limit=N
//                             200 {"items": [{"seq", "time", "principal", "action",
//                             "target", "result", "source"}]} oldest first;
//                             limit 1-1000 (default 1000), since default: all
//
// Times are RFC 3339. Unknown fields and query parameters are 400.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "server/auth/token_registry.h"
#include "server/http/http_message.h"
#include "server/http/router.h"
#include "store/commit_queue.h"

namespace zp::server {

// A token's public view (never its hash).
nlohmann::json tokenJson(const store::TokenRecord& token);

// The SHA-256 of the cluster CA certificate, hex; "" when the server has no CA.
using CaFingerprint = std::function<std::string()>;

// Borrows the registry and the commit queue (audit reads run on its
// thread). Runs on the server's single executor.
class AccessHandlers {
 public:
  AccessHandlers(auth::TokenRegistry& tokens, store::CommitQueue& commits,
                 CaFingerprint ca_fingerprint)
      : tokens_(tokens), commits_(commits), ca_fingerprint_(std::move(ca_fingerprint)) {}

  void addRoutes(Router& router);

  boost::asio::awaitable<HttpResponse> createToken(HttpRequest request);
  boost::asio::awaitable<HttpResponse> listTokens(HttpRequest request);
  boost::asio::awaitable<HttpResponse> revokeToken(HttpRequest request);
  boost::asio::awaitable<HttpResponse> audit(HttpRequest request);

 private:
  auth::TokenRegistry& tokens_;
  store::CommitQueue& commits_;
  CaFingerprint ca_fingerprint_;
};

}  // namespace zp::server
