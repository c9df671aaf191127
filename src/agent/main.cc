// zoneplane-agent: the node agent. Wires config, runtime and daemon together.

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "agent/agent_daemon.h"
#include "agent/config.h"
#include "agent/cri_runtime.h"
#include "common/logging.h"
#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"zoneplane-agent: runs zoneplane workloads on this node through CRI runtimes"};
  app.set_version_flag("--version", zp::kVersion);
  std::string config_path, node_id, listen, data_dir, log_level;
  std::vector<std::string> classes;
  bool insecure = false;
  std::int64_t memory_mb = 0, cpu_millicores = 0;
  std::optional<std::int64_t> pull_timeout_seconds, max_pulls_per_registry, status_interval_ms,
      restart_backoff_initial_ms, restart_backoff_max_seconds;
  app.add_option("--config", config_path, "TOML configuration file");
  app.add_option("--node-id", node_id, "node id (DNS-1123 label)");
  app.add_option("--listen", listen, "HOST:PORT to serve the protocol on (default 127.0.0.1:9000)");
  app.add_option("--data-dir", data_dir, "directory for container logs");
  app.add_option("--runtime-class", classes, "NAME=HANDLER@ENDPOINT, repeatable")
      ->type_name("CLASS");
  app.add_option("--memory-mb", memory_mb, "memory offered to workloads (default: the machine's)");
  app.add_option("--cpu-millicores", cpu_millicores, "CPU offered to workloads (default: the machine's)");
  app.add_flag("--insecure-listen-any", insecure,
               "allow a non-loopback listen address although the protocol has no TLS or authentication");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  app.add_option("--pull-timeout-seconds", pull_timeout_seconds,
                 "deadline of one image pull (default 300)");
  app.add_option("--max-pulls-per-registry", max_pulls_per_registry,
                 "image pulls in flight per registry (default 3)");
  app.add_option("--status-interval-ms", status_interval_ms,
                 "period of the status sweep (default 100)");
  app.add_option("--restart-backoff-initial-ms", restart_backoff_initial_ms,
                 "delay before the first restart of an exited container (default 1000)");
  app.add_option("--restart-backoff-max-seconds", restart_backoff_max_seconds,
                 "cap of the doubling restart delay (default 60)");
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
  if (insecure) config.insecure_listen_any = true;
  if (!log_level.empty()) config.log_level = log_level;
  if (pull_timeout_seconds) config.pull_timeout_seconds = *pull_timeout_seconds;
  if (max_pulls_per_registry) config.max_pulls_per_registry = *max_pulls_per_registry;
  if (status_interval_ms) config.status_interval_ms = *status_interval_ms;
  if (restart_backoff_initial_ms) config.restart_backoff_initial_ms = *restart_backoff_initial_ms;
  if (restart_backoff_max_seconds) config.restart_backoff_max_seconds = *restart_backoff_max_seconds;
  apply(zp::agent::validateConfig(config));
  apply(zp::setupLogging(config.log_level));

  auto runtime = zp::agent::CriRuntime::create(config);
  if (!runtime) {
    std::cerr << "zoneplane-agent: " << runtime.error().message << "\n";
    return 2;
  }
  (*runtime)->warnAboutGaps();
  zp::agent::DaemonOptions options;
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
