#pragma once
// The command line of `zoneplane` (CLI11): parsing argv into an Invocation.
// Pure: nothing is printed or sent; help, version and usage errors come back
// as text plus an exit code.

#include <string>
#include <variant>
#include <vector>

#include "cli/invocation.h"

namespace zp::cli {

// Parsing stopped before anything should run: --help, --version (code 0,
// text for stdout) or a usage error (kExitUsage, text for stderr).
struct EarlyExit {
  int code = 0;
  std::string out;
  std::string err;
};

// `args` excludes the program name (argv[1..]).
std::variant<Invocation, EarlyExit> parseArgs(const std::vector<std::string>& args);

}  // namespace zp::cli
