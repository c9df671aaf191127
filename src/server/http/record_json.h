#pragma once
// The API's JSON form of a workload record: {"spec": {...}, "status": {...}},
// used by GET, POST, DELETE, lists and watch events alike.

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace zp::server {

nlohmann::json recordJson(const store::WorkloadRecord& record);

}  // namespace zp::server
