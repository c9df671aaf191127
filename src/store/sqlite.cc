#include "store/sqlite.h"

#include <sqlite3.h>

#include <utility>

namespace zp::store::sql {

Error toError(int rc, std::string_view what, sqlite3* db) {
  // With extended result codes enabled, `rc` may be an extended code; the
  // connection's message describes the last failure on it.
  Code code = Code::kInternal;
  std::string_view condition;
  switch (rc & 0xff) {  // the primary result code
    case SQLITE_FULL:
      code = Code::kStorageFull;
      condition = "database disk is full";
      break;
    case SQLITE_IOERR:
      code = Code::kUnavailable;
      condition = "database I/O error";
      break;
    case SQLITE_BUSY:
      code = Code::kUnavailable;
      condition = "database is locked";
      break;
    default:
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        code = Code::kAlreadyExists;
      }
      break;
  }
  std::string message(what);
  message += ": ";
  if (!condition.empty()) {
    message += condition;
    message += ": ";
  }
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (sqlite code " + std::to_string(rc) + ")";
  return Error{code, std::move(message), {}};
}

// --- Statement ---

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Status Statement::checkBind(int rc, int index) {
  if (rc == SQLITE_OK) return ok();
  return fail(toError(rc, "bind parameter " + std::to_string(index), sqlite3_db_handle(stmt_)));
}

Status Statement::bindText(int index, std::string_view value) {
  return checkBind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
}

Status Statement::bindInt(int index, std::int64_t value) {
  return checkBind(sqlite3_bind_int64(stmt_, index, value), index);
}

Status Statement::bindNull(int index) { return checkBind(sqlite3_bind_null(stmt_, index), index); }

Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return fail(toError(rc, "step", sqlite3_db_handle(stmt_)));
}

Status Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) return fail(std::move(row.error()));
    if (!*row) return ok();
  }
}

void Statement::reset() {
  // sqlite3_reset repeats the last step's error code; it was reported already.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::isNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

bool Statement::isInteger(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_INTEGER;
}

std::int64_t Statement::columnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::columnText(int column) const {
  // Ask for the text first, then its length (the order SQLite documents).
  const auto* text = sqlite3_column_text(stmt_, column);
  const int bytes = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr || bytes <= 0) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(bytes));
}

// --- Database ---

Result<Database> Database::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  Database database(db);  // closes the handle even when opening failed
  if (rc != SQLITE_OK) return fail(toError(rc, "open \"" + path + "\"", db));
  if (db == nullptr) return fail(Code::kInternal, "open \"" + path + "\": out of memory");
  sqlite3_extended_result_codes(db, 1);
  return database;
}

Database::~Database() { sqlite3_close_v2(db_); }

Database::Database(Database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Status Database::exec(std::string_view sql) {
  const std::string text(sql);  // sqlite3_exec wants a NUL-terminated string
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);  // the same text is available from sqlite3_errmsg
  if (rc != SQLITE_OK) return fail(toError(rc, "exec", db_));
  return ok();
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  Statement statement(stmt);
  if (rc != SQLITE_OK) return fail(toError(rc, "prepare", db_));
  if (stmt == nullptr) return fail(Code::kInternal, "prepare: empty SQL statement");
  return statement;
}

Result<std::string> Database::queryText(std::string_view sql) {
  auto statement = prepare(sql);
  if (!statement) return fail(std::move(statement.error()));
  auto row = statement->step();
  if (!row) return fail(std::move(row.error()));
  if (!*row) return fail(Code::kInternal, "query returned no row: " + std::string(sql));
  return statement->columnText(0);
}

Result<std::int64_t> Database::queryInt(std::string_view sql) {
  auto statement = prepare(sql);
  if (!statement) return fail(std::move(statement.error()));
  auto row = statement->step();
  if (!row) return fail(std::move(row.error()));
  if (!*row) return fail(Code::kInternal, "query returned no row: " + std::string(sql));
  return statement->columnInt(0);
}

Status Database::setBusyTimeout(int milliseconds) {
  const int rc = sqlite3_busy_timeout(db_, milliseconds);
  if (rc != SQLITE_OK) return fail(toError(rc, "busy_timeout", db_));
  return ok();
}

std::int64_t Database::changes() const { return sqlite3_changes64(db_); }

bool Database::inTransaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }

}  // namespace zp::store::sql
