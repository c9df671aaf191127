#pragma once
// The Store seam: durable desired + last-known state of the control plane.
// The server is the only writer. Implementations: SqliteStore (default).
// All methods are thread-safe and blocking (a local embedded database is fast
// enough to be called from the server's executor).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/workload.h"
#include "common/status.h"
#include "common/time.h"

namespace zp::store {

// One accepted workload: what was asked (spec), where it was placed (node),
// and the last status observed from its agent.
struct WorkloadRecord {
  api::WorkloadSpec spec;
  std::string node;             // node id it was scheduled to; empty if none
  api::WorkloadStatus status;   // last known; status.id == spec.id
  TimePoint created_at{};       // when the server accepted it
  TimePoint updated_at{};       // last write of this record
  bool operator==(const WorkloadRecord&) const = default;
};

// Unset fields match everything. (Default initializers keep designated
// initialization such as `{.node = "n1"}` free of -Wmissing-field-initializers.)
struct ListFilter {
  std::optional<api::WorkloadState> state = std::nullopt;
  std::optional<std::string> node = std::nullopt;
  std::optional<std::string> runtime_class = std::nullopt;
};

class Store {
 public:
  virtual ~Store() = default;

  // Inserts a new record. kAlreadyExists when the id is taken.
  virtual Status create(const WorkloadRecord& record) = 0;
  // kNotFound when absent.
  virtual Result<WorkloadRecord> get(std::string_view id) = 0;
  // Records matching every set filter field, ordered by created_at then id.
  virtual Result<std::vector<WorkloadRecord>> list(const ListFilter& filter) = 0;
  // Replaces the stored status (and updated_at). kNotFound when absent.
  virtual Status updateStatus(std::string_view id, const api::WorkloadStatus& status,
                              TimePoint updated_at) = 0;
  // Deletes the record. kNotFound when absent.
  virtual Status remove(std::string_view id) = 0;
};

}  // namespace zp::store
