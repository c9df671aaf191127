#pragma once
// zoneplane-server assembled: HTTP API, node pool, controller, reconciler.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "server/admission.h"
#include "server/agent_client.h"
#include "server/config.h"
#include "server/workloads/delivery_backoff.h"
#include "server/http/http_server.h"
#include "server/image_policy.h"
#include "server/node_handlers.h"
#include "server/node_pool.h"
#include "server/policy_handlers.h"
#include "server/reconciler.h"
#include "server/http/router.h"
#include "server/workloads/scheduler.h"
#include "server/trust_policy.h"
#include "server/workload_controller.h"
#include "server/workload_handlers.h"
#include "store/store.h"

namespace zp::server {

struct ServerOptions {
  std::vector<NodeConfig> nodes;
  // Trust levels -> runtime classes; used unless `isolation` is given.
  TrustPolicyConfig trust = TrustPolicyConfig::defaults();
  std::shared_ptr<const IsolationPolicy> isolation;  // replaces the NamedClassPolicy
  ImagePolicy images;                                // default: no local registries
  BackoffOptions delivery_backoff;
  AgentTimeouts timeouts;
  std::chrono::milliseconds node_refresh_interval{5'000};
  std::chrono::milliseconds reconcile_interval{2'000};
  HttpServerOptions http;
};

// Owns every server component except the store and the io_context, which
// outlive it. Everything runs on the io_context's executor; call start() and
// stop() from that thread (or before io_context::run()).
//
// Shutdown: stop() closes the listener and the open connections, stops the
// background loops and aborts agent calls in flight, so io_context::run()
// returns once the last coroutine has unwound; destroy the Server after that.
class Server {
 public:
  // `agents` defaults to a TcpAgentClient; `scheduler` to MostFreeMemoryScheduler.
  Server(boost::asio::io_context& io, ServerOptions options, store::Store& store,
         std::unique_ptr<AgentClient> agents = nullptr,
         std::unique_ptr<Scheduler> scheduler = nullptr,
         const Clock& clock = SystemClock::instance());
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on `endpoint` (port 0: any free port) and starts the background
  // loops. Returns the bound endpoint.
  Result<boost::asio::ip::tcp::endpoint> start(const boost::asio::ip::tcp::endpoint& endpoint);
  // Idempotent.
  void stop();

  NodePool& nodePool() { return pool_; }
  Reconciler& reconciler() { return reconciler_; }

 private:
  boost::asio::io_context& io_;
  ServerOptions options_;
  std::unique_ptr<AgentClient> agents_;
  std::unique_ptr<Scheduler> scheduler_;
  std::shared_ptr<const IsolationPolicy> isolation_;
  Admission admission_;
  NodePool pool_;
  WorkloadController controller_;
  Reconciler reconciler_;
  WorkloadHandlers workload_handlers_;
  NodeHandlers node_handlers_;
  PolicyHandlers policy_handlers_;
  Router router_;
  HttpServer http_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace zp::server
