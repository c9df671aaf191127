#pragma once
// The server's configuration: a TOML file, then command-line flags on top
// (command_line.h). Plain values and pure functions; reading the file is the
// only I/O.
//
//   listen   = "127.0.0.1:7700"                          # HOST:PORT, port 0 = any
//   data_dir = "/var/lib/zoneplane/server"               # pki/ and the database
//   database = "/var/lib/zoneplane/server/zoneplane.db"  # default <data_dir>/zoneplane.db
//   [tls]                                # default <data_dir>/pki/server.crt|server.key|ca.crt
//   cert = "…/server.crt"  key = "…/server.key"  ca = "…/ca.crt"
//   insecure_http = false                # API over plain HTTP (loopback listen only)
//   insecure_plaintext = false           # agents over plain TCP (loopback nodes only)
//   log_level = "info"                                   # trace|debug|info|warn|error|off
//   default_trust = "untrusted"          # trust level of workloads that name none
//   allowed_registries = ["registry.example.com"]  # image policy (image_policy.h)
//   [trust.untrusted]                    # one table per level (trust_policy.h)
//   runtime_classes = ["edera-zone", "gvisor", "kata"]
//   min_profile = "restricted"
//   min_isolation = "application-kernel"  # verified isolation the class needs
//   node_heartbeat_interval_ms = 1000  # NodeInfo to every agent this often
//   node_not_ready_after_ms = 4000     # no heartbeat answered this long: NotReady
//   node_lost_after_seconds = 30       # NotReady this long: Lost (workloads move)
//   audit_retention_days = 90          # audit entries older than this are deleted
//   probe_request_timeout_seconds = 600  # POST /nodes/{id}/probe waits this long (504)
//   api_thread = false                 # the API's I/O on a thread of its own (§8.1.1)
//   delivery_lag_target_us = 500       # deliveries yield while the core runs later (§8.7.1)
//   status_commit_interval_ms = 10     # status writes group for up to this long (§8.4.1)
//   [[nodes]]
//   id = "node-1"
//   address = "127.0.0.1:9000"
//   runtime_classes = ["native"]  # optional: used until the node answers NodeInfo
//   scheduler = "binpack"                # or "spread" (docs/architecture.md §8.3)
//   [runtime_classes.edera-zone]         # per-class scheduling settings
//   memory_floor_mb = 300                # a workload of this class accounts at least this

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/trust_policy.h"
#include "tls/tls_context.h"

namespace zp::server {

inline constexpr std::string_view kDefaultListen = "127.0.0.1:7700";
inline constexpr std::string_view kDefaultDataDir = "/var/lib/zoneplane/server";

// How the scheduler scores the nodes that fit (docs/architecture.md §8.3):
// binpack fills the fullest node first, spread the emptiest.
enum class SchedulerPolicy { kBinpack, kSpread };
std::string_view schedulerPolicyName(SchedulerPolicy policy);  // "binpack", "spread"
std::optional<SchedulerPolicy> parseSchedulerPolicy(std::string_view name);

// Runtime class -> the least memory (MB) a workload of that class accounts on
// its node; classes not listed have none. The default: edera-zone zones need 300 MB.
using MemoryFloors = std::map<std::string, std::int64_t, std::less<>>;
MemoryFloors defaultMemoryFloors();

// One node agent the server manages.
struct NodeConfig {
  std::string id;                            // DNS-1123 label, unique
  std::string address;                       // HOST:PORT of its agent
  std::vector<std::string> runtime_classes;  // assumed until the agent reports its own
};

// The server's certificate chain, its key and the cluster CA
// (docs/architecture.md §9.1); "" means the file under <data_dir>/pki/.
struct ServerTlsConfig {
  std::string cert;  // default <data_dir>/pki/server.crt
  std::string key;   // default <data_dir>/pki/server.key
  std::string ca;    // default <data_dir>/pki/ca.crt
};

struct ServerConfig {
  std::string listen{kDefaultListen};
  std::string data_dir{kDefaultDataDir};
  std::string database;  // "" means <data_dir>/zoneplane.db (databasePath)
  std::string log_level = "info";
  ServerTlsConfig tls;
  // The API over plain HTTP instead of HTTPS; only on a loopback listen address.
  bool insecure_http = false;
  // Agents over plain TCP instead of mutual TLS; only when every configured
  // node address is a loopback IP (and POST /nodes then refuses any other).
  bool insecure_plaintext = false;
  std::vector<NodeConfig> nodes;
  // Node lifecycle (docs/architecture.md §8.2).
  std::int64_t node_heartbeat_interval_ms = 1'000;  // 100 … 60,000
  std::int64_t node_not_ready_after_ms = 4'000;     // 2 heartbeats … 600,000
  std::int64_t node_lost_after_seconds = 30;        // 1 … 86,400
  // Audit entries older than this many days are deleted (docs/architecture.md §9.3).
  std::int64_t audit_retention_days = 90;  // 1 … 36,500
  // How long POST /nodes/{id}/probe waits for the node's answer, then 504
  // (docs/architecture.md §10.3): the agent probes one class at a time, each
  // within its own [probe] timeout_seconds (default 120).
  std::int64_t probe_request_timeout_seconds = 600;  // 10 … 3,600
  // The API's connections on a thread of their own, their handlers on the
  // core thread ahead of its other work (docs/architecture.md §8.1.1): a
  // lower API tail while the core is saturated (delivering a backlog), at
  // the price of two thread hops per request (a higher tail when it is not)
  // and fewer placements per second on a small machine.
  bool api_thread = false;
  // Deliveries (StartWorkload) are paced so the core's loop lag stays near
  // this (docs/architecture.md §8.7.1): a backlog drains with what the API
  // leaves. 0 turns pacing off. At least 200 µs: a timer on a virtual
  // machine can wake 50–100 µs late on an idle loop.
  std::int64_t delivery_lag_target_us = 500;  // 0, or 200 … 100,000
  // Writes nobody waits for (statuses the agents push, audit entries, token
  // use) start a transaction at most this often while no other write waits
  // (docs/architecture.md §8.4.1): fewer fsyncs while a backlog is delivered.
  // 0 commits them at once.
  std::int64_t status_commit_interval_ms = 10;  // 0 … 1,000
  // default_trust and the [trust.*] tables; levels not configured keep the defaults.
  TrustPolicyConfig trust = TrustPolicyConfig::defaults();
  // Unset: the default image policy (every registry that is not local).
  std::optional<std::vector<std::string>> allowed_registries;
  SchedulerPolicy scheduler = SchedulerPolicy::kBinpack;
  // [runtime_classes.NAME] memory_floor_mb; configured classes replace their default.
  MemoryFloors memory_floors = defaultMemoryFloors();
};

// Parses TOML text (`source` names it in errors) onto the defaults. Unknown
// keys, wrong types and TOML syntax errors are kInvalidArgument naming the key
// or the line. Does not run validateConfig.
Result<ServerConfig> parseConfigToml(std::string_view text, std::string_view source);
// Reads and parses a file.
Result<ServerConfig> loadConfigFile(const std::string& path);

// The database file: `database`, or <data_dir>/zoneplane.db.
std::string databasePath(const ServerConfig& config);
// The server's certificate, key and CA: [tls], or the files under <data_dir>/pki/.
tls::TlsFiles serverTlsFiles(const ServerConfig& config);
// Whether `address` (HOST:PORT) names a loopback IP literal (127.0.0.0/8, ::1).
bool isLoopbackAddress(std::string_view address);

// Checks values: listen parses (and is loopback with insecure_http),
// data_dir non-empty, every node address a loopback IP with
// insecure_plaintext, node ids are unique DNS-1123 labels with HOST:PORT
// addresses (port > 0), runtime class names are DNS-1123 labels, the node
// lifecycle durations are in their ranges (not_ready_after at least two
// heartbeat intervals), audit_retention_days is 1 to 36,500,
// probe_request_timeout_seconds 10 to 3,600, delivery_lag_target_us 0 or
// 200 to 100,000, status_commit_interval_ms 0 to 1,000, the trust
// policy passes validateTrustPolicy, allowed_registries is a non-empty list
// of valid patterns, and memory floors name DNS-1123 classes with 0 to
// api::kMaxMemoryMb.
Status validateConfig(const ServerConfig& config);

// Unless both insecure modes are on, the TLS files (serverTlsFiles) must
// exist: kFailedPrecondition naming the first one missing and saying how to
// make them (`zoneplane-server ca init`, `zoneplane-server certs issue --server`).
Status checkTlsFiles(const ServerConfig& config);

// Creates the directory that will hold the database file, owner-only (0700)
// when it is created here (nothing for ":memory:" or a file in the current
// directory). The store tightens the modes of existing files (store/private_files.h).
Status ensureDatabaseDirectory(const std::string& database);

}  // namespace zp::server
