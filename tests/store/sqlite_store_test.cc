#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "open_store.h"
#include "store/sqlite.h"
#include "temp_dir.h"

namespace zp::store {
namespace {

using api::WorkloadState;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using testing::openOrDie;
using testing::TempDir;

WorkloadRecord makeRecord(std::string id, std::string node, WorkloadState state,
                          std::int64_t created_ms) {
  WorkloadRecord r;
  r.spec.id = id;
  r.spec.image = "busybox:1.36";
  r.spec.runtime_class = "native";
  r.spec.memory_mb = 64;
  r.spec.cpu_millicores = 100;
  r.status.id = id;
  r.status.state = state;
  r.status.node = node;
  r.status.created_at = TimePoint{milliseconds{created_ms}};
  r.updated_at = TimePoint{milliseconds{created_ms}};
  return r;
}

// Every field set; the times that are exact in the store with nanoseconds.
WorkloadRecord fullRecord() {
  WorkloadRecord r;
  r.spec = {.id = "wl-full",
            .image = "ghcr.io/example/secure-app:1.0",
            .runtime_class = "edera-zone",
            .memory_mb = 512,
            .cpu_millicores = 500,
            .command = {"sh", "-c"},
            .args = {"echo hi; exit 3"},
            .env = {{"A", "1"}, {"B", "two words"}},
            .trust = api::TrustLevel::kMultiTenant,
            .security = {.profile = api::Profile::kBaseline,
                         .capabilities_add = {"NET_BIND_SERVICE"},
                         .read_only_root_fs = true,
                         .run_as_user = 1000,
                         .run_as_group = 1000,
                         .pids_limit = 200},
            .restart_policy = api::RestartPolicy::kOnFailure};
  r.status = {.id = "wl-full",
              .uid = "4f1c2a9e-77b0-4c1e-9a53-0d2b8e6f1a10",
              .state = WorkloadState::kFailed,
              .reason = "Error",
              .message = "exited with 3",
              .exit_code = 3,
              .node = "node-1",
              .created_at = TimePoint{nanoseconds{1'700'000'000'123'456'789}},
              .started_at = TimePoint{milliseconds{1'700'000'000'500}},
              .finished_at = TimePoint{milliseconds{1'700'000'001'000}},
              .sandbox_id = "sb-abc",
              .container_id = "ct-def",
              .runtime_handler = "edera",
              .log_path = "/var/lib/zoneplane/logs/wl-full/0.log",
              .profile = "baseline",
              .run_as_user = 1000,
              .run_as_group = 1000,
              .restart_count = 7};
  r.updated_at = TimePoint{nanoseconds{1'700'000'002'000'000'001}};
  return r;
}

NodeRecord makeNode(std::string id, std::string address, bool cordoned = false) {
  return {std::move(id), std::move(address), cordoned,
          TimePoint{nanoseconds{1'700'000'000'000'000'042}}};
}

// The error code of a failed Result/Status; nullopt when it succeeded.
template <typename R>
std::optional<Code> errorCode(const R& result) {
  return result ? std::nullopt : std::optional<Code>(result.error().code);
}

std::vector<std::string> ids(const Result<std::vector<WorkloadRecord>>& records) {
  if (!records) return {"error: " + records.error().toString()};
  std::vector<std::string> out;
  for (const auto& r : *records) out.push_back(r.spec.id);
  return out;
}

std::vector<std::string> nodeIds(const Result<std::vector<NodeRecord>>& nodes) {
  if (!nodes) return {"error: " + nodes.error().toString()};
  std::vector<std::string> out;
  for (const auto& n : *nodes) out.push_back(n.id);
  return out;
}

mode_t modeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 01000;  // never a real mode: fails the comparison
  return st.st_mode & 07777;
}

using Ids = std::vector<std::string>;

TEST(SqliteStoreTest, RoundTripsEveryField) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  const WorkloadRecord full = fullRecord();
  // Unset optionals stay unset (created_at included).
  WorkloadRecord bare = makeRecord("wl-bare", "", WorkloadState::kPending, 5);
  bare.status.created_at.reset();
  const NodeRecord node = makeNode("node-1", "10.0.0.1:7070", true);
  ASSERT_TRUE(store->apply({PutWorkload{full}, PutWorkload{bare}, PutNode{node}}));

  auto workloads = store->loadWorkloads();
  ASSERT_TRUE(workloads) << workloads.error().toString();
  ASSERT_EQ(workloads->size(), 2u);
  EXPECT_EQ((*workloads)[0], bare);  // no creation time sorts first
  EXPECT_EQ((*workloads)[1], full);
  EXPECT_EQ((*workloads)[1].status.uid, full.status.uid);
  EXPECT_EQ((*workloads)[1].status.restart_count, 7);
  EXPECT_EQ((*workloads)[1].spec.restart_policy, api::RestartPolicy::kOnFailure);

  auto nodes = store->loadNodes();
  ASSERT_TRUE(nodes) << nodes.error().toString();
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0], node);
}

TEST(SqliteStoreTest, PutReplacesAndDeleteRemoves) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  auto a = makeRecord("wl-a", "node-1", WorkloadState::kPending, 10);
  ASSERT_TRUE(store->apply(
      {PutWorkload{a}, PutWorkload{makeRecord("wl-b", "", WorkloadState::kPending, 20)},
       PutNode{makeNode("node-1", "h:1")}, PutNode{makeNode("node-2", "h:2")}}));

  a.status.state = WorkloadState::kRunning;
  a.status.uid = "uid-2";
  a.status.node = "node-2";
  a.updated_at = TimePoint{milliseconds{99}};
  ASSERT_TRUE(store->apply({PutWorkload{a}, DeleteWorkload{"wl-b"}, DeleteWorkload{"wl-absent"},
                            PutNode{makeNode("node-1", "h:11", true)}, DeleteNode{"node-2"},
                            DeleteNode{"node-absent"}}));

  auto workloads = store->loadWorkloads();
  ASSERT_TRUE(workloads) << workloads.error().toString();
  ASSERT_EQ(workloads->size(), 1u);
  EXPECT_EQ((*workloads)[0], a);
  auto nodes = store->loadNodes();
  ASSERT_TRUE(nodes) << nodes.error().toString();
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0], makeNode("node-1", "h:11", true));

  // A batch applies in order: a put then a delete of the same id leaves nothing.
  ASSERT_TRUE(store->apply(
      {PutWorkload{makeRecord("wl-c", "", WorkloadState::kPending, 1)}, DeleteWorkload{"wl-c"}}));
  EXPECT_EQ(ids(store->loadWorkloads()), Ids{"wl-a"});
  EXPECT_TRUE(store->apply({}));  // an empty batch is a no-op
}

TEST(SqliteStoreTest, LoadOrdersByCreatedAtThenId) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  // Written out of order; "b" and "a" share a creation time.
  ASSERT_TRUE(store->apply({PutWorkload{makeRecord("c", "n", WorkloadState::kRunning, 30)},
                            PutWorkload{makeRecord("b", "n", WorkloadState::kRunning, 20)},
                            PutWorkload{makeRecord("a", "n", WorkloadState::kPending, 20)},
                            PutWorkload{makeRecord("d", "", WorkloadState::kFailed, 10)},
                            PutWorkload{makeRecord("e", "n", WorkloadState::kRunning, 40)},
                            PutNode{makeNode("node-b", "h:2")}, PutNode{makeNode("node-a", "h:1")},
                            PutNode{makeNode("node-c", "h:3")}}));
  EXPECT_EQ(ids(store->loadWorkloads()), (Ids{"d", "a", "b", "c", "e"}));
  EXPECT_EQ(nodeIds(store->loadNodes()), (Ids{"node-a", "node-b", "node-c"}));
}

TEST(SqliteStoreTest, LoadsManyRecordsInOneOrderedPass) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  constexpr int kRecords = 5'000;
  std::vector<Write> batch;
  batch.reserve(kRecords);
  for (int i = kRecords - 1; i >= 0; --i) {  // newest first
    char id[16];
    std::snprintf(id, sizeof id, "wl-%06d", i);
    batch.push_back(PutWorkload{makeRecord(id, "node-1", WorkloadState::kRunning, 1'000 + i / 2)});
  }
  ASSERT_TRUE(store->apply(batch));
  auto all = store->loadWorkloads();
  ASSERT_TRUE(all) << all.error().toString();
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "wl-%06d", i);
    ASSERT_EQ((*all)[i].spec.id, id) << i;
  }
}

TEST(SqliteStoreTest, AFailingWriteMidBatchRollsBackTheWholeBatch) {
  TempDir dir;
  const std::string path = dir.file("atomic.db");
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->apply({PutWorkload{makeRecord("wl-kept", "n", WorkloadState::kPending, 1)},
                            PutNode{makeNode("node-1", "h:1")}}));
  // Another connection makes the database refuse one id, so the batch fails
  // at its third write, after two writes were executed inside the transaction.
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db) << db.error().toString();
    ASSERT_TRUE(
        db->exec("CREATE TRIGGER refuse BEFORE INSERT ON workloads "
                 "WHEN NEW.id = 'wl-refused' BEGIN SELECT RAISE(ABORT, 'refused'); END;"));
  }
  auto kept = makeRecord("wl-kept", "n", WorkloadState::kRunning, 1);
  auto failed = store->apply(
      {PutWorkload{makeRecord("wl-new", "n", WorkloadState::kPending, 2)}, PutWorkload{kept},
       PutWorkload{makeRecord("wl-refused", "n", WorkloadState::kPending, 3)},
       DeleteNode{"node-1"}});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Code::kInternal);
  EXPECT_NE(failed.error().message.find("write 3 of 4"), std::string::npos)
      << failed.error().message;
  EXPECT_NE(failed.error().message.find("refused"), std::string::npos) << failed.error().message;

  auto workloads = store->loadWorkloads();
  ASSERT_TRUE(workloads) << workloads.error().toString();
  ASSERT_EQ(ids(workloads), Ids{"wl-kept"});
  EXPECT_EQ((*workloads)[0].status.state, WorkloadState::kPending);
  EXPECT_EQ(nodeIds(store->loadNodes()), Ids{"node-1"});

  // The store stays usable, and a reopened one sees the same.
  ASSERT_TRUE(store->apply({PutWorkload{kept}}));
  store.reset();
  auto reopened = openOrDie(path);
  ASSERT_TRUE(reopened);
  auto again = reopened->loadWorkloads();
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_EQ(*again, std::vector<WorkloadRecord>{kept});
}

TEST(SqliteStoreTest, AnInvalidWriteRefusesTheBatchBeforeItStarts) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  const auto good = makeRecord("wl-good", "n", WorkloadState::kPending, 1);

  auto bad_utf8 = makeRecord("wl-bad", "n", WorkloadState::kPending, 2);
  bad_utf8.spec.image = "bad\xFF\xFE";
  auto s = store->apply({PutWorkload{good}, PutWorkload{bad_utf8}});
  ASSERT_EQ(errorCode(s), Code::kInvalidArgument);
  EXPECT_EQ(s.error().field, "spec");
  EXPECT_NE(s.error().message.find("\"wl-bad\""), std::string::npos) << s.error().message;

  auto mismatched = makeRecord("wl-1", "n", WorkloadState::kPending, 1);
  mismatched.status.id = "wl-2";
  EXPECT_EQ(errorCode(store->apply({PutWorkload{good}, PutWorkload{mismatched}})),
            Code::kInvalidArgument);
  EXPECT_EQ(errorCode(store->apply(
                {PutWorkload{good}, PutWorkload{makeRecord("", "n", WorkloadState::kPending, 1)}})),
            Code::kInvalidArgument);
  EXPECT_EQ(errorCode(store->apply({PutWorkload{good}, PutNode{makeNode("", "h:1")}})),
            Code::kInvalidArgument);

  EXPECT_EQ(ids(store->loadWorkloads()), Ids{});
  EXPECT_EQ(nodeIds(store->loadNodes()), Ids{});
}

TEST(SqliteStoreTest, AFullDiskIsStorageFullAndLeavesNothing) {
  TempDir dir;
  const std::string path = dir.file("small.db");
  auto store = openOrDie(path, SqliteStore::Options{.max_database_bytes = 64 * 1024});
  ASSERT_TRUE(store);
  const auto small = makeRecord("wl-small", "n", WorkloadState::kPending, 1);
  ASSERT_TRUE(store->apply({PutWorkload{small}}));

  std::vector<Write> big;
  for (int i = 0; i < 20; ++i) {
    auto r = makeRecord("wl-big-" + std::to_string(i), "n", WorkloadState::kPending, 10 + i);
    r.spec.env = {{"PAYLOAD", std::string(8 * 1024, 'x')}};
    big.push_back(PutWorkload{r});
  }
  big.push_back(DeleteWorkload{"wl-small"});
  auto s = store->apply(big);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Code::kStorageFull);
  EXPECT_NE(s.error().message.find("database disk is full"), std::string::npos)
      << s.error().message;

  EXPECT_EQ(ids(store->loadWorkloads()), Ids{"wl-small"});
  // Writes that fit still succeed afterwards.
  ASSERT_TRUE(store->apply({PutWorkload{makeRecord("wl-next", "n", WorkloadState::kPending, 2)}}));
  EXPECT_EQ(ids(store->loadWorkloads()), (Ids{"wl-small", "wl-next"}));
  EXPECT_EQ(errorCode(SqliteStore::open(path, SqliteStore::Options{.max_database_bytes = 0})),
            Code::kInvalidArgument);
}

TEST(SqliteStoreTest, RecordsSurviveReopenInPrivateFiles) {
  TempDir dir;
  const std::string path = dir.file("zoneplane.db");
  std::vector<WorkloadRecord> expected;
  {
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    const WorkloadRecord full = fullRecord();
    auto a = makeRecord("wl-a", "node-1", WorkloadState::kPending, 2'000'000'000'000);
    ASSERT_TRUE(store->apply({PutWorkload{full}, PutWorkload{a},
                              PutWorkload{makeRecord("wl-gone", "n", WorkloadState::kPending, 3)},
                              PutNode{makeNode("node-1", "127.0.0.1:7070")},
                              PutNode{makeNode("node-gone", "127.0.0.1:7071")}}));
    a.status.state = WorkloadState::kRunning;
    a.updated_at = TimePoint{nanoseconds{2'000'000'000'000'000'001}};
    ASSERT_TRUE(store->apply({PutWorkload{a}, DeleteWorkload{"wl-gone"}, DeleteNode{"node-gone"}}));
    expected = {full, a};
    for (const char* suffix : {"", "-wal", "-shm"}) {
      EXPECT_EQ(modeOf(path + suffix), 0600u) << suffix;
    }
  }  // closed: the server stops; reopening (twice: no migration the 2nd time) restores all
  for (int round = 0; round < 2; ++round) {
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    auto all = store->loadWorkloads();
    ASSERT_TRUE(all) << all.error().toString();
    EXPECT_EQ(*all, expected);
    auto nodes = store->loadNodes();
    ASSERT_TRUE(nodes) << nodes.error().toString();
    EXPECT_EQ(*nodes, std::vector<NodeRecord>{makeNode("node-1", "127.0.0.1:7070")});
  }
  EXPECT_EQ(modeOf(path), 0600u);
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db) << db.error().toString();
  EXPECT_EQ(*db->queryInt("PRAGMA user_version"), SqliteStore::schemaVersion());
  EXPECT_EQ(db->queryText("PRAGMA journal_mode").value_or("error"), "wal");
}

// The version 1 schema and two of its rows, written as a server of that
// version did (no uid, no restart policy, the placement in its own column).
void writeVersion1Database(const std::string& path, bool with_corrupt_row) {
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db) << db.error().toString();
  ASSERT_TRUE(db->exec(R"sql(
      CREATE TABLE workloads (
        id            TEXT PRIMARY KEY NOT NULL,
        node          TEXT NOT NULL,
        state         TEXT NOT NULL,
        runtime_class TEXT NOT NULL,
        spec_json     TEXT NOT NULL,
        status_json   TEXT NOT NULL,
        created_at_ns INTEGER NOT NULL,
        updated_at_ns INTEGER NOT NULL
      );
      CREATE INDEX workloads_by_created ON workloads (created_at_ns, id);
      CREATE INDEX workloads_by_node ON workloads (node, created_at_ns, id);
      CREATE INDEX workloads_by_state ON workloads (state, created_at_ns, id);
      CREATE INDEX workloads_by_runtime_class ON workloads (runtime_class, created_at_ns, id);
      INSERT INTO workloads VALUES ('wl-old', 'node-1', 'Running', 'native',
        '{"id":"wl-old","image":"busybox:1.36","runtime_class":"native","memory_mb":64,"cpu_millicores":100,"env":{"K":"v"},"security":{"profile":"restricted","read_only_root_fs":false,"pids_limit":1024}}',
        '{"id":"wl-old","state":"Running","reason":"Started","node":"node-1","started_at":"2023-11-14T22:13:21.000Z","sandbox_id":"sb-1"}',
        1700000000123456789, 1700000001000000000);
      INSERT INTO workloads VALUES ('wl-unplaced', '', 'Pending', 'edera-zone',
        '{"id":"wl-unplaced","image":"busybox:1.36","runtime_class":"edera-zone","memory_mb":128,"cpu_millicores":250,"security":{"profile":"restricted","read_only_root_fs":false,"pids_limit":1024}}',
        '{"id":"","state":"Pending","reason":"Unschedulable"}',
        1600000000000000000, 1600000000000000000);
      PRAGMA user_version = 1;
    )sql"));
  if (with_corrupt_row) {
    ASSERT_TRUE(
        db->exec("INSERT INTO workloads VALUES ('wl-broken', '', 'Pending', 'native', "
                 "'{not json', '{\"id\":\"wl-broken\",\"state\":\"Pending\"}', 1, 1)"));
  }
}

TEST(SqliteStoreTest, MigratesAVersion1Database) {
  TempDir dir;
  const std::string path = dir.file("old.db");
  writeVersion1Database(path, false);
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  auto all = store->loadWorkloads();
  ASSERT_TRUE(all) << all.error().toString();
  ASSERT_EQ(ids(all), (Ids{"wl-unplaced", "wl-old"}));

  const WorkloadRecord& unplaced = (*all)[0];
  EXPECT_EQ(unplaced.status.id, "wl-unplaced");  // status.id = spec.id
  EXPECT_EQ(unplaced.status.node, "");
  EXPECT_EQ(unplaced.status.state, WorkloadState::kPending);
  EXPECT_EQ(unplaced.status.reason, "Unschedulable");
  EXPECT_EQ(unplaced.spec.runtime_class, "edera-zone");

  const WorkloadRecord& old = (*all)[1];
  EXPECT_EQ(old.spec.image, "busybox:1.36");
  EXPECT_EQ(old.spec.env, (std::map<std::string, std::string>{{"K", "v"}}));
  EXPECT_EQ(old.spec.restart_policy, api::RestartPolicy::kNever);
  EXPECT_EQ(old.status.id, "wl-old");
  EXPECT_EQ(old.status.node, "node-1");  // from the node column
  EXPECT_EQ(old.status.created_at, TimePoint{nanoseconds{1'700'000'000'123'456'789}});
  EXPECT_EQ(old.status.started_at, TimePoint{milliseconds{1'700'000'001'000}});
  EXPECT_EQ(old.status.state, WorkloadState::kRunning);
  EXPECT_EQ(old.status.sandbox_id, "sb-1");
  EXPECT_EQ(old.status.uid, "");
  EXPECT_EQ(old.status.restart_count, 0);
  EXPECT_EQ(old.updated_at, TimePoint{nanoseconds{1'700'000'001'000'000'000}});
  EXPECT_EQ(nodeIds(store->loadNodes()), Ids{});

  // The migrated database is an ordinary current one.
  ASSERT_TRUE(store->apply({PutNode{makeNode("node-1", "h:1")}, DeleteWorkload{"wl-unplaced"}}));
  store.reset();
  auto reopened = openOrDie(path);
  ASSERT_TRUE(reopened);
  auto again = reopened->loadWorkloads();
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_EQ(*again, std::vector<WorkloadRecord>{old});
  EXPECT_EQ(nodeIds(reopened->loadNodes()), Ids{"node-1"});
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db);
  EXPECT_EQ(*db->queryInt("PRAGMA user_version"), SqliteStore::schemaVersion());
  EXPECT_EQ(*db->queryInt("SELECT count(*) FROM sqlite_master WHERE name = 'workloads_v1'"), 0);
}

TEST(SqliteStoreTest, AnUnreadableVersion1RowFailsTheMigrationAndChangesNothing) {
  TempDir dir;
  const std::string path = dir.file("old-broken.db");
  writeVersion1Database(path, true);
  auto store = SqliteStore::open(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, Code::kInternal);
  EXPECT_NE(store.error().message.find("\"wl-broken\""), std::string::npos)
      << store.error().message;
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db);
  EXPECT_EQ(*db->queryInt("PRAGMA user_version"), 1);
  EXPECT_EQ(*db->queryInt("SELECT count(*) FROM workloads WHERE spec_json != ''"), 3);
}

TEST(SqliteStoreTest, ConcurrentWritersSeeNoErrors) {
  TempDir dir;
  const std::string path = dir.file("concurrent.db");
  // Two stores on one file: threads serialize on a mutex within a store and
  // on SQLite's lock (busy_timeout) across them.
  auto first = openOrDie(path);
  auto second = openOrDie(path);
  ASSERT_TRUE(first && second);
  constexpr int kThreads = 6, kPerThread = 30;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SqliteStore& store = t % 2 == 0 ? *first : *second;
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "wl-" + std::to_string(t) + "-" + std::to_string(i);
        auto r = makeRecord(id, "node-" + std::to_string(t), WorkloadState::kPending, i);
        if (!store.apply({PutWorkload{r}})) ++errors;
        r.status.state = WorkloadState::kRunning;
        if (!store.apply({PutWorkload{r}, PutNode{makeNode("node-" + std::to_string(t), "h:1")}})) {
          ++errors;
        }
        if (!store.loadNodes()) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  auto all = first->loadWorkloads();
  ASSERT_TRUE(all) << all.error().toString();
  ASSERT_EQ(all->size(), static_cast<size_t>(kThreads * kPerThread));
  for (const auto& r : *all) EXPECT_EQ(r.status.state, WorkloadState::kRunning) << r.spec.id;
  EXPECT_EQ(second->loadNodes()->size(), static_cast<size_t>(kThreads));
}

TEST(SqliteStoreTest, ConcurrentFirstOpensMigrateOnce) {
  TempDir dir;
  const std::string path = dir.file("fresh.db");
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto store = SqliteStore::open(path);
      if (!store || !(*store)->loadWorkloads()) ++errors;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
}

TEST(SqliteStoreTest, HostileStringsAreStoredLiterally) {
  TempDir dir;
  auto store = openOrDie(dir.file("hostile.db"));
  ASSERT_TRUE(store);
  const std::vector<std::string> hostile = {
      "'; DROP TABLE workloads; --",
      "a\"b'c`d",
      "x') OR ('1'='1",
      "%_*?[]\\",
      "\xE6\x97\xA5\xE6\x9C\xAC-\xC3\xBC-\xF0\x9F\x9A\x80",  // 日本-ü-🚀
      std::string("nul\0inside", 10),
      std::string("nul\0", 4),
      "nul",
      "line\nbreak\ttab",
  };
  std::vector<WorkloadRecord> expected;
  std::vector<NodeRecord> nodes;
  for (size_t i = 0; i < hostile.size(); ++i) {
    const std::string& h = hostile[i];
    auto r = makeRecord(h, h, WorkloadState::kUnknown, static_cast<std::int64_t>(i));
    r.spec.image = h;
    r.spec.runtime_class = h;
    r.spec.env = {{h, h}};
    r.spec.command = {h};
    r.status.message = h;
    r.status.reason = h;
    r.status.uid = h;
    ASSERT_TRUE(store->apply({PutWorkload{r}, PutNode{makeNode(h, h)}})) << i;
    expected.push_back(r);
    nodes.push_back(makeNode(h, h));
  }
  ASSERT_TRUE(store->apply({DeleteWorkload{std::string("nul\0", 4)}, DeleteNode{"nul"}}));
  expected.erase(expected.begin() + 6);
  auto all = store->loadWorkloads();
  ASSERT_TRUE(all) << all.error().toString();
  EXPECT_EQ(*all, expected);  // nothing dropped, nothing matched too widely
  auto got_nodes = store->loadNodes();
  ASSERT_TRUE(got_nodes) << got_nodes.error().toString();
  EXPECT_EQ(got_nodes->size(), hostile.size() - 1);
}

TEST(SqliteStoreTest, CorruptRowsAreErrorValues) {
  TempDir dir;
  const std::string path = dir.file("corrupt.db");
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->apply({PutWorkload{makeRecord("good", "n", WorkloadState::kPending, 1)}}));
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db) << db.error().toString();
  const std::vector<std::pair<std::string, std::string>> corruptions = {
      {"bad-spec", "UPDATE workloads SET spec = '{not json' WHERE id = 'bad-spec'"},
      {"bad-shape", "UPDATE workloads SET spec = '[1,2]' WHERE id = 'bad-shape'"},
      {"bad-status",
       "UPDATE workloads SET status = '{\"id\":\"bad-status\",\"state\":\"Exploded\"}' "
       "WHERE id = 'bad-status'"},
      {"other-id", "UPDATE workloads SET spec = '{\"id\":\"good\"}' WHERE id = 'other-id'"},
      {"bad-time", "UPDATE workloads SET created_at = 'yesterday' WHERE id = 'bad-time'"},
  };
  for (const auto& [id, sql] : corruptions) {
    ASSERT_TRUE(store->apply({PutWorkload{makeRecord(id, "n", WorkloadState::kPending, 2)}}));
    ASSERT_TRUE(db->exec(sql));
    auto loaded = store->loadWorkloads();
    ASSERT_FALSE(loaded) << id;
    EXPECT_EQ(loaded.error().code, Code::kInternal);
    EXPECT_NE(loaded.error().message.find("\"" + id + "\""), std::string::npos)
        << loaded.error().message;
    ASSERT_TRUE(store->apply({DeleteWorkload{id}}));  // corrupt rows can still be deleted
  }
  EXPECT_EQ(ids(store->loadWorkloads()), Ids{"good"});
}

TEST(SqliteStoreTest, OpenFailuresAreErrorValues) {
  TempDir dir;
  EXPECT_EQ(errorCode(SqliteStore::open(dir.file("no/such/dir/x.db"))), Code::kUnavailable);
  EXPECT_FALSE(SqliteStore::open(""));

  const std::string garbage = dir.file("garbage.db");
  std::ofstream(garbage) << std::string(8192, 'x');
  auto not_db = SqliteStore::open(garbage);
  ASSERT_FALSE(not_db);
  EXPECT_NE(not_db.error().message.find("not a database"), std::string::npos)
      << not_db.error().message;

  const std::string future = dir.file("future.db");
  {
    auto db = sql::Database::open(future);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = 99"));
  }
  EXPECT_EQ(errorCode(SqliteStore::open(future)), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace zp::store
