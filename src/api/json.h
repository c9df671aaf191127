#pragma once
// JSON forms of the api types. Decoders are strict: wrong types, unknown fields
// and out-of-range numbers are errors naming the field, never silently dropped.
// Decoders check the shape of the input only; `validate.h` checks the values.

#include <nlohmann/json.hpp>

#include "api/isolation.h"
#include "api/node.h"
#include "api/workload.h"
#include "common/status.h"

namespace zp::api {

nlohmann::json toJson(const WorkloadSpec& spec);
nlohmann::json toJson(const SecuritySpec& security);
nlohmann::json toJson(const WorkloadStatus& status);
nlohmann::json toJson(const Resources& resources);
nlohmann::json toJson(const NodeInfo& node);
nlohmann::json toJson(const Finding& finding);
nlohmann::json toJson(const ClassIsolation& isolation);

// What a decoder does with a key it does not know.
enum class UnknownFields {
  kReject,  // user input: an unknown field is an error naming it
  kIgnore,  // replies from a (possibly newer) zoneplane component
};

// `field_prefix` is prepended to field names in errors ("workload." in the protocol).
Result<WorkloadSpec> workloadSpecFromJson(const nlohmann::json& j,
                                          std::string_view field_prefix = {},
                                          UnknownFields unknown = UnknownFields::kReject);
Result<WorkloadStatus> workloadStatusFromJson(const nlohmann::json& j);
Result<NodeInfo> nodeInfoFromJson(const nlohmann::json& j);
// Ignores unknown fields (it decodes replies); refuses wrong types, unknown
// level or severity names and more than the api/isolation.h bounds.
Result<ClassIsolation> classIsolationFromJson(const nlohmann::json& j);

}  // namespace zp::api
