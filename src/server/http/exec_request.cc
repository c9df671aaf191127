#include "server/http/exec_request.h"

#include "api/json_fields.h"
#include "api/strict_json.h"

namespace zp::server {

using nlohmann::json;
namespace fields = api::fields;

Result<ExecBody> decodeExecBody(std::string_view body) {
  auto parsed = api::parseStrictJson(body);
  if (!parsed) return fail(parsed.error());
  const json& j = *parsed;
  if (auto s = fields::requireObject(j, "exec request", {"command", "timeout_seconds"}, ""); !s) {
    return fail(s.error());
  }
  ExecBody out;
  auto command = fields::optStringList(j, "command", "");
  if (!command) return fail(command.error());
  if (!*command)
    return fail(Code::kInvalidArgument, "missing required field \"command\"", "command");
  if (auto s = protocol::validateExecCommand(**command, "command"); !s) return fail(s.error());
  out.command = std::move(**command);
  auto timeout = fields::optInt(j, "timeout_seconds", "");
  if (!timeout) return fail(timeout.error());
  if (*timeout) {
    if (**timeout < 1 || **timeout > kMaxExecTimeoutSeconds) {
      return fail(Code::kInvalidArgument,
                  "timeout_seconds must be a whole number from 1 to " +
                      std::to_string(kMaxExecTimeoutSeconds),
                  "timeout_seconds");
    }
    out.timeout = std::chrono::seconds{**timeout};
  }
  return out;
}

json execResultJson(const protocol::ExecResult& result) {
  return json{{"exit_code", result.exit_code},
              {"stdout", result.stdout_text},
              {"stderr", result.stderr_text},
              {"stdout_truncated", result.stdout_truncated},
              {"stderr_truncated", result.stderr_truncated}};
}

namespace {

bool plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_./=:,+@%-").find(c) != std::string_view::npos;
}

std::string quoted(const std::string& arg) {
  bool simple = !arg.empty();
  for (char c : arg) simple = simple && plain(c);
  if (simple) return arg;
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';  // no control characters in a log line
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

std::string quotedCommand(const std::vector<std::string>& command, std::size_t max_bytes) {
  std::string out;
  for (const auto& arg : command) {
    if (!out.empty()) out += ' ';
    out += quoted(arg.substr(0, max_bytes + 1));
    if (out.size() > max_bytes) break;
  }
  if (out.size() <= max_bytes) return out;
  // Cut at a UTF-8 character boundary.
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80) --end;
  return out.substr(0, end) + "\xE2\x80\xA6";
}

}  // namespace zp::server
