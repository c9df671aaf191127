#include "protocol/messages_exec.h"

#include <limits>

#include "api/json_fields.h"
#include "api/validate.h"

namespace zp::protocol {

using nlohmann::json;
namespace fields = api::fields;

Status validateExecCommand(const std::vector<std::string>& command, std::string_view field) {
  const std::string name(field);
  if (command.empty() || command.size() > kMaxExecArgs) {
    return fail(Code::kInvalidArgument,
                name + " must hold 1 to " + std::to_string(kMaxExecArgs) + " strings", name);
  }
  for (std::size_t i = 0; i < command.size(); ++i) {
    const std::string at = name + "[" + std::to_string(i) + "]";
    const auto& arg = command[i];
    if (arg.empty() || arg.size() > kMaxExecArgBytes) {
      return fail(Code::kInvalidArgument,
                  at + " must be 1 to " + std::to_string(kMaxExecArgBytes) + " bytes long", at);
    }
    if (arg.find('\0') != std::string::npos) {
      return fail(Code::kInvalidArgument, at + " must not contain NUL", at);
    }
  }
  return ok();
}

namespace detail {

Result<ExecSync> decodeExecSync(const json& j) {
  if (auto s = fields::requireObject(
          j, "ExecSync request",
          {"type", "req", "workload_id", "uid", "command", "timeout_ms", "max_output_bytes"}, "");
      !s) {
    return fail(s.error());
  }
  ExecSync out;
  auto id = fields::reqString(j, "workload_id", "");
  if (!id) return fail(id.error());
  if (!api::isDns1123Label(*id)) {
    return fail(Code::kInvalidArgument, "workload_id is not a valid workload id (DNS-1123 label)",
                "workload_id");
  }
  out.workload_id = std::move(*id);
  auto uid = fields::optString(j, "uid", "");
  if (!uid) return fail(uid.error());
  if (*uid) {
    if (!isValidUid(**uid)) {
      return fail(Code::kInvalidArgument,
                  "uid must be 1 to " + std::to_string(kMaxUidLength) + " characters of [a-z0-9-]",
                  "uid");
    }
    out.uid = std::move(**uid);
  }
  auto command = fields::optStringList(j, "command", "");
  if (!command) return fail(command.error());
  if (!*command)
    return fail(Code::kInvalidArgument, "missing required field \"command\"", "command");
  if (auto s = validateExecCommand(**command, "command"); !s) return fail(s.error());
  out.command = std::move(**command);
  const auto bounded = [&](std::string_view key, std::int64_t min, std::int64_t max,
                           std::int64_t& into) -> Status {
    auto value = fields::optInt(j, key, "");
    if (!value) return fail(value.error());
    if (!*value) return ok();
    if (**value < min || **value > max) {
      return fail(Code::kInvalidArgument,
                  std::string(key) + " must be between " + std::to_string(min) + " and " +
                      std::to_string(max),
                  std::string(key));
    }
    into = **value;
    return ok();
  };
  if (auto s = bounded("timeout_ms", 1, kMaxExecTimeoutMs, out.timeout_ms); !s) {
    return fail(s.error());
  }
  if (auto s = bounded("max_output_bytes", 0, kMaxExecOutputBytes, out.max_output_bytes); !s) {
    return fail(s.error());
  }
  return out;
}

json execSyncJson(const ExecSync& request) {
  json out{{"workload_id", request.workload_id},
           {"command", request.command},
           {"timeout_ms", request.timeout_ms},
           {"max_output_bytes", request.max_output_bytes}};
  if (!request.uid.empty()) out["uid"] = request.uid;
  return out;
}

json execResultJson(const ExecResult& result) {
  return json{{"exit_code", result.exit_code},
              {"stdout", result.stdout_text},
              {"stderr", result.stderr_text},
              {"stdout_truncated", result.stdout_truncated},
              {"stderr_truncated", result.stderr_truncated}};
}

Result<ExecResult> decodeExecResult(const json& j) {
  ExecResult out;
  auto code = fields::optInt(j, "exit_code", "");
  if (!code || !*code || **code < std::numeric_limits<int>::min() ||
      **code > std::numeric_limits<int>::max()) {
    return fail(Code::kInternal, "bad ExecResult reply: \"exit_code\" must be an integer");
  }
  out.exit_code = static_cast<int>(**code);
  for (auto [key, into] :
       {std::pair{"stdout", &out.stdout_text}, std::pair{"stderr", &out.stderr_text}}) {
    auto text = fields::optString(j, key, "");
    if (!text) return fail(Code::kInternal, "bad ExecResult reply: " + text.error().message);
    *into = text->value_or("");
  }
  for (auto [key, into] : {std::pair{"stdout_truncated", &out.stdout_truncated},
                           std::pair{"stderr_truncated", &out.stderr_truncated}}) {
    if (auto it = j.find(key); it != j.end()) {
      if (!it->is_boolean()) {
        return fail(Code::kInternal,
                    std::string("bad ExecResult reply: \"") + key + "\" must be true or false");
      }
      *into = it->get<bool>();
    }
  }
  return out;
}

}  // namespace detail
}  // namespace zp::protocol
