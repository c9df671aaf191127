#pragma once
// Internal to zp_store: helpers shared by the SQLite store's files, and the
// row form of a workload record (sqlite_rows.cc). Not a public interface.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/time.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace zp::store::detail {

// A quoted, escaped form of `text` for messages; never throws on bad UTF-8.
inline std::string quote(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline Error withContext(Error error, std::string_view what) {
  error.message = std::string(what) + ": " + error.message;
  return error;
}

// The first failure among already evaluated steps (braced lists run in order).
inline Status firstError(std::initializer_list<Status> steps) {
  for (const auto& step : steps) {
    if (!step) return fail(step.error());
  }
  return ok();
}

inline std::int64_t toNanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

inline TimePoint fromNanos(std::int64_t nanos) {
  return TimePoint{
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds{nanos})};
}

// The columns SELECTed for workloads, in this order.
inline constexpr std::string_view kSelectWorkloads =
    "SELECT id, created_at, updated_at, spec, status, termination_grace FROM workloads "
    "ORDER BY created_at, id";

// An upsert with parameters (id, created_at, updated_at, spec, status,
// termination_grace).
inline constexpr std::string_view kPutWorkload =
    "INSERT INTO workloads (id, created_at, updated_at, spec, status, termination_grace) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET "
    "created_at = excluded.created_at, updated_at = excluded.updated_at, "
    "spec = excluded.spec, status = excluded.status, "
    "termination_grace = excluded.termination_grace";

// A workload record in its row form.
struct WorkloadRow {
  std::string id;
  std::optional<std::int64_t> created_at;  // NULL when status.created_at is unset
  std::int64_t updated_at = 0;
  std::string spec;
  std::string status;
  std::optional<std::int64_t> termination_grace;  // seconds; NULL when unset
};

// Checks and serializes a record (kInvalidArgument for an empty id, a
// status.id that differs, strings that cannot be JSON).
Result<WorkloadRow> encodeRecord(const WorkloadRecord& record);
// Binds `row` to kPutWorkload.
Status bindRow(sql::Statement& insert, const WorkloadRow& row);
// Binds the columns of schema version 2 (id, created_at, updated_at, spec,
// status: parameters 1-5) only; for the migration to that version.
Status bindRowVersion2(sql::Statement& insert, const WorkloadRow& row);
// Parses a JSON column; nullopt when it is not JSON.
std::optional<nlohmann::json> parseJson(const std::string& text);
// Decodes the current row of kSelectWorkloads (kInternal naming the id when
// it is corrupt). Never throws.
Result<WorkloadRecord> decodeRow(const sql::Statement& row);

}  // namespace zp::store::detail
