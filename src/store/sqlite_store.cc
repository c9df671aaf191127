#include "store/sqlite_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <utility>
#include <variant>

#include "api/json.h"
#include "store/private_files.h"

namespace zp::store {
namespace {

using nlohmann::json;

Status createVersion1(sql::Database& db);
Status migrateToVersion2(sql::Database& db);

// Schema migrations, applied in order: the database is at version N (PRAGMA
// user_version) once the first N have run, each in its own transaction. Never
// edit a released step; append a new one instead.
struct Migration {
  std::string_view description;
  Status (*run)(sql::Database& db);
};

constexpr Migration kMigrations[] = {
    {"workloads table", &createVersion1},
    {"workload records as spec and status; nodes table", &migrateToVersion2},
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

constexpr int kBusyTimeoutMs = 5000;

// The columns loadWorkloads() reads, in this order.
constexpr std::string_view kSelectWorkloads =
    "SELECT id, created_at, updated_at, spec, status FROM workloads ORDER BY created_at, id";
enum WorkloadColumn { kId = 0, kCreatedAt, kUpdatedAt, kSpec, kStatus };

// A quoted, escaped form of `text` for messages; never throws on bad UTF-8.
std::string quote(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

Error withContext(Error error, std::string_view what) {
  error.message = std::string(what) + ": " + error.message;
  return error;
}

// The first failure among already evaluated steps (braced lists run in order).
Status firstError(std::initializer_list<Status> steps) {
  for (const auto& step : steps) {
    if (!step) return fail(step.error());
  }
  return ok();
}

std::int64_t toNanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

TimePoint fromNanos(std::int64_t nanos) {
  return TimePoint{
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds{nanos})};
}

// A workload record in its row form.
struct WorkloadRow {
  std::string id;
  std::optional<std::int64_t> created_at;  // NULL when status.created_at is unset
  std::int64_t updated_at = 0;
  std::string spec;
  std::string status;
};

// Serializes a spec or status; strings that are not UTF-8 cannot be JSON.
template <typename T>
Result<std::string> encodeJson(const T& value, const std::string& id, const char* field) {
  try {
    return api::toJson(value).dump();
  } catch (const std::exception& e) {
    return fail(Code::kInvalidArgument,
                "workload " + quote(id) + ": " + field + " cannot be stored: " + e.what(), field);
  }
}

Result<WorkloadRow> encodeRecord(const WorkloadRecord& record) {
  const std::string& id = record.spec.id;
  if (id.empty()) return fail(Code::kInvalidArgument, "workload id must not be empty", "id");
  if (record.status.id != id) {
    return fail(Code::kInvalidArgument,
                "status.id " + quote(record.status.id) + " differs from id " + quote(id),
                "status.id");
  }
  WorkloadRow row;
  row.id = id;
  if (record.status.created_at) row.created_at = toNanos(*record.status.created_at);
  row.updated_at = toNanos(record.updated_at);
  auto spec = encodeJson(record.spec, id, "spec");
  if (!spec) return fail(std::move(spec.error()));
  row.spec = std::move(*spec);
  auto status = encodeJson(record.status, id, "status");
  if (!status) return fail(std::move(status.error()));
  row.status = std::move(*status);
  return row;
}

// Binds `row` to an INSERT with parameters (id, created_at, updated_at, spec, status).
Status bindRow(sql::Statement& insert, const WorkloadRow& row) {
  return firstError({
      insert.bindText(1, row.id),
      row.created_at ? insert.bindInt(2, *row.created_at) : insert.bindNull(2),
      insert.bindInt(3, row.updated_at),
      insert.bindText(4, row.spec),
      insert.bindText(5, row.status),
  });
}

constexpr std::string_view kPutWorkload =
    "INSERT INTO workloads (id, created_at, updated_at, spec, status) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET "
    "created_at = excluded.created_at, updated_at = excluded.updated_at, "
    "spec = excluded.spec, status = excluded.status";

// Parses a JSON column; nullopt when it is not JSON.
std::optional<json> parseJson(const std::string& text) {
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

// Decodes the current row of kSelectWorkloads. Never throws.
Result<WorkloadRecord> decodeRow(const sql::Statement& row) {
  const std::string id = row.columnText(kId);
  auto corrupt = [&](std::string_view detail) {
    return fail(Code::kInternal,
                "corrupt record for workload " + quote(id) + ": " + std::string(detail));
  };
  try {
    if (!row.isInteger(kUpdatedAt) || !(row.isNull(kCreatedAt) || row.isInteger(kCreatedAt))) {
      return corrupt("timestamps are not integers");
    }
    const auto spec_json = parseJson(row.columnText(kSpec));
    if (!spec_json) return corrupt("spec is not valid JSON");
    auto spec = api::workloadSpecFromJson(*spec_json, {}, api::UnknownFields::kIgnore);
    if (!spec) return corrupt("spec: " + spec.error().toString());
    if (spec->id != id) return corrupt("spec.id is " + quote(spec->id));

    const auto status_json = parseJson(row.columnText(kStatus));
    if (!status_json) return corrupt("status is not valid JSON");
    auto status = api::workloadStatusFromJson(*status_json);
    if (!status) return corrupt("status: " + status.error().toString());
    if (status->id != id) return corrupt("status.id is " + quote(status->id));

    WorkloadRecord record;
    record.spec = std::move(*spec);
    record.status = std::move(*status);
    // The column holds the exact time; the JSON only milliseconds.
    record.status.created_at = row.isNull(kCreatedAt)
                                   ? std::nullopt
                                   : std::optional<TimePoint>(fromNanos(row.columnInt(kCreatedAt)));
    record.updated_at = fromNanos(row.columnInt(kUpdatedAt));
    return record;
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
}

// --- migrations ---

Status createVersion1(sql::Database& db) {
  return db.exec(R"sql(
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
    )sql");
}

// Version 1 kept the placement in a node column and the creation time in
// created_at_ns; version 2 keeps both in the status (status.node,
// status.created_at), which the server's records carry anyway. Rows are
// converted one by one; a row that cannot be read fails the migration (and
// so the open) naming it, rather than being dropped.
Status migrateToVersion2(sql::Database& db) {
  if (auto s = db.exec(R"sql(
        DROP INDEX workloads_by_created;
        DROP INDEX workloads_by_node;
        DROP INDEX workloads_by_state;
        DROP INDEX workloads_by_runtime_class;
        ALTER TABLE workloads RENAME TO workloads_v1;
        CREATE TABLE workloads (
          id         TEXT PRIMARY KEY NOT NULL,
          created_at INTEGER,
          updated_at INTEGER NOT NULL,
          spec       TEXT NOT NULL,
          status     TEXT NOT NULL
        );
        CREATE INDEX workloads_by_created ON workloads (created_at, id);
        CREATE TABLE nodes (
          id       TEXT PRIMARY KEY NOT NULL,
          address  TEXT NOT NULL,
          cordoned INTEGER NOT NULL,
          added_at INTEGER NOT NULL
        );
      )sql");
      !s) {
    return s;
  }
  auto select = db.prepare(
      "SELECT id, node, spec_json, status_json, created_at_ns, updated_at_ns FROM workloads_v1");
  if (!select) return fail(std::move(select.error()));
  auto insert = db.prepare(kPutWorkload);
  if (!insert) return fail(std::move(insert.error()));
  std::int64_t migrated = 0;
  for (;;) {
    auto has_row = select->step();
    if (!has_row) return fail(std::move(has_row.error()));
    if (!*has_row) break;
    const std::string id = select->columnText(0);
    auto unreadable = [&](std::string_view detail) {
      return fail(Code::kInternal, "cannot migrate the record of workload " + quote(id) + ": " +
                                       std::string(detail));
    };
    if (!select->isInteger(4) || !select->isInteger(5)) {
      return unreadable("timestamps are not integers");
    }
    WorkloadRecord record;
    try {
      const auto spec_json = parseJson(select->columnText(2));
      if (!spec_json) return unreadable("spec is not valid JSON");
      auto spec = api::workloadSpecFromJson(*spec_json, {}, api::UnknownFields::kIgnore);
      if (!spec) return unreadable("spec: " + spec.error().toString());
      const auto status_json = parseJson(select->columnText(3));
      if (!status_json) return unreadable("status is not valid JSON");
      auto status = api::workloadStatusFromJson(*status_json);
      if (!status) return unreadable("status: " + status.error().toString());
      record.spec = std::move(*spec);
      record.status = std::move(*status);
    } catch (const std::exception& e) {
      return unreadable(e.what());
    }
    if (record.spec.id != id) return unreadable("spec.id is " + quote(record.spec.id));
    record.status.id = record.spec.id;
    record.status.node = select->columnText(1);
    record.status.created_at = fromNanos(select->columnInt(4));
    record.updated_at = fromNanos(select->columnInt(5));
    auto row = encodeRecord(record);
    if (!row) return unreadable(row.error().message);
    sql::ResetOnExit reset(*insert);
    if (auto s = bindRow(*insert, *row); !s) return s;
    if (auto s = insert->run(); !s) return fail(withContext(std::move(s.error()), id));
    ++migrated;
  }
  select->reset();
  if (auto s = db.exec("DROP TABLE workloads_v1"); !s) return s;
  if (migrated > 0) {
    spdlog::info("store: {} workload record(s) converted to schema version 2", migrated);
  }
  return ok();
}

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

// Brings the schema to kSchemaVersion, one step per transaction. The version
// is re-read under the write lock, so concurrent openers do not race.
Status migrate(sql::Database& db) {
  for (;;) {
    if (auto s = db.exec("BEGIN IMMEDIATE"); !s) {
      return fail(withContext(std::move(s.error()), "schema migration"));
    }
    auto step = [&]() -> Result<bool> {
      auto version = db.queryInt("PRAGMA user_version");
      if (!version) return fail(std::move(version.error()));
      if (*version < 0 || *version > kSchemaVersion) {
        return fail(Code::kFailedPrecondition, "database schema version " +
                                                   std::to_string(*version) +
                                                   " is not supported by this binary (latest " +
                                                   std::to_string(kSchemaVersion) + ")");
      }
      if (*version == kSchemaVersion) return false;
      const Migration& m = kMigrations[*version];
      const int next = static_cast<int>(*version) + 1;
      if (auto s = m.run(db); !s) {
        return fail(withContext(std::move(s.error()), "migration to schema version " +
                                                          std::to_string(next) + " (" +
                                                          std::string(m.description) + ")"));
      }
      if (auto s = db.exec("PRAGMA user_version = " + std::to_string(next)); !s) {
        return fail(std::move(s.error()));
      }
      spdlog::info("store: schema migrated to version {} ({})", next, m.description);
      return true;
    }();
    if (!step) {
      if (db.inTransaction()) (void)db.exec("ROLLBACK");
      return fail(std::move(step.error()));
    }
    if (auto s = db.exec("COMMIT"); !s) {
      if (db.inTransaction()) (void)db.exec("ROLLBACK");
      return fail(withContext(std::move(s.error()), "schema migration"));
    }
    if (!*step) return ok();
  }
}

// What one write of a batch is called in messages.
std::string describe(const Write& write) {
  if (const auto* w = std::get_if<PutWorkload>(&write)) {
    return "put workload " + quote(w->record.spec.id);
  }
  if (const auto* w = std::get_if<DeleteWorkload>(&write)) return "delete workload " + quote(w->id);
  if (const auto* w = std::get_if<PutNode>(&write)) return "put node " + quote(w->node.id);
  return "delete node " + quote(std::get<DeleteNode>(write).id);
}

}  // namespace

int SqliteStore::schemaVersion() { return kSchemaVersion; }

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
  if (auto s = migrate(*db); !s) return fail(withContext(std::move(s.error()), where));
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
      prepare(put_workload_, kPutWorkload),
      prepare(delete_workload_, "DELETE FROM workloads WHERE id = ?1"),
      prepare(put_node_,
              "INSERT INTO nodes (id, address, cordoned, added_at) VALUES (?1, ?2, ?3, ?4) "
              "ON CONFLICT (id) DO UPDATE SET address = excluded.address, "
              "cordoned = excluded.cordoned, added_at = excluded.added_at"),
      prepare(delete_node_, "DELETE FROM nodes WHERE id = ?1"),
      prepare(load_workloads_, kSelectWorkloads),
      prepare(load_nodes_, "SELECT id, address, cordoned, added_at FROM nodes ORDER BY id"),
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
    auto record = decodeRow(load_workloads_);
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

Status SqliteStore::apply(const std::vector<Write>& batch) {
  if (batch.empty()) return ok();
  // Everything is encoded and checked first: a bad write refuses the batch
  // before the transaction starts.
  std::vector<std::optional<WorkloadRow>> rows(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (const auto* put = std::get_if<PutWorkload>(&batch[i])) {
      auto row = encodeRecord(put->record);
      if (!row) return fail(std::move(row.error()));
      rows[i] = std::move(*row);
    } else if (const auto* node = std::get_if<PutNode>(&batch[i]); node && node->node.id.empty()) {
      return fail(Code::kInvalidArgument, "node id must not be empty", "id");
    }
  }

  // One write, on a statement reset when it returns.
  auto run = [&](std::size_t i) -> Status {
    const Write& write = batch[i];
    if (rows[i]) {
      sql::ResetOnExit reset(put_workload_);
      if (auto s = bindRow(put_workload_, *rows[i]); !s) return s;
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
    const auto& dn = std::get<DeleteNode>(write);
    sql::ResetOnExit reset(delete_node_);
    if (auto s = delete_node_.bindText(1, dn.id); !s) return s;
    return delete_node_.run();
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
