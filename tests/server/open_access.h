#pragma once
// An AccessControl for tests of handlers and the HTTP layer: admits every
// request as the admin "test" and records nothing. The assembled server's
// access (tokens, roles, audit) is tested through the server itself.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string_view>

#include "server/http/router.h"

namespace zp::server::testing {

class OpenAccess final : public AccessControl {
 public:
  boost::asio::awaitable<std::optional<HttpResponse>> authorize(HttpRequest& request,
                                                                auth::Permission) override {
    request.principal.name = "test";
    request.principal.role = auth::Role::kAdmin;
    co_return std::nullopt;
  }
  void completed(const HttpRequest&, std::string_view, const HttpResponse&) override {}
};

// One instance for every router of a test binary (it holds no state).
inline OpenAccess& openAccess() {
  static OpenAccess instance;
  return instance;
}

}  // namespace zp::server::testing
