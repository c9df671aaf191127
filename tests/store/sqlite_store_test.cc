#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite.h"

namespace zp::store {
namespace {

namespace fs = std::filesystem;
using api::WorkloadState;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// A private directory for database files, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "zp-store-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_, ec_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
  std::error_code ec_;  // cleanup is best effort
};

std::unique_ptr<SqliteStore> openOrDie(const std::string& path) {
  auto store = SqliteStore::open(path);
  if (!store) ADD_FAILURE() << store.error().toString();
  return store ? std::move(*store) : nullptr;
}

WorkloadRecord makeRecord(std::string id, std::string node, std::string cls, WorkloadState state,
                          std::int64_t created_ms) {
  WorkloadRecord r;
  r.spec = {id, "busybox:1.36", cls, 64, 100, {}, {}, {}, std::nullopt, {}};
  r.node = node;
  r.status.id = id;
  r.status.state = state;
  r.status.node = node;
  r.created_at = TimePoint{milliseconds{created_ms}};
  r.updated_at = r.created_at;
  return r;
}

// Every field set, record timestamps with nanosecond precision.
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
                         .pids_limit = 200}};
  r.node = "node-1";
  r.status = {.id = "wl-full",
              .state = WorkloadState::kFailed,
              .reason = "Error",
              .message = "exited with 3",
              .exit_code = 3,
              .node = "node-1",
              .created_at = TimePoint{milliseconds{1'700'000'000'123}},
              .started_at = TimePoint{milliseconds{1'700'000'000'500}},
              .finished_at = TimePoint{milliseconds{1'700'000'001'000}},
              .sandbox_id = "sb-abc",
              .container_id = "ct-def",
              .runtime_handler = "edera",
              .log_path = "/var/lib/zoneplane/logs/wl-full/0.log",
              .profile = "baseline",
              .run_as_user = 1000,
              .run_as_group = 1000};
  r.created_at = TimePoint{nanoseconds{1'700'000'000'123'456'789}};
  r.updated_at = TimePoint{nanoseconds{1'700'000'002'000'000'001}};
  return r;
}

// The error code of a failed Result/Status; nullopt when it succeeded.
template <typename R>
std::optional<Code> errorCode(const R& result) {
  return result ? std::nullopt : std::optional<Code>(result.error().code);
}

std::vector<std::string> ids(const Result<std::vector<WorkloadRecord>>& records) {
  std::vector<std::string> out;
  if (!records) return {"error: " + records.error().toString()};
  for (const auto& r : *records) out.push_back(r.spec.id);
  return out;
}

TEST(SqliteStoreTest, CreateGetRoundTripsEveryField) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  const WorkloadRecord record = fullRecord();
  ASSERT_TRUE(store->create(record));
  auto got = store->get("wl-full");
  ASSERT_TRUE(got) << got.error().toString();
  EXPECT_EQ(*got, record);

  // Unset optionals stay unset.
  const auto bare = makeRecord("wl-bare", "", "native", WorkloadState::kPending, 5);
  ASSERT_TRUE(store->create(bare));
  auto got_bare = store->get("wl-bare");
  ASSERT_TRUE(got_bare) << got_bare.error().toString();
  EXPECT_EQ(*got_bare, bare);
}

TEST(SqliteStoreTest, DuplicateCreateIsAlreadyExists) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  const auto first = makeRecord("wl-1", "node-1", "native", WorkloadState::kPending, 1);
  ASSERT_TRUE(store->create(first));
  auto second = makeRecord("wl-1", "node-2", "edera-zone", WorkloadState::kRunning, 2);
  auto s = store->create(second);
  ASSERT_EQ(errorCode(s), Code::kAlreadyExists);
  EXPECT_NE(s.error().message.find("\"wl-1\""), std::string::npos) << s.error().message;
  EXPECT_EQ(*store->get("wl-1"), first);
}

TEST(SqliteStoreTest, MissingIdIsNotFound) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  const auto status = makeRecord("nope", "n", "c", WorkloadState::kPending, 1).status;
  EXPECT_EQ(errorCode(store->get("nope")), Code::kNotFound);
  EXPECT_EQ(errorCode(store->updateStatus("nope", status, TimePoint{})), Code::kNotFound);
  EXPECT_EQ(errorCode(store->remove("nope")), Code::kNotFound);

  ASSERT_TRUE(store->create(makeRecord("wl-1", "n", "c", WorkloadState::kPending, 1)));
  EXPECT_TRUE(store->remove("wl-1"));
  EXPECT_EQ(errorCode(store->remove("wl-1")), Code::kNotFound);
  EXPECT_EQ(errorCode(store->get("wl-1")), Code::kNotFound);
}

TEST(SqliteStoreTest, RejectsRecordsBreakingTheIdContract) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  auto empty = makeRecord("", "n", "c", WorkloadState::kPending, 1);
  EXPECT_EQ(errorCode(store->create(empty)), Code::kInvalidArgument);
  auto mismatched = makeRecord("wl-1", "n", "c", WorkloadState::kPending, 1);
  mismatched.status.id = "wl-2";
  EXPECT_EQ(errorCode(store->create(mismatched)), Code::kInvalidArgument);
  mismatched.status.id = "wl-1";
  ASSERT_TRUE(store->create(mismatched));
  api::WorkloadStatus other;
  other.id = "wl-2";
  EXPECT_EQ(errorCode(store->updateStatus("wl-1", other, TimePoint{})), Code::kInvalidArgument);
}

TEST(SqliteStoreTest, ListFiltersAndOrdersByCreatedAtThenId) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  // Inserted out of order; "b" and "a" share a creation time.
  for (const auto& r : {makeRecord("c", "node-2", "native", WorkloadState::kRunning, 30),
                        makeRecord("b", "node-1", "edera-zone", WorkloadState::kRunning, 20),
                        makeRecord("a", "node-1", "native", WorkloadState::kPending, 20),
                        makeRecord("d", "", "edera-zone", WorkloadState::kFailed, 10),
                        makeRecord("e", "node-2", "edera-zone", WorkloadState::kRunning, 40)}) {
    ASSERT_TRUE(store->create(r));
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(store->list({})), (V{"d", "a", "b", "c", "e"}));
  EXPECT_EQ(ids(store->list({.state = WorkloadState::kRunning})), (V{"b", "c", "e"}));
  EXPECT_EQ(ids(store->list({.node = "node-1"})), (V{"a", "b"}));
  EXPECT_EQ(ids(store->list({.node = ""})), (V{"d"}));
  EXPECT_EQ(ids(store->list({.runtime_class = "edera-zone"})), (V{"d", "b", "e"}));
  EXPECT_EQ(ids(store->list({.state = WorkloadState::kRunning, .node = "node-2"})), (V{"c", "e"}));
  EXPECT_EQ(ids(store->list(
                {.state = WorkloadState::kRunning, .node = "node-2", .runtime_class = "native"})),
            (V{"c"}));
  EXPECT_EQ(ids(store->list({.state = WorkloadState::kSucceeded})), V{});
  EXPECT_EQ(ids(store->list({.node = "node-9"})), V{});
}

TEST(SqliteStoreTest, UpdateStatusReplacesStatusAndUpdatedAt) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  auto record = makeRecord("wl-1", "node-1", "native", WorkloadState::kPending, 1000);
  ASSERT_TRUE(store->create(record));

  api::WorkloadStatus status = record.status;
  status.state = WorkloadState::kSucceeded;
  status.reason = "Completed";
  status.exit_code = 0;
  status.finished_at = TimePoint{milliseconds{1'700'000'000'999}};
  const TimePoint later{nanoseconds{1'700'000'001'000'000'007}};
  ASSERT_TRUE(store->updateStatus("wl-1", status, later));

  auto got = store->get("wl-1");
  ASSERT_TRUE(got) << got.error().toString();
  EXPECT_EQ(got->status, status);
  EXPECT_EQ(got->updated_at, later);
  EXPECT_EQ(got->created_at, record.created_at);
  EXPECT_EQ(got->spec, record.spec);
  EXPECT_EQ(got->node, record.node);
  // The filter column follows the new state.
  EXPECT_EQ(ids(store->list({.state = WorkloadState::kSucceeded})),
            std::vector<std::string>{"wl-1"});
  EXPECT_TRUE(store->list({.state = WorkloadState::kPending})->empty());
}

TEST(SqliteStoreTest, RecordsSurviveReopen) {
  TempDir dir;
  const std::string path = dir.file("zoneplane.db");
  std::vector<WorkloadRecord> expected;
  {
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    const WorkloadRecord full = fullRecord();
    ASSERT_TRUE(store->create(full));
    auto a = makeRecord("wl-a", "node-1", "native", WorkloadState::kPending, 2'000'000'000'000);
    ASSERT_TRUE(store->create(a));
    ASSERT_TRUE(store->create(makeRecord("wl-gone", "n", "c", WorkloadState::kPending, 3)));
    a.status.state = WorkloadState::kRunning;
    a.updated_at = TimePoint{nanoseconds{2'000'000'000'000'000'001}};
    ASSERT_TRUE(store->updateStatus("wl-a", a.status, a.updated_at));
    ASSERT_TRUE(store->remove("wl-gone"));
    expected = {full, a};
  }  // closed: the "server" stops; reopening (twice: no migration the 2nd time) restores all
  for (int round = 0; round < 2; ++round) {
    auto store = openOrDie(path);
    ASSERT_TRUE(store);
    auto all = store->list({});
    ASSERT_TRUE(all) << all.error().toString();
    EXPECT_EQ(*all, expected);
  }
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db) << db.error().toString();
  EXPECT_EQ(*db->queryInt("PRAGMA user_version"), SqliteStore::schemaVersion());
}

TEST(SqliteStoreTest, JournalModeIsWal) {
  TempDir dir;
  const std::string path = dir.file("wal.db");
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  // The mode is persistent in the file, so a second connection sees it.
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db) << db.error().toString();
  EXPECT_EQ(db->queryText("PRAGMA journal_mode").value_or("error"), "wal");
}

TEST(SqliteStoreTest, ConcurrentWritersSeeNoErrors) {
  TempDir dir;
  const std::string path = dir.file("concurrent.db");
  // Two stores on one file: threads serialize on a mutex within a store and
  // on SQLite's lock (busy_timeout) across them.
  auto first = openOrDie(path);
  auto second = openOrDie(path);
  ASSERT_TRUE(first && second);
  constexpr int kThreads = 6, kPerThread = 40;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SqliteStore& store = t % 2 == 0 ? *first : *second;
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "wl-" + std::to_string(t) + "-" + std::to_string(i);
        auto r = makeRecord(id, "node-" + std::to_string(t), "native", WorkloadState::kPending, i);
        if (!store.create(r)) ++errors;
        r.status.state = WorkloadState::kRunning;
        if (!store.updateStatus(id, r.status, TimePoint{milliseconds{i + 1}})) ++errors;
        auto got = store.get(id);
        if (!got || got->status.state != WorkloadState::kRunning) ++errors;
        if (!store.list({.node = "node-" + std::to_string(t)})) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  auto all = first->list({.state = WorkloadState::kRunning});
  ASSERT_TRUE(all) << all.error().toString();
  EXPECT_EQ(all->size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(SqliteStoreTest, ConcurrentFirstOpensMigrateOnce) {
  TempDir dir;
  const std::string path = dir.file("fresh.db");
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto store = SqliteStore::open(path);
      if (!store || !(*store)->list({})) ++errors;
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
  for (size_t i = 0; i < hostile.size(); ++i) {
    const std::string& h = hostile[i];
    auto r = makeRecord(h, h, h, WorkloadState::kUnknown, static_cast<std::int64_t>(i));
    r.spec.image = h;
    r.spec.env = {{h, h}};
    r.spec.command = {h};
    r.status.message = h;
    r.status.reason = h;
    ASSERT_TRUE(store->create(r)) << i;
    auto got = store->get(h);
    ASSERT_TRUE(got) << i << ": " << got.error().toString();
    EXPECT_EQ(*got, r) << i;
    auto by_node = store->list({.node = h, .runtime_class = h});
    ASSERT_TRUE(by_node) << by_node.error().toString();
    ASSERT_EQ(by_node->size(), 1u) << i;
    EXPECT_EQ((*by_node)[0].spec.id, h);
  }
  EXPECT_EQ(store->list({})->size(), hostile.size());  // nothing dropped or matched too widely
  ASSERT_TRUE(store->remove(std::string("nul\0", 4)));
  EXPECT_TRUE(store->get("nul"));  // a different id
  EXPECT_EQ(store->get("'; DROP TABLE workloads; --")->spec.id, hostile[0]);
}

TEST(SqliteStoreTest, InvalidUtf8IsAnErrorNotACrash) {
  auto store = openOrDie(":memory:");
  ASSERT_TRUE(store);
  auto r = makeRecord("wl-1", "n", "c", WorkloadState::kPending, 1);
  r.spec.image = "bad\xFF\xFE";
  auto s = store->create(r);
  ASSERT_EQ(errorCode(s), Code::kInvalidArgument);
  EXPECT_EQ(s.error().field, "spec");
  EXPECT_EQ(errorCode(store->get("wl-1")), Code::kNotFound);
}

TEST(SqliteStoreTest, CorruptRowsAreErrorValues) {
  TempDir dir;
  const std::string path = dir.file("corrupt.db");
  auto store = openOrDie(path);
  ASSERT_TRUE(store);
  for (const char* id : {"good", "bad-spec", "bad-shape", "bad-status", "other-id"}) {
    ASSERT_TRUE(store->create(makeRecord(id, "n", "c", WorkloadState::kPending, 1)));
  }
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db) << db.error().toString();
  ASSERT_TRUE(db->exec(
      "UPDATE workloads SET spec_json = '{not json' WHERE id = 'bad-spec';"
      "UPDATE workloads SET spec_json = '[1,2]' WHERE id = 'bad-shape';"
      "UPDATE workloads SET status_json = '{\"id\":\"bad-status\",\"state\":\"Exploded\"}' "
      "  WHERE id = 'bad-status';"
      "UPDATE workloads SET spec_json = '{\"id\":\"good\"}' WHERE id = 'other-id';"));
  for (const char* id : {"bad-spec", "bad-shape", "bad-status", "other-id"}) {
    auto got = store->get(id);
    ASSERT_FALSE(got) << id;
    EXPECT_EQ(got.error().code, Code::kInternal);
    EXPECT_NE(got.error().message.find(std::string("\"") + id + "\""), std::string::npos)
        << got.error().message;
  }
  EXPECT_TRUE(store->get("good"));
  EXPECT_EQ(errorCode(store->list({})), Code::kInternal);  // one bad row fails the list
  EXPECT_TRUE(store->remove("bad-spec"));                  // corrupt rows can still be deleted
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
