#include "cli/exec_command.h"

#include <CLI/CLI.hpp>
#include <limits>
#include <ostream>

#include "api/validate.h"
#include "cli/duration.h"
#include "cli/error_body.h"
#include "cli/exit_codes.h"
#include "cli/url_encode.h"

namespace zp::cli {

using nlohmann::json;

namespace {

constexpr const char* kExecFooter =
    "Runs CMD in the workload's running container, as the workload's own process runs\n"
    "(same user, capabilities and no-new-privileges), without a terminal or stdin, and\n"
    "prints its output once it ends: stdout to stdout, stderr to stderr, each cut at\n"
    "64 KiB (said on stderr). Exits with the command's exit code; 124 when it did not\n"
    "finish within --timeout (it was killed), 125 when the request failed (nothing\n"
    "ran, or the outcome is unknown). Needs an operator token. Every exec is audited.";

}  // namespace

Result<std::chrono::seconds> parseExecTimeout(const std::string& text) {
  using namespace std::chrono;
  auto timeout = parseDuration(text, "--timeout", 1s, seconds(kMaxExecTimeoutSeconds));
  if (!timeout) return fail(timeout.error());
  if (*timeout % 1s != 0ms) {
    return fail(Code::kInvalidArgument, "\"" + text + "\" is not whole seconds", "--timeout");
  }
  return duration_cast<seconds>(*timeout);
}

CLI::App* addExecCommand(CLI::App& app, ExecArgs& args) {
  auto* exec =
      app.add_subcommand("exec", "Run a command in a running workload (POST /workloads/ID/exec)");
  exec->footer(kExecFooter);
  exec->add_option("id", args.id, "Workload id")
      ->required()
      ->check(CLI::Validator(
          [](std::string& id) -> std::string {
            if (api::isDns1123Label(id)) return {};
            return "workload id \"" + id +
                   "\" is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)";
          },
          "ID"));
  exec->add_option("command", args.command, "Command and arguments, after `--`")->required();
  exec->add_option_function<std::string>(
          "--timeout",
          [&args](const std::string& text) {
            auto timeout = parseExecTimeout(text);
            if (!timeout) throw CLI::ValidationError("--timeout", timeout.error().message);
            args.timeout = *timeout;
          },
          "Kill the command after this long: 1s to 300s (default 10s)")
      ->type_name("DURATION");
  return exec;
}

HttpRequest execRequest(const std::string& path_prefix, const ExecArgs& args) {
  const json body{{"command", args.command}, {"timeout_seconds", args.timeout.count()}};
  return {HttpMethod::kPost, path_prefix + "/workloads/" + percentEncode(args.id) + "/exec",
          body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

namespace {

// The reply's fields, checked: the server's answer must have them all.
struct ExecReply {
  int exit_code = 0;
  std::string out, err;
  bool out_truncated = false, err_truncated = false;
};

Result<ExecReply> decodeExecReply(const json& j) {
  const auto bad = [] {
    return fail(Code::kInternal,
                "the server's exec answer lacks exit_code, stdout, stderr, stdout_truncated or "
                "stderr_truncated");
  };
  if (!j.is_object()) return bad();
  const auto code = j.find("exit_code");
  const auto out = j.find("stdout");
  const auto err = j.find("stderr");
  const auto out_cut = j.find("stdout_truncated");
  const auto err_cut = j.find("stderr_truncated");
  if (code == j.end() || !code->is_number_integer() || out == j.end() || !out->is_string() ||
      err == j.end() || !err->is_string() || out_cut == j.end() || !out_cut->is_boolean() ||
      err_cut == j.end() || !err_cut->is_boolean()) {
    return bad();
  }
  const auto value = code->get<std::int64_t>();
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    return bad();
  }
  return ExecReply{static_cast<int>(value), out->get<std::string>(), err->get<std::string>(),
                   out_cut->get<bool>(), err_cut->get<bool>()};
}

}  // namespace

int runExec(ApiClient& api, const ExecArgs& args, bool as_json, std::ostream& out,
            std::ostream& err) {
  auto reply = api.call(execRequest(api.pathPrefix(), args));
  if (!reply) {
    err << formatError(reply.error()) << "\n";
    return reply.error().code == Code::kDeadlineExceeded ? kExitExecTimeout : kExitExecFailed;
  }
  auto result = decodeExecReply(*reply);
  if (!result) {
    err << formatError(result.error()) << "\n";
    return kExitExecFailed;
  }
  if (as_json) {
    out << reply->dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    out << result->out;
    err << result->err;
  }
  out.flush();
  if (result->out_truncated || result->err_truncated) {
    // The notes start on a line of their own.
    if (!as_json && !result->err.empty() && !result->err.ends_with('\n')) err << "\n";
    if (result->out_truncated) err << "zoneplane exec: stdout was cut at 64 KiB\n";
    if (result->err_truncated) err << "zoneplane exec: stderr was cut at 64 KiB\n";
  }
  if (result->exit_code < 0 || result->exit_code > 255) {
    err << "zoneplane exec: the command ended with exit code " << result->exit_code << "\n";
    return kExitExecFailed;
  }
  return result->exit_code;
}

}  // namespace zp::cli
