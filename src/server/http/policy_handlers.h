#pragma once
// GET /trust-levels: the isolation policy as admission applies it.
//
//   {"default_trust": "untrusted",
//    "items": [{"name": "untrusted", "default": true,
//               "runtime_classes": ["edera-zone", "gvisor", "kata"],
//               "min_profile": "restricted",
//               "min_isolation": "application-kernel",
//               "available": ["edera-zone"]}, ...]}
//
// runtime_classes is the configured list in order of preference ("*" = any
// other class); min_isolation what a node's verification of the class must
// satisfy ("any", or a level: verified at least that and not quarantined);
// available is what a submission at that level without runtime_class can
// get now: the allowed classes some node offers with a verification that
// satisfies min_isolation, in the order they are tried.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>

#include "server/http/http_message.h"
#include "server/nodes/fleet.h"
#include "server/http/router.h"
#include "server/trust_policy.h"

namespace zp::server {

// Owns nothing; runs on the server's single executor.
class PolicyHandlers {
 public:
  PolicyHandlers(const IsolationPolicy& isolation, const Fleet& fleet)
      : isolation_(isolation), fleet_(fleet) {}

  void addRoutes(Router& router);

  boost::asio::awaitable<HttpResponse> trustLevels(HttpRequest request);

 private:
  const IsolationPolicy& isolation_;
  const Fleet& fleet_;
};

}  // namespace zp::server
