#pragma once
// A small plain-HTTP listener that serves a registry at GET /metrics (and
// HEAD): the agent's (agent config `metrics_listen`, loopback by default;
// docs/architecture.md §7 "Metrics"). No TLS and no authentication: it is
// meant for a loopback address or a network only the scraper reaches, and
// says nothing a workload could not learn about its node.
//
// Every other path is 404, every other method 405. One request per
// connection at a time (keep-alive), a 10 s deadline for reading a request
// and for writing its answer, request headers up to 8 KiB and no bodies
// (a request with a body is answered 400 and the connection closed), at
// most 16 connections at once (more are closed when accepted).
//
// Threading: runs on the executor given at construction (one thread: the
// agent's network io_context); listen() and stop() are called there or
// before it runs. The registry is rendered on that executor.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>

#include "common/status.h"
#include "metrics/registry.h"

namespace zp::metrics {

class MetricsListener {
 public:
  // Borrows `registry`, which must outlive the listener.
  MetricsListener(boost::asio::any_io_executor executor, const Registry& registry);
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  // Binds (port 0: any free port), listens and starts accepting; the bound
  // endpoint. kUnavailable when it cannot bind.
  Result<boost::asio::ip::tcp::endpoint> listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // Closes the listener and every open connection. Idempotent.
  void stop();

 private:
  struct State;  // shared with the coroutines, which may outlive a stop()
  static boost::asio::awaitable<void> acceptLoop(std::shared_ptr<State> state);
  static boost::asio::awaitable<void> serve(std::shared_ptr<State> state,
                                            boost::asio::ip::tcp::socket socket);

  std::shared_ptr<State> state_;
};

}  // namespace zp::metrics
