#pragma once
// SqliteStore: the default Store, one SQLite database file per server.

#include <array>
#include <memory>
#include <mutex>
#include <string>

#include "store/sqlite.h"
#include "store/store.h"

namespace zp::store {

// Keeps workload records in a SQLite database (WAL journal, synchronous=NORMAL:
// a committed write survives a crash of the process; a power loss may drop the
// last few commits). The schema is versioned with PRAGMA user_version and
// migrated forward on open; a database newer than this binary is refused.
//
// Storage: one row per workload; spec and status as JSON text (their api JSON
// forms), node/state/runtime_class copied into indexed columns for filtering,
// created_at/updated_at as integer nanoseconds since the epoch (exact round
// trip). Status timestamps go through JSON, so they keep millisecond precision.
//
// Contract checks beyond Store: create() requires a non-empty spec.id and
// status.id == spec.id, updateStatus() requires status.id == id
// (kInvalidArgument otherwise). Strings that cannot be JSON (invalid UTF-8) are
// kInvalidArgument. A row whose JSON is corrupt yields kInternal naming its id
// (for list(), the whole call fails); it never crashes.
//
// Ownership and threads: owns its connection and prepared statements. All
// methods are thread-safe: a mutex serializes them, and each call blocks on
// SQLite I/O. Other processes may open the same file (busy_timeout applies).
class SqliteStore final : public Store {
 public:
  // Opens or creates the database at `path` (its directory must exist);
  // ":memory:" gives a private in-memory database for tests. The database
  // file and its -wal/-shm files are made owner-only (0600), and a directory
  // dedicated to them 0700 (private_files.h), before and after opening.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status create(const WorkloadRecord& record) override;
  Result<WorkloadRecord> get(std::string_view id) override;
  Result<std::vector<WorkloadRecord>> list(const ListFilter& filter) override;
  Status updateStatus(std::string_view id, const api::WorkloadStatus& status,
                      TimePoint updated_at) override;
  Status remove(std::string_view id) override;

  // The schema version this binary writes (PRAGMA user_version after open).
  static int schemaVersion();

 private:
  // One prepared SELECT per combination of set filter fields (state, node,
  // runtime_class), indexed by a bit mask.
  static constexpr std::size_t kListVariants = 8;

  explicit SqliteStore(sql::Database db);
  Status prepareStatements();

  std::mutex mu_;
  // Declared before the statements so they are finalized before it closes.
  sql::Database db_;
  sql::Statement insert_;
  sql::Statement select_one_;
  sql::Statement update_status_;
  sql::Statement delete_;
  std::array<sql::Statement, kListVariants> list_;
};

}  // namespace zp::store
