#include "server/command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>

namespace zp::server {

std::variant<CommandLine, int> parseCommandLine(int argc, char** argv) {
  CommandLine flags;
  CLI::App app{"zoneplane-server: the zoneplane control plane (REST API, scheduler, store)"};
  std::string config_file, listen, database, log_level;
  app.add_option("--config", config_file, "TOML config file");
  app.add_option("--listen", listen, "HOST:PORT to serve the API on (default 127.0.0.1:7700)");
  app.add_option("--database", database, "SQLite database file");
  app.add_option("--node", flags.nodes, "a node agent as ID=HOST:PORT (repeatable)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off");
  app.add_flag("--insecure-listen-any", flags.insecure_listen_any,
               "allow a non-loopback listen address (no TLS/auth yet)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (app.count("--config")) flags.config_file = config_file;
  if (app.count("--listen")) flags.listen = listen;
  if (app.count("--database")) flags.database = database;
  if (app.count("--log-level")) flags.log_level = log_level;
  return flags;
}

Result<ServerConfig> resolveConfig(const CommandLine& flags) {
  ServerConfig config;
  if (flags.config_file) {
    auto loaded = loadConfigFile(*flags.config_file);
    if (!loaded) return fail(loaded.error());
    config = std::move(*loaded);
  }
  if (flags.listen) config.listen = *flags.listen;
  if (flags.database) config.database = *flags.database;
  if (flags.log_level) config.log_level = *flags.log_level;
  config.insecure_listen_any = flags.insecure_listen_any;
  for (const auto& spec : flags.nodes) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail(Code::kInvalidArgument,
                  "--node \"" + spec.substr(0, 200) + "\" must be ID=HOST:PORT", "node");
    }
    NodeConfig node{spec.substr(0, eq), spec.substr(eq + 1), {}};
    auto it = std::find_if(config.nodes.begin(), config.nodes.end(),
                           [&](const NodeConfig& n) { return n.id == node.id; });
    if (it != config.nodes.end()) {
      it->address = node.address;
    } else {
      config.nodes.push_back(std::move(node));
    }
  }
  if (auto s = validateConfig(config); !s) return fail(s.error());
  return config;
}

}  // namespace zp::server
