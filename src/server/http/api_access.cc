#include "server/http/api_access.h"

#include <spdlog/spdlog.h>

#include <boost/beast/http/verb.hpp>
#include <string>

#include "protocol/exec_output.h"
#include "server/auth/token.h"

namespace zp::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// Audit fields come from the request: bounded so one request cannot write
// a megabyte into the log.
constexpr std::size_t kMaxAuditField = 256;

// At most kMaxAuditField bytes of valid UTF-8, cut before a character
// rather than inside one, and without anything shaped like a token's secret.
std::string bounded(std::string_view text) {
  return auth::redactTokens(protocol::capUtf8(text, kMaxAuditField).text);
}

bool audited(const HttpRequest& request, const HttpResponse& response) {
  if (!response.audit.record) return false;
  return request.method == http::verb::post || request.method == http::verb::delete_ ||
         response.status == http_status::kUnauthorized ||
         response.status == http_status::kForbidden ||
         response.status == http_status::kTooManyRequests;
}

}  // namespace

HttpResponse refusalResponse(const auth::Refusal& refusal, bool sent_token) {
  HttpResponse response;
  switch (refusal.error.code) {
    case Code::kUnauthenticated:
      response = errorResponse(http_status::kUnauthorized, refusal.error);
      response.headers.emplace_back(
          "WWW-Authenticate", sent_token ? "Bearer realm=\"zoneplane\", error=\"invalid_token\""
                                         : "Bearer realm=\"zoneplane\"");
      break;
    case Code::kPermissionDenied:
      response = errorResponse(http_status::kForbidden, refusal.error);
      break;
    case Code::kResourceExhausted:
      response = errorResponse(http_status::kTooManyRequests, refusal.error);
      response.headers.emplace_back("Retry-After", std::to_string(refusal.retry_after.count()));
      response.audit.record = refusal.audit;
      break;
    default:
      // The authenticator refuses with the three codes above only.
      response = errorResponse(
          http_status::kInternal,
          Error{Code::kInternal, "internal error while authenticating the request", ""});
      break;
  }
  return response;
}

asio::awaitable<std::optional<HttpResponse>> ApiAccess::authorize(HttpRequest& request,
                                                                  auth::Permission permission) {
  const bool sent_token = !request.meta.authorization.empty();
  auto deciding =
      authenticator_.authenticate(request.meta.authorization, request.meta.source, permission);
  auto decision = co_await std::move(deciding);
  if (decision) {
    request.principal = std::move(*decision);
    co_return std::nullopt;
  }
  const auth::Refusal& refusal = decision.error();
  request.principal = refusal.principal;
  const std::string what =
      std::string(http::to_string(request.method)) + " " + bounded(request.path);
  switch (refusal.error.code) {
    case Code::kUnauthenticated:
      spdlog::info("API: 401 for {} from {}: {}", what, request.meta.source, refusal.error.message);
      break;
    case Code::kPermissionDenied:
      spdlog::info("API: 403 for {} from {} ({}): {}", what, request.meta.source,
                   refusal.principal.name, refusal.error.message);
      break;
    case Code::kResourceExhausted:
      if (refusal.audit) {
        spdlog::warn("API: {} blocked for {} s after too many failed authentications",
                     request.meta.source, refusal.retry_after.count());
      }
      break;
    default:
      spdlog::error("API: authentication of {} from {} failed: {}", what, request.meta.source,
                    refusal.error.toString());
      break;
  }
  co_return refusalResponse(refusal, sent_token);
}

void ApiAccess::completed(const HttpRequest& request, std::string_view action,
                          const HttpResponse& response) {
  if (!audited(request, response)) return;
  store::AuditEntry entry;
  entry.time = clock_.now();
  entry.principal = bounded(request.principal.name);
  entry.action = bounded(action);
  std::string target;
  if (auto id = request.params.find("id"); id != request.params.end()) {
    target = id->second.substr(0, kMaxAuditField);
  } else if (auto name = request.params.find("name"); name != request.params.end()) {
    target = name->second.substr(0, kMaxAuditField);
  } else {
    target = response.audit.target.substr(0, kMaxAuditField);
  }
  if (!response.audit.detail.empty()) target += " " + response.audit.detail;
  entry.target = bounded(target);
  entry.result = static_cast<int>(response.status);
  entry.source = bounded(request.meta.source);
  commits_.submit(
      {store::AppendAudit{std::move(entry)}},
      [](Status status) {
        if (!status)
          spdlog::error("audit: an entry could not be stored: {}", status.error().toString());
      },
      store::CommitQueue::Urgency::kBackground);
}

}  // namespace zp::server
