#pragma once
// Agent configuration: a TOML file (docs/architecture.md §4) overridden by flags.

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/user_resolution.h"
#include "api/isolation.h"
#include "api/node.h"
#include "common/status.h"
#include "tls/tls_context.h"

namespace zp::agent {

// How the pods of a runtime class get their pids limit (pod_cgroups.h).
enum class PodCgroupMode {
  kCgroupfs,  // "cgroupfs": a pod cgroup on this host, given as cgroup_parent (the default)
  kNone,      // "none": the runtime bounds its own zones (VM-based runtimes)
};
std::string_view podCgroupModeName(PodCgroupMode mode);

struct RuntimeClassConfig {
  std::string endpoint;  // CRI endpoint, "unix:///path.sock"
  std::string handler;   // CRI runtime handler ("" = the runtime's default)
  PodCgroupMode pod_cgroup = PodCgroupMode::kCgroupfs;
  // `isolation`: what the class is expected to give (docs/architecture.md
  // §10.2); a class verified below it is quarantined. nullopt: no claim.
  std::optional<api::IsolationLevel> isolation = std::nullopt;
  bool operator==(const RuntimeClassConfig&) const = default;
};

// [probe]: the isolation probe run in every class (docs/architecture.md §10.2).
inline constexpr std::int64_t kDefaultProbeIntervalSeconds = 600;
inline constexpr std::int64_t kMinProbeIntervalSeconds = 60;
inline constexpr std::int64_t kMaxProbeIntervalSeconds = 86'400;
inline constexpr std::int64_t kDefaultProbeTimeoutSeconds = 120;
inline constexpr std::int64_t kMinProbeTimeoutSeconds = 10;
inline constexpr std::int64_t kMaxProbeTimeoutSeconds = 3600;
// The probe takes 16 targets; the agent's own listen address may take one,
// and one stays spare.
inline constexpr std::size_t kMaxProbeConnectTargets = 14;

struct ProbeConfig {
  // The zoneplane-probe image reference; "" = no probe runs and every class
  // stays unverified.
  std::string image;
  std::int64_t interval_seconds = kDefaultProbeIntervalSeconds;
  std::int64_t timeout_seconds = kDefaultProbeTimeoutSeconds;  // pull included
  // Further "HOST:PORT" targets (numeric hosts) the probe tries to reach,
  // e.g. the control plane: reachable ones are findings.
  std::vector<std::string> connect;
  bool operator==(const ProbeConfig&) const = default;
};

inline constexpr std::int64_t kDefaultPullTimeoutSeconds = 300;
inline constexpr std::int64_t kMinPullTimeoutSeconds = 1;
inline constexpr std::int64_t kMaxPullTimeoutSeconds = 3600;
inline constexpr std::int64_t kDefaultMaxPullsPerRegistry = 3;
inline constexpr std::int64_t kMaxPullsPerRegistry = 64;
// The status sweep's period (docs/architecture.md §4).
inline constexpr std::int64_t kDefaultStatusIntervalMs = 100;
inline constexpr std::int64_t kMinStatusIntervalMs = 10;
inline constexpr std::int64_t kMaxStatusIntervalMs = 60'000;
// 0: off (exits wait for the sweep).
inline constexpr std::int64_t kDefaultExitRelistIntervalMs = 50;
inline constexpr std::int64_t kMinExitRelistIntervalMs = 5;
// The restart back-off (restart_policy): initial delay, doubling to the cap.
inline constexpr std::int64_t kDefaultRestartBackoffInitialMs = 1000;
inline constexpr std::int64_t kMinRestartBackoffInitialMs = 10;
inline constexpr std::int64_t kMaxRestartBackoffInitialMs = 600'000;
inline constexpr std::int64_t kDefaultRestartBackoffMaxSeconds = 60;
inline constexpr std::int64_t kMaxRestartBackoffMaxSeconds = 3600;
// What a peer may cost the agent (docs/architecture.md §9.2).
inline constexpr std::int64_t kDefaultHandshakeTimeoutMs = 10'000;
inline constexpr std::int64_t kMinHandshakeTimeoutMs = 100;
inline constexpr std::int64_t kMaxHandshakeTimeoutMs = 600'000;
inline constexpr std::int64_t kDefaultIdleTimeoutSeconds = 120;
inline constexpr std::int64_t kMaxIdleTimeoutSeconds = 86'400;
inline constexpr std::int64_t kDefaultMaxBufferedMb = 64;
inline constexpr std::int64_t kMinMaxBufferedMb = 2;  // above one line (1 MiB)
inline constexpr std::int64_t kMaxMaxBufferedMb = 65'536;

struct AgentConfig {
  std::string node_id;
  std::string listen_host = "127.0.0.1";
  unsigned short listen_port = 9000;
  std::string data_dir = "/var/lib/zoneplane/agent";
  std::string log_level = "info";
  // Capacity offered to workloads; nullopt fields default to the machine's.
  std::optional<std::int64_t> capacity_memory_mb;
  std::optional<std::int64_t> capacity_cpu_millicores;
  std::map<std::string, RuntimeClassConfig> runtime_classes;
  // [tls]: the node's certificate (chain: leaf then CA), its key, and the CA
  // the server's certificate must chain to; "" = the default under data_dir
  // (tlsFiles()).
  tls::TlsFiles tls;
  // Plaintext instead of mutual TLS, only on a loopback listen address.
  // Loudly named on purpose.
  bool insecure_plaintext = false;
  // A TLS handshake must finish within this.
  std::int64_t handshake_timeout_ms = kDefaultHandshakeTimeoutMs;
  // A connection idle this long (nothing read, no slow request, not
  // subscribed) is closed.
  std::int64_t idle_timeout_seconds = kDefaultIdleTimeoutSeconds;
  // Unread partial lines all connections together may buffer, in MiB.
  std::int64_t max_buffered_mb = kDefaultMaxBufferedMb;
  // [security]: the uids the node gives `restricted` workloads whose image
  // would run as root (uid_range_start, uid_range_size).
  UidRange uid_range;
  // Deadline of one image pull; its expiry fails the workload (ErrImagePull).
  std::int64_t pull_timeout_seconds = kDefaultPullTimeoutSeconds;
  // Image pulls in flight per registry; more wait their turn (no thread held).
  std::int64_t max_pulls_per_registry = kDefaultMaxPullsPerRegistry;
  // How often the status sweep lists the node (one listing per endpoint).
  std::int64_t status_interval_ms = kDefaultStatusIntervalMs;
  // For a runtime that streams no container events (containerd 1.6): how
  // often its exited containers are listed, so that an exit brings the
  // sweep forward (docs/architecture.md §4, "Exit relist"). 0, or not
  // shorter than status_interval_ms: off.
  std::int64_t exit_relist_interval_ms = kDefaultExitRelistIntervalMs;
  // For the classes with pod cgroups (pod_cgroup = "cgroupfs"): hear of a
  // container's end from the removal of its cgroup, and ask the runtime about
  // it at once (CgroupExitHints; docs/architecture.md §4, "Exit hints").
  bool exit_hints = true;
  // Delay before restarting an exited container (restart_policy), doubling
  // per restart up to restart_backoff_max_seconds.
  std::int64_t restart_backoff_initial_ms = kDefaultRestartBackoffInitialMs;
  std::int64_t restart_backoff_max_seconds = kDefaultRestartBackoffMaxSeconds;
  ProbeConfig probe;
  // Where GET /metrics is served, plain HTTP (docs/architecture.md §7
  // "Metrics"): "HOST:PORT" with an IP literal or "localhost" (port 0: any
  // free port); "" = no metrics listener. Loopback by default.
  std::string metrics_listen = "127.0.0.1:9464";
};

// The exit relist's interval as the runtime applies it: 0 (off) when
// exit_relist_interval_ms is 0 or not below status_interval_ms (a relist
// no more often than the sweep brings nothing forward).
std::chrono::milliseconds effectiveExitRelist(const AgentConfig& config);

// Parses a TOML document. Unknown keys are errors naming the key.
Result<AgentConfig> parseConfig(const std::string& toml_text, const std::string& origin);
Result<AgentConfig> loadConfigFile(const std::string& path);

// "NAME=HANDLER@ENDPOINT" (HANDLER may be empty: "NAME=@unix:///x.sock").
Status applyRuntimeClassFlag(AgentConfig& config, const std::string& flag);
// "HOST:PORT"; "[v6]:PORT" for IPv6.
Status applyListenFlag(AgentConfig& config, const std::string& flag);

// Checks the final configuration: node id, classes, endpoints, listen policy
// (plaintext only on loopback), the uid range, pull_timeout_seconds
// (1..3600), max_pulls_per_registry (1..64), status_interval_ms (10..60000),
// exit_relist_interval_ms (0, or 5..60000),
// restart_backoff_initial_ms (10..600000), restart_backoff_max_seconds
// (1..3600, not below the initial delay), handshake_timeout_ms (100..600000),
// idle_timeout_seconds (1..86400), max_buffered_mb (2..65536) and [probe]
// (image reference, interval 60..86400, timeout 10..3600, at most 14 numeric
// connect targets).
Status validateConfig(const AgentConfig& config);

// The TLS files with defaults filled in: <data_dir>/tls/node.crt, node.key, ca.crt.
tls::TlsFiles tlsFiles(const AgentConfig& config);

// The metrics listener's endpoint: nullopt when metrics_listen is "";
// kInvalidArgument (field "metrics_listen") when it is no HOST:PORT.
Result<std::optional<boost::asio::ip::tcp::endpoint>> metricsEndpoint(const AgentConfig& config);

// Capacity with machine defaults filled in.
api::Resources effectiveCapacity(const AgentConfig& config);

}  // namespace zp::agent
