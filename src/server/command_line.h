#pragma once
// Command-line flags of zoneplane-server and how they combine with the config
// file: the file (if --config) gives the base, flags override it.
//
//   --config FILE  --listen HOST:PORT  --data-dir DIR  --database PATH
//   --log-level LEVEL  --tls-cert FILE  --tls-key FILE  --tls-ca FILE
//   --node ID=HOST:PORT (repeatable; replaces the address of a configured node
//   with that id, otherwise adds a node)
//   --insecure-http (the API over plain HTTP, loopback listen address only)
//   --insecure-plaintext (agents over plain TCP, loopback node addresses only)
// The insecure flags turn a mode on; without them the file's setting holds.

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
  std::optional<std::string> data_dir;
  std::optional<std::string> database;
  std::optional<std::string> log_level;
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  std::optional<std::string> tls_ca;
  std::vector<std::string> nodes;  // "ID=HOST:PORT"
  bool insecure_http = false;
  bool insecure_plaintext = false;
};

// Parses argv. Returns the exit code instead when the process should exit now
// (--help: 0; a usage error: non-zero); CLI11 has printed the message.
std::variant<CommandLine, int> parseCommandLine(int argc, char** argv);

// The effective configuration: file, then flags, then validateConfig.
Result<ServerConfig> resolveConfig(const CommandLine& flags);

}  // namespace zp::server
