#pragma once
// AgentDaemon: one zoneplane-agent, wired. Owns the network io_context (one
// thread: the caller of run()), four pools — the workers (start pipelines),
// the control pool (stops and removals), a single sweeper thread (the
// status sweep, which so never waits behind a stop or a pull) and a single
// events thread (status changes handed to the protocol server, which so are
// pushed while every other thread waits for a hung runtime) — the workload
// manager, the isolation monitor (its own thread, one probe at a time), the
// protocol server (which pushes the manager's status changes to
// subscribed connections) and the sweep timer (`status_interval_ms`). Pipelines, stops and
// removals hold a thread only for short runtime calls; pulls, grace periods
// and waits for the runtime hold none (see WorkloadManager).
// run() blocks until requestStop() (any thread) or SIGINT/SIGTERM when
// `handle_signals` is set. Workloads are left running on exit: pending waits
// are cancelled, and if runtime operations are still running 5 s after a
// stop, the process exits at once (they resume from the runtime's state on
// the next start).

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "agent/config.h"
#include "agent/runtime.h"
#include "common/status.h"

namespace zp::agent {

class WorkloadManager;
class RequestHandler;
class ExecRunner;
class ProtocolServer;
class ProbeRunner;
class IsolationMonitor;
class AgentMetrics;

struct DaemonOptions {
  std::chrono::seconds runtime_wait{30};  // how long to retry reaching the runtime at start
  std::size_t worker_threads = 8;   // start pipelines
  std::size_t control_threads = 4;  // stop, remove
  bool handle_signals = true;
  // How long the status sweep a container event brings forward waits for
  // more events to share it. (An exit relist's report does not wait.)
  std::chrono::milliseconds event_coalesce{5};
  // Called once listening, with the bound "host:port".
  std::function<void(const std::string&)> on_listening;
  // Called once the metrics listener (config metrics_listen) listens, with
  // the bound "host:port", before on_listening.
  std::function<void(const std::string&)> on_metrics_listening;
  // The agent's metrics (the runtime's CRI clients count into it too:
  // AgentMetrics::criObserver). Null: the daemon makes its own, without
  // the CRI metrics. Must outlive the daemon.
  AgentMetrics* metrics = nullptr;
  // The protocol port's TLS context (loadNodeTls()); required unless the
  // config says insecure_plaintext, and then not allowed.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

class AgentDaemon {
 public:
  // Uses `runtime` (not owned), which must outlive the daemon.
  AgentDaemon(AgentConfig config, Runtime& runtime, DaemonOptions options = {});
  ~AgentDaemon();

  // Recovers the registry, listens, serves until stopped.
  Status run();
  // Thread-safe.
  void requestStop();

 private:
  AgentConfig config_;
  Runtime& runtime_;
  DaemonOptions options_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::thread_pool> workers_;
  std::unique_ptr<boost::asio::thread_pool> control_;
  std::unique_ptr<boost::asio::thread_pool> sweeper_;
  std::unique_ptr<boost::asio::thread_pool> events_;
  std::unique_ptr<WorkloadManager> manager_;
  // The isolation probes (docs/architecture.md §10.2): the monitor's thread
  // runs them one at a time through the runner; the runner outlives it.
  std::unique_ptr<ProbeRunner> probe_runner_;
  std::unique_ptr<IsolationMonitor> isolation_;
  // ExecSync requests (the handler uses it).
  std::unique_ptr<ExecRunner> exec_;
  // After the manager: destroyed first. The manager's observer pushes
  // through the server, so the server lives as long as the pools that run
  // the manager's work (joined before any member is destroyed).
  std::unique_ptr<RequestHandler> handler_;
  std::unique_ptr<ProtocolServer> server_;
  std::unique_ptr<AgentMetrics> own_metrics_;  // when options_.metrics is null
  AgentMetrics* metrics_ = nullptr;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace zp::agent
