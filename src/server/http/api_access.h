#pragma once
// The API's AccessControl (docs/architecture.md §9.3): the Authenticator's
// decision as an HTTP answer, and the audit log of what changed or was
// refused.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string_view>

#include "common/time.h"
#include "server/auth/authenticator.h"
#include "server/http/router.h"
#include "store/commit_queue.h"

namespace zp::server {

// The answer to a refusal: 401 with `WWW-Authenticate: Bearer
// realm="zoneplane"` (plus error="invalid_token" when `sent_token`) for
// kUnauthenticated, 403 for kPermissionDenied, 429 with Retry-After (and
// audit.record from the refusal) for kResourceExhausted, 500 for any other
// code (none is expected).
HttpResponse refusalResponse(const auth::Refusal& refusal, bool sent_token);

// authorize(): 401 with `WWW-Authenticate: Bearer realm="zoneplane"` (plus
// error="invalid_token" when a token was sent), 403, or 429 with
// Retry-After; the refusal is logged (source and reason, never the token).
//
// completed(): every POST and DELETE, whatever its answer, and every 401,
// 403 and 429 appends {time, principal, action, target, result, source} to
// the store through the commit queue without delaying the answer (a failed
// append is logged). The target is the route's {id} or {name}, else the
// answer's audit.target, followed by the answer's audit.detail when set (at
// most 256 bytes in all); a blocked source's repeated 429s are left out.
//
// Borrows the authenticator, the commit queue and the clock. Runs on the
// server's executor.
class ApiAccess final : public AccessControl {
 public:
  ApiAccess(auth::Authenticator& authenticator, store::CommitQueue& commits, const Clock& clock)
      : authenticator_(authenticator), commits_(commits), clock_(clock) {}

  boost::asio::awaitable<std::optional<HttpResponse>> authorize(
      HttpRequest& request, auth::Permission permission) override;
  void completed(const HttpRequest& request, std::string_view action,
                 const HttpResponse& response) override;

 private:
  auth::Authenticator& authenticator_;
  store::CommitQueue& commits_;
  const Clock& clock_;
};

}  // namespace zp::server
