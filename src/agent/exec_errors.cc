#include "agent/exec_errors.h"

#include <algorithm>
#include <string>
#include <string_view>

namespace zp::agent {
namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string durationText(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

}  // namespace

Result<ExecOutput> execFailure(Error error, std::chrono::milliseconds elapsed,
                               std::chrono::milliseconds timeout) {
  const std::string_view message = error.message;
  // runc: `exec failed: unable to start container process: exec: "x":
  // executable file not found in $PATH` (or stat x: no such file or
  // directory; permission denied for a file that is not executable). First:
  // a runtime slow to say so has still not timed the command out.
  if (error.code == Code::kInternal && contains(message, "exec failed")) {
    int code = 0;
    if (contains(message, "not found") || contains(message, "no such file or directory")) {
      code = 127;
    } else if (contains(message, "permission denied")) {
      code = 126;
    }
    if (code != 0) {
      ExecOutput out;
      out.exit_code = code;
      out.stderr_bytes = error.message + "\n";
      return out;
    }
  }
  // The runtime is given whole seconds (rounded up, at least one): only
  // past those did the command time out.
  const auto granted = std::max<std::chrono::milliseconds>(
      std::chrono::ceil<std::chrono::seconds>(timeout), std::chrono::seconds{1});
  const bool said_timeout = contains(message, "timeout") && contains(message, "exceeded");
  if (error.code == Code::kDeadlineExceeded || said_timeout ||
      (error.code != Code::kUnavailable && error.code != Code::kNotFound && elapsed >= granted)) {
    return fail(Code::kDeadlineExceeded,
                "the command did not finish within " + durationText(timeout));
  }
  return fail(std::move(error));
}

}  // namespace zp::agent
