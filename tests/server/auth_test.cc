// The auth room (docs/architecture.md §9.3) on its own: the token format and
// its hashing, lifetimes, names, the roles table, the failure limiter on a
// driven clock, and the token registry and authenticator over a FakeStore.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <set>

#include "fake_clock.h"
#include "run_io.h"
#include "server/auth/authenticator.h"
#include "server/auth/failure_limiter.h"
#include "server/auth/roles.h"
#include "server/auth/source.h"
#include "server/auth/token.h"
#include "server/auth/token_registry.h"
#include "server/commit.h"
#include "server/http/api_access.h"
#include "support/fake_store.h"

namespace zp::server::auth {
namespace {

using namespace std::chrono_literals;
using server::testing::FakeClock;
using server::testing::runTask;

const std::string kCa(64, 'c');

IssuedToken issue(Role role, std::string name = "t",
                  std::optional<std::chrono::seconds> lifetime = std::nullopt,
                  TimePoint now = TimePoint{} + 1000h) {
  auto issued = issueToken({std::move(name), role, lifetime, kCa}, now);
  EXPECT_TRUE(issued) << issued.error().toString();
  return *issued;
}

TEST(TokenTest, IssuedTokensParseAndOnlyTheirSecretMatches) {
  const IssuedToken api = issue(Role::kOperator, "ci");
  EXPECT_TRUE(api.text.starts_with("zp_" + api.record.id + "."));
  EXPECT_EQ(api.text.size(), 3 + 12 + 1 + 43u);
  EXPECT_EQ(api.record.role, "operator");
  EXPECT_EQ(api.record.secret_sha256.size(), 64u);
  EXPECT_EQ(api.text.find(api.record.secret_sha256), std::string::npos);
  auto parsed = parseToken(api.text);
  ASSERT_TRUE(parsed) << parsed.error().toString();
  EXPECT_FALSE(parsed->join);
  EXPECT_EQ(parsed->id, api.record.id);
  EXPECT_TRUE(secretMatches(parsed->secret, api.record.secret_sha256));

  const IssuedToken other = issue(Role::kOperator, "ci");
  EXPECT_NE(other.record.id, api.record.id);
  EXPECT_FALSE(secretMatches(parsed->secret, other.record.secret_sha256));
  EXPECT_FALSE(secretMatches(parsed->secret, "short"));

  const IssuedToken join = issue(Role::kJoin, "");
  EXPECT_TRUE(join.text.starts_with("zpjoin_" + join.record.id + "."));
  EXPECT_TRUE(join.text.ends_with("." + kCa));
  ASSERT_TRUE(join.record.expires_at);
  EXPECT_EQ(*join.record.expires_at, join.record.created_at + kDefaultJoinLifetime);
  auto parsed_join = parseToken(join.text);
  ASSERT_TRUE(parsed_join);
  EXPECT_TRUE(parsed_join->join);
  EXPECT_EQ(parsed_join->ca_sha256, kCa);
  EXPECT_TRUE(secretMatches(parsed_join->secret, join.record.secret_sha256));
}

TEST(TokenTest, AnythingElseIsMalformedAndNeverEchoed) {
  const IssuedToken api = issue(Role::kAdmin);
  const std::string secret = api.text.substr(16);
  const std::vector<std::string> bad = {
      "",
      "zp_",
      "zp_" + api.record.id,
      "zp_" + api.record.id + ".",
      "zp_" + api.record.id + "." + secret + ".x",     // an API token has no CA part
      "zp_" + api.record.id + "." + secret.substr(1),  // short secret
      "zp_" + api.record.id + "." + secret + "A",      // long secret
      "zp_" + api.record.id + "." + secret.substr(0, 42) + "=",
      "zp_" + api.record.id + "." + secret.substr(0, 42) + "B",  // trailing bits set
      "zp_0123456789AB." + secret,                               // upper-case id
      "zp_0123456789a." + secret,                                // short id
      "ZP_" + api.record.id + "." + secret,
      "zpjoin_" + api.record.id + "." + secret,  // a join token needs the CA part
      "zpjoin_" + api.record.id + "." + secret + "." + std::string(64, 'C'),
      "zpjoin_" + api.record.id + "." + secret + "." + std::string(63, 'c'),
  };
  for (const auto& text : bad) {
    auto parsed = parseToken(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, Code::kUnauthenticated);
    if (text.size() > 4) {
      EXPECT_EQ(parsed.error().message.find(text), std::string::npos);
    }
  }
}

TEST(TokenTest, NamesLifetimesAndTheCaOfNewTokensAreChecked) {
  EXPECT_TRUE(validateTokenSpec({"ci-1", Role::kViewer, 1h, ""}));
  EXPECT_TRUE(validateTokenSpec({"", Role::kJoin, std::nullopt, kCa}));
  for (const TokenSpec& spec : std::vector<TokenSpec>{
           {"", Role::kAdmin, std::nullopt, ""},
           {"Admin", Role::kAdmin, std::nullopt, ""},
           {"anonymous", Role::kViewer, std::nullopt, ""},
           {std::string(64, 'a'), Role::kViewer, std::nullopt, ""},
           {"x", Role::kViewer, 0s, ""},
           {"x", Role::kViewer, kMaxLifetime + 1s, ""},
           {"", Role::kJoin, std::nullopt, ""},
           {"", Role::kJoin, std::nullopt, "nothex"},
       }) {
    auto s = validateTokenSpec(spec);
    EXPECT_FALSE(s) << spec.name;
    if (!s) {
      EXPECT_EQ(s.error().code, Code::kInvalidArgument);
    }
  }
  EXPECT_EQ(parseLifetime("90d").value(), 90 * 24h);
  EXPECT_EQ(parseLifetime("12h").value(), 12h);
  EXPECT_EQ(parseLifetime("30m").value(), 30min);
  EXPECT_EQ(parseLifetime("3600s").value(), 3600s);
  for (const char* bad : {"", "h", "0s", "-1h", "1.5h", "10", "10y", "+1h", "99999999d", " 1h"}) {
    auto lifetime = parseLifetime(bad, "--expires-in");
    ASSERT_FALSE(lifetime) << bad;
    EXPECT_EQ(lifetime.error().field, "--expires-in");
  }
}

TEST(TokenTest, RedactionCutsSecretsOutOfText) {
  const IssuedToken api = issue(Role::kAdmin);
  const IssuedToken join = issue(Role::kJoin, "");
  const std::string text = "DELETE /tokens/" + api.text + "?x=1 and " + join.text + " zp_ zpx";
  const std::string redacted = redactTokens(text);
  EXPECT_EQ(redacted, "DELETE /tokens/zp_" + api.record.id + ".<redacted>?x=1 and zpjoin_" +
                          join.record.id + ".<redacted> zp_ zpx");
  EXPECT_EQ(redactTokens("/workloads/zp-web"), "/workloads/zp-web");
}

TEST(RolesTest, TheTableGivesEachRoleItsPermissions) {
  using P = Permission;
  const std::map<Role, std::set<Permission>> expected = {
      {Role::kViewer, {P::kPublic, P::kAuthenticated, P::kRead}},
      {Role::kOperator,
       {P::kPublic, P::kAuthenticated, P::kRead, P::kReadLogs, P::kManageWorkloads, P::kExec,
        P::kProbeNodes}},
      {Role::kAdmin,
       {P::kPublic, P::kAuthenticated, P::kRead, P::kReadLogs, P::kManageWorkloads, P::kExec,
        P::kProbeNodes, P::kManageCluster}},
      {Role::kJoin, {P::kPublic, P::kJoin}},
  };
  const P all[] = {P::kPublic,          P::kAuthenticated, P::kRead,          P::kReadLogs,
                   P::kManageWorkloads, P::kExec,          P::kProbeNodes,    P::kManageCluster,
                   P::kJoin};
  for (const auto& [role, permissions] : expected) {
    EXPECT_EQ(parseRole(roleName(role)), role);
    for (P p : all) {
      EXPECT_EQ(allows(role, p), permissions.contains(p))
          << roleName(role) << " / " << permissionName(p);
    }
  }
  EXPECT_FALSE(parseRole("root"));
  EXPECT_FALSE(parseRole("Admin"));
  EXPECT_EQ(permissionName(P::kProbeNodes), "probe-nodes");
  EXPECT_EQ(permissionName(P::kExec), "exec");
}

TEST(FailureLimiterTest, TenFailuresBlockTheSourceUntilTheWindowEnds) {
  FailureLimiter limiter;
  const TimePoint t0 = TimePoint{} + 1000h;
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(limiter.blocked("10.0.0.1", t0 + std::chrono::seconds(i))) << i;
    limiter.recordFailure("10.0.0.1", t0 + std::chrono::seconds(i));
  }
  auto block = limiter.blocked("10.0.0.1", t0 + 10s);
  ASSERT_TRUE(block);
  EXPECT_EQ(block->retry_after, 50s);
  EXPECT_TRUE(block->first);
  auto again = limiter.blocked("10.0.0.1", t0 + 59500ms);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->retry_after, 1s);  // rounded up
  EXPECT_FALSE(again->first);
  EXPECT_FALSE(limiter.blocked("10.0.0.2", t0 + 10s));  // per source
  EXPECT_FALSE(limiter.blocked("10.0.0.1", t0 + 60s));
  limiter.recordFailure("10.0.0.1", t0 + 60s);  // a fresh window
  EXPECT_FALSE(limiter.blocked("10.0.0.1", t0 + 61s));
}

TEST(FailureLimiterTest, AClockStepBackAndTooManySourcesAreSafe) {
  FailureLimiter limiter({.max_failures = 2, .window = 60s, .max_sources = 3});
  const TimePoint t0 = TimePoint{} + 1000h;
  limiter.recordFailure("a", t0);
  limiter.recordFailure("a", t0);
  EXPECT_TRUE(limiter.blocked("a", t0 + 1s));
  EXPECT_FALSE(limiter.blocked("a", t0 - 1h));  // stepped back: the window is forgotten
  for (const char* source : {"a", "b", "c", "d", "e"}) limiter.recordFailure(source, t0);
  EXPECT_LE(limiter.trackedSources(), 3u);
}

TEST(FailureLimiterTest, WindowsThatAreOverArePurgedWithoutNewFailures) {
  FailureLimiter limiter;
  const TimePoint t0 = TimePoint{} + 1000h;
  for (const char* source : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) limiter.recordFailure(source, t0);
  limiter.recordFailure("10.0.0.4", t0 + 30s);
  limiter.purge(t0 + 59s);
  EXPECT_EQ(limiter.trackedSources(), 4u);
  limiter.purge(t0 + 60s);
  EXPECT_EQ(limiter.trackedSources(), 1u);
  limiter.purge(t0 + 90s);
  EXPECT_EQ(limiter.trackedSources(), 0u);
  // New sources purge too, as they come.
  limiter.recordFailure("10.0.0.1", t0 + 100s);
  limiter.recordFailure("10.0.0.2", t0 + 170s);
  EXPECT_EQ(limiter.trackedSources(), 1u);
}

TEST(FailureLimiterTest, AtTheCapTheWindowThatStartedFirstIsForgotten) {
  FailureLimiter limiter({.max_failures = 1, .window = 60s, .max_sources = 3});
  const TimePoint t0 = TimePoint{} + 1000h;
  limiter.recordFailure("10.0.0.2", t0 + 2s);
  limiter.recordFailure("10.0.0.1", t0 + 1s);
  limiter.recordFailure("10.0.0.3", t0 + 3s);
  limiter.recordFailure("10.0.0.4", t0 + 4s);
  EXPECT_EQ(limiter.trackedSources(), 3u);
  EXPECT_FALSE(limiter.blocked("10.0.0.1", t0 + 5s));  // the oldest window, forgotten
  for (const char* source : {"10.0.0.2", "10.0.0.3", "10.0.0.4"}) {
    EXPECT_TRUE(limiter.blocked(source, t0 + 5s)) << source;
  }
}

TEST(FailureLimiterTest, IPv6SourcesShareTheBudgetOfTheirSlash64) {
  FailureLimiter limiter({.max_failures = 3, .window = 60s, .max_sources = 100});
  const TimePoint t0 = TimePoint{} + 1000h;
  limiter.recordFailure("2001:db8:1:2::1", t0);
  limiter.recordFailure("2001:db8:1:2:aaaa:bbbb:cccc:dddd", t0);
  limiter.recordFailure("2001:db8:1:2::ffff", t0);
  EXPECT_TRUE(limiter.blocked("2001:db8:1:2::1234", t0 + 1s));
  EXPECT_FALSE(limiter.blocked("2001:db8:1:3::1", t0 + 1s));  // another /64
  EXPECT_EQ(limiter.trackedSources(), 1u);
  // An IPv4 client seen through an IPv6 socket is its IPv4 address.
  limiter.recordFailure("::ffff:192.0.2.7", t0);
  limiter.recordFailure("192.0.2.7", t0);
  limiter.recordFailure("::ffff:192.0.2.7", t0);
  EXPECT_TRUE(limiter.blocked("192.0.2.7", t0 + 1s));
  EXPECT_FALSE(limiter.blocked("192.0.2.8", t0 + 1s));  // IPv4 addresses are their own
}

TEST(SourceGroupTest, IPv4AddressesAndIPv6Networks) {
  EXPECT_EQ(sourceGroup("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(sourceGroup("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(sourceGroup("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(sourceGroup("::1"), "::/64");
  EXPECT_EQ(sourceGroup("not an address"), "not an address");
  EXPECT_EQ(sourceGroup(""), "");
}

// TokenRegistry and Authenticator on one io_context over a FakeStore.
class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest() { registry_.load({}); }

  Decision authenticate(const std::string& token, Permission required,
                        const std::string& source = "10.0.0.1") {
    return runTask(
        io_, authenticator_.authenticate(token.empty() ? "" : "Bearer " + token, source, required));
  }
  std::string add(Role role, const std::string& name,
                  std::optional<std::chrono::seconds> lifetime = std::nullopt) {
    auto issued = issueToken({name, role, lifetime, kCa}, clock_.now());
    EXPECT_TRUE(issued);
    EXPECT_TRUE(store_.apply({store::PutToken{issued->record}}));
    return issued->text;
  }
  // Waits until every write submitted so far has been applied.
  void drain() {
    std::function<Result<bool>(store::Store&)> nothing = [](store::Store&) {
      return Result<bool>(true);
    };
    ASSERT_TRUE(runTask(io_, server::readStore(commits_, std::move(nothing))));
  }

  boost::asio::io_context io_;
  FakeClock clock_{TimePoint{} + 1000h};
  zp::testing::FakeStore store_;
  store::CommitQueue commits_{store_};
  TokenRegistry registry_{io_.get_executor(), commits_, clock_};
  Authenticator authenticator_{registry_, clock_};
};

TEST_F(AuthenticatorTest, DecidesWhoAndWhatFromTheHeader) {
  clock_.advance(1s);  // past the start's read: unknown ids re-read the store
  const std::string admin = add(Role::kAdmin, "root");
  auto ok = authenticate(admin, Permission::kManageCluster);
  ASSERT_TRUE(ok) << ok.error().error.toString();
  EXPECT_EQ(ok->name, "root");
  EXPECT_EQ(ok->role, Role::kAdmin);

  const std::string viewer = add(Role::kViewer, "looker");
  clock_.advance(1s);
  auto denied = authenticate(viewer, Permission::kManageWorkloads);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().error.code, Code::kPermissionDenied);
  EXPECT_EQ(denied.error().principal.name, "looker");

  auto lowercase =
      runTask(io_, authenticator_.authenticate("bearer " + admin, "s", Permission::kRead));
  EXPECT_TRUE(lowercase);
  for (const std::string& header : std::vector<std::string>{"Bearer", "Bearer  ", "Token " + admin,
                                                            "Bearer " + admin + " extra"}) {
    auto refused = runTask(io_, authenticator_.authenticate(header, "s", Permission::kRead));
    ASSERT_FALSE(refused) << header;
    EXPECT_EQ(refused.error().error.code, Code::kUnauthenticated);
  }
}

TEST_F(AuthenticatorTest, ExpiredAndSpentTokensAreRefusedAndAJoinIsClaimedOnce) {
  const std::string brief = add(Role::kOperator, "brief", 1h);
  const std::string join = add(Role::kJoin, "", 10h);
  clock_.advance(1s);
  EXPECT_TRUE(authenticate(brief, Permission::kManageWorkloads));
  clock_.advance(1h);
  auto expired = authenticate(brief, Permission::kManageWorkloads);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().error.code, Code::kUnauthenticated);

  // Anything but kJoin is 403 and does not spend the token.
  EXPECT_EQ(authenticate(join, Permission::kRead).error().error.code, Code::kPermissionDenied);
  EXPECT_EQ(authenticate(join, Permission::kAuthenticated).error().error.code,
            Code::kPermissionDenied);
  auto joined = authenticate(join, Permission::kJoin);
  ASSERT_TRUE(joined);
  EXPECT_TRUE(joined->name.starts_with("join:"));
  auto twice = authenticate(join, Permission::kJoin);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().error.code, Code::kUnauthenticated);
  EXPECT_TRUE(runTask(io_, registry_.persistUse(joined->token_id)));
  auto stored = store_.loadTokens();
  ASSERT_TRUE(stored);
  bool used = false;
  for (const auto& t : *stored) used = used || (t.role == "join" && t.used);
  EXPECT_TRUE(used);
}

TEST_F(AuthenticatorTest, UnknownIdsReReadTheStoreAtMostOncePerSecond) {
  const std::string early = add(Role::kViewer, "early");  // after the registry's load
  EXPECT_FALSE(authenticate(early, Permission::kRead));   // read at load, this second
  clock_.advance(1s);
  EXPECT_TRUE(authenticate(early, Permission::kRead));
  const std::string late = add(Role::kViewer, "late");
  EXPECT_FALSE(authenticate(late, Permission::kRead));
  clock_.advance(999ms);
  EXPECT_FALSE(authenticate(late, Permission::kRead));
  clock_.advance(1ms);
  EXPECT_TRUE(authenticate(late, Permission::kRead));
}

TEST_F(AuthenticatorTest, ARevocationThatCannotBeStoredIsUndone) {
  clock_.advance(1s);
  const std::string token = add(Role::kViewer, "ci");
  ASSERT_TRUE(authenticate(token, Permission::kRead));
  drain();  // its last-use write is applied: the next write is the revocation
  store_.failNextApplies(1);
  auto failed = runTask(io_, registry_.revoke("ci"));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Code::kUnavailable);
  EXPECT_TRUE(authenticate(token, Permission::kRead));
  ASSERT_TRUE(runTask(io_, registry_.revoke("ci")));
  EXPECT_FALSE(authenticate(token, Permission::kRead));
  EXPECT_TRUE(store_.loadTokens()->empty());
  EXPECT_EQ(runTask(io_, registry_.revoke("ci")).error().code, Code::kNotFound);
}

TEST_F(AuthenticatorTest, CreateSeesNamesTakenByAnotherProcess) {
  add(Role::kViewer, "taken");  // not known to the registry yet
  auto created = runTask(io_, registry_.create({"taken", Role::kAdmin, std::nullopt, ""}));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, Code::kAlreadyExists);
  auto fresh = runTask(io_, registry_.create({"fresh", Role::kAdmin, std::nullopt, ""}));
  ASSERT_TRUE(fresh) << fresh.error().toString();
  EXPECT_TRUE(authenticate(fresh->text, Permission::kManageCluster));
  EXPECT_EQ(registry_.list().size(), 2u);
}

TEST_F(AuthenticatorTest, FailuresAreCountedPerSourceAndSuccessesAreNot) {
  clock_.advance(1s);
  const std::string good = add(Role::kViewer, "good");
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(authenticate("", Permission::kRead, "10.0.0.9").error().error.code,
              Code::kUnauthenticated);
    // Successes in between neither count nor reset the count.
    if (i < 9) {
      EXPECT_TRUE(authenticate(good, Permission::kRead, "10.0.0.9")) << i;
    }
  }
  auto blocked = authenticate(good, Permission::kRead, "10.0.0.9");
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().error.code, Code::kResourceExhausted);
  EXPECT_GT(blocked.error().retry_after, 0s);
  EXPECT_TRUE(authenticate(good, Permission::kRead, "10.0.0.10"));
}

}  // namespace
}  // namespace zp::server::auth

namespace zp::server {
namespace {

// Each kind of refusal has its status; a code the authenticator never
// refuses with is an internal error, not a 429.
TEST(RefusalResponseTest, EachRefusalHasItsStatus) {
  using std::chrono::seconds;
  auto answer = [](Code code, bool sent_token = false) {
    return refusalResponse(auth::Refusal{Error{code, "why", ""}, seconds(7), {}, false},
                           sent_token);
  };
  EXPECT_EQ(answer(Code::kUnauthenticated).status, 401u);
  EXPECT_EQ(answer(Code::kUnauthenticated).headers,
            (decltype(HttpResponse::headers){{"WWW-Authenticate", "Bearer realm=\"zoneplane\""}}));
  EXPECT_EQ(answer(Code::kUnauthenticated, true).headers[0].second,
            "Bearer realm=\"zoneplane\", error=\"invalid_token\"");
  EXPECT_EQ(answer(Code::kPermissionDenied).status, 403u);
  const HttpResponse blocked = answer(Code::kResourceExhausted);
  EXPECT_EQ(blocked.status, 429u);
  EXPECT_EQ(blocked.headers, (decltype(HttpResponse::headers){{"Retry-After", "7"}}));
  EXPECT_FALSE(blocked.audit.record);
  for (Code code : {Code::kInternal, Code::kUnavailable, Code::kInvalidArgument}) {
    const HttpResponse other = answer(code);
    EXPECT_EQ(other.status, 500u) << codeName(code);
    EXPECT_TRUE(other.headers.empty()) << codeName(code);
    EXPECT_EQ(other.body.find("why"), std::string::npos) << other.body;
  }
}

}  // namespace
}  // namespace zp::server
