#include "store/sqlite_store.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <utility>

#include "api/json.h"
#include "store/private_files.h"

namespace zp::store {
namespace {

using nlohmann::json;

// Schema migrations, applied in order: the database is at version N (PRAGMA
// user_version) once the first N have run. Never edit a released step; append
// a new one (e.g. "ALTER TABLE workloads ADD COLUMN ...") instead.
struct Migration {
  std::string_view description;
  std::string_view sql;  // trusted, constant; may hold several statements
};

constexpr Migration kMigrations[] = {
    {"workloads table", R"sql(
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
    )sql"},
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

constexpr std::string_view kBusyTimeoutPragma = "PRAGMA busy_timeout";
constexpr int kBusyTimeoutMs = 5000;

constexpr std::string_view kColumns =
    "SELECT id, node, spec_json, status_json, created_at_ns, updated_at_ns FROM workloads";
enum Column { kId = 0, kNode, kSpecJson, kStatusJson, kCreatedAt, kUpdatedAt };

// List filter bits, also the index into SqliteStore::list_.
constexpr unsigned kByState = 1, kByNode = 2, kByRuntimeClass = 4;

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

// Serializes a spec or status; strings that are not UTF-8 cannot be JSON.
template <typename T>
Result<std::string> encode(const T& value, const char* field) {
  try {
    return api::toJson(value).dump();
  } catch (const std::exception& e) {
    return fail(Code::kInvalidArgument, std::string(field) + " cannot be stored: " + e.what(),
                field);
  }
}

// Decodes the current row of a SELECT over kColumns. Never throws.
Result<WorkloadRecord> decodeRow(const sql::Statement& row) {
  const std::string id = row.columnText(kId);
  auto corrupt = [&](std::string_view detail) {
    return fail(Code::kInternal,
                "corrupt record for workload " + quote(id) + ": " + std::string(detail));
  };
  try {
    if (!row.isInteger(kCreatedAt) || !row.isInteger(kUpdatedAt)) {
      return corrupt("timestamps are not integers");
    }
    const json spec_json = json::parse(row.columnText(kSpecJson), nullptr, false);
    if (spec_json.is_discarded()) return corrupt("spec is not valid JSON");
    auto spec = api::workloadSpecFromJson(spec_json);
    if (!spec) return corrupt("spec: " + spec.error().toString());
    if (spec->id != id) return corrupt("spec.id is " + quote(spec->id));

    const json status_json = json::parse(row.columnText(kStatusJson), nullptr, false);
    if (status_json.is_discarded()) return corrupt("status is not valid JSON");
    auto status = api::workloadStatusFromJson(status_json);
    if (!status) return corrupt("status: " + status.error().toString());
    if (status->id != id) return corrupt("status.id is " + quote(status->id));

    WorkloadRecord record;
    record.spec = std::move(*spec);
    record.node = row.columnText(kNode);
    record.status = std::move(*status);
    record.created_at = fromNanos(row.columnInt(kCreatedAt));
    record.updated_at = fromNanos(row.columnInt(kUpdatedAt));
    return record;
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
}

// Per-connection settings. WAL is required for files; ":memory:" has its own mode.
Status configure(sql::Database& db, bool in_memory) {
  if (auto s = db.setBusyTimeout(kBusyTimeoutMs); !s) return s;
  auto mode = db.queryText("PRAGMA journal_mode=WAL");
  if (!mode) return fail(withContext(std::move(mode.error()), "enable WAL"));
  if (!in_memory && *mode != "wal") {
    return fail(Code::kInternal, "could not enable WAL journal mode (got \"" + *mode + "\")");
  }
  if (auto s = db.exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"); !s) return s;
  auto timeout = db.queryInt(kBusyTimeoutPragma);
  if (!timeout) return fail(std::move(timeout.error()));
  if (*timeout != kBusyTimeoutMs) return fail(Code::kInternal, "busy_timeout was not applied");
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
      if (auto s = db.exec(m.sql); !s) {
        return fail(withContext(std::move(s.error()), "migration to schema version " +
                                                          std::to_string(next) + " (" +
                                                          std::string(m.description) + ")"));
      }
      // The version is our own integer, not user data.
      if (auto s = db.exec("PRAGMA user_version = " + std::to_string(next)); !s) {
        return fail(std::move(s.error()));
      }
      spdlog::info("store: schema migrated to version {} ({})", next, m.description);
      return true;
    }();
    if (!step) {
      (void)db.exec("ROLLBACK");
      return fail(std::move(step.error()));
    }
    if (auto s = db.exec("COMMIT"); !s) {
      (void)db.exec("ROLLBACK");
      return fail(withContext(std::move(s.error()), "schema migration"));
    }
    if (!*step) return ok();
  }
}

}  // namespace

int SqliteStore::schemaVersion() { return kSchemaVersion; }

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  if (path.empty() || path.find('\0') != std::string::npos) {
    return fail(Code::kInvalidArgument, "store path must be non-empty and contain no NUL", "path");
  }
  const std::string where = "store " + quote(path);
  if (auto s = makeDatabaseFilesPrivate(path); !s) {
    return fail(withContext(std::move(s.error()), where));
  }
  auto db = sql::Database::open(path);
  if (!db) return fail(std::move(db.error()));
  if (auto s = configure(*db, path == ":memory:"); !s) {
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
  if (auto s = firstError({
          prepare(insert_,
                  "INSERT INTO workloads (id, node, state, runtime_class, spec_json, status_json, "
                  "created_at_ns, updated_at_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
          prepare(select_one_, std::string(kColumns) + " WHERE id = ?1"),
          prepare(update_status_,
                  "UPDATE workloads SET state = ?2, status_json = ?3, updated_at_ns = ?4 "
                  "WHERE id = ?1"),
          prepare(delete_, "DELETE FROM workloads WHERE id = ?1"),
      });
      !s) {
    return s;
  }
  // Each variant is assembled from constant fragments; values are bound.
  for (unsigned mask = 0; mask < kListVariants; ++mask) {
    std::string text(kColumns);
    std::string_view sep = " WHERE ";
    auto add = [&](unsigned bit, std::string_view condition) {
      if ((mask & bit) == 0) return;
      text += sep;
      text += condition;
      sep = " AND ";
    };
    add(kByState, "state = ?1");
    add(kByNode, "node = ?2");
    add(kByRuntimeClass, "runtime_class = ?3");
    text += " ORDER BY created_at_ns, id";
    if (auto s = prepare(list_[mask], text); !s) return s;
  }
  return ok();
}

Status SqliteStore::create(const WorkloadRecord& record) {
  const std::string& id = record.spec.id;
  if (id.empty()) return fail(Code::kInvalidArgument, "workload id must not be empty", "id");
  if (record.status.id != id) {
    return fail(Code::kInvalidArgument,
                "status.id " + quote(record.status.id) + " differs from id " + quote(id),
                "status.id");
  }
  auto spec = encode(record.spec, "spec");
  if (!spec) return fail(std::move(spec.error()));
  auto status = encode(record.status, "status");
  if (!status) return fail(std::move(status.error()));

  std::lock_guard lock(mu_);
  sql::ResetOnExit reset(insert_);
  auto s = firstError({
      insert_.bindText(1, id),
      insert_.bindText(2, record.node),
      insert_.bindText(3, api::stateName(record.status.state)),
      insert_.bindText(4, record.spec.runtime_class),
      insert_.bindText(5, *spec),
      insert_.bindText(6, *status),
      insert_.bindInt(7, toNanos(record.created_at)),
      insert_.bindInt(8, toNanos(record.updated_at)),
  });
  if (s) s = insert_.run();
  if (s) return ok();
  if (s.error().code == Code::kAlreadyExists) {
    return fail(Code::kAlreadyExists, "workload " + quote(id) + " already exists", "id");
  }
  return fail(withContext(std::move(s.error()), "create workload " + quote(id)));
}

Result<WorkloadRecord> SqliteStore::get(std::string_view id) {
  std::lock_guard lock(mu_);
  sql::ResetOnExit reset(select_one_);
  if (auto s = select_one_.bindText(1, id); !s) return fail(std::move(s.error()));
  auto row = select_one_.step();
  if (!row) return fail(withContext(std::move(row.error()), "get workload " + quote(id)));
  if (!*row) return fail(Code::kNotFound, "no workload " + quote(id));
  return decodeRow(select_one_);
}

Result<std::vector<WorkloadRecord>> SqliteStore::list(const ListFilter& filter) {
  unsigned mask = 0;
  if (filter.state) mask |= kByState;
  if (filter.node) mask |= kByNode;
  if (filter.runtime_class) mask |= kByRuntimeClass;

  std::lock_guard lock(mu_);
  sql::Statement& query = list_[mask];
  sql::ResetOnExit reset(query);
  if (auto s = firstError({
          filter.state ? query.bindText(1, api::stateName(*filter.state)) : ok(),
          filter.node ? query.bindText(2, *filter.node) : ok(),
          filter.runtime_class ? query.bindText(3, *filter.runtime_class) : ok(),
      });
      !s) {
    return fail(std::move(s.error()));
  }
  std::vector<WorkloadRecord> records;
  for (;;) {
    auto row = query.step();
    if (!row) return fail(withContext(std::move(row.error()), "list workloads"));
    if (!*row) return records;
    auto record = decodeRow(query);
    if (!record) return fail(std::move(record.error()));
    records.push_back(std::move(*record));
  }
}

Status SqliteStore::updateStatus(std::string_view id, const api::WorkloadStatus& status,
                                 TimePoint updated_at) {
  if (status.id != id) {
    return fail(Code::kInvalidArgument,
                "status.id " + quote(status.id) + " differs from id " + quote(id), "status.id");
  }
  auto encoded = encode(status, "status");
  if (!encoded) return fail(std::move(encoded.error()));

  std::lock_guard lock(mu_);
  sql::ResetOnExit reset(update_status_);
  auto s = firstError({
      update_status_.bindText(1, id),
      update_status_.bindText(2, api::stateName(status.state)),
      update_status_.bindText(3, *encoded),
      update_status_.bindInt(4, toNanos(updated_at)),
  });
  if (s) s = update_status_.run();
  if (!s) return fail(withContext(std::move(s.error()), "update workload " + quote(id)));
  if (db_.changes() == 0) return fail(Code::kNotFound, "no workload " + quote(id));
  return ok();
}

Status SqliteStore::remove(std::string_view id) {
  std::lock_guard lock(mu_);
  sql::ResetOnExit reset(delete_);
  auto s = delete_.bindText(1, id);
  if (s) s = delete_.run();
  if (!s) return fail(withContext(std::move(s.error()), "remove workload " + quote(id)));
  if (db_.changes() == 0) return fail(Code::kNotFound, "no workload " + quote(id));
  return ok();
}

}  // namespace zp::store
