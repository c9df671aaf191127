// `zoneplane tokens` and `zoneplane audit`: parsing, requests, output.
#include <gtest/gtest.h>

#include "cli/args.h"
#include "cli/error_body.h"
#include "cli/exit_codes.h"
#include "cli/render_access.h"
#include "cli/requests.h"
#include "test_inputs.h"

namespace zp::cli {
namespace {

using nlohmann::json;
using testing::at;
using testing::parseOk;
using namespace std::chrono_literals;

std::string usageError(const std::vector<std::string>& args) {
  auto parsed = parseArgs(args);
  auto* early = std::get_if<EarlyExit>(&parsed);
  if (early == nullptr) {
    ADD_FAILURE() << "parse unexpectedly succeeded";
    return {};
  }
  EXPECT_EQ(early->code, kExitUsage);
  return early->err;
}

TEST(TokensArgs, CreateListRevoke) {
  auto inv =
      parseOk({"tokens", "create", "--name", "ci", "--role", "operator", "--expires-in", "90d"});
  auto tokens = std::get<TokensArgs>(inv.command);
  EXPECT_EQ(tokens.action, TokensArgs::Action::kCreate);
  EXPECT_EQ(tokens.create.name, "ci");
  EXPECT_EQ(tokens.create.role, "operator");
  EXPECT_EQ(tokens.create.expires_in, "90d");

  tokens = std::get<TokensArgs>(parseOk({"tokens", "create", "--join"}).command);
  EXPECT_EQ(tokens.create.role, "join");
  EXPECT_EQ(tokens.create.name, std::nullopt);
  EXPECT_EQ(tokens.create.expires_in, std::nullopt);

  tokens = std::get<TokensArgs>(
      parseOk({"tokens", "create", "--join", "--expires-in", "1h", "--name", "rack-2"}).command);
  EXPECT_EQ(tokens.create.role, "join");
  EXPECT_EQ(tokens.create.name, "rack-2");

  EXPECT_EQ(std::get<TokensArgs>(parseOk({"tokens"}).command).action, TokensArgs::Action::kList);
  EXPECT_EQ(std::get<TokensArgs>(parseOk({"tokens", "list", "-o", "json"}).command).action,
            TokensArgs::Action::kList);
  tokens = std::get<TokensArgs>(parseOk({"tokens", "revoke", "ci"}).command);
  EXPECT_EQ(tokens.action, TokensArgs::Action::kRevoke);
  EXPECT_EQ(tokens.name, "ci");
  tokens = std::get<TokensArgs>(parseOk({"tokens", "revoke", "join:0123456789ab"}).command);
  EXPECT_EQ(tokens.name, "0123456789ab");
}

TEST(TokensArgs, UsageErrors) {
  EXPECT_NE(usageError({"tokens", "create", "--name", "ci"}).find("needs --name and --role"),
            std::string::npos);
  EXPECT_NE(usageError({"tokens", "create", "--role", "admin"}).find("needs --name and --role"),
            std::string::npos);
  EXPECT_NE(usageError({"tokens", "create", "--name", "ci", "--role", "root"}).find("root"),
            std::string::npos);
  EXPECT_NE(usageError({"tokens", "create", "--join", "--role", "admin"}).find("excludes"),
            std::string::npos);
  EXPECT_NE(usageError({"tokens", "create", "--name", "CI!", "--role", "admin"})
                .find("not a DNS-1123 label"),
            std::string::npos);
  for (const char* duration : {"90", "d", "0d", "1w", "-1h", "1.5h", "01h", "1234567890s"}) {
    EXPECT_NE(usageError({"tokens", "create", "--join", "--expires-in", duration})
                  .find("is not a number with a unit"),
              std::string::npos)
        << duration;
  }
  EXPECT_FALSE(usageError({"tokens", "revoke"}).empty());
  EXPECT_FALSE(usageError({"tokens", "frobnicate"}).empty());
}

TEST(AuditArgs, SinceAndLimit) {
  auto audit = std::get<AuditQuery>(
      parseOk({"audit", "--since", "2026-12-01T14:00:00+01:00", "--limit", "50"}).command);
  EXPECT_EQ(audit.since, "2026-12-01T14:00:00+01:00");
  EXPECT_EQ(audit.limit, 50);
  audit = std::get<AuditQuery>(parseOk({"audit"}).command);
  EXPECT_EQ(audit.since, std::nullopt);
  EXPECT_EQ(audit.limit, std::nullopt);
  EXPECT_NE(usageError({"audit", "--since", "yesterday"}).find("not an RFC 3339 time"),
            std::string::npos);
  EXPECT_FALSE(usageError({"audit", "--limit", "0"}).empty());
  EXPECT_FALSE(usageError({"audit", "--limit", "1001"}).empty());
}

TEST(GlobalArgs, TokenCaCertAndConfig) {
  auto inv = parseOk({"--token", "zp_a.b", "nodes", "--ca-cert", "/ca.crt", "--config", "/c.toml"});
  EXPECT_EQ(inv.global.token, "zp_a.b");
  EXPECT_EQ(inv.global.ca_cert, "/ca.crt");
  EXPECT_EQ(inv.global.config, "/c.toml");
  inv = parseOk({"nodes"});
  EXPECT_EQ(inv.global.token, std::nullopt);
  EXPECT_EQ(inv.global.ca_cert, std::nullopt);
  EXPECT_EQ(inv.global.config, std::nullopt);
}

TEST(AccessRequests, TargetsMethodsAndBodies) {
  HttpRequest create = createTokenRequest("/api", {"ci", "operator", "90d"});
  EXPECT_EQ(create.method, HttpMethod::kPost);
  EXPECT_EQ(create.target, "/api/tokens");
  EXPECT_EQ(json::parse(create.body), json::parse(R"({"name":"ci","role":"operator",
                                                      "expires_in":"90d"})"));
  create = createTokenRequest("", {std::nullopt, "join", std::nullopt});
  EXPECT_EQ(json::parse(create.body), json::parse(R"({"role":"join"})"));

  EXPECT_EQ(listTokensRequest(""), (HttpRequest{HttpMethod::kGet, "/tokens", ""}));
  EXPECT_EQ(revokeTokenRequest("", "ci"), (HttpRequest{HttpMethod::kDelete, "/tokens/ci", ""}));
  EXPECT_EQ(auditRequest("", {}), (HttpRequest{HttpMethod::kGet, "/audit", ""}));
  EXPECT_EQ(auditRequest("", {"2026-12-01T14:00:00+01:00", 5}).target,
            "/audit?since=2026-12-01T14%3A00%3A00%2B01%3A00&limit=5");
}

TEST(RenderTokenCreated, TheTokenAloneOnTheFirstLine) {
  auto text = renderTokenCreated(json::parse(R"({"name":"ci","role":"operator",
      "created_at":"2026-12-01T14:00:00.000Z","expires_at":"2027-03-01T14:00:00.000Z",
      "token":"zp_0123456789ab.c2VjcmV0"})"));
  ASSERT_TRUE(text.has_value()) << text.error().toString();
  EXPECT_EQ(*text,
            "zp_0123456789ab.c2VjcmV0\n"
            "token \"ci\" (role operator, expires 2027-03-01T14:00:00.000Z): shown only this "
            "once, keep it secret\n");

  text = renderTokenCreated(json::parse(R"({"role":"join","created_at":"2026-12-01T14:00:00Z",
      "token":"zpjoin_0123456789ab.c2VjcmV0.abcd"})"));
  ASSERT_TRUE(text.has_value()) << text.error().toString();
  EXPECT_EQ(*text,
            "zpjoin_0123456789ab.c2VjcmV0.abcd\n"
            "join token (never expires; good for one join): shown only this once\n");

  EXPECT_FALSE(renderTokenCreated(json::parse(R"({"name":"ci","role":"admin"})")).has_value());
  EXPECT_FALSE(renderTokenCreated(json::parse(R"({"token":7})")).has_value());
}

TEST(RenderTokens, AgesExpiryAndLastUse) {
  const TimePoint now = at("2026-12-01T14:00:00Z");
  auto text = renderTokens(json::parse(R"({"items":[
      {"name":"admin","role":"admin","created_at":"2026-11-20T14:00:00Z","last_used_at":"2026-12-01T13:59:30Z"},
      {"name":"ci","role":"operator","created_at":"2026-12-01T13:00:00Z","expires_at":"2027-03-01T14:00:00Z"},
      {"name":"old","role":"viewer","created_at":"2026-10-01T00:00:00Z","expires_at":"2026-11-29T14:00:00Z","last_used_at":null},
      {"id":"0123456789ab","role":"join","created_at":"2026-12-01T13:30:00Z","expires_at":"2026-12-01T14:30:00Z","used":true}]})"),
                           now);
  ASSERT_TRUE(text.has_value()) << text.error().toString();
  EXPECT_EQ(*text,
            "NAME                ROLE       CREATED   EXPIRES          LAST USED\n"
            "admin               admin      11d ago   never            30s ago\n"
            "ci                  operator   60m ago   in 90d           never\n"
            "old                 viewer     61d ago   expired 2d ago   never\n"
            "join:0123456789ab   join       30m ago   in 30m           used\n");
  EXPECT_EQ(*renderTokens(json::parse(R"({"items":[]})"), now), "No tokens found.\n");
  EXPECT_FALSE(renderTokens(json::parse(R"({"items":[{"name":1}]})"), now).has_value());
  EXPECT_FALSE(renderTokens(json::parse(R"({"tokens":[]})"), now).has_value());
}

TEST(RenderAudit, OneRowPerEntrySanitised) {
  auto text = renderAudit(json::parse(R"({"items":[
      {"seq":1,"time":"2026-12-01T14:00:00.000Z","principal":"admin","action":"POST /tokens","target":"ci","result":201,"source":"127.0.0.1"},
      {"seq":2,"time":"2026-12-01T14:00:01.000Z","principal":"anonymous","action":"GET /nodes","target":"","result":401,"source":"10.0.0.7\u001b[31m"}]})"));
  ASSERT_TRUE(text.has_value()) << text.error().toString();
  EXPECT_EQ(
      *text,
      "SEQ   TIME                       PRINCIPAL   ACTION         TARGET   RESULT   SOURCE\n"
      "1     2026-12-01T14:00:00.000Z   admin       POST /tokens   ci       201      127.0.0.1\n"
      "2     2026-12-01T14:00:01.000Z   anonymous   GET /nodes     -        401      "
      "10.0.0.7?[31m\n");
  EXPECT_EQ(*renderAudit(json::array()), "No audit entries found.\n");
  EXPECT_FALSE(renderAudit(json::parse(R"({"items":[{"seq":"1"}]})")).has_value());
}

TEST(AuthHints, SayWhatToDoAboutA401Or403) {
  const Error refused{Code::kUnauthenticated, "missing bearer token", {}};
  EXPECT_EQ(formatError(withAuthHint(refused, 401, false)),
            "error: missing bearer token\n"
            "hint: no token: set ZONEPLANE_TOKEN or token in ~/.config/zoneplane/config.toml (an "
            "admin makes one with `zoneplane tokens create`, or `zoneplane-server tokens create` "
            "on the server's machine)");
  EXPECT_NE(withAuthHint(refused, 401, true).message.find("does not accept this token"),
            std::string::npos);
  const Error denied{Code::kPermissionDenied, "role viewer may not POST /workloads", "x"};
  EXPECT_EQ(formatError(withAuthHint(denied, 403, true)),
            "error: role viewer may not POST /workloads (field: x)\n"
            "hint: the token's role does not allow this (viewer: reads; operator: also workloads "
            "and logs; admin: also nodes, tokens and audit)");
  EXPECT_EQ(withAuthHint(refused, 404, false).message, refused.message);
}

}  // namespace
}  // namespace zp::cli
