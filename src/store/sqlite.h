#pragma once
// Small RAII wrappers over the SQLite C API: a connection (Database) and a
// prepared statement (Statement). Every failure becomes a zp::Error carrying
// SQLite's own message. Values are always bound, never spliced into SQL text.
//
// Thread-safety: none. A Database and its Statements must be used by one
// thread at a time (the owner serializes access, e.g. with a mutex).

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

// Opaque SQLite handles (typedef'd structs in <sqlite3.h>), so users of this
// header need not see the C API.
struct sqlite3;
struct sqlite3_stmt;

namespace zp::store::sql {

// Turns a SQLite result code into an Error: kAlreadyExists for primary-key and
// unique constraint violations; kStorageFull for a full disk or the size limit
// ("database disk is full"); kUnavailable for the other conditions of the
// machine rather than of the data — an I/O error ("database I/O error"), a
// lock still held by another connection after the busy timeout ("database is
// locked"); kInternal for everything else. The
// message is "<what>: [<condition>: ]<sqlite message> (sqlite code N)". `db`
// may be null.
Error toError(int rc, std::string_view what, sqlite3* db);

// One prepared statement. Owns the sqlite3_stmt; finalizes it on destruction.
// Bind indexes are 1-based, column indexes 0-based (as in SQLite).
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Text is bound byte for byte (embedded NULs included) and copied by SQLite.
  Status bindText(int index, std::string_view value);
  Status bindInt(int index, std::int64_t value);
  Status bindNull(int index);

  // Advances once: true when a row is available, false when done.
  Result<bool> step();
  // Steps to completion, discarding any rows.
  Status run();
  // Makes the statement ready for reuse: resets it and clears its bindings.
  // Always call it after use, so no read transaction stays open.
  void reset();

  bool isNull(int column) const;
  bool isInteger(int column) const;
  std::int64_t columnInt(int column) const;
  // The column's bytes as text (embedded NULs included); empty for NULL.
  std::string columnText(int column) const;

  sqlite3_stmt* get() const { return stmt_; }

 private:
  Status checkBind(int rc, int index);

  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a (reused) statement when the scope ends, whatever the outcome.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& statement) : statement_(statement) {}
  ~ResetOnExit() { statement_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& statement_;
};

// One connection. Owns the sqlite3 handle; closes it on destruction (after all
// of its Statements are destroyed, or SQLite keeps it alive until they are).
class Database {
 public:
  // Opens (creating the file if needed, but not its directory) a read-write
  // connection with extended result codes. ":memory:" gives a private
  // in-memory database.
  static Result<Database> open(const std::string& path);

  Database() = default;
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs trusted, constant SQL (possibly several statements). Never pass text
  // that contains user data: use prepare() and bind instead.
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // Runs `sql` (one statement) and returns the first column of its first row
  // as text; for pragmas such as "PRAGMA journal_mode=WAL".
  Result<std::string> queryText(std::string_view sql);
  Result<std::int64_t> queryInt(std::string_view sql);
  Status setBusyTimeout(int milliseconds);
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  std::int64_t changes() const;
  // True while a transaction is open on this connection (SQLite may end one
  // by itself after some errors, e.g. a full disk).
  bool inTransaction() const;

  sqlite3* get() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}

  sqlite3* db_ = nullptr;
};

}  // namespace zp::store::sql
