#pragma once
// The whole `zoneplane` CLI as a function, so tests can drive it in-process:
// parse the arguments, pick and validate the server URL, send, print.

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace zp::cli {

struct CliEnvironment {
  std::optional<std::string> server;  // $ZONEPLANE_SERVER
};

// `args` excludes the program name. Returns the process exit code
// (exit_codes.h). Catches nothing: main() is the edge that catches.
int runCli(const std::vector<std::string>& args, const CliEnvironment& env, std::istream& in,
           std::ostream& out, std::ostream& err);

}  // namespace zp::cli
