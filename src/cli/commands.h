#pragma once
// Executing a parsed Invocation against the API: one function per command,
// output to `out`, failures as "error: ..." lines on `err`, the exit code
// (exit_codes.h) returned. Runs on the caller's thread.

#include <iosfwd>

#include "cli/api_client.h"
#include "cli/invocation.h"
#include "common/time.h"

namespace zp::cli {

struct Streams {
  std::istream& in;  // read by `apply -f -`
  std::ostream& out;
  std::ostream& err;
};

// `clock` dates the output (ages); `poll_interval` is the --wait poll period.
struct ExecuteContext {
  ApiClient& api;
  const Clock& clock;
  Streams io;
  std::chrono::milliseconds poll_interval = kDefaultPollInterval;
};

int execute(const Invocation& invocation, ExecuteContext& ctx);

// Reads a workload file (`-` is ctx.in) as one JSON object. kInvalidArgument
// (field "file") when it cannot be read, is not JSON, or is not an object.
Result<nlohmann::json> readWorkloadFile(const std::string& path, std::istream& in);

}  // namespace zp::cli
