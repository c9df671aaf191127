#pragma once
// zoneplane-server assembled (docs/architecture.md §8): the store's commit
// queue, the node registry, the workload service, the watch hub and the HTTP
// front end with its handlers.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "metrics/registry.h"
#include "server/admission.h"
#include "server/auth/authenticator.h"
#include "server/auth/failure_limiter.h"
#include "server/auth/token_registry.h"
#include "server/config.h"
#include "server/http/access_handlers.h"
#include "server/http/api_access.h"
#include "server/http/http_metrics.h"
#include "server/http/http_server.h"
#include "server/http/join_handler.h"
#include "server/http/logs_handler.h"
#include "server/http/metrics_handler.h"
#include "server/http/node_handlers.h"
#include "server/http/policy_handlers.h"
#include "server/http/router.h"
#include "server/http/stats_handler.h"
#include "server/http/watch_handler.h"
#include "server/http/workload_handlers.h"
#include "server/image_policy.h"
#include "server/nodes/agent_link_metrics.h"
#include "server/nodes/node_registry.h"
#include "server/trust_policy.h"
#include "server/workloads/watch_hub.h"
#include "server/workloads/workload_metrics.h"
#include "server/workloads/workload_service.h"
#include "store/commit_queue.h"
#include "store/store.h"
#include "tls/pki.h"

namespace zp::server {

struct ServerOptions {
  std::vector<NodeConfig> nodes;  // from the config file and flags
  // Trust levels -> runtime classes; used unless `isolation` is given.
  TrustPolicyConfig trust = TrustPolicyConfig::defaults();
  std::shared_ptr<const IsolationPolicy> isolation;  // replaces the NamedClassPolicy
  ImagePolicy images;                                // default: no local registries
  WorkloadServiceOptions workloads;
  NodeRegistryOptions registry;  // registry.link.tls: mutual TLS to the agents (null: plain TCP)
  HttpServerOptions http;        // http.tls: HTTPS (null: plain HTTP)
  // The cluster CA's directory (ca.crt, ca.key; docs/architecture.md §9.1),
  // read at start for POST /join and join tokens. "" or no CA there: both
  // are refused (503, 409); a CA that does not load fails the start.
  std::string pki_dir;
  // API authentication (§9.3): failed attempts per source, token re-reads.
  auth::FailureLimiterOptions auth_failures;
  auth::TokenRegistry::Options tokens;
  // Audit entries older than this are deleted, at start and then hourly on
  // the server's clock (docs/architecture.md §9.3).
  std::chrono::hours audit_retention{24 * 90};
  // Writes nobody waits for start a transaction at most this often while
  // no other write waits (store::CommitQueue; docs/architecture.md §8.4.1).
  std::chrono::milliseconds status_commit_interval{10};  // the config's default
  // How often the workload service's waits (delivery retries, evacuations) are checked.
  std::chrono::milliseconds tick_interval{200};
  // Where the API runs (docs/architecture.md §8.1.1): the connections' I/O
  // on `api_io` (the API thread), the handlers on `api_core` (CoreLoop's
  // urgent queue on the io_context's thread). Unset: the io_context's executor.
  boost::asio::any_io_executor api_io;
  boost::asio::any_io_executor api_core;
};

// Builds the options from a validated configuration, with the two TLS
// contexts built once from serverTlsFiles (docs/architecture.md §9): HTTPS
// (TLS 1.2+, no client certificate) in http.tls unless insecure_http, and
// mutual TLS 1.3 to the agents in registry.link.tls unless
// insecure_plaintext. The cluster CA for joins is looked for in
// <data_dir>/pki. Errors: kInvalidArgument for an invalid image policy, the
// TLS context's error for a missing or unusable certificate or key.
Result<ServerOptions> serverOptions(const ServerConfig& config);

// Owns every server component except the store and the io_context, which
// outlive it. Every route but GET /healthz needs an API token (§9.3). Everything runs on the
// io_context's executor except the commit queue's thread and, when
// options.api_io is set, the API connections' I/O; call start() and stop() from that
// executor (or before io_context::run()).
//
// Shutdown: stop() closes the listener and the open connections (streams
// included), ends the tick loops and the agent links, so io_context::run()
// returns once the last coroutine has unwound and every write submitted from
// the executor has completed there (commits hold the executor busy). With
// an API thread, its io_context must have returned from run() before the
// Server is destroyed, and the core must run until then (the API's
// connections end on it). The
// destructor stops the commit queue first (it applies whatever is still
// queued and joins its thread), so no completion can run on a component
// already destroyed; then the members go in reverse order (the service
// before the registry, hub and queue it borrows).
class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options, store::Store& store,
         const Clock& clock = SystemClock::instance());
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the store (workloads, nodes, tokens) and the CA, connects to the nodes, starts the
  // tick loop and listens on `endpoint` (port 0: any free port). Returns the
  // bound endpoint.
  Result<boost::asio::ip::tcp::endpoint> start(const boost::asio::ip::tcp::endpoint& endpoint);
  // Idempotent.
  void stop();

  WorkloadService& workloads() { return service_; }
  NodeRegistry& nodes() { return registry_; }
  auth::TokenRegistry& tokens() { return tokens_; }
  auth::Authenticator& authenticator() { return authenticator_; }
  // The route table, for tests that check every route's access rule.
  const Router& router() const { return router_; }
  // What GET /metrics renders (docs/architecture.md §7 "Metrics").
  const metrics::Registry& metrics() const { return metrics_; }

 private:
  boost::asio::awaitable<void> tickLoop();
  // Deletes the audit entries older than the retention, if the last
  // deletion is an hour old (on the server's clock).
  void expireAudit(TimePoint now);

  // `options` with the instruments below set in it (workloads, agent links).
  ServerOptions instrumented(ServerOptions options);

  boost::asio::io_context& io_;
  // The metrics registry and the instruments the components count through:
  // before the options (which point at them) and every component.
  metrics::Registry metrics_;
  WorkloadMetrics workload_metrics_;
  AgentLinkMetrics link_metrics_;
  HttpMetrics http_metrics_;
  ServerOptions options_;
  store::Store& store_;
  const Clock& clock_;
  std::shared_ptr<const IsolationPolicy> isolation_;
  Admission admission_;
  store::CommitQueue commits_;                   // before everything that submits to it
  std::optional<tls::CertificateAuthority> ca_;  // loaded by start()
  auth::TokenRegistry tokens_;
  auth::Authenticator authenticator_;
  ApiAccess access_;
  NodeRegistry registry_;
  WatchHub hub_;
  WorkloadService service_;
  WatchHandler watch_handler_;
  LogsHandler logs_handler_;
  WorkloadHandlers workload_handlers_;
  NodeHandlers node_handlers_;
  PolicyHandlers policy_handlers_;
  AccessHandlers access_handlers_;
  JoinHandler join_handler_;
  StatsHandler stats_handler_;  // reads http_ (below) only when a request comes
  MetricsHandler metrics_handler_;
  Router router_;
  HttpServer http_;
  boost::asio::steady_timer tick_timer_;
  std::optional<TimePoint> audit_expired_;  // when expireAudit() last deleted
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace zp::server
