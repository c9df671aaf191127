// The assembled Server's access control (docs/architecture.md §9.3): every
// route against every kind of credential, tokens created, listed and revoked
// through the API and offline, expiry on the server's clock, and the failure
// limit per source address.

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <map>
#include <set>
#include <tuple>

#include "access_fixture.h"
#include "server/auth/roles.h"

namespace zp::server::testing {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using namespace std::chrono_literals;

// The rules of §9.3, written out route by route: who may use it. A route the
// server has that is missing here fails the matrix below, as does a rule for
// a route the server does not have.
enum class Who { kPublic, kViewer, kOperator, kAdmin, kJoin };
const std::map<std::string, std::set<Who>> kExpected = {
    {"GET /healthz", {Who::kPublic}},
    {"GET /openapi.json", {Who::kPublic}},
    {"GET /ui", {Who::kPublic}},
    {"GET /ui/", {Who::kPublic}},
    {"GET /ui/{file}", {Who::kPublic}},
    {"GET /workloads", {Who::kViewer, Who::kOperator, Who::kAdmin}},
    {"GET /workloads/{id}", {Who::kViewer, Who::kOperator, Who::kAdmin}},
    {"POST /workloads", {Who::kOperator, Who::kAdmin}},
    {"DELETE /workloads/{id}", {Who::kOperator, Who::kAdmin}},
    {"GET /workloads/{id}/logs", {Who::kOperator, Who::kAdmin}},
    {"POST /workloads/{id}/exec", {Who::kOperator, Who::kAdmin}},
    {"GET /nodes", {Who::kViewer, Who::kOperator, Who::kAdmin}},
    {"GET /nodes/{id}", {Who::kViewer, Who::kOperator, Who::kAdmin}},
    {"POST /nodes", {Who::kAdmin}},
    {"DELETE /nodes/{id}", {Who::kAdmin}},
    {"POST /nodes/{id}/cordon", {Who::kAdmin}},
    {"POST /nodes/{id}/uncordon", {Who::kAdmin}},
    {"POST /nodes/{id}/drain", {Who::kAdmin}},
    {"GET /nodes/{id}/isolation", {Who::kViewer, Who::kOperator, Who::kAdmin}},
    {"POST /nodes/{id}/probe", {Who::kOperator, Who::kAdmin}},
    {"GET /trust-levels", {Who::kViewer, Who::kOperator, Who::kAdmin}},
    {"GET /stats", {Who::kViewer, Who::kOperator, Who::kAdmin}},
    {"GET /metrics", {Who::kViewer, Who::kOperator, Who::kAdmin}},
    {"POST /tokens", {Who::kAdmin}},
    {"GET /tokens", {Who::kAdmin}},
    {"DELETE /tokens/{name}", {Who::kAdmin}},
    {"GET /audit", {Who::kAdmin}},
    {"POST /join", {Who::kJoin}},
};

// A concrete path for a pattern: parameters name nothing that exists, so an
// allowed request is answered without changing anything (404, 400).
std::string pathFor(const std::string& pattern) {
  std::string out;
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == '{') {
      out += "absent-1";
      i = pattern.find('}', i) + 1;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

class AccessMatrixFixture : public AccessFixture {
 protected:
  void configure() override {
    AccessFixture::configure();
    // The matrix sends many refused requests from one address.
    options_.auth_failures.max_failures = 1'000'000;
  }
};

TEST_F(AccessMatrixFixture, EveryRouteAgainstEveryCredential) {
  const std::string viewer = newToken("matrix-viewer", "viewer");
  const std::string operator_token = newToken("matrix-operator", "operator");
  const std::string admin = newToken("matrix-admin", "admin");
  const std::string revoked = newToken("matrix-revoked", "admin");
  ASSERT_EQ(server_->del("/tokens/matrix-revoked").status, 200u);
  const std::string expired = newToken("matrix-expired", "admin", "1h");
  fake_clock_.advance(2h);
  // Well-formed, but no such token.
  const std::string invalid = "zp_0123456789ab." + std::string(43, 'A');

  const auto routes = server_->onServer([](Server& s) { return s.router().routes(); });
  std::set<std::string> seen;
  for (const auto& route : routes) {
    const std::string name = std::string(http::to_string(route.method)) + " " + route.pattern;
    seen.insert(name);
    auto rule = kExpected.find(name);
    if (rule == kExpected.end()) {
      ADD_FAILURE() << name << " has no access rule in this test: add one from §9.3";
      continue;
    }
    const bool is_public = rule->second.contains(Who::kPublic);
    EXPECT_EQ(route.permission == auth::Permission::kPublic, is_public) << name;
    std::vector<http::verb> methods{route.method};
    if (route.method == http::verb::get) methods.push_back(http::verb::head);
    const std::string target = pathFor(route.pattern);
    for (auto method : methods) {
      const std::string what = std::string(http::to_string(method)) + " " + target;
      auto send = [&](const std::string& token) { return as(token, method, target); };
      for (const auto& [label, token] : std::vector<std::pair<std::string, std::string>>{
               {"none", ""}, {"invalid", invalid}, {"revoked", revoked}, {"expired", expired}}) {
        auto res = send(token);
        if (is_public) {
          // Answered by the route itself (GET /ui/absent-1 is its 404).
          EXPECT_NE(res.status, 401u) << what << " as " << label;
          EXPECT_NE(res.status, 403u) << what << " as " << label;
        } else {
          EXPECT_EQ(res.status, 401u) << what << " as " << label << ": " << res.body;
          EXPECT_TRUE(res.header("www-authenticate").starts_with("Bearer")) << what;
        }
      }
      const std::vector<std::pair<Who, std::string>> roles{
          {Who::kViewer, viewer}, {Who::kOperator, operator_token}, {Who::kAdmin, admin}};
      for (const auto& [who, token] : roles) {
        auto res = send(token);
        const bool allowed = is_public || rule->second.contains(who);
        if (allowed) {
          EXPECT_NE(res.status, 401u) << what << " role " << static_cast<int>(who);
          EXPECT_NE(res.status, 403u) << what << " role " << static_cast<int>(who);
        } else {
          EXPECT_EQ(res.status, 403u)
              << what << " role " << static_cast<int>(who) << ": " << res.body;
        }
      }
      // A join token: fresh each time, as a join spends it.
      auto res = send(joinToken());
      if (is_public || rule->second.contains(Who::kJoin)) {
        EXPECT_NE(res.status, 401u) << what << " as join: " << res.body;
        EXPECT_NE(res.status, 403u) << what << " as join: " << res.body;
      } else {
        EXPECT_EQ(res.status, 403u) << what << " as join: " << res.body;
      }
    }
  }
  for (const auto& [name, who] : kExpected) {
    EXPECT_TRUE(seen.contains(name)) << name << " is not a route of the server";
  }

  // What the Router answers itself (no route, another method, a bad
  // target) needs an API token of any role; a join token is 403 there and
  // is not spent by it.
  const std::string join = joinToken();
  for (const auto& [method, target, status] :
       std::vector<std::tuple<http::verb, std::string, unsigned>>{
           {http::verb::get, "/nope", 404u},
           {http::verb::post, "/nope", 404u},
           {http::verb::put, "/workloads", 405u},
           {http::verb::get, "/join", 405u},
           {http::verb::get, "/workloads/%zz", 400u}}) {
    const std::string what = std::string(http::to_string(method)) + " " + target;
    for (const std::string& token : {std::string(), invalid, revoked, expired}) {
      EXPECT_EQ(as(token, method, target).status, 401u) << what;
    }
    for (const std::string& token : {viewer, operator_token, admin}) {
      EXPECT_EQ(as(token, method, target).status, status) << what;
    }
    auto refused = as(join, method, target);
    EXPECT_EQ(refused.status, 403u) << what << " as join: " << refused.body;
  }
  auto joined = as(join, http::verb::post, "/join", R"({"node_id":"matrix-node"})");
  EXPECT_EQ(joined.status, 400u) << "the join token was spent before: " << joined.body;
}

TEST_F(AccessFixture, PathsNoRouteMatchesNeedATokenToo) {
  EXPECT_EQ(as("", http::verb::get, "/nope").status, 401u);
  EXPECT_EQ(as("", http::verb::put, "/workloads").status, 401u);
  EXPECT_EQ(as("", http::verb::get, "/workloads/%zz").status, 401u);
  EXPECT_EQ(server_->get("/nope").status, 404u);
  EXPECT_EQ(server_->request(http::verb::put, "/workloads").status, 405u);
  EXPECT_EQ(server_->get("/workloads/%zz").status, 400u);
  auto health = as("", http::verb::get, "/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(as("", http::verb::head, "/healthz").status, 200u);
}

// Sends a POST /workloads header announcing a body of `length` bytes (and
// "Expect: 100-continue" when `expect`) but never the body, and reads the
// first answer.
http::response<http::string_body> headerOnly(const HttpTarget& to, const std::string& authorization,
                                             std::size_t length, bool expect,
                                             bool* closed_after = nullptr) {
  BlockingConnection socket(to);
  std::string head =
      "POST /workloads HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(length) + "\r\n";
  if (!authorization.empty()) head += "Authorization: " + authorization + "\r\n";
  if (expect) head += "Expect: 100-continue\r\n";
  head += "\r\n";
  boost::asio::write(socket, boost::asio::buffer(head));
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  if (closed_after != nullptr) {
    std::string rest;
    boost::system::error_code ec;
    boost::asio::read(socket, boost::asio::dynamic_buffer(rest), ec);
    *closed_after = isEndOfStream(ec) && rest.empty();
  }
  return res;
}

// A refusal is decided from the header alone: no "100 Continue", no body
// read (these clients never send theirs), "Connection: close", and the
// connection closed; an oversized body of a refused request is never
// looked at.
TEST_F(AccessFixture, RefusalsComeBeforeTheBodyIsRead) {
  const std::string viewer = newToken("early", "viewer");
  for (const auto& [authorization, status] : std::vector<std::pair<std::string, unsigned>>{
           {"", 401u},
           {"Bearer zp_0123456789ab." + std::string(43, 'A'), 401u},
           {bearer(viewer), 403u}}) {
    for (const bool expect : {false, true}) {
      for (const std::size_t length : {std::size_t{100}, std::size_t{64} << 20}) {
        bool closed = false;
        auto res = headerOnly(server_->target(), authorization, length, expect, &closed);
        EXPECT_EQ(res.result_int(), status) << authorization << " expect=" << expect;
        EXPECT_FALSE(res.keep_alive());
        EXPECT_TRUE(closed);
      }
    }
  }
  // Refusals made this way are audited like any other.
  auto entries = audit();
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back()["action"], "POST /workloads");
  EXPECT_EQ(entries.back()["result"], 403);
  EXPECT_EQ(entries.back()["principal"], "early");

  // An admitted request gets "100 Continue", or 413 for a body over the limit.
  auto go_on = headerOnly(server_->target(), server_->authorization(), 100, true);
  EXPECT_EQ(go_on.result_int(), 100u);
  auto too_large = headerOnly(server_->target(), server_->authorization(), 64 << 20, true);
  EXPECT_EQ(too_large.result_int(), 413u);
  EXPECT_FALSE(too_large.keep_alive());
}

TEST_F(AccessFixture, RefusalsSayWhyWithoutRepeatingTheToken) {
  auto none = as("", http::verb::get, "/workloads");
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.json["error"]["code"], "Unauthenticated");
  EXPECT_EQ(none.header("www-authenticate"), "Bearer realm=\"zoneplane\"");

  const std::string garbage = "zp_not-a-token-at-all";
  auto malformed = as(garbage, http::verb::get, "/workloads");
  EXPECT_EQ(malformed.status, 401u);
  EXPECT_EQ(malformed.header("www-authenticate"),
            "Bearer realm=\"zoneplane\", error=\"invalid_token\"");
  EXPECT_EQ(malformed.body.find(garbage), std::string::npos) << malformed.body;
  auto basic = server_->requestAs("Basic dXNlcjpwYXNz", http::verb::get, "/workloads");
  EXPECT_EQ(basic.status, 401u);

  // The right id with another secret.
  const std::string viewer = newToken("ci", "viewer");
  std::string forged = viewer;
  forged[20] = forged[20] == 'A' ? 'B' : 'A';  // inside the secret
  auto wrong = as(forged, http::verb::get, "/workloads");
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(wrong.body.find(forged.substr(16)), std::string::npos);

  auto denied = as(viewer, http::verb::post, "/nodes/node-1/cordon");
  EXPECT_EQ(denied.status, 403u);
  EXPECT_EQ(denied.json["error"]["code"], "PermissionDenied");
  EXPECT_EQ(server_->get("/nodes/node-1").json["schedulable"], true);  // nothing happened
}

TEST_F(AccessFixture, TokensCreatedListedAndRevokedTakeEffectAtOnce) {
  auto created = server_->post("/tokens", R"({"name":"ci","role":"operator","expires_in":"90d"})");
  ASSERT_EQ(created.status, 201u) << created.body;
  const std::string token = created.json["token"];
  EXPECT_TRUE(token.starts_with("zp_" + created.json["id"].get<std::string>() + "."));
  EXPECT_EQ(created.json["name"], "ci");
  EXPECT_EQ(created.json["role"], "operator");
  EXPECT_EQ(parseRfc3339(created.json["expires_at"].get<std::string>()),
            parseRfc3339(created.json["created_at"].get<std::string>()).value() + 90 * 24h);

  EXPECT_EQ(as(token, http::verb::post, "/workloads", spec("w-1")).status, 201u);
  auto list = server_->get("/tokens");
  ASSERT_EQ(list.status, 200u);
  json ci;
  for (const auto& item : list.json["items"]) {
    if (item["name"] == "ci") ci = item;
    EXPECT_FALSE(item.contains("token"));
    EXPECT_FALSE(item.contains("secret_sha256"));
  }
  ASSERT_TRUE(ci.is_object()) << list.body;
  EXPECT_EQ(ci["role"], "operator");
  EXPECT_TRUE(ci.contains("last_used_at"));
  EXPECT_EQ(list.body.find(token.substr(16)), std::string::npos);

  EXPECT_EQ(server_->post("/tokens", R"({"name":"ci","role":"viewer"})").status, 409u);
  EXPECT_EQ(server_->post("/tokens", R"({"name":"x","role":"root"})").status, 422u);
  EXPECT_EQ(server_->post("/tokens", R"({"name":"x","role":"viewer","expires_in":"soon"})").status,
            422u);
  EXPECT_EQ(server_->post("/tokens", R"({"name":"Bad_Name","role":"viewer"})").status, 422u);
  EXPECT_EQ(server_->post("/tokens", R"({"name":"anonymous","role":"viewer"})").status, 422u);
  EXPECT_EQ(server_->post("/tokens", R"({"role":"viewer"})").status, 422u);
  EXPECT_EQ(server_->post("/tokens", R"({"name":"x","role":"viewer","owner":"me"})").status, 400u);
  EXPECT_EQ(server_->post("/tokens", R"({"name":"x","role":7})").status, 400u);

  auto revoked = server_->del("/tokens/ci");
  ASSERT_EQ(revoked.status, 200u) << revoked.body;
  EXPECT_EQ(revoked.json["name"], "ci");
  EXPECT_EQ(as(token, http::verb::get, "/workloads").status, 401u);
  EXPECT_EQ(server_->del("/tokens/ci").status, 404u);

  // Join tokens: no name needed, the CA's hash pinned in the token.
  auto join = server_->post("/tokens", R"({"role":"join"})");
  ASSERT_EQ(join.status, 201u) << join.body;
  const std::string join_token = join.json["token"];
  EXPECT_TRUE(join_token.starts_with("zpjoin_"));
  EXPECT_TRUE(join_token.ends_with("." + ca_fingerprint_));
  EXPECT_TRUE(join.json.contains("expires_at"));  // 1 h unless told
  const std::string join_id = join.json["id"];
  EXPECT_EQ(server_->del("/tokens/" + join_id).status, 200u);  // unnamed: by id

  // Everything survives a restart (the admin token is the new server's own).
  ASSERT_EQ(server_->post("/tokens", R"({"name":"kept","role":"viewer"})").status, 201u);
  restartServer();
  auto names = server_->get("/tokens").json["items"];
  std::set<std::string> kept;
  for (const auto& item : names) kept.insert(item.value("name", ""));
  EXPECT_TRUE(kept.contains("kept"));
  EXPECT_FALSE(kept.contains("ci"));
}

TEST_F(AccessFixture, AnExpiredTokenIsRefusedOnTheServersClock) {
  const std::string token = newToken("short", "viewer", "30m");
  EXPECT_EQ(as(token, http::verb::get, "/workloads").status, 200u);
  fake_clock_.advance(29min);
  EXPECT_EQ(as(token, http::verb::get, "/workloads").status, 200u);
  fake_clock_.advance(1min);
  auto expired = as(token, http::verb::get, "/workloads");
  EXPECT_EQ(expired.status, 401u);
  EXPECT_NE(expired.json["error"]["message"].get<std::string>().find("expired"), std::string::npos);
}

TEST_F(AccessFixture, TooManyFailuresFromOneAddressAre429UntilTheMinuteIsOver) {
  const std::string bad = "zp_0123456789ab." + std::string(43, 'A');
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(as(bad, http::verb::get, "/workloads").status, 401u) << i;
    fake_clock_.advance(1s);
  }
  auto blocked = as(bad, http::verb::get, "/workloads");
  EXPECT_EQ(blocked.status, 429u);
  EXPECT_EQ(blocked.json["error"]["code"], "ResourceExhausted");
  EXPECT_EQ(blocked.header("retry-after"), "50");  // the window began 10 s ago
  // Even a valid token waits: the address is refused, not the token.
  EXPECT_EQ(server_->get("/workloads").status, 429u);
  EXPECT_EQ(as("", http::verb::get, "/healthz").status, 200u);  // public
  fake_clock_.advance(49s);
  EXPECT_EQ(server_->get("/workloads").status, 429u);
  EXPECT_EQ(server_->get("/workloads").header("retry-after"), "1");
  fake_clock_.advance(1s);
  EXPECT_EQ(server_->get("/workloads").status, 200u);
  // Successes are not counted; a new budget of failures.
  EXPECT_EQ(as(bad, http::verb::get, "/workloads").status, 401u);
  EXPECT_EQ(server_->get("/workloads").status, 200u);
}

TEST_F(AccessFixture, FailureWindowsThatAreOverAreForgottenOnTheTick) {
  const auto tracked = [&] {
    return server_->onServer([](Server& s) { return s.authenticator().trackedSources(); });
  };
  EXPECT_EQ(as("zp_0123456789ab." + std::string(43, 'A'), http::verb::get, "/workloads").status,
            401u);
  EXPECT_EQ(tracked(), 1u);
  fake_clock_.advance(59s);
  EXPECT_EQ(tracked(), 1u);
  fake_clock_.advance(1s);
  EXPECT_TRUE(eventually([&] { return tracked() == 0u; }));
}

TEST_F(AccessFixture, ATokenCreatedOfflineIsFoundAndOneRevokedOfflineIsDropped) {
  // As `zoneplane-server tokens create` does, while the server runs.
  const std::string offline =
      createToken(*store_, "offline", auth::Role::kViewer, fake_clock_.now());
  // The store is read at most once a second for unknown ids; the server
  // read it at start and its clock stands still.
  EXPECT_EQ(as(offline, http::verb::get, "/workloads").status, 401u);
  fake_clock_.advance(1s);
  EXPECT_EQ(as(offline, http::verb::get, "/workloads").status, 200u);

  auto tokens = store_->loadTokens();
  ASSERT_TRUE(tokens);
  std::string id;
  for (const auto& t : *tokens) {
    if (t.name == "offline") id = t.id;
  }
  ASSERT_TRUE(store_->apply({store::DeleteToken{id}}));                // `tokens revoke offline`
  EXPECT_EQ(as(offline, http::verb::get, "/workloads").status, 200u);  // not yet re-read
  fake_clock_.advance(10s);  // the tick loop re-reads the store now
  EXPECT_TRUE(
      eventually([&] { return as(offline, http::verb::get, "/workloads").status == 401u; }));
}

}  // namespace
}  // namespace zp::server::testing
