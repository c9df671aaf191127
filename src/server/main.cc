// zoneplane-server: reads the configuration, opens the store and runs the
// Server until SIGINT/SIGTERM: everything on this thread, or with
// api_thread the API's I/O on a second one.

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <optional>
#include <variant>

#include "common/address.h"
#include "common/logging.h"
#include "server/admin_commands.h"
#include "server/command_line.h"
#include "server/config.h"
#include "server/core_loop.h"
#include "server/server.h"
#include "store/sqlite_store.h"

namespace {
int die(const zp::Error& error) {
  std::cerr << "zoneplane-server: " << error.toString() << std::endl;
  return 1;
}

// The server holds one connection per node plus the API's clients: take the
// whole file-descriptor allowance the hard limit grants.
void raiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("cannot raise the open-file limit to {}", static_cast<unsigned long>(limit.rlim_max));
  }
}
}  // namespace

int main(int argc, char** argv) {
  using namespace zp;
  if (argc > 1 && server::isAdminCommand(argv[1])) return server::runAdminCommand(argc, argv);
  auto flags = server::parseCommandLine(argc, argv);
  if (const int* exit_code = std::get_if<int>(&flags)) return *exit_code;
  auto config = server::resolveConfig(std::get<server::CommandLine>(flags));
  if (!config) return die(config.error());
  if (auto logging = setupLogging(config->log_level); !logging) return die(logging.error());

  auto listen = parseHostPort(config->listen, "listen");
  if (!listen) return die(listen.error());
  auto endpoint = listenEndpoint(*listen, "listen");
  if (!endpoint) return die(endpoint.error());
  if (auto files = server::checkTlsFiles(*config); !files) return die(files.error());
  if (config->insecure_http) {
    spdlog::warn(
        "*** INSECURE: the API on {} is plain HTTP (--insecure-http): requests and bearer "
        "tokens travel unencrypted; use it for local development only ***",
        config->listen);
  }
  if (config->insecure_plaintext) {
    spdlog::warn(
        "*** INSECURE: agents are reached over plain TCP without TLS (--insecure-plaintext): "
        "nothing proves an agent is the node it claims to be; loopback addresses only ***");
  }
  // Whatever the server creates (the database and its journal files, which
  // hold env values) is private to its user.
  ::umask(077);
  const std::string database = server::databasePath(*config);
  if (auto dir = server::ensureDatabaseDirectory(database); !dir) return die(dir.error());
  auto store = store::SqliteStore::open(database);
  if (!store) return die(store.error());

  raiseOpenFileLimit();
  auto options = server::serverOptions(*config);
  if (!options) return die(options.error());
  // The core thread (this one) runs every component. With api_thread the
  // API's connections have a thread of their own and their handlers run on
  // the core ahead of everything else (docs/architecture.md §8.1.1).
  boost::asio::io_context io;
  // Only with api_thread: each holds an epoll and an eventfd.
  std::optional<boost::asio::io_context> api_io;
  std::optional<server::CoreLoop> core;
  if (config->api_thread) {
    api_io.emplace();
    core.emplace(io);
    options->api_io = api_io->get_executor();
    options->api_core = core->urgentExecutor();
  }
  server::Server server(io, std::move(*options), **store);
  // Signals are taken over before the server says it listens: whoever waits
  // for that line may send SIGTERM at once, and must not kill it outright.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {} received, stopping", signal);
    server.stop();
  });
  auto bound = server.start(*endpoint);
  if (!bound) return die(bound.error());
  const std::string where = formatEndpoint(*bound);
  spdlog::info(
      "zoneplane-server listening on {} ({}, agents over {}; database \"{}\", {} node(s), "
      "default trust {}, image registries: {})",
      where, config->insecure_http ? "plain HTTP" : "HTTPS",
      config->insecure_plaintext ? "plain TCP" : "mutual TLS", database, config->nodes.size(),
      api::trustName(config->trust.default_trust),
      config->allowed_registries ? "as listed in allowed_registries"
                                 : "any but local addresses (default)");
  std::cout << "zoneplane-server listening on " << where << std::endl;
  if (core) {
    core->runWith(*api_io);
  } else {
    io.run();
  }
  spdlog::info("zoneplane-server stopped");
  return 0;
}
