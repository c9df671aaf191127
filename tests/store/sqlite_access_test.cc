// SqliteStore's tokens and audit tables (docs/architecture.md §9.3): round
// trips, the unique name, touch without resurrection, the audit log's order,
// `since` and `limit`, and the migration of a version 2 database.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "open_store.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace zp::store {
namespace {

using std::chrono::nanoseconds;
using std::chrono::seconds;
using testing::openOrDie;
using testing::TempDir;

TimePoint at(std::int64_t s) { return TimePoint{seconds{s}}; }

TokenRecord token(std::string id, std::string name, std::string role) {
  TokenRecord t;
  t.id = std::move(id);
  t.name = std::move(name);
  t.role = std::move(role);
  t.secret_sha256 = std::string(64, 'a');
  t.created_at = TimePoint{nanoseconds{1'700'000'000'000'000'007}};
  return t;
}

AuditEntry entry(std::int64_t time_s, std::string action, int result) {
  return {0, at(time_s), "admin", std::move(action), "w-1", result, "127.0.0.1"};
}

TEST(SqliteAccessTest, TokensRoundTripEveryFieldAndSurviveReopen) {
  TempDir dir;
  const std::string path = dir.file("zoneplane.db");
  TokenRecord full = token("0123456789ab", "admin", "admin");
  full.expires_at = TimePoint{nanoseconds{1'800'000'000'000'000'001}};
  full.last_used_at = TimePoint{nanoseconds{1'750'000'000'000'000'002}};
  TokenRecord join = token("ba9876543210", "", "join");  // unnamed
  join.used = true;
  TokenRecord join2 = token("cccccccccccc", "", "join");  // NULL names do not collide
  join2.created_at += seconds(1);
  {
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->apply({PutToken{full}, PutToken{join}, PutToken{join2}}));
  }
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  auto tokens = store->loadTokens();
  ASSERT_TRUE(tokens) << tokens.error().toString();
  // created_at then id: full and join share created_at.
  EXPECT_EQ(*tokens, (std::vector<TokenRecord>{full, join, join2}));
}

TEST(SqliteAccessTest, ANameTakenByAnotherTokenFailsTheWholeBatch) {
  TempDir dir;
  auto store = openOrDie(dir.file("db"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->apply({PutToken{token("aaaaaaaaaaaa", "ci", "viewer")}}));
  auto clash = store->apply(
      {AppendAudit{entry(1, "POST /tokens", 201)}, PutToken{token("bbbbbbbbbbbb", "ci", "admin")}});
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, Code::kAlreadyExists);
  auto audit = store->loadAudit(at(0), 100);
  ASSERT_TRUE(audit);
  EXPECT_TRUE(audit->empty());  // rolled back with it
  // The same id may change its own name and role.
  TokenRecord renamed = token("aaaaaaaaaaaa", "ci", "operator");
  ASSERT_TRUE(store->apply({PutToken{renamed}}));
  EXPECT_EQ(*store->loadTokens(), std::vector<TokenRecord>{renamed});
}

TEST(SqliteAccessTest, TouchUpdatesUseAndNeverBringsARevokedTokenBack) {
  TempDir dir;
  auto store = openOrDie(dir.file("db"));
  ASSERT_TRUE(store);
  TokenRecord t = token("aaaaaaaaaaaa", "", "join");
  ASSERT_TRUE(store->apply({PutToken{t}}));
  ASSERT_TRUE(store->apply({TouchToken{t.id, at(100), true}}));
  ASSERT_TRUE(store->apply({TouchToken{t.id, at(200), false}}));  // used stays true
  auto tokens = store->loadTokens();
  ASSERT_TRUE(tokens);
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].last_used_at, at(200));
  EXPECT_TRUE((*tokens)[0].used);

  ASSERT_TRUE(store->apply({DeleteToken{t.id}, TouchToken{t.id, at(300), true}}));
  EXPECT_TRUE(store->loadTokens()->empty());
  EXPECT_TRUE(store->apply({DeleteToken{"absent"}}));
}

TEST(SqliteAccessTest, BadTokensAreRefusedBeforeTheTransaction) {
  TempDir dir;
  auto store = openOrDie(dir.file("db"));
  ASSERT_TRUE(store);
  TokenRecord no_id = token("", "x", "admin");
  TokenRecord no_role = token("aaaaaaaaaaaa", "x", "");
  TokenRecord bad_hash = token("aaaaaaaaaaaa", "x", "admin");
  bad_hash.secret_sha256 = "not-a-hash";
  for (const auto& bad : {no_id, no_role, bad_hash}) {
    auto s = store->apply({AppendAudit{entry(1, "POST /tokens", 201)}, PutToken{bad}});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Code::kInvalidArgument) << s.error().toString();
  }
  EXPECT_TRUE(store->loadAudit(at(0), 10)->empty());
}

// The retention: entries before the time given go, the rest (that time
// included) stay with their sequence numbers, and new ones continue them.
TEST(SqliteAccessTest, AuditEntriesBeforeATimeAreDeleted) {
  TempDir dir;
  auto store = openOrDie(dir.file("db"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->apply({AppendAudit{entry(10, "POST /workloads", 201)},
                            AppendAudit{entry(20, "POST /nodes", 201)},
                            AppendAudit{entry(30, "POST /tokens", 201)}}));
  ASSERT_TRUE(store->apply({DeleteAuditBefore{at(20)}}));
  ASSERT_TRUE(store->apply({AppendAudit{entry(40, "DELETE /nodes/{id}", 200)}}));
  auto left = store->loadAudit(at(0), 100);
  ASSERT_TRUE(left) << left.error().toString();
  std::vector<std::int64_t> seqs;
  for (const auto& e : *left) seqs.push_back(e.seq);
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{2, 3, 4}));
  ASSERT_TRUE(store->apply({DeleteAuditBefore{at(1000)}}));
  EXPECT_TRUE(store->loadAudit(at(0), 100)->empty());
}

TEST(SqliteAccessTest, TheAuditLogIsReadOldestFirstFromSinceUpToLimit) {
  TempDir dir;
  auto store = openOrDie(dir.file("db"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->apply({AppendAudit{entry(10, "POST /workloads", 201)},
                            AppendAudit{entry(20, "DELETE /workloads/{id}", 404)}}));
  ASSERT_TRUE(store->apply({AppendAudit{entry(30, "POST /nodes", 401)}}));
  // A wall clock that stepped back: seq still says which came first.
  ASSERT_TRUE(store->apply({AppendAudit{entry(25, "POST /tokens", 403)}}));

  auto all = store->loadAudit(at(0), 100);
  ASSERT_TRUE(all) << all.error().toString();
  ASSERT_EQ(all->size(), 4u);
  std::vector<std::int64_t> seqs;
  for (const auto& e : *all) seqs.push_back(e.seq);
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 2, 3, 4}));
  AuditEntry first = entry(10, "POST /workloads", 201);
  first.seq = 1;
  EXPECT_EQ((*all)[0], first);

  auto since = store->loadAudit(at(20), 100);
  ASSERT_TRUE(since);
  std::vector<std::string> actions;
  for (const auto& e : *since) actions.push_back(e.action);
  EXPECT_EQ(actions,
            (std::vector<std::string>{"DELETE /workloads/{id}", "POST /nodes", "POST /tokens"}));
  auto limited = store->loadAudit(at(0), 2);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 2u);
  EXPECT_EQ(limited->back().seq, 2);
  EXPECT_TRUE(store->loadAudit(at(31), 100)->empty());
  EXPECT_TRUE(store->loadAudit(at(0), 0)->empty());
}

TEST(SqliteAccessTest, AVersion2DatabaseGetsTheNewTablesAndKeepsItsRows) {
  TempDir dir;
  const std::string path = dir.file("v2.db");
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db) << db.error().toString();
    ASSERT_TRUE(db->exec(R"sql(
        CREATE TABLE workloads (id TEXT PRIMARY KEY NOT NULL, created_at INTEGER,
          updated_at INTEGER NOT NULL, spec TEXT NOT NULL, status TEXT NOT NULL);
        CREATE INDEX workloads_by_created ON workloads (created_at, id);
        CREATE TABLE nodes (id TEXT PRIMARY KEY NOT NULL, address TEXT NOT NULL,
          cordoned INTEGER NOT NULL, added_at INTEGER NOT NULL);
        INSERT INTO nodes VALUES ('node-1', '127.0.0.1:7070', 1, 5);
        PRAGMA user_version = 2;
      )sql"));
  }
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  auto nodes = store->loadNodes();
  ASSERT_TRUE(nodes);
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_TRUE((*nodes)[0].cordoned);
  EXPECT_TRUE(store->loadTokens()->empty());
  ASSERT_TRUE(store->apply({PutToken{token("aaaaaaaaaaaa", "admin", "admin")},
                            AppendAudit{entry(1, "POST /tokens", 201)}}));
  EXPECT_EQ(store->loadTokens()->size(), 1u);
  EXPECT_EQ(store->loadAudit(at(0), 10)->size(), 1u);
  store.reset();
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db);
  EXPECT_EQ(*db->queryInt("PRAGMA user_version"), 4);
}

TEST(SqliteAccessTest, CorruptTokenRowsAreErrorValues) {
  TempDir dir;
  const std::string path = dir.file("db");
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(
        db->exec("INSERT INTO tokens (id, name, role, secret_sha256, created_at) "
                 "VALUES ('bad', 'x', 'admin', 'h', 'yesterday')"));
  }
  auto tokens = store->loadTokens();
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code, Code::kInternal);
  EXPECT_NE(tokens.error().message.find("\"bad\""), std::string::npos) << tokens.error().message;
}

}  // namespace
}  // namespace zp::store
