#include "store/sqlite_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <variant>

#include "store/private_files.h"
#include "store/sqlite_rows.h"
#include "store/sqlite_schema.h"

namespace zp::store {

using detail::firstError;
using detail::fromNanos;
using detail::quote;
using detail::toNanos;
using detail::withContext;

namespace {

constexpr int kBusyTimeoutMs = 5000;

// Per-connection settings. WAL is required for files; ":memory:" has its own mode.
Status configure(sql::Database& db, bool in_memory, const SqliteStore::Options& options) {
  if (auto s = db.setBusyTimeout(kBusyTimeoutMs); !s) return s;
  auto mode = db.queryText("PRAGMA journal_mode=WAL");
  if (!mode) return fail(withContext(std::move(mode.error()), "enable WAL"));
  if (!in_memory && *mode != "wal") {
    return fail(Code::kInternal, "could not enable WAL journal mode (got \"" + *mode + "\")");
  }
  // FULL: the WAL is synced at every commit, so a transaction is durable
  // (power loss included) when COMMIT returns (docs/architecture.md §8.4).
  if (auto s = db.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !s) return s;
  auto synchronous = db.queryInt("PRAGMA synchronous");
  if (!synchronous) return fail(std::move(synchronous.error()));
  if (*synchronous != 2) return fail(Code::kInternal, "synchronous=FULL was not applied");
  auto timeout = db.queryInt("PRAGMA busy_timeout");
  if (!timeout) return fail(std::move(timeout.error()));
  if (*timeout != kBusyTimeoutMs) return fail(Code::kInternal, "busy_timeout was not applied");
  if (options.max_database_bytes) {
    auto page_size = db.queryInt("PRAGMA page_size");
    if (!page_size) return fail(std::move(page_size.error()));
    const std::int64_t pages = std::max<std::int64_t>(1, *options.max_database_bytes / *page_size);
    // Our own integer, not user data.
    auto applied = db.queryInt("PRAGMA max_page_count = " + std::to_string(pages));
    if (!applied) return fail(std::move(applied.error()));
  }
  return ok();
}

// What one write of a batch is called in messages.
std::string describe(const Write& write) {
  if (const auto* w = std::get_if<PutWorkload>(&write)) {
    return "put workload " + quote(w->record.spec.id);
  }
  if (const auto* w = std::get_if<DeleteWorkload>(&write)) return "delete workload " + quote(w->id);
  if (const auto* w = std::get_if<PutNode>(&write)) return "put node " + quote(w->node.id);
  if (const auto* w = std::get_if<DeleteNode>(&write)) return "delete node " + quote(w->id);
  if (const auto* w = std::get_if<PutToken>(&write)) return "put token " + quote(w->token.id);
  if (const auto* w = std::get_if<DeleteToken>(&write)) return "delete token " + quote(w->id);
  if (const auto* w = std::get_if<TouchToken>(&write)) return "touch token " + quote(w->id);
  return "append audit entry";
}

}  // namespace

int SqliteStore::schemaVersion() { return detail::latestSchemaVersion(); }

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, Options options) {
  if (path.empty() || path.find('\0') != std::string::npos) {
    return fail(Code::kInvalidArgument, "store path must be non-empty and contain no NUL", "path");
  }
  if (options.max_database_bytes && *options.max_database_bytes <= 0) {
    return fail(Code::kInvalidArgument, "the database size limit must be positive",
                "max_database_bytes");
  }
  const std::string where = "store " + quote(path);
  if (auto s = makeDatabaseFilesPrivate(path); !s) {
    return fail(withContext(std::move(s.error()), where));
  }
  auto db = sql::Database::open(path);
  if (!db) return fail(std::move(db.error()));
  if (auto s = configure(*db, path == ":memory:", options); !s) {
    return fail(withContext(std::move(s.error()), where));
  }
  // WAL mode created the -wal and -shm files; make sure they are private too.
  if (auto s = makeDatabaseFilesPrivate(path); !s) {
    return fail(withContext(std::move(s.error()), where));
  }
  if (auto s = detail::migrate(*db); !s) return fail(withContext(std::move(s.error()), where));
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(*db)));
  if (auto s = store->prepareStatements(); !s) {
    return fail(withContext(std::move(s.error()), where));
  }
  return store;
}

SqliteStore::SqliteStore(sql::Database db) : db_(std::move(db)) {}

SqliteStore::~SqliteStore() = default;

Status SqliteStore::prepareStatements() {
  auto prepare = [&](sql::Statement& out, std::string_view text) -> Status {
    auto statement = db_.prepare(text);
    if (!statement) return fail(std::move(statement.error()));
    out = std::move(*statement);
    return ok();
  };
  return firstError({
      prepare(begin_, "BEGIN IMMEDIATE"),
      prepare(commit_, "COMMIT"),
      prepare(rollback_, "ROLLBACK"),
      prepare(put_workload_, detail::kPutWorkload),
      prepare(delete_workload_, "DELETE FROM workloads WHERE id = ?1"),
      prepare(put_node_,
              "INSERT INTO nodes (id, address, cordoned, added_at) VALUES (?1, ?2, ?3, ?4) "
              "ON CONFLICT (id) DO UPDATE SET address = excluded.address, "
              "cordoned = excluded.cordoned, added_at = excluded.added_at"),
      prepare(delete_node_, "DELETE FROM nodes WHERE id = ?1"),
      prepare(load_workloads_, detail::kSelectWorkloads),
      prepare(load_nodes_, "SELECT id, address, cordoned, added_at FROM nodes ORDER BY id"),
      access_.prepare(db_),
  });
}

Result<std::vector<WorkloadRecord>> SqliteStore::loadWorkloads() {
  std::lock_guard lock(mu_);
  sql::ResetOnExit reset(load_workloads_);
  std::vector<WorkloadRecord> records;
  for (;;) {
    auto row = load_workloads_.step();
    if (!row) return fail(withContext(std::move(row.error()), "load workloads"));
    if (!*row) return records;
    auto record = detail::decodeRow(load_workloads_);
    if (!record) return fail(std::move(record.error()));
    records.push_back(std::move(*record));
  }
}

Result<std::vector<NodeRecord>> SqliteStore::loadNodes() {
  std::lock_guard lock(mu_);
  sql::ResetOnExit reset(load_nodes_);
  std::vector<NodeRecord> nodes;
  for (;;) {
    auto row = load_nodes_.step();
    if (!row) return fail(withContext(std::move(row.error()), "load nodes"));
    if (!*row) return nodes;
    NodeRecord node;
    node.id = load_nodes_.columnText(0);
    if (!load_nodes_.isInteger(2) || !load_nodes_.isInteger(3)) {
      return fail(Code::kInternal, "corrupt record for node " + quote(node.id) +
                                       ": cordoned and added_at must be integers");
    }
    node.address = load_nodes_.columnText(1);
    node.cordoned = load_nodes_.columnInt(2) != 0;
    node.added_at = fromNanos(load_nodes_.columnInt(3));
    nodes.push_back(std::move(node));
  }
}

Result<std::vector<TokenRecord>> SqliteStore::loadTokens() {
  std::lock_guard lock(mu_);
  return access_.loadTokens();
}

Result<std::vector<AuditEntry>> SqliteStore::loadAudit(TimePoint since, std::size_t limit) {
  std::lock_guard lock(mu_);
  return access_.loadAudit(since, limit);
}

Status SqliteStore::apply(const std::vector<Write>& batch) {
  if (batch.empty()) return ok();
  // Everything is encoded and checked first: a bad write refuses the batch
  // before the transaction starts.
  std::vector<std::optional<detail::WorkloadRow>> rows(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (const auto* put = std::get_if<PutWorkload>(&batch[i])) {
      auto row = detail::encodeRecord(put->record);
      if (!row) return fail(std::move(row.error()));
      rows[i] = std::move(*row);
    } else if (const auto* node = std::get_if<PutNode>(&batch[i]); node && node->node.id.empty()) {
      return fail(Code::kInvalidArgument, "node id must not be empty", "id");
    } else if (const auto* token = std::get_if<PutToken>(&batch[i])) {
      if (auto s = detail::AccessTables::check(*token); !s) return s;
    }
  }

  // One write, on a statement reset when it returns.
  auto run = [&](std::size_t i) -> Status {
    const Write& write = batch[i];
    if (rows[i]) {
      sql::ResetOnExit reset(put_workload_);
      if (auto s = detail::bindRow(put_workload_, *rows[i]); !s) return s;
      return put_workload_.run();
    }
    if (const auto* d = std::get_if<DeleteWorkload>(&write)) {
      sql::ResetOnExit reset(delete_workload_);
      if (auto s = delete_workload_.bindText(1, d->id); !s) return s;
      return delete_workload_.run();
    }
    if (const auto* n = std::get_if<PutNode>(&write)) {
      sql::ResetOnExit reset(put_node_);
      if (auto s = firstError({
              put_node_.bindText(1, n->node.id),
              put_node_.bindText(2, n->node.address),
              put_node_.bindInt(3, n->node.cordoned ? 1 : 0),
              put_node_.bindInt(4, toNanos(n->node.added_at)),
          });
          !s) {
        return s;
      }
      return put_node_.run();
    }
    if (const auto* dn = std::get_if<DeleteNode>(&write)) {
      sql::ResetOnExit reset(delete_node_);
      if (auto s = delete_node_.bindText(1, dn->id); !s) return s;
      return delete_node_.run();
    }
    if (const auto* t = std::get_if<PutToken>(&write)) return access_.put(*t);
    if (const auto* t = std::get_if<DeleteToken>(&write)) return access_.remove(*t);
    if (const auto* t = std::get_if<TouchToken>(&write)) return access_.touch(*t);
    if (const auto* e = std::get_if<DeleteAuditBefore>(&write)) return access_.expire(*e);
    return access_.append(std::get<AppendAudit>(write));
  };
  auto rollback = [&] {
    // SQLite ends the transaction itself after some errors (a full disk).
    if (db_.inTransaction()) {
      sql::ResetOnExit reset(rollback_);
      if (auto s = rollback_.run(); !s) {
        spdlog::error("store: rollback failed: {}", s.error().toString());
      }
    }
  };

  std::lock_guard lock(mu_);
  {
    sql::ResetOnExit reset(begin_);
    if (auto s = begin_.run(); !s)
      return fail(withContext(std::move(s.error()), "begin transaction"));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (auto s = run(i); !s) {
      rollback();
      return fail(withContext(std::move(s.error()), "write " + std::to_string(i + 1) + " of " +
                                                        std::to_string(batch.size()) + " (" +
                                                        describe(batch[i]) + ")"));
    }
  }
  Status committed;
  {
    sql::ResetOnExit reset(commit_);
    committed = commit_.run();
  }
  if (!committed) {
    rollback();
    return fail(withContext(std::move(committed.error()), "commit"));
  }
  return ok();
}

}  // namespace zp::store