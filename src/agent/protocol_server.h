#pragma once
// ProtocolServer: the agent's TCP listener for the line protocol (docs/architecture.md
// §3). Owns the acceptor and every connection. Each connection has a reader
// coroutine (decodes lines, spawns one handler coroutine per request, so many
// requests can be in flight on one connection) and a writer coroutine (sends
// replies in completion order; `req` lets the client match them).
// Everything runs on the single network executor (`io`): no locks.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <set>
#include <string>

#include "agent/request_handler.h"
#include "common/status.h"

namespace zp::agent {

struct ServerLimits {
  std::size_t max_connections = 1024;
  // Requests in flight plus unwritten replies per connection; beyond it the
  // connection is not read until the client reads its replies.
  std::size_t max_in_flight_per_connection = 64;
};

class ProtocolServer {
 public:
  ProtocolServer(boost::asio::io_context& io, RequestHandler& handler, ServerLimits limits = {});
  ~ProtocolServer();

  // Binds and listens; returns the bound endpoint (port 0 picks a free one).
  Result<boost::asio::ip::tcp::endpoint> listen(const std::string& host, unsigned short port);
  // Starts accepting (on `io`).
  void start();
  // Stops accepting and closes every connection. Call on `io`.
  void stop();

  struct Connection;

 private:
  boost::asio::awaitable<void> acceptLoop();
  boost::asio::awaitable<void> readLoop(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> writeLoop(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> serve(std::shared_ptr<Connection> conn, protocol::Request request);

  boost::asio::io_context& io_;
  RequestHandler& handler_;
  ServerLimits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::set<std::shared_ptr<Connection>> connections_;
  bool stopping_ = false;
};

}  // namespace zp::agent
