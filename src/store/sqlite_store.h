#pragma once
// SqliteStore: the default Store, one SQLite database file per server
// (docs/architecture.md §8.1, §8.4).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "store/sqlite.h"
#include "store/sqlite_access.h"
#include "store/store.h"

namespace zp::store {

// Keeps the control plane's records in a SQLite database.
//
// Durability: WAL journal with synchronous=FULL, so the WAL is synced at every
// commit: when apply() returns OK its transaction survives a crash of the
// process and a power loss. apply() runs BEGIN IMMEDIATE … COMMIT and rolls
// back on any error, so a batch is applied entirely or not at all.
//
// Schema (versioned with PRAGMA user_version and migrated forward on open; a
// database newer than this binary is refused):
//   workloads(id TEXT PRIMARY KEY, created_at, updated_at, spec TEXT, status TEXT)
//   nodes(id TEXT PRIMARY KEY, address, cordoned, added_at)
//   tokens(id TEXT PRIMARY KEY, name UNIQUE (NULL for an unnamed join token),
//          role, secret_sha256 (hex), created_at, expires_at, last_used_at, used)
//   audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, time, principal, action,
//         target, result, source)
// spec and status are their api JSON forms; timestamps are integer
// nanoseconds since the epoch. created_at is status.created_at (NULL when
// unset) and is restored from its column, so it round-trips exactly; the
// other status timestamps go through JSON and keep millisecond precision.
// Version 1 (one row per workload with node/state/runtime_class columns) is
// migrated into this shape: status.node from its node column,
// status.created_at from its created_at, status.id = spec.id.
//
// Contract checks beyond Store (kInvalidArgument, nothing applied): a
// PutWorkload needs a non-empty spec.id and status.id == spec.id, a PutNode a
// non-empty id, a PutToken an id, a role and a hex SHA-256; strings that cannot be JSON (invalid
// UTF-8) are refused. A row whose JSON is corrupt makes loadWorkloads() fail with kInternal naming
// its id; it never crashes. Errors: a full disk is kStorageFull ("database
// disk is full"); an I/O error is kUnavailable ("database I/O error"), as is a
// lock held by another process past the busy timeout; everything else is
// kInternal.
//
// Ownership and threads: owns its connection and prepared statements (reused
// for every call). All methods are thread-safe: a mutex serializes them, and
// each call blocks on SQLite I/O (the server calls apply() and the reads after
// start from its CommitQueue thread). Other processes may open the same file (busy_timeout).
class SqliteStore final : public Store {
 public:
  struct Options {
    // When set, the database may not grow past this many bytes: a write that
    // needs more fails as a full disk would (kStorageFull). Unset: no limit
    // but the file system's.
    std::optional<std::int64_t> max_database_bytes = std::nullopt;
  };

  // Opens or creates the database at `path` (its directory must exist);
  // ":memory:" gives a private in-memory database for tests. The database
  // file and its -wal/-shm files are made owner-only (0600), and a directory
  // dedicated to them 0700 (private_files.h), before and after opening.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, Options options);
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path) {
    return open(path, Options{});
  }

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<std::vector<WorkloadRecord>> loadWorkloads() override;
  Result<std::vector<NodeRecord>> loadNodes() override;
  Result<std::vector<TokenRecord>> loadTokens() override;
  Result<std::vector<AuditEntry>> loadAudit(TimePoint since, std::size_t limit) override;
  Status apply(const std::vector<Write>& batch) override;

  // The schema version this binary writes (PRAGMA user_version after open).
  static int schemaVersion();

 private:
  explicit SqliteStore(sql::Database db);
  Status prepareStatements();

  std::mutex mu_;
  // Declared before the statements so they are finalized before it closes.
  sql::Database db_;
  sql::Statement begin_;
  sql::Statement commit_;
  sql::Statement rollback_;
  sql::Statement put_workload_;
  sql::Statement delete_workload_;
  sql::Statement put_node_;
  sql::Statement delete_node_;
  sql::Statement load_workloads_;
  sql::Statement load_nodes_;
  detail::AccessTables access_;  // tokens and audit
};

}  // namespace zp::store
