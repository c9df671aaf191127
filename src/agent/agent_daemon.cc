#include "agent/agent_daemon.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <thread>

#include "agent/agent_metrics.h"
#include "agent/isolation/isolation_monitor.h"
#include "agent/isolation/probe_runner.h"
#include "agent/protocol_server.h"
#include "agent/request_handler.h"
#include "agent/workload_manager.h"
#include "common/address.h"
#include "common/version.h"
#include "metrics/metrics_listener.h"

namespace zp::agent {

namespace asio = boost::asio;

namespace {

// What the probe tries to reach from inside a class: the agent's own listen
// address (unless loopback, unspecified or an ephemeral port) and [probe]
// connect.
std::vector<std::string> probeTargets(const AgentConfig& config) {
  std::vector<std::string> targets;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(config.listen_host, ec);
  if (!ec && !address.is_loopback() && !address.is_unspecified() && config.listen_port != 0) {
    targets.push_back(formatEndpoint({address, config.listen_port}));
  }
  for (const auto& target : config.probe.connect) targets.push_back(target);
  return targets;
}

}  // namespace

AgentDaemon::AgentDaemon(AgentConfig config, Runtime& runtime, DaemonOptions options)
    : config_(std::move(config)),
      runtime_(runtime),
      options_(std::move(options)),
      workers_(std::make_unique<asio::thread_pool>(options_.worker_threads)),
      control_(std::make_unique<asio::thread_pool>(options_.control_threads)),
      sweeper_(std::make_unique<asio::thread_pool>(1)),
      events_(std::make_unique<asio::thread_pool>(1)) {
  WorkloadManager::Options manager_options;
  manager_options.node_id = config_.node_id;
  manager_options.capacity = effectiveCapacity(config_);
  for (const auto& [name, rc] : config_.runtime_classes) {
    manager_options.runtime_classes.push_back(name);
  }
  manager_options.version = kVersion;
  manager_options.pull_timeout = std::chrono::seconds(config_.pull_timeout_seconds);
  manager_options.max_pulls_per_registry = config_.max_pulls_per_registry;
  manager_options.uid_range = config_.uid_range;
  manager_options.restart_backoff_initial =
      std::chrono::milliseconds(config_.restart_backoff_initial_ms);
  manager_options.restart_backoff_max = std::chrono::seconds(config_.restart_backoff_max_seconds);
  manager_ = std::make_unique<WorkloadManager>(std::move(manager_options), runtime_,
                                               SystemClock::instance(), workers_->get_executor(),
                                               events_->get_executor());
  ProbeRunner::Options probe_options;
  probe_options.image = config_.probe.image;
  probe_options.targets = probeTargets(config_);
  probe_options.timeout = std::chrono::seconds(config_.probe.timeout_seconds);
  probe_options.pull_timeout = std::chrono::seconds(config_.pull_timeout_seconds);
  probe_runner_ = std::make_unique<ProbeRunner>(runtime_, std::move(probe_options));
  IsolationMonitor::Options isolation_options;
  for (const auto& [name, rc] : config_.runtime_classes) {
    isolation_options.classes.push_back({name, rc.isolation});
  }
  isolation_options.interval = std::chrono::seconds(config_.probe.interval_seconds);
  isolation_options.enabled = !config_.probe.image.empty();
  isolation_ =
      std::make_unique<IsolationMonitor>(std::move(isolation_options), *probe_runner_,
                                         SystemClock::instance(), SteadyMonotonicClock::instance());
  exec_ = std::make_unique<ExecRunner>(*manager_, runtime_);
  handler_ = std::make_unique<RequestHandler>(*manager_, control_->get_executor(), LogOptions{},
                                              isolation_.get(), exec_.get());
  if (options_.metrics == nullptr) own_metrics_ = std::make_unique<AgentMetrics>();
  metrics_ = options_.metrics != nullptr ? options_.metrics : own_metrics_.get();
  metrics_->watchWorkloads(*manager_);
  handler_->setObserver(metrics_->requestObserver());
  ServerLimits limits;
  limits.handshake_timeout = std::chrono::milliseconds(config_.handshake_timeout_ms);
  limits.idle_timeout = std::chrono::seconds(config_.idle_timeout_seconds);
  limits.max_buffered_bytes = static_cast<std::size_t>(config_.max_buffered_mb) << 20;
  server_ = std::make_unique<ProtocolServer>(io_, *handler_, limits,
                                             config_.insecure_plaintext ? nullptr : options_.tls);
  manager_->setObserver(
      [server = server_.get()](const api::WorkloadStatus& status) { server->publish(status); });
}

AgentDaemon::~AgentDaemon() {
  isolation_->stop();
  // Pools first: tasks still queued in them refer to the manager.
  sweeper_->join();
  control_->join();
  workers_->join();
  events_->join();
  sweeper_.reset();
  control_.reset();
  workers_.reset();
  events_.reset();
}

void AgentDaemon::requestStop() {
  stop_requested_ = true;
  // First, while connections are still served: requests waiting for a probe
  // are answered Error{Unavailable} (their replies are posted ahead of the
  // stop, and written before the sockets close: run()).
  isolation_->shutdown();
  asio::post(io_, [this] { io_.stop(); });
}

Status AgentDaemon::run() {
  if (config_.insecure_plaintext == (options_.tls != nullptr)) {
    manager_->shutdown();
    return fail(
        Code::kFailedPrecondition,
        config_.insecure_plaintext
            ? "a TLS context was given although the agent runs --insecure-plaintext"
            : "no TLS context: the agent needs its node certificate, or --insecure-plaintext");
  }
  // The runtime is the source of truth: rebuild the registry before serving.
  const auto deadline = std::chrono::steady_clock::now() + options_.runtime_wait;
  while (true) {
    // Probe sandboxes a crash left go first: the recovery prunes the pod
    // cgroups no workload holds, theirs included.
    if (auto leftovers = removeProbeLeftovers(runtime_); !leftovers) {
      spdlog::warn("{}", leftovers.error().message);
    }
    auto recovered = manager_->recover();
    if (recovered) break;
    if (std::chrono::steady_clock::now() >= deadline || stop_requested_) {
      return fail(recovered.error().code,
                  "cannot list workloads from the runtime: " + recovered.error().message);
    }
    spdlog::warn("runtime not ready ({}); retrying", recovered.error().message);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }

  // The metrics listener: a failure to bind is logged, not fatal (the
  // node's workloads do not depend on it).
  metrics::MetricsListener metrics_listener(io_.get_executor(), metrics_->registry());
  if (auto endpoint = metricsEndpoint(config_); endpoint && *endpoint) {
    if (auto listening = metrics_listener.listen(**endpoint); listening) {
      const std::string at = formatEndpoint(*listening);
      spdlog::info("metrics on http://{}/metrics", at);
      if (!listening->address().is_loopback()) {
        spdlog::warn(
            "the metrics listener on {} has no authentication and is not on loopback: anyone "
            "who reaches it reads this node's metrics",
            at);
      }
      if (options_.on_metrics_listening) options_.on_metrics_listening(at);
    } else {
      spdlog::error("{}; the agent runs without it", listening.error().message);
    }
  }

  auto& server = *server_;
  auto bound = server.listen(config_.listen_host, config_.listen_port);
  if (!bound) {
    // Pipelines recover() started may be waiting (a pull, the runtime): end
    // their waits so the pools can be joined.
    manager_->shutdown();
    return fail(bound.error());
  }
  const std::string where = formatEndpoint(*bound);
  if (config_.insecure_plaintext) {
    spdlog::warn(
        "INSECURE (--insecure-plaintext): the protocol on {} has no TLS and no "
        "authentication; anyone who can connect to it, any user of this machine "
        "included, can run workloads on this node",
        where);
  }
  // Signals are taken over before the agent says it listens: whoever waits
  // for that line may send SIGTERM at once, and must not kill it outright.
  asio::signal_set signals(io_);
  if (options_.handle_signals) {
    signals.add(SIGINT);
    signals.add(SIGTERM);
    signals.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      spdlog::info("signal {}: stopping (workloads keep running)", signo);
      requestStop();
    });
  }
  server.start();
  spdlog::info("node \"{}\" serving on {} ({}, {} runtime class(es))", config_.node_id, where,
               config_.insecure_plaintext ? "plaintext" : "mutual TLS 1.3",
               config_.runtime_classes.size());
  if (options_.on_listening) options_.on_listening(where);
  if (auto warning = unpinnedProbeImageWarning(config_.probe.image)) spdlog::warn("{}", *warning);
  isolation_->start();

  // One status sweep per tick for the whole node, on its own thread; never
  // overlapping. The next tick starts a full interval after a sweep ends,
  // unless a runtime reports a container event meanwhile: then the sweep
  // comes options_.event_coalesce after it (the events that come with it, a
  // pod's containers or a burst of exits, share it). An exit relist's report
  // is a whole listing's: the sweep comes at once.
  bool stopping = false;
  bool sweep_soon = false;
  bool coalesce = false;  // with sweep_soon: wait options_.event_coalesce first
  const std::chrono::milliseconds sweep_interval{config_.status_interval_ms};
  asio::steady_timer tick(io_);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        while (!stopping) {
          boost::system::error_code ec;
          if (!sweep_soon) {
            tick.expires_after(sweep_interval);
            co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          }
          if (sweep_soon && coalesce && !stopping) {
            tick.expires_after(options_.event_coalesce);
            co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          }
          sweep_soon = false;
          if (stopping) break;
          auto sweep = asio::co_spawn(
              sweeper_->get_executor(),
              [this]() -> asio::awaitable<Status> { co_return manager_->sweep(); },
              asio::use_awaitable);
          auto swept = co_await std::move(sweep);
          if (!swept) spdlog::warn("status sweep failed: {}", swept.error().message);
        }
      },
      asio::detached);
  // Ends before the locals it touches (posted handlers run on io_ only).
  auto container_events =
      runtime_.watchContainers([this, &sweep_soon, &coalesce, &tick](ContainerNews news) {
        asio::post(io_, [&sweep_soon, &coalesce, &tick, news] {
          if (sweep_soon) return;  // a sweep is due already
          sweep_soon = true;
          coalesce = news == ContainerNews::kEvent;
          tick.cancel();  // ends the interval's wait, if that is what runs
        });
      });

  io_.run();
  container_events.reset();
  stopping = true;
  // Replies already made (ProbeIsolation answered at requestStop()) are
  // handed to their sockets before these close; bounded, should peers keep
  // the connections busy.
  io_.restart();
  for (int handlers = 0; handlers < 10'000 && io_.poll_one() > 0; ++handlers) {
  }
  server.stop();
  metrics_listener.stop();
  tick.cancel();
  signals.cancel();
  // Cancel what waits (pulls, grace periods, the runtime), let operations
  // finish for a moment; the runtime keeps the truth, so anything cut short
  // is found and finished by the next start.
  manager_->shutdown();
  exec_->shutdown();
  // (requestStop() did already); a probe cut short still removes its sandbox.
  isolation_->shutdown();
  const auto grace_end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  // An exec cut short finishes on io_ (its coroutine runs there): io_ runs
  // until it has, so no exec is left to io_'s destructor or to a runtime
  // callback after the daemon is gone.
  const auto busy = [this] {
    return manager_->operationsInFlight() > 0 || isolation_->busy() || exec_->running() > 0;
  };
  while (busy() && std::chrono::steady_clock::now() < grace_end) {
    io_.poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (busy()) {
    spdlog::warn("{} runtime operation(s){} still running at exit; they resume on the next start",
                 manager_->operationsInFlight() + exec_->running(),
                 isolation_->busy() ? " and a probe (its sandbox is removed then)" : "");
    // Threads blocked in runtime calls cannot be joined in bounded time and
    // would touch freed state when they return: end the process here.
    spdlog::shutdown();
    std::_Exit(0);
  }
  isolation_->stop();
  sweeper_->stop();
  control_->stop();
  workers_->stop();
  sweeper_->join();
  control_->join();
  workers_->join();
  events_->join();  // after the others: it delivers the last changes they made
  // Drain what the io_context still holds (connection coroutines) before destruction.
  io_.restart();
  io_.poll();
  spdlog::info("agent stopped");
  return ok();
}

}  // namespace zp::agent
