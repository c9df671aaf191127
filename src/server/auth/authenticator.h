#pragma once
// Authentication and authorization of one API request (docs/architecture.md
// §9.3): the Authorization header and source address in, a Principal or a
// refusal out.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <expected>
#include <string>

#include "common/status.h"
#include "common/time.h"
#include "server/auth/failure_limiter.h"
#include "server/auth/principal.h"
#include "server/auth/roles.h"
#include "server/auth/token_registry.h"

namespace zp::server::auth {

// Why a request may not proceed. error.code is kUnauthenticated (401: no,
// malformed, unknown, revoked, expired or spent token), kPermissionDenied
// (403: the token's role lacks the permission) or kResourceExhausted (429:
// too many failures from the source). Messages never contain the token.
struct Refusal {
  Error error;
  std::chrono::seconds retry_after{0};  // 429 only
  Principal principal;                  // anonymous unless 403
  bool audit = true;  // false for a blocked source's refusals after its first one in a window
};

using Decision = std::expected<Principal, Refusal>;

// Borrows the registry and the clock, which must outlive it; owns the
// failure limiter. Runs on the server's executor; not thread-safe.
class Authenticator {
 public:
  Authenticator(TokenRegistry& tokens, const Clock& clock, FailureLimiterOptions limits = {})
      : tokens_(tokens), clock_(clock), limiter_(limits) {}

  // Decides whether a request with this Authorization header from `source`
  // may use a route requiring `required`. A source over its failure budget
  // is refused before its token is looked at; a 401 counts against it. A
  // join token passes for Permission::kJoin only, and is claimed (spent)
  // then; for anything else it is a 403 and stays unspent.
  boost::asio::awaitable<Decision> authenticate(std::string authorization, std::string source,
                                                Permission required);
  // Forgets the failure windows that are over (the server's tick).
  void tick() { limiter_.purge(clock_.now()); }
  std::size_t trackedSources() const { return limiter_.trackedSources(); }

 private:
  Refusal unauthenticated(const std::string& source, std::string message);

  TokenRegistry& tokens_;
  const Clock& clock_;
  FailureLimiter limiter_;
};

}  // namespace zp::server::auth
