#include "server/command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>

#include "common/build_info.h"

namespace zp::server {
namespace {

constexpr const char* kFooter =
    "The config file gives the base (/etc/zoneplane/server.toml in the package,\n"
    "documented key by key); flags override it. Offline subcommands, run instead\n"
    "of the server (each has its own --help):\n"
    "  zoneplane-server ca init       make the cluster CA under DATA_DIR/pki\n"
    "  zoneplane-server certs issue   issue the server's, a node's or a client's certificate\n"
    "  zoneplane-server tokens create make an API or join token\n"
    "\n"
    "EXAMPLES:\n"
    "  First start: the CA, the server certificate, an admin token, then the server\n"
    "    zoneplane-server ca init --data-dir /var/lib/zoneplane/server\n"
    "    zoneplane-server certs issue --server --dns zoneplane.example.com\n"
    "    zoneplane-server tokens create --name admin --role admin\n"
    "    zoneplane-server --config /etc/zoneplane/server.toml\n"
    "  Development on loopback, without TLS, with one agent:\n"
    "    zoneplane-server --listen 127.0.0.1:7700 --data-dir /tmp/zp --insecure-http \\\n"
    "      --insecure-plaintext --node node-1=127.0.0.1:9000\n"
    "\n"
    "Exits 0 after SIGINT or SIGTERM, 1 when it cannot start.";

}  // namespace

std::variant<CommandLine, int> parseCommandLine(int argc, char** argv) {
  CommandLine flags;
  CLI::App app{"zoneplane-server: the zoneplane control plane (REST API, scheduler, store)",
               "zoneplane-server"};
  app.set_version_flag("--version", versionText("zoneplane-server"));
  app.footer(kFooter);
  std::string config_file, listen, data_dir, database, log_level, tls_cert, tls_key, tls_ca;
  app.add_option("--config", config_file, "TOML config file");
  app.add_option("--listen", listen, "HOST:PORT to serve the API on (default 127.0.0.1:7700)");
  app.add_option("--data-dir", data_dir,
                 "directory of pki/ and the database (default /var/lib/zoneplane/server)");
  app.add_option("--database", database, "SQLite database file (default DATA_DIR/zoneplane.db)");
  app.add_option("--tls-cert", tls_cert,
                 "server certificate chain, PEM (default DATA_DIR/pki/server.crt)");
  app.add_option("--tls-key", tls_key, "server private key, PEM (default DATA_DIR/pki/server.key)");
  app.add_option("--tls-ca", tls_ca, "cluster CA certificate, PEM (default DATA_DIR/pki/ca.crt)");
  app.add_option("--node", flags.nodes, "a node agent as ID=HOST:PORT (repeatable)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off");
  app.add_flag("--insecure-http", flags.insecure_http,
               "serve the API over plain HTTP (INSECURE; loopback listen address only)");
  app.add_flag("--insecure-plaintext", flags.insecure_plaintext,
               "talk to agents over plain TCP (INSECURE; loopback node addresses only)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (app.count("--config")) flags.config_file = config_file;
  if (app.count("--listen")) flags.listen = listen;
  if (app.count("--data-dir")) flags.data_dir = data_dir;
  if (app.count("--database")) flags.database = database;
  if (app.count("--log-level")) flags.log_level = log_level;
  if (app.count("--tls-cert")) flags.tls_cert = tls_cert;
  if (app.count("--tls-key")) flags.tls_key = tls_key;
  if (app.count("--tls-ca")) flags.tls_ca = tls_ca;
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
  if (flags.data_dir) config.data_dir = *flags.data_dir;
  if (flags.database) config.database = *flags.database;
  if (flags.log_level) config.log_level = *flags.log_level;
  if (flags.tls_cert) config.tls.cert = *flags.tls_cert;
  if (flags.tls_key) config.tls.key = *flags.tls_key;
  if (flags.tls_ca) config.tls.ca = *flags.tls_ca;
  if (flags.insecure_http) config.insecure_http = true;
  if (flags.insecure_plaintext) config.insecure_plaintext = true;
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
