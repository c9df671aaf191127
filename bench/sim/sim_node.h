#pragma once
// SimNode: one simulated zoneplane-agent (bench/sim): a TCP listener speaking
// the agent protocol of docs/architecture.md §3 over a SimRegistry instead of
// a CRI runtime. Hello first (a node id that is not this node's is refused
// with FailedPrecondition and the connection closes), pushes to subscribed
// connections, a started workload turns Running after the run delay, Logs
// answers three synthetic lines (the second on stderr; `stream` and `tail`
// select among them). With a TLS context (the agent's: its node certificate,
// a client certificate of the CA required) each connection completes a TLS
// handshake and must present the identity `server` first, as
// zoneplane-agent requires (docs/architecture.md §9.2).
//
// Threading: everything of a node (acceptor, connections, registry, the run
// timer) lives on its one io_context, run by one thread: no locks. listen()
// and start() may be called from another thread before that io_context runs;
// stop() must run on it. The node must outlive the io_context's run; its
// connections keep only what they own.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <set>
#include <string>

#include "common/status.h"
#include "protocol/messages.h"
#include "sim/sim_registry.h"

namespace zp::sim {

class SimNode {
 public:
  // `tls` null: plain TCP; otherwise it must outlive the node.
  SimNode(boost::asio::io_context& io, RegistryOptions options, std::chrono::milliseconds run_delay,
          std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~SimNode();
  SimNode(const SimNode&) = delete;
  SimNode& operator=(const SimNode&) = delete;

  // Binds `host` on a free port and listens; returns the bound endpoint.
  Result<boost::asio::ip::tcp::endpoint> listen(const std::string& host);
  // Starts accepting on the io_context.
  void start();
  // Closes the listener and every connection. On the io_context.
  void stop();

  const std::string& id() const { return registry_.nodeId(); }

  struct Connection;

 private:
  // A workload waiting out the run delay before it turns Running.
  struct DueRun {
    std::chrono::steady_clock::time_point due;
    std::string id;
    std::string uid;
  };

  boost::asio::awaitable<void> acceptLoop();
  boost::asio::awaitable<void> serve(std::shared_ptr<Connection> conn);
  // The TLS handshake and the peer check (no-op for plain TCP); false closes.
  boost::asio::awaitable<bool> secure(std::shared_ptr<Connection> conn);
  void handle(const std::shared_ptr<Connection>& conn, protocol::Request request);
  void handleLogs(Connection& conn, const std::optional<std::string>& req,
                  const protocol::Logs& logs);
  void push(const api::WorkloadStatus& status);
  void scheduleRun(const api::WorkloadStatus& status);
  void armRunTimer();
  void runDue();

  boost::asio::io_context& io_;
  SimRegistry registry_;
  const std::chrono::milliseconds run_delay_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::set<std::shared_ptr<Connection>> connections_;
  std::set<std::shared_ptr<Connection>> subscribers_;
  std::deque<DueRun> due_;  // in due order: the delay is the same for every workload
  boost::asio::steady_timer run_timer_;
  bool run_timer_armed_ = false;
  bool stopping_ = false;
};

}  // namespace zp::sim
