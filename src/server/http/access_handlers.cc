#include "server/http/access_handlers.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <string_view>

#include "api/json_fields.h"
#include "api/strict_json.h"
#include "common/time.h"
#include "server/auth/token.h"
#include "server/commit.h"

namespace zp::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxAuditLimit = 1000;

// The body of POST /tokens as sent: its shape only (400 when wrong).
struct NewToken {
  std::string name;
  std::string role;
  std::optional<std::string> expires_in;
};

Result<NewToken> decodeNewToken(const std::string& body) {
  auto j = api::parseStrictJson(body);
  if (!j) return fail(j.error());
  if (auto s = api::fields::requireObject(*j, "token", {"name", "role", "expires_in"}, ""); !s) {
    return fail(s.error());
  }
  auto name = api::fields::optString(*j, "name", "");
  if (!name) return fail(name.error());
  auto role = api::fields::reqString(*j, "role", "");
  if (!role) return fail(role.error());
  auto expires_in = api::fields::optString(*j, "expires_in", "");
  if (!expires_in) return fail(expires_in.error());
  return NewToken{name->value_or(""), std::move(*role), std::move(*expires_in)};
}

// Its values (422 when invalid; the name is checked by the registry).
Result<auth::TokenSpec> tokenSpec(const NewToken& request) {
  auth::TokenSpec spec;
  spec.name = request.name;
  auto role = auth::parseRole(request.role);
  if (!role) {
    return fail(
        Code::kInvalidArgument,
        "role \"" + request.role.substr(0, 80) + "\" is not one of viewer, operator, admin, join",
        "role");
  }
  spec.role = *role;
  if (request.expires_in) {
    auto lifetime = auth::parseLifetime(*request.expires_in);
    if (!lifetime) return fail(lifetime.error());
    spec.lifetime = *lifetime;
  }
  return spec;
}

json auditJson(const store::AuditEntry& entry) {
  return json{{"seq", entry.seq},
              {"time", formatRfc3339(entry.time)},
              {"principal", entry.principal},
              {"action", entry.action},
              {"target", entry.target},
              {"result", entry.result},
              {"source", entry.source}};
}

}  // namespace

json tokenJson(const store::TokenRecord& token) {
  json out{{"id", token.id}, {"role", token.role}, {"created_at", formatRfc3339(token.created_at)}};
  if (!token.name.empty()) out["name"] = token.name;
  if (token.expires_at) out["expires_at"] = formatRfc3339(*token.expires_at);
  if (token.last_used_at) out["last_used_at"] = formatRfc3339(*token.last_used_at);
  if (token.role == auth::roleName(auth::Role::kJoin)) out["used"] = token.used;
  return out;
}

void AccessHandlers::addRoutes(Router& router) {
  using auth::Permission;
  router.add(http::verb::post, "/tokens", Permission::kManageCluster,
             [this](HttpRequest r) { return createToken(std::move(r)); });
  router.add(http::verb::get, "/tokens", Permission::kManageCluster,
             [this](HttpRequest r) { return listTokens(std::move(r)); });
  router.add(http::verb::delete_, "/tokens/{name}", Permission::kManageCluster,
             [this](HttpRequest r) { return revokeToken(std::move(r)); });
  router.add(http::verb::get, "/audit", Permission::kManageCluster,
             [this](HttpRequest r) { return audit(std::move(r)); });
}

asio::awaitable<HttpResponse> AccessHandlers::createToken(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "POST /tokens", {})) co_return std::move(*bad);
  auto decoded = decodeNewToken(request.body);
  if (!decoded) co_return errorResponse(http_status::kBadRequest, decoded.error());
  auto valid = tokenSpec(*decoded);
  if (!valid) co_return errorResponse(http_status::kUnprocessable, valid.error());
  auth::TokenSpec spec = std::move(*valid);
  if (spec.role == auth::Role::kJoin) spec.ca_sha256 = ca_fingerprint_ ? ca_fingerprint_() : "";
  if (spec.role == auth::Role::kJoin && spec.ca_sha256.empty()) {
    co_return errorResponse(Error{Code::kFailedPrecondition,
                                  "the server has no cluster CA, so it cannot make join tokens "
                                  "(run `zoneplane-server ca init`)",
                                  "role"});
  }
  const std::string requested = spec.name;
  auto creating = tokens_.create(std::move(spec));
  auto created = co_await std::move(creating);
  if (!created) {
    auto refused = errorResponse(created.error());
    refused.audit.target = requested;
    co_return refused;
  }
  json body = tokenJson(created->record);
  body["token"] = created->text;
  auto response = jsonResponse(http_status::kCreated, body);
  response.audit.target = created->record.name.empty() ? created->record.id : created->record.name;
  co_return response;
}

asio::awaitable<HttpResponse> AccessHandlers::listTokens(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "GET /tokens", {})) co_return std::move(*bad);
  json items = json::array();
  for (const auto& token : tokens_.list()) items.push_back(tokenJson(token));
  co_return jsonResponse(http_status::kOk, json{{"items", std::move(items)}});
}

asio::awaitable<HttpResponse> AccessHandlers::revokeToken(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "DELETE /tokens/{name}", {})) co_return std::move(*bad);
  auto revoking = tokens_.revoke(request.params["name"]);
  auto revoked = co_await std::move(revoking);
  if (!revoked) co_return errorResponse(revoked.error());
  co_return jsonResponse(http_status::kOk, tokenJson(*revoked));
}

asio::awaitable<HttpResponse> AccessHandlers::audit(HttpRequest request) {
  if (auto bad = unknownQueryParameter(request, "GET /audit", {"since", "limit"})) co_return std::move(*bad);
  TimePoint since{};
  std::size_t limit = kMaxAuditLimit;
  if (auto it = request.query.find("since"); it != request.query.end()) {
    auto parsed = parseRfc3339(it->second);
    if (!parsed) {
      co_return invalid("since must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z", "since");
    }
    since = *parsed;
  }
  if (auto it = request.query.find("limit"); it != request.query.end()) {
    const std::string& text = it->second;
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n < 1 ||
        n > kMaxAuditLimit) {
      co_return invalid("limit must be a whole number from 1 to 1000", "limit");
    }
    limit = n;
  }
  std::function<Result<std::vector<store::AuditEntry>>(store::Store&)> read =
      [since, limit](store::Store& store) { return store.loadAudit(since, limit); };
  auto reading = readStore(commits_, std::move(read));
  auto entries = co_await std::move(reading);
  if (!entries) co_return errorResponse(entries.error());
  json items = json::array();
  for (const auto& entry : *entries) items.push_back(auditJson(entry));
  co_return jsonResponse(http_status::kOk, json{{"items", std::move(items)}});
}

}  // namespace zp::server
