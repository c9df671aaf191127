// zoneplane-agent: the node agent. Wires config, runtime and daemon together.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "agent/agent_daemon.h"
#include "agent/agent_metrics.h"
#include "agent/config.h"
#include "agent/cri_runtime.h"
#include "agent/join.h"
#include "agent/node_tls.h"
#include "common/address.h"
#include "common/build_info.h"
#include "common/logging.h"

namespace {

// Where the server should reach this agent, for the join: --advertise, else
// the listen address unless it is a wildcard or an ephemeral port.
std::optional<std::string> advertisedAddress(const zp::agent::AgentConfig& config,
                                             const std::string& advertise) {
  if (!advertise.empty()) return advertise;
  const auto address = boost::asio::ip::make_address(config.listen_host);
  if (address.is_unspecified() || config.listen_port == 0) return std::nullopt;
  return zp::formatEndpoint({address, config.listen_port});
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zoneplane-agent: runs zoneplane workloads on this node through CRI runtimes",
               "zoneplane-agent"};
  app.set_version_flag("--version", zp::versionText("zoneplane-agent"));
  app.footer(
      "The config file gives the base (/etc/zoneplane/agent.toml in the package,\n"
      "documented key by key); flags override it. Runs as root: it talks to the CRI\n"
      "runtimes' sockets and makes the pods' cgroups.\n"
      "\n"
      "EXAMPLES:\n"
      "  Join a cluster once (writes DATA_DIR/tls/), then serve:\n"
      "    zoneplane-agent --config /etc/zoneplane/agent.toml --node-id node-1 \\\n"
      "      --join https://zoneplane.example.com:7700 --join-token-file /root/join-token \\\n"
      "      --advertise 10.0.0.21:9000\n"
      "  Development on loopback, without TLS, with containerd + runc:\n"
      "    zoneplane-agent --node-id node-1 --listen 127.0.0.1:9000 --insecure-plaintext \\\n"
      "      --runtime-class native=runc@unix:///run/containerd/containerd.sock\n"
      "\n"
      "Exits 0 after SIGINT or SIGTERM, 1 on a failed join or run, 2 on a bad\n"
      "configuration.");
  std::string config_path, node_id, listen, data_dir, log_level;
  std::string tls_cert, tls_key, tls_ca, join_url, join_token, join_token_file, advertise;
  std::string probe_image;
  std::vector<std::string> classes;
  bool insecure_plaintext = false;
  std::int64_t memory_mb = 0, cpu_millicores = 0;
  std::optional<std::int64_t> pull_timeout_seconds, max_pulls_per_registry, status_interval_ms,
      exit_relist_interval_ms, restart_backoff_initial_ms, restart_backoff_max_seconds;
  std::optional<bool> exit_hints;
  app.add_option("--config", config_path, "TOML configuration file");
  app.add_option("--node-id", node_id, "node id (DNS-1123 label)");
  app.add_option("--listen", listen, "HOST:PORT to serve the protocol on (default 127.0.0.1:9000)");
  app.add_option("--data-dir", data_dir, "directory for container logs");
  app.add_option("--runtime-class", classes, "NAME=HANDLER@ENDPOINT, repeatable")
      ->type_name("CLASS");
  app.add_option("--memory-mb", memory_mb, "memory offered to workloads (default: the machine's)");
  app.add_option("--cpu-millicores", cpu_millicores, "CPU offered to workloads (default: the machine's)");
  app.add_option("--tls-cert", tls_cert,
                 "this node's certificate, leaf then CA (default <data-dir>/tls/node.crt)");
  app.add_option("--tls-key", tls_key, "its private key (default <data-dir>/tls/node.key)");
  app.add_option("--tls-ca", tls_ca,
                 "the cluster CA the server's certificate must chain to (default <data-dir>/tls/ca.crt)");
  app.add_flag("--insecure-plaintext", insecure_plaintext,
               "serve the protocol without TLS or authentication (loopback listen address only)");
  app.add_option("--join", join_url,
                 "https://HOST:PORT of the server: get this node's certificate with a join token "
                 "before starting (skipped when the node already has one)");
  app.add_option("--join-token-file", join_token_file,
                 "a file (mode 0600 or stricter) holding the one-time join token (zpjoin_...); "
                 "or set ZONEPLANE_JOIN_TOKEN");
  app.add_option("--join-token", join_token,
                 "the join token itself; visible to other users in the process list: prefer "
                 "--join-token-file or ZONEPLANE_JOIN_TOKEN");
  app.add_option("--advertise", advertise,
                 "HOST:PORT the server reaches this agent at, sent with --join (default: the "
                 "listen address unless it is a wildcard)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  app.add_option("--pull-timeout-seconds", pull_timeout_seconds,
                 "deadline of one image pull (default 300)");
  app.add_option("--max-pulls-per-registry", max_pulls_per_registry,
                 "image pulls in flight per registry (default 3)");
  app.add_option("--status-interval-ms", status_interval_ms,
                 "period of the status sweep (default 100)");
  app.add_option("--exit-relist-interval-ms", exit_relist_interval_ms,
                 "period of the exited-container relist of a runtime without container events, "
                 "5 to 60000 (default 50; 0, or not below the sweep's period: off)");
  app.add_option("--exit-hints", exit_hints,
                 "true|false: with pod cgroups, ask the runtime about a container as soon as its "
                 "cgroup is removed (default true)");
  app.add_option("--restart-backoff-initial-ms", restart_backoff_initial_ms,
                 "delay before the first restart of an exited container (default 1000)");
  app.add_option("--restart-backoff-max-seconds", restart_backoff_max_seconds,
                 "cap of the doubling restart delay (default 60)");
  app.add_option("--probe-image", probe_image,
                 "the zoneplane-probe image run in every runtime class to verify its isolation "
                 "(config [probe] image; without one every class stays unverified)");
  std::optional<std::string> metrics_listen;
  app.add_option("--metrics-listen", metrics_listen,
                 "HOST:PORT of the plain-HTTP GET /metrics listener (default 127.0.0.1:9464; "
                 "\"\" disables it)");
  CLI11_PARSE(app, argc, argv);

  zp::agent::AgentConfig config;
  if (!config_path.empty()) {
    auto loaded = zp::agent::loadConfigFile(config_path);
    if (!loaded) {
      std::cerr << "zoneplane-agent: " << loaded.error().message << "\n";
      return 2;
    }
    config = std::move(*loaded);
  }
  auto apply = [](zp::Status s) {
    if (!s) {
      std::cerr << "zoneplane-agent: " << s.error().message << "\n";
      std::exit(2);
    }
  };
  if (!node_id.empty()) config.node_id = node_id;
  if (!listen.empty()) apply(zp::agent::applyListenFlag(config, listen));
  if (!data_dir.empty()) config.data_dir = data_dir;
  for (const auto& c : classes) apply(zp::agent::applyRuntimeClassFlag(config, c));
  if (memory_mb > 0) config.capacity_memory_mb = memory_mb;
  if (cpu_millicores > 0) config.capacity_cpu_millicores = cpu_millicores;
  if (insecure_plaintext) config.insecure_plaintext = true;
  if (!tls_cert.empty()) config.tls.cert = tls_cert;
  if (!tls_key.empty()) config.tls.key = tls_key;
  if (!tls_ca.empty()) config.tls.ca = tls_ca;
  if (!log_level.empty()) config.log_level = log_level;
  if (pull_timeout_seconds) config.pull_timeout_seconds = *pull_timeout_seconds;
  if (max_pulls_per_registry) config.max_pulls_per_registry = *max_pulls_per_registry;
  if (status_interval_ms) config.status_interval_ms = *status_interval_ms;
  if (exit_relist_interval_ms) config.exit_relist_interval_ms = *exit_relist_interval_ms;
  if (exit_hints) config.exit_hints = *exit_hints;
  if (restart_backoff_initial_ms) config.restart_backoff_initial_ms = *restart_backoff_initial_ms;
  if (restart_backoff_max_seconds) config.restart_backoff_max_seconds = *restart_backoff_max_seconds;
  if (!probe_image.empty()) config.probe.image = probe_image;
  if (metrics_listen) config.metrics_listen = *metrics_listen;
  apply(zp::agent::validateConfig(config));
  apply(zp::setupLogging(config.log_level));
  if (join_url.empty() && (!join_token.empty() || !join_token_file.empty() || !advertise.empty())) {
    std::cerr
        << "zoneplane-agent: --join-token, --join-token-file and --advertise go with --join\n";
    return 2;
  }
  if (config.insecure_plaintext) {
    if (!join_url.empty()) {
      std::cerr << "zoneplane-agent: --join sets up mutual TLS; it cannot go with "
                   "--insecure-plaintext\n";
      return 2;
    }
  }
  zp::agent::DaemonOptions options;
  if (!config.insecure_plaintext) {
    const auto files = zp::agent::tlsFiles(config);
    if (!join_url.empty()) {
      const char* env_token = std::getenv(zp::agent::kJoinTokenEnv);
      if (join_token.empty() && join_token_file.empty() && (!env_token || !*env_token)) {
        std::cerr << "zoneplane-agent: --join needs a join token: --join-token-file PATH, "
                  << zp::agent::kJoinTokenEnv << " or --join-token\n";
        return 2;
      }
      zp::agent::JoinOptions join{join_url,
                                  {join_token, join_token_file, env_token ? env_token : ""},
                                  config.node_id,
                                  advertisedAddress(config, advertise),
                                  files};
      if (auto joined = zp::agent::joinCluster(join); !joined) {
        std::cerr << "zoneplane-agent: " << joined.error().message << "\n";
        return 1;
      }
    }
    auto tls = zp::agent::loadNodeTls(files, config.node_id);
    if (!tls) {
      std::cerr << "zoneplane-agent: " << tls.error().message << "\n";
      return 2;
    }
    options.tls = std::move(*tls);
  }

  zp::agent::AgentMetrics metrics;
  options.metrics = &metrics;
  zp::cri::ClientOptions cri_options;
  cri_options.observer = metrics.criObserver();
  auto runtime = zp::agent::CriRuntime::create(config, cri_options);
  if (!runtime) {
    std::cerr << "zoneplane-agent: " << runtime.error().message << "\n";
    return 2;
  }
  (*runtime)->warnAboutGaps();
  options.on_listening = [](const std::string& where) {
    std::printf("zoneplane-agent listening on %s\n", where.c_str());
    std::fflush(stdout);
  };
  zp::agent::AgentDaemon daemon(config, **runtime, options);
  if (auto s = daemon.run(); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  return 0;
}
