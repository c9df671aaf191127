#pragma once
// Runs the whole CLI in-process (runCli) and keeps what it printed.

#include <sstream>
#include <string>
#include <vector>

#include "cli/app.h"

namespace zp::cli::testing {

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

// An environment with only ZONEPLANE_SERVER set.
inline CliEnvironment serverEnv(std::string server) {
  CliEnvironment env;
  env.server = std::move(server);
  return env;
}

inline CliRun cli(const std::vector<std::string>& args, const CliEnvironment& env = {},
                  const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  CliRun r;
  r.code = runCli(args, env, in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace zp::cli::testing
