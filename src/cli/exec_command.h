#pragma once
// `zoneplane exec [--timeout 10s] ID -- CMD ARGS...` (POST /workloads/ID/exec):
// its arguments, its request, and running it. The command's stdout goes to
// stdout and its stderr to stderr as they were captured; the CLI exits with
// the command's exit code. What the CLI itself says (a cut stream, an error)
// goes to stderr, and a failed request exits kExitExecTimeout or
// kExitExecFailed (exit_codes.h); a command may exit 124 or 125 itself, so
// the message on stderr is what tells them apart.

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/http_client.h"

namespace CLI {
class App;
}

namespace zp::cli {

inline constexpr int kDefaultExecTimeoutSeconds = 10;
inline constexpr int kMaxExecTimeoutSeconds = 300;

struct ExecArgs {
  std::string id;
  std::vector<std::string> command;  // after `--`
  std::chrono::seconds timeout{kDefaultExecTimeoutSeconds};
};

// Adds the `exec` subcommand to `app`, filling `args` when it is parsed.
CLI::App* addExecCommand(CLI::App& app, ExecArgs& args);

// "10", "10s" or "2m": the --timeout of exec, 1 s to 5 min; an error message
// otherwise.
Result<std::chrono::seconds> parseExecTimeout(const std::string& text);

// POST PREFIX/workloads/ID/exec {"command": [...], "timeout_seconds": N}.
HttpRequest execRequest(const std::string& path_prefix, const ExecArgs& args);

// Sends the exec and prints its outcome (`json`: the reply as JSON on
// `out` instead of the streams). Returns the process exit code.
int runExec(ApiClient& api, const ExecArgs& args, bool json, std::ostream& out, std::ostream& err);

}  // namespace zp::cli
