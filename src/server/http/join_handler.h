#pragma once
// POST /join (docs/architecture.md §9.1): an agent with a join token gets
// its node certificate.
//
//   POST /join {"node_id", "csr", "address"?}   (Authorization: a join token)
//     200 {"certificate": PEM of the leaf then the CA, "ca": PEM of the CA}
//
// The token was claimed by authentication; it is spent durably first,
// whatever follows (503 when that commit fails). Then: 400 for the body's
// shape, 422 for a node_id that is not a DNS-1123 label or a CSR that does
// not parse or verify (its subject and extensions are ignored: the
// certificate is for identity node/<node_id>), 503 when the server has no
// CA, 409 for a node id that is registered already (a joining node is
// always a new node: it is removed first, DELETE /nodes/{id}, to join it
// again). With `address` the node is also added as POST /nodes would.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <optional>

#include "server/auth/token_registry.h"
#include "server/http/http_message.h"
#include "server/http/router.h"
#include "server/nodes/node_registry.h"
#include "tls/pki.h"

namespace zp::server {

// Borrows the token and node registries and the CA holder (empty when the
// server has no CA), which must outlive it. Runs on the server's executor.
class JoinHandler {
 public:
  JoinHandler(auth::TokenRegistry& tokens, NodeRegistry& nodes,
              const std::optional<tls::CertificateAuthority>& ca)
      : tokens_(tokens), nodes_(nodes), ca_(ca) {}

  void addRoutes(Router& router);

  boost::asio::awaitable<HttpResponse> join(HttpRequest request);

 private:
  auth::TokenRegistry& tokens_;
  NodeRegistry& nodes_;
  const std::optional<tls::CertificateAuthority>& ca_;
};

}  // namespace zp::server
