#pragma once
// ProtocolServer: the agent's TCP listener for the line protocol (docs/architecture.md
// §3). Owns the acceptor and every connection. Each connection has a reader
// coroutine (decodes lines, spawns one handler coroutine per request, so many
// requests can be in flight on one connection) and a writer coroutine (sends
// replies in completion order; `req` lets the client match them).
// Everything runs on the single network executor (`io`): no locks. The one
// exception is publish(), which any thread may call.
//
// Slow and cheap requests (docs/architecture.md §3): StopWorkload,
// RemoveWorkload and Logs may take long (grace periods, follows); each runs
// in its own coroutine, at most `max_in_flight_per_connection` at once per
// connection. Every other request (Hello, NodeInfo, GetStatus,
// ListWorkloads, StartWorkload) only touches memory and is answered by the
// reader itself, so a heartbeat is answered even while the connection's
// slow requests are at their limit. The reader stops reading only while the
// client leaves `max_unwritten_replies` lines unread, or while one slow
// request waits for a slot.
//
// Hello first (docs/architecture.md §3): a connection is answered only after
// a Hello naming this node; with `subscribe` it also receives every
// WorkloadEvent push. A subscriber that does not read its pushes is
// disconnected once `max_unwritten_pushes` lines wait for it (it resyncs
// when it reconnects), so pushes never grow the agent's memory without bound.
//
// Connections: at most max_connections connections that do not subscribe;
// `subscriber_reserve` more are accepted, but a connection whose Hello does
// not subscribe while max_connections others that do not subscribe are open
// is refused (Error{Unavailable}, then closed). So log streams and other
// clients never lock the server's subscribed connection out.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "agent/request_handler.h"
#include "common/status.h"

namespace zp::agent {

struct ServerLimits {
  // Open connections that do not subscribe.
  std::size_t max_connections = 1024;
  // Further connections only a Hello with `subscribe` may keep.
  std::size_t subscriber_reserve = 8;
  // Slow requests (Stop, Remove, Logs) being handled per connection; a
  // further one waits for a slot, and the connection is not read meanwhile.
  std::size_t max_in_flight_per_connection = 64;
  // Unwritten lines beyond which the connection is not read until the
  // client reads them.
  std::size_t max_unwritten_replies = 64;
  // Unwritten lines a subscribed connection may have before a push drops it.
  std::size_t max_unwritten_pushes = 10'000;
  // Unwritten lines beyond which a stream (Logs) waits before writing more.
  std::size_t max_stream_backlog = 32;
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
  // Pushes `status` as a WorkloadEvent to every subscribed connection.
  // Thread-safe: encodes on the calling thread, then posts onto `io`.
  void publish(const api::WorkloadStatus& status);

  struct Connection;

 private:
  boost::asio::awaitable<void> acceptLoop();
  boost::asio::awaitable<void> readLoop(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> writeLoop(std::shared_ptr<Connection> conn);
  // Handles a slow request in its own coroutine (holding one of the
  // connection's slots) and queues its reply.
  boost::asio::awaitable<void> serve(std::shared_ptr<Connection> conn, protocol::Request request);
  // The encoded reply to `request` (an Error when the handler throws or the
  // reply is longer than a line may be).
  boost::asio::awaitable<std::string> answer(std::shared_ptr<Connection> conn,
                                             protocol::Request request);
  // Waits (on the connection's `drained` signal) until `ready()` holds or the
  // connection closes.
  boost::asio::awaitable<void> waitUntil(std::shared_ptr<Connection> conn,
                                         std::function<bool()> ready);
  // Whether a Hello without `subscribe` on `conn` finds no free slot.
  bool overUnsubscribedLimit(const Connection& conn) const;
  // On `io`: queues `line` on every subscribed connection, dropping those
  // whose backlog is over the limit.
  void fanOut(const std::string& line);

  boost::asio::io_context& io_;
  RequestHandler& handler_;
  ServerLimits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::set<std::shared_ptr<Connection>> connections_;
  bool stopping_ = false;
};

}  // namespace zp::agent
