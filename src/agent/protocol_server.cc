#include "agent/protocol_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <tuple>

#include "agent/node_tls.h"
#include "protocol/line_io.h"
#include "tls/tls_context.h"
#include "tls/transport.h"

namespace zp::agent {

namespace asio = boost::asio;
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

// The end of a throttled log line: how many like it were not logged.
std::string heldBack(std::size_t count) {
  if (count == 0) return {};
  return " (and " + std::to_string(count) + " more since the last line like it, not logged)";
}

// TCP keepalive on an accepted connection: after 30 s without a packet the
// kernel probes the peer, 3 times 10 s apart, then ends the connection. A
// peer that vanished without closing (a partition that outlasted its FIN, a
// host that lost power) so leaves no half-open connection behind, even one
// that subscribes (never closed for being idle). Best effort: a failure is
// logged and the connection served anyway.
void enableKeepalive(tcp::socket& socket, const std::string& peer) {
  const int fd = socket.native_handle();
  const int on = 1, idle_s = 30, interval_s = 10, probes = 3;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes) != 0) {
    spdlog::warn("connection {}: cannot enable TCP keepalive: {}", peer, std::strerror(errno));
  }
}

}  // namespace

struct ProtocolServer::Connection final : ReplyStream {
  Connection(tls::Transport t, std::size_t stream_backlog)
      : transport(std::move(t)),
        wake(transport.get_executor(), SteadyClock::time_point::max()),
        drained(transport.get_executor(), SteadyClock::time_point::max()),
        idle(transport.get_executor(), SteadyClock::time_point::max()),
        max_stream_backlog(stream_backlog) {}

  // Closes the socket (pending operations end) and ends the idle watch.
  void closeSocket() {
    transport.close();
    socket_closed = true;
    idle.cancel();
  }
  void send(std::string line) {
    outbox.push_back(std::move(line));
    wake.cancel();
  }
  // Flushes what is queued, then closes (dropped by the idle watch if the
  // peer does not read it within the idle timeout).
  void closeAfterFlush() {
    closing = true;
    active = SteadyClock::now();
    wake.cancel();
    wakeWriters();
  }
  // Closes at once, dropping what is queued.
  void drop() {
    closing = true;
    outbox.clear();
    closeSocket();
    wake.cancel();
    wakeWriters();
  }
  // After a line was written (or the connection ends): the reader and the
  // streams waiting for room look again.
  void wakeWriters() {
    drained.cancel();
    for (auto* waiter : stream_waiters) waiter->cancel();
  }

  // ReplyStream
  asio::awaitable<bool> write(protocol::Reply reply) override {
    if (closed()) co_return false;
    send(protocol::encodeReply(reply));
    while (outbox.size() > max_stream_backlog && !closed()) {
      asio::steady_timer waiter(transport.get_executor(), SteadyClock::time_point::max());
      stream_waiters.push_back(&waiter);
      boost::system::error_code ec;
      auto waiting = waiter.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      co_await std::move(waiting);
      std::erase(stream_waiters, &waiter);
    }
    co_return !closed();
  }
  bool closed() const override { return closing || socket_closed; }

  tls::Transport transport;
  bool socket_closed = false;  // closeSocket() was called
  asio::steady_timer wake;     // cancelled to wake the writer
  // Cancelled after each write and when a slow request ends, to wake the reader.
  asio::steady_timer drained;
  asio::steady_timer idle;  // the idle watch's (watchIdle()) deadline
  // Since when the connection is idle: its accept, then its last read or the
  // end of its last slow request (docs/architecture.md §9.2).
  SteadyClock::time_point active = SteadyClock::now();
  bool handshaking = true;  // the TLS handshake has not finished
  // Accepted at the cap with nothing to evict: answered Error{Unavailable}
  // after the handshake, then closed.
  bool refused = false;
  std::deque<std::string> outbox;
  std::size_t in_flight = 0;  // slow requests being handled (serve())
  bool closing = false;
  const std::size_t max_stream_backlog;
  std::vector<asio::steady_timer*> stream_waiters;  // streams waiting for room (write())
  // Set by a successful Hello (docs/architecture.md §3): until then every
  // other request is refused.
  bool greeted = false;
  bool subscribed = false;
  std::string peer;
};

ProtocolServer::ProtocolServer(asio::io_context& io, RequestHandler& handler, ServerLimits limits,
                               std::shared_ptr<asio::ssl::context> tls)
    : io_(io),
      handler_(handler),
      limits_(limits),
      tls_(std::move(tls)),
      budget_(std::make_shared<protocol::BufferBudget>(limits.max_buffered_bytes)),
      acceptor_(io) {}

ProtocolServer::~ProtocolServer() = default;

Result<tcp::endpoint> ProtocolServer::listen(const std::string& host, unsigned short port) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return fail(Code::kInvalidArgument, "invalid listen address \"" + host + "\"", "listen");
  const tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(Code::kUnavailable,
                "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message(), "listen");
  }
  return acceptor_.local_endpoint();
}

void ProtocolServer::start() { asio::co_spawn(io_, acceptLoop(), asio::detached); }

void ProtocolServer::stop() {
  stopping_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  for (const auto& conn : connections_) {
    conn->closeSocket();
    conn->wake.cancel();
    conn->wakeWriters();
  }
}

void ProtocolServer::publish(const api::WorkloadStatus& status) {
  std::string line = protocol::encodeReply({std::nullopt, protocol::WorkloadEvent{status}});
  asio::post(io_, [this, line = std::move(line)] { fanOut(line); });
}

void ProtocolServer::fanOut(const std::string& line) {
  if (stopping_) return;
  std::vector<std::shared_ptr<Connection>> slow;
  for (const auto& conn : connections_) {
    if (!conn->subscribed || conn->closing) continue;
    if (conn->outbox.size() >= limits_.max_unwritten_pushes) {
      slow.push_back(conn);
      continue;
    }
    conn->send(line);
  }
  for (const auto& conn : slow) {
    spdlog::warn("connection {}: {} lines unwritten; disconnecting the subscriber (it resyncs on "
                 "reconnect)",
                 conn->peer, conn->outbox.size());
    conn->drop();
  }
}

asio::awaitable<void> ProtocolServer::acceptLoop() {
  while (!stopping_) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      // E.g. out of file descriptors: back off instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    boost::system::error_code peer_ec;
    const auto remote = socket.remote_endpoint(peer_ec);
    const std::string peer =
        peer_ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
    enableKeepalive(socket, peer);
    auto conn = std::make_shared<Connection>(
        tls_ ? tls::Transport(std::move(socket), *tls_) : tls::Transport(std::move(socket)),
        limits_.max_stream_backlog);
    conn->peer = peer;
    if (openConnections() >= limits_.max_connections + limits_.subscriber_reserve && !evictIdlest()) {
      spdlog::warn("refusing connection from {}: {} connections open, all subscribed", conn->peer,
                   connections_.size());
      conn->refused = true;
    }
    connections_.insert(conn);
    asio::co_spawn(io_, run(conn), asio::detached);
  }
}

std::size_t ProtocolServer::openConnections() const {
  return static_cast<std::size_t>(std::count_if(
      connections_.begin(), connections_.end(), [](const auto& c) { return !c->closing; }));
}

bool ProtocolServer::evictIdlest() {
  // Strangers first (not greeted: in the handshake or before Hello), then
  // idle greeted ones (nothing in progress), then those with slow requests;
  // each by how long they have been idle.
  std::shared_ptr<Connection> victim;
  const auto rank = [](const Connection& c) {
    return std::tuple(c.greeted, c.in_flight > 0, c.active);
  };
  for (const auto& c : connections_) {
    if (c->closing || c->subscribed) continue;
    if (!victim || rank(*c) < rank(*victim)) {
      victim = c;
    }
  }
  if (!victim) return false;
  const auto now = SteadyClock::now();
  if (const auto held_back = eviction_log_.admit(now)) {
    const auto idle_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - victim->active).count();
    spdlog::warn(
        "{} connections open: closed {} connection(s) idle longest to accept new ones "
        "(the last: {}, {}, idle for {} ms)",
        connections_.size(), *held_back + 1, victim->peer,
        victim->handshaking ? "in its TLS handshake" : "not subscribed", idle_ms);
  }
  victim->drop();
  return true;
}

void ProtocolServer::release(const std::shared_ptr<Connection>& conn) {
  conn->closeSocket();
  connections_.erase(conn);
}

asio::awaitable<void> ProtocolServer::run(std::shared_ptr<Connection> conn) {
  if (tls_) {
    conn->transport.tcp().expires_after(limits_.handshake_timeout);
    auto handshake = conn->transport.handshake(tls::Transport::Role::kServer);
    const Status shaken = co_await std::move(handshake);
    conn->transport.tcp().expires_never();
    if (!shaken) {
      SSL* ssl = conn->transport.ssl();
      const long verified = ::SSL_get_verify_result(ssl);
      if (conn->closing || stopping_) {
        // Evicted or stopped: said where that happened.
      } else if (verified != X509_V_OK) {
        if (const auto held_back = refusal_log_.admit(SteadyClock::now())) {
          spdlog::warn("connection {}: refusing its certificate: {}; closing{}", conn->peer,
                       ::X509_verify_cert_error_string(verified), heldBack(*held_back));
        }
      } else if (const auto held_back = handshake_log_.admit(SteadyClock::now())) {
        // Scanners, plaintext clients and peers that give up are common.
        spdlog::info("connection {}: {}; closing{}", conn->peer, shaken.error().message,
                     heldBack(*held_back));
      }
      release(conn);
      co_return;
    }
    if (auto allowed = tls::requirePeer(conn->transport.ssl(), tls::Identity::server()); !allowed) {
      if (const auto held_back = refusal_log_.admit(SteadyClock::now())) {
        spdlog::warn(
            "connection {}: refusing {}: only the server's certificate is served; "
            "closing{}",
            conn->peer, presentedIdentity(conn->transport.ssl()), heldBack(*held_back));
      }
      release(conn);
      co_return;
    }
  }
  if (conn->closing || stopping_) {  // evicted or stopped meanwhile
    release(conn);
    co_return;
  }
  conn->handshaking = false;
  conn->active = SteadyClock::now();
  if (conn->refused) {
    // Unavailable, not ResourceExhausted: the condition passes, and the
    // server retries a delivery refused with it rather than failing it.
    conn->send(protocol::encodeReply(
        {std::nullopt,
         protocol::ErrorReply{{Code::kUnavailable, "too many connections; try again later", ""}, ""}}));
    conn->closeAfterFlush();
  }
  asio::co_spawn(io_, writeLoop(conn), asio::detached);
  if (conn->closing) co_return;
  asio::co_spawn(io_, watchIdle(conn), asio::detached);
  auto reading = readLoop(std::move(conn));
  co_await std::move(reading);
}

asio::awaitable<void> ProtocolServer::watchIdle(std::shared_ptr<Connection> conn) {
  while (!conn->socket_closed && !stopping_) {
    const auto now = SteadyClock::now();
    auto deadline = conn->active + limits_.idle_timeout;
    if (now >= deadline) {
      // A closing connection whose peer does not take its last lines goes too.
      if (conn->in_flight == 0 && (conn->closing || !conn->subscribed)) {
        spdlog::info("connection {}: idle for {} ms{}; closing", conn->peer,
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - conn->active).count(),
                     conn->closing ? " with lines unread" : "");
        conn->drop();
        break;
      }
      // Busy or subscribed: its idle time counts from when that ends.
      deadline = now + limits_.idle_timeout;
    }
    boost::system::error_code ec;
    conn->idle.expires_at(deadline);
    co_await conn->idle.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

namespace {

// Requests that may take long (a stop's grace period, a followed log, an
// exec): each holds one of the connection's slots while it runs (a probe too). Every other request
// only reads or changes the registry in memory and is answered at once.
bool isSlow(const protocol::RequestBody& body) {
  return std::holds_alternative<protocol::StopWorkload>(body) ||
         std::holds_alternative<protocol::RemoveWorkload>(body) ||
         std::holds_alternative<protocol::Logs>(body) ||
         std::holds_alternative<protocol::ProbeIsolation>(body) ||
         std::holds_alternative<protocol::ExecSync>(body);
}

}  // namespace

bool ProtocolServer::overUnsubscribedLimit(const Connection& conn) const {
  std::size_t others = 0;
  // Only greeted connections count: one that has not said Hello yet is a
  // stranger as far as the slots go, and the accept path evicts it first.
  for (const auto& c : connections_) {
    if (c.get() != &conn && !c->closing && !c->subscribed && c->greeted) ++others;
  }
  return others >= limits_.max_connections;
}

asio::awaitable<void> ProtocolServer::waitUntil(std::shared_ptr<Connection> conn,
                                                std::function<bool()> ready) {
  while (!ready() && !conn->closing && !stopping_) {
    boost::system::error_code ec;
    conn->drained.expires_at(std::chrono::steady_clock::time_point::max());
    co_await conn->drained.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> ProtocolServer::readLoop(std::shared_ptr<Connection> conn) {
  // Held here so the budget outlives the reader, which gives its share back.
  const auto budget = budget_;
  protocol::LineReader<tls::Transport> reader(conn->transport, protocol::kMaxLineBytes, budget.get());
  reader.onRead([c = conn.get()](std::size_t) { c->active = SteadyClock::now(); });
  const std::function<bool()> replies_read = [this, c = conn.get()] {
    return c->outbox.size() < limits_.max_unwritten_replies;
  };
  const std::function<bool()> slot_free = [this, c = conn.get()] {
    return c->in_flight < limits_.max_in_flight_per_connection;
  };
  while (!conn->closing && !stopping_) {
    // Backpressure: a client that does not read its replies is not read either.
    auto reading = waitUntil(conn, replies_read);
    co_await std::move(reading);
    if (conn->closing || stopping_) break;
    auto line = co_await reader.next();
    if (!line) {
      if (line.error().code == Code::kResourceExhausted) {
        spdlog::warn("connection {}: {}; closing", conn->peer, line.error().message);
        conn->send(protocol::encodeReply(
            {std::nullopt, protocol::ErrorReply{line.error(), ""}}));
      }
      conn->closeAfterFlush();
      break;
    }
    if (line->empty()) continue;  // blank lines are keep-alives
    auto request = protocol::decodeRequest(*line);
    if (!request) {
      auto& e = request.error();
      conn->send(protocol::encodeReply({e.req, protocol::ErrorReply{e.error, e.id}}));
      continue;
    }
    // Hello is answered here, in order: the requests after it depend on it.
    if (const auto* hello = std::get_if<protocol::Hello>(&request->body)) {
      auto node = handler_.hello(*hello);
      if (node && !hello->subscribe && overUnsubscribedLimit(*conn)) {
        // The remaining slots are kept for subscribers (the server's link).
        node = fail(Code::kUnavailable,
                    "too many connections (" + std::to_string(connections_.size()) +
                        " open); only a subscribing Hello may use the reserved ones; try again "
                        "later",
                    "");
      }
      if (!node) {
        spdlog::warn("connection {}: {}; closing", conn->peer, node.error().message);
        conn->send(protocol::encodeReply({request->req, protocol::ErrorReply{node.error(), ""}}));
        conn->closeAfterFlush();
        break;
      }
      conn->greeted = true;
      conn->subscribed = hello->subscribe;
      conn->send(protocol::encodeReply({request->req, std::move(*node)}));
      continue;
    }
    if (!conn->greeted) {
      conn->send(protocol::encodeReply(
          {request->req,
           protocol::ErrorReply{{Code::kFailedPrecondition,
                                 "the first request on a connection must be Hello {node_id}", ""},
                                ""}}));
      continue;
    }
    if (!isSlow(request->body)) {
      // Answered from memory, here: never queued behind slow requests.
      auto answering = answer(conn, std::move(*request));
      std::string reply_line = co_await std::move(answering);
      conn->send(std::move(reply_line));
      continue;
    }
    auto waiting = waitUntil(conn, slot_free);
    co_await std::move(waiting);
    if (conn->closing || stopping_) break;
    ++conn->in_flight;
    asio::co_spawn(io_, serve(conn, std::move(*request)), asio::detached);
  }
}

asio::awaitable<std::string> ProtocolServer::answer(std::shared_ptr<Connection> conn,
                                                    protocol::Request request) {
  protocol::Reply reply;
  const auto req = request.req;
  try {
    auto handled = handler_.handle(std::move(request), *conn);  // not inside co_await: GCC 12 bug
    reply = co_await std::move(handled);
  } catch (const std::exception& e) {
    // A handler bug must not take the daemon down; report it to the client.
    spdlog::error("request handler failed: {}", e.what());
    reply = {req, protocol::ErrorReply{{Code::kInternal, "internal error", ""}, ""}};
  }
  std::string line = protocol::encodeReply(reply);
  if (line.size() > protocol::kMaxLineBytes) {
    // A peer cannot read a longer line (docs/architecture.md §3); say so instead.
    line = protocol::encodeReply(
        {req, protocol::ErrorReply{{Code::kResourceExhausted,
                                    "reply of " + std::to_string(line.size()) +
                                        " bytes exceeds the line limit of " +
                                        std::to_string(protocol::kMaxLineBytes) + " bytes",
                                    ""},
                                   ""}});
  }
  co_return line;
}

asio::awaitable<void> ProtocolServer::serve(std::shared_ptr<Connection> conn, protocol::Request request) {
  auto answering = answer(conn, std::move(request));
  std::string line = co_await std::move(answering);
  --conn->in_flight;
  conn->active = SteadyClock::now();  // idle from here, not from its last read
  conn->send(std::move(line));
  conn->drained.cancel();  // a slot is free: the reader may go on
}

asio::awaitable<void> ProtocolServer::writeLoop(std::shared_ptr<Connection> conn) {
  while (true) {
    while (!conn->outbox.empty()) {
      std::string line = std::move(conn->outbox.front());
      conn->outbox.pop_front();
      auto write = protocol::writeLine(conn->transport, std::move(line));  // see serve()
      if (auto s = co_await std::move(write); !s) {
        conn->closing = true;
        conn->outbox.clear();
        conn->wakeWriters();
        break;
      }
      conn->wakeWriters();
    }
    // Close once asked to and nothing is left to write or wait for.
    if (conn->closing && (conn->in_flight == 0 || conn->socket_closed)) break;
    if (stopping_) break;
    boost::system::error_code ec;
    conn->wake.expires_at(std::chrono::steady_clock::time_point::max());
    co_await conn->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  release(conn);
}

}  // namespace zp::agent
