#pragma once
// The whole `zoneplane` CLI as a function, so tests can drive it in-process:
// parse the arguments, read the config file, resolve the server, token and CA
// (config.h), send, print.

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cli/invocation.h"

namespace zp::cli {

// The process environment the CLI reads; unset variables are nullopt. Without
// `xdg_config_home` and `home` no default config file is read.
struct CliEnvironment {
  std::optional<std::string> server;           // $ZONEPLANE_SERVER
  std::optional<std::string> token;            // $ZONEPLANE_TOKEN
  std::optional<std::string> ca_cert;          // $ZONEPLANE_CA_CERT
  std::optional<std::string> xdg_config_home;  // $XDG_CONFIG_HOME
  std::optional<std::string> home;             // $HOME
};

// The default config file is read only when flags and variables leave one of
// server, token and CA unset; --config FILE is always read.
// `args` excludes the program name. Returns the process exit code
// (exit_codes.h). Catches nothing: main() is the edge that catches.
int runCli(const std::vector<std::string>& args, const CliEnvironment& env, std::istream& in,
           std::ostream& out, std::ostream& err);

// How long the CLI waits for the server's answer to `invocation`: --timeout,
// or longer for the answers that take long (a delete's grace period, a
// drain, a probe: the server's probe_request_timeout_seconds at most).
std::chrono::milliseconds requestTimeout(const Invocation& invocation);

}  // namespace zp::cli
