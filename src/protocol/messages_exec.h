#pragma once
// The ExecSync request and ExecResult reply codec (messages.cc uses it).
// Internal to zp_protocol.

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "protocol/messages.h"

namespace zp::protocol::detail {

// An ExecSync request object (its "type" already read); strict.
Result<ExecSync> decodeExecSync(const nlohmann::json& j);
nlohmann::json execSyncJson(const ExecSync& request);

nlohmann::json execResultJson(const ExecResult& result);
// Tolerates unknown fields; errors are kInternal (a bad agent reply).
Result<ExecResult> decodeExecResult(const nlohmann::json& j);

}  // namespace zp::protocol::detail
