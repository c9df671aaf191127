#pragma once
// Command-line flags of zoneplane-server and how they combine with the config
// file: the file (if --config) gives the base, flags override it.
//
//   --config FILE  --listen HOST:PORT  --database PATH  --log-level LEVEL
//   --node ID=HOST:PORT (repeatable; replaces the address of a configured node
//   with that id, otherwise adds a node)  --insecure-listen-any

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"
#include "server/config.h"

namespace zp::server {

struct CommandLine {
  std::optional<std::string> config_file;
  std::optional<std::string> listen;
  std::optional<std::string> database;
  std::optional<std::string> log_level;
  std::vector<std::string> nodes;  // "ID=HOST:PORT"
  bool insecure_listen_any = false;
};

// Parses argv. Returns the exit code instead when the process should exit now
// (--help: 0; a usage error: non-zero); CLI11 has printed the message.
std::variant<CommandLine, int> parseCommandLine(int argc, char** argv);

// The effective configuration: file, then flags, then validateConfig.
Result<ServerConfig> resolveConfig(const CommandLine& flags);

}  // namespace zp::server
