#pragma once
// The body of POST /workloads/{id}/exec and its answer (docs/architecture.md
// §7): {"command": [...], "timeout_seconds": N} -> {"exit_code", "stdout",
// "stderr", "stdout_truncated", "stderr_truncated"}. Pure functions;
// thread-safe.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "protocol/messages.h"

namespace zp::server {

inline constexpr std::int64_t kDefaultExecTimeoutSeconds = 10;
inline constexpr std::int64_t kMaxExecTimeoutSeconds = 300;
// How much of the command an audit entry shows (the whole entry's target is
// bounded again by the audit).
inline constexpr std::size_t kMaxAuditedCommand = 200;

struct ExecBody {
  std::vector<std::string> command;
  std::chrono::seconds timeout{kDefaultExecTimeoutSeconds};
};

// Strict: a JSON object with `command` (1..64 strings of 1..4096 bytes, no
// NUL) and optionally `timeout_seconds` (integer 1..300); anything else
// (not JSON, another shape, an unknown field, a key twice) is
// kInvalidArgument naming the field.
Result<ExecBody> decodeExecBody(std::string_view body);

nlohmann::json execResultJson(const protocol::ExecResult& result);

// The command as a shell would read it (arguments with anything but
// [A-Za-z0-9_./=:,+@%-] single-quoted), cut to `max_bytes` with "…" when
// longer: for the audit log and messages.
std::string quotedCommand(const std::vector<std::string>& command,
                          std::size_t max_bytes = kMaxAuditedCommand);

}  // namespace zp::server
