#include "store/sqlite_schema.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include "api/json.h"
#include "store/sqlite_rows.h"

namespace zp::store::detail {
namespace {

Status createVersion1(sql::Database& db);
Status migrateToVersion2(sql::Database& db);
Status createVersion3(sql::Database& db);
Status addTerminationGrace(sql::Database& db);

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
    {"API tokens and the audit log", &createVersion3},
    {"the grace period of a pending deletion", &addTerminationGrace},
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

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
  // The upsert as it was at version 2 (kPutWorkload follows the latest schema).
  auto insert = db.prepare(
      "INSERT INTO workloads (id, created_at, updated_at, spec, status) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
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
    if (auto s = bindRowVersion2(*insert, *row); !s) return s;
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

// Version 3: the API's tokens and audit log (docs/architecture.md §9.3).
// Tokens keep the SHA-256 of their secret (hex), never the secret; a join
// token may have no name (NULL: UNIQUE allows many). Times are integer
// nanoseconds since the epoch.
Status createVersion3(sql::Database& db) {
  return db.exec(R"sql(
      CREATE TABLE tokens (
        id            TEXT PRIMARY KEY NOT NULL,
        name          TEXT UNIQUE,
        role          TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER,
        last_used_at  INTEGER,
        used          INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE audit (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        time      INTEGER NOT NULL,
        principal TEXT NOT NULL,
        action    TEXT NOT NULL,
        target    TEXT NOT NULL,
        result    INTEGER NOT NULL,
        source    TEXT NOT NULL
      );
      CREATE INDEX audit_by_time ON audit (time, seq);
    )sql");
}

// Version 4: the grace period a DELETE asked for, stored with its
// Terminating mark (whole seconds; NULL for every other record).
Status addTerminationGrace(sql::Database& db) {
  return db.exec("ALTER TABLE workloads ADD COLUMN termination_grace INTEGER");
}

}  // namespace

int latestSchemaVersion() { return kSchemaVersion; }

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

}  // namespace zp::store::detail
