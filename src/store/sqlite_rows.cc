#include "store/sqlite_rows.h"

#include <exception>
#include <utility>

#include "api/json.h"

namespace zp::store::detail {
namespace {

using nlohmann::json;

enum WorkloadColumn { kId = 0, kCreatedAt, kUpdatedAt, kSpec, kStatus, kTerminationGrace };

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

}  // namespace

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
  if (record.termination_grace) {
    if (record.termination_grace->count() < 0) {
      return fail(Code::kInvalidArgument,
                  "workload " + quote(id) + ": termination_grace must not be negative",
                  "termination_grace");
    }
    row.termination_grace = record.termination_grace->count();
  }
  return row;
}

// Binds `row` to an INSERT with parameters (id, created_at, updated_at, spec,
// status, termination_grace).
Status bindRow(sql::Statement& insert, const WorkloadRow& row) {
  return firstError({
      bindRowVersion2(insert, row),
      row.termination_grace ? insert.bindInt(6, *row.termination_grace) : insert.bindNull(6),
  });
}

Status bindRowVersion2(sql::Statement& insert, const WorkloadRow& row) {
  return firstError({
      insert.bindText(1, row.id),
      row.created_at ? insert.bindInt(2, *row.created_at) : insert.bindNull(2),
      insert.bindInt(3, row.updated_at),
      insert.bindText(4, row.spec),
      insert.bindText(5, row.status),
  });
}

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
    if (!row.isNull(kTerminationGrace) &&
        (!row.isInteger(kTerminationGrace) || row.columnInt(kTerminationGrace) < 0)) {
      return corrupt("termination_grace is not a whole number of seconds");
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
    if (!row.isNull(kTerminationGrace)) {
      record.termination_grace = std::chrono::seconds{row.columnInt(kTerminationGrace)};
    }
    return record;
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
}

}  // namespace zp::store::detail
