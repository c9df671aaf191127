#pragma once
// The API's JSON form of a workload record: {"spec": {...}, "status": {...}},
// used by GET, POST, DELETE, lists and watch events alike. With the
// verification of its class on its node (docs/architecture.md §10.3) the
// status also has
//   "isolation": {"level", "score", "verified_at"?, "quarantined"}

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "api/isolation.h"
#include "store/store.h"

namespace zp::server {

// The verification to show with a record (WorkloadService::isolation).
using IsolationLookup =
    std::function<std::optional<api::ClassIsolation>(const store::WorkloadRecord&)>;

nlohmann::json recordJson(const store::WorkloadRecord& record,
                          const std::optional<api::ClassIsolation>& isolation = std::nullopt);

}  // namespace zp::server
