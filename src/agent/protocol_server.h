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
//
// Transport security and peer cost (docs/architecture.md §9.2): with a TLS
// context every connection first completes a TLS 1.3 handshake within
// `handshake_timeout` and must present a certificate of the cluster CA whose
// identity is `server`; any other peer is closed before a line is read.
// Without one, connections are plaintext (the explicit insecure mode). Either
// way a connection that has read nothing for `idle_timeout`, has no slow
// request in progress and does not subscribe is closed; all connections
// together buffer at most `max_buffered_bytes` of unread partial lines (a
// read that passes it gets Error{ResourceExhausted} and closes its
// connection); and a connection accepted while all max_connections +
// subscriber_reserve are open closes the one that has been idle longest among
// those that do not subscribe (one in its handshake is idle since it was
// accepted; connections with a slow request in progress go last), so a flood
// of idle or half-open connections never shuts the subscribed connection out.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "agent/log_throttle.h"
#include "agent/request_handler.h"
#include "common/status.h"
#include "protocol/line_io.h"

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
  // Time a TLS handshake may take from the connection's accept.
  std::chrono::milliseconds handshake_timeout{10'000};
  // A connection that has read nothing for this long (and has no slow request
  // in progress and no subscription) is closed.
  std::chrono::milliseconds idle_timeout{120'000};
  // Bytes of unread partial lines all connections together may buffer.
  std::size_t max_buffered_bytes = std::size_t{64} << 20;
};

class ProtocolServer {
 public:
  // With `tls` (tls::serverContext requiring a client certificate), every
  // connection is TLS and its peer must be the server (identity `server`);
  // without it, plaintext.
  ProtocolServer(boost::asio::io_context& io, RequestHandler& handler, ServerLimits limits = {},
                 std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
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
  // A connection's life: the handshake and the peer check (TLS), then its
  // writer, reader and idle watch.
  boost::asio::awaitable<void> run(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> readLoop(std::shared_ptr<Connection> conn);
  // Closes `conn` once it has been idle for idle_timeout (docs/architecture.md §9.2).
  boost::asio::awaitable<void> watchIdle(std::shared_ptr<Connection> conn);
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
  // Whether a Hello without `subscribe` on `conn` finds no free slot: greeted
  // connections that do not subscribe fill max_connections.
  bool overUnsubscribedLimit(const Connection& conn) const;
  // Connections that are not closing.
  std::size_t openConnections() const;
  // At the connection cap: closes a connection that does not subscribe:
  // strangers (not greeted) first, then greeted idle ones, those with a slow
  // request in progress last; each group by how long it has been idle.
  // False when every open connection subscribes.
  bool evictIdlest();
  // Forgets `conn` once its socket is closed and its coroutines are ending.
  void release(const std::shared_ptr<Connection>& conn);
  // On `io`: queues `line` on every subscribed connection, dropping those
  // whose backlog is over the limit.
  void fanOut(const std::string& line);

  boost::asio::io_context& io_;
  RequestHandler& handler_;
  ServerLimits limits_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  // Shared by every connection's LineReader; each reader's coroutine holds a
  // reference, so it outlives them.
  std::shared_ptr<protocol::BufferBudget> budget_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::set<std::shared_ptr<Connection>> connections_;
  bool stopping_ = false;
  // What strangers can cause at will is logged at most once per 10 s, with
  // a count of what was held back: evictions, refused certificates and
  // identities, other failed handshakes (scanners, plaintext clients).
  LogThrottle eviction_log_;
  LogThrottle refusal_log_;
  LogThrottle handshake_log_;
};

}  // namespace zp::agent
