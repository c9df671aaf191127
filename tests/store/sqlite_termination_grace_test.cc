// SqliteStore: the grace period of a pending deletion (WorkloadRecord::
// termination_grace, schema version 4) is durable, survives a reopen, and a
// version 3 database gets the column with its rows kept.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "open_store.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace zp::store {
namespace {

using namespace std::chrono_literals;
using testing::openOrDie;
using testing::TempDir;

WorkloadRecord record(const std::string& id, std::optional<std::chrono::seconds> grace) {
  WorkloadRecord r;
  r.spec.id = id;
  r.spec.image = "busybox:1.36";
  r.spec.runtime_class = "native";
  r.spec.memory_mb = 64;
  r.status.id = id;
  r.status.node = "node-1";
  r.status.state = api::WorkloadState::kRunning;
  if (grace) r.status.reason = "Terminating";
  r.status.created_at = TimePoint{std::chrono::milliseconds{1'700'000'000'000}};
  r.updated_at = TimePoint{std::chrono::milliseconds{1'700'000'000'001}};
  r.termination_grace = grace;
  return r;
}

TEST(SqliteTerminationGraceTest, TheGracePeriodSurvivesAReopenAndAPutWithoutOneClearsIt) {
  TempDir dir;
  const std::string path = dir.file("zoneplane.db");
  const std::vector<WorkloadRecord> expected = {record("a", 45s), record("b", 0s),
                                                record("c", std::nullopt)};
  {
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->apply({PutWorkload{expected[0]}, PutWorkload{expected[1]},
                              PutWorkload{expected[2]}}));
  }
  {
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    auto all = store->loadWorkloads();
    ASSERT_TRUE(all) << all.error().toString();
    EXPECT_EQ(*all, expected);
    ASSERT_TRUE(store->apply({PutWorkload{record("a", std::nullopt)}}));
  }
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  auto all = store->loadWorkloads();
  ASSERT_TRUE(all) << all.error().toString();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].termination_grace, std::nullopt);
}

TEST(SqliteTerminationGraceTest, ANegativeGracePeriodIsRefusedAndACorruptOneIsAnErrorValue) {
  TempDir dir;
  const std::string path = dir.file("zoneplane.db");
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  auto refused = store->apply({PutWorkload{record("a", -1s)}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kInvalidArgument);
  EXPECT_EQ(refused.error().field, "termination_grace");

  ASSERT_TRUE(store->apply({PutWorkload{record("a", 5s)}}));
  for (const char* bad : {"-3", "'soon'"}) {
    {
      auto db = sql::Database::open(path);
      ASSERT_TRUE(db) << db.error().toString();
      ASSERT_TRUE(
          db->exec(std::string("UPDATE workloads SET termination_grace = ") + bad));
    }
    auto loaded = store->loadWorkloads();
    ASSERT_FALSE(loaded) << bad;
    EXPECT_EQ(loaded.error().code, Code::kInternal) << bad;
    EXPECT_NE(loaded.error().message.find("termination_grace"), std::string::npos)
        << loaded.error().message;
  }
}

TEST(SqliteTerminationGraceTest, AVersion3DatabaseGetsTheColumnAndKeepsItsRows) {
  TempDir dir;
  const std::string path = dir.file("v3.db");
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db) << db.error().toString();
    ASSERT_TRUE(db->exec(R"sql(
        CREATE TABLE workloads (id TEXT PRIMARY KEY NOT NULL, created_at INTEGER,
          updated_at INTEGER NOT NULL, spec TEXT NOT NULL, status TEXT NOT NULL);
        CREATE INDEX workloads_by_created ON workloads (created_at, id);
        CREATE TABLE nodes (id TEXT PRIMARY KEY NOT NULL, address TEXT NOT NULL,
          cordoned INTEGER NOT NULL, added_at INTEGER NOT NULL);
        CREATE TABLE tokens (id TEXT PRIMARY KEY NOT NULL, name TEXT UNIQUE,
          role TEXT NOT NULL, secret_sha256 TEXT NOT NULL, created_at INTEGER NOT NULL,
          expires_at INTEGER, last_used_at INTEGER, used INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,
          principal TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
          result INTEGER NOT NULL, source TEXT NOT NULL);
        CREATE INDEX audit_by_time ON audit (time, seq);
        INSERT INTO workloads VALUES ('old', 5, 6,
          '{"id":"old","image":"busybox:1.36","runtime_class":"native"}',
          '{"id":"old","state":"Running","reason":"Terminating","node":"node-1"}');
        PRAGMA user_version = 3;
      )sql"));
  }
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  auto all = store->loadWorkloads();
  ASSERT_TRUE(all) << all.error().toString();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].status.reason, "Terminating");
  EXPECT_EQ((*all)[0].termination_grace, std::nullopt);  // marked before: the default
  ASSERT_TRUE(store->apply({PutWorkload{record("new", 30s)}}));
  EXPECT_EQ(store->loadWorkloads()->back().termination_grace, 30s);
  store.reset();
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db);
  EXPECT_EQ(*db->queryInt("PRAGMA user_version"), 4);
}

}  // namespace
}  // namespace zp::store
