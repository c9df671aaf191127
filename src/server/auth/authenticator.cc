#include "server/auth/authenticator.h"

#include <cctype>
#include <optional>
#include <string_view>

namespace zp::server::auth {

namespace asio = boost::asio;

namespace {

// The token of "Bearer <token>" (scheme case-insensitive, RFC 6750);
// nullopt for any other shape.
std::optional<std::string_view> bearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() || header[kScheme.size()] != ' ') return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view token = header.substr(kScheme.size() + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (token.empty() || token.find(' ') != std::string_view::npos) return std::nullopt;
  return token;
}

}  // namespace

Refusal Authenticator::unauthenticated(const std::string& source, std::string message) {
  limiter_.recordFailure(source, clock_.now());
  return Refusal{Error{Code::kUnauthenticated, std::move(message), ""}, {}, Principal{}, true};
}

asio::awaitable<Decision> Authenticator::authenticate(std::string authorization, std::string source,
                                                      Permission required) {
  if (required == Permission::kPublic) co_return Principal{};
  if (auto block = limiter_.blocked(source, clock_.now())) {
    co_return std::unexpected(
        Refusal{Error{Code::kResourceExhausted,
                      "too many failed authentications from this address; retry in " +
                          std::to_string(block->retry_after.count()) + " s",
                      ""},
                block->retry_after, Principal{}, block->first});
  }
  if (authorization.empty()) {
    co_return std::unexpected(
        unauthenticated(source, "this request needs an API token (Authorization: Bearer <token>)"));
  }
  const auto text = bearerToken(authorization);
  if (!text) {
    co_return std::unexpected(
        unauthenticated(source, "the Authorization header must be \"Bearer <token>\""));
  }
  auto presented = parseToken(*text);
  if (!presented) co_return std::unexpected(unauthenticated(source, presented.error().message));

  auto finding = tokens_.find(presented->id);
  const std::optional<store::TokenRecord> token = co_await std::move(finding);
  // The kind of token must match its record: a join token's secret is never
  // an API token and the other way round.
  const bool join_record = token && token->role == roleName(Role::kJoin);
  if (!token || join_record != presented->join ||
      !secretMatches(presented->secret, token->secret_sha256)) {
    co_return std::unexpected(unauthenticated(source, "unknown or revoked token"));
  }
  const TimePoint now = clock_.now();
  if (token->expires_at && now >= *token->expires_at) {
    co_return std::unexpected(unauthenticated(source, "the token has expired"));
  }
  if (token->used) {
    co_return std::unexpected(unauthenticated(source, "the join token has been used"));
  }
  Principal principal = principalOf(*token);
  if (!principal.role) {
    co_return std::unexpected(unauthenticated(source, "the token has an unknown role"));
  }
  if (!allows(*principal.role, required)) {
    Refusal refusal{Error{Code::kPermissionDenied,
                          "role " + std::string(roleName(*principal.role)) +
                              " does not allow this request (it needs " +
                              std::string(permissionName(required)) + ")",
                          ""},
                    {},
                    principal,
                    true};
    co_return std::unexpected(std::move(refusal));
  }
  if (required == Permission::kJoin) {
    // Only a join token holds kJoin. Spent by this call whatever follows; a
    // concurrent call with the same token finds it used. A join token
    // refused above (403, any other permission) is not spent.
    if (!tokens_.claim(token->id)) {
      co_return std::unexpected(unauthenticated(source, "the join token has been used"));
    }
  } else {
    tokens_.touch(token->id);
  }
  co_return principal;
}

}  // namespace zp::server::auth
