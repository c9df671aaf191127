#include "sim/sim_node.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cstdio>
#include <vector>

#include "protocol/line_io.h"
#include "tls/tls_context.h"
#include "tls/transport.h"

namespace zp::sim {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Replies and pushes not yet written to a connection may take this much
// memory; a peer that stops reading for longer is disconnected (it resyncs
// with ListWorkloads when it reconnects, docs/architecture.md §3).
constexpr std::size_t kMaxUnsentBytes = 64u << 20;

// RFC 3339 with nanoseconds, as a runtime writes its log lines.
std::string logTime(TimePoint t) {
  std::string text = formatRfc3339(t);  // "…:SS.mmmZ"
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count() %
      1'000'000;
  char rest[8];
  std::snprintf(rest, sizeof rest, "%06lld", static_cast<long long>(nanos));
  text.insert(text.size() - 1, rest);
  return text;
}

protocol::ReplyBody errorBody(Error error, std::string id) {
  return protocol::ErrorReply{std::move(error), std::move(id)};
}

}  // namespace

// One accepted connection. Lines are appended to `pending` and written in
// batches (one write at a time, in order), so replies and pushes keep their
// order and a burst of pushes costs few system calls. On the node's io_context.
struct SimNode::Connection : std::enable_shared_from_this<SimNode::Connection> {
  Connection(tcp::socket s, asio::ssl::context* tls)
      : stream(tls ? tls::Transport(std::move(s), *tls) : tls::Transport(std::move(s))) {}

  void send(const protocol::Reply& reply) { sendLine(protocol::encodeReply(reply)); }

  void sendLine(std::string line) {
    if (closed) return;
    pending += line;
    pending.push_back('\n');
    if (pending.size() > kMaxUnsentBytes) {
      spdlog::warn("simulated node: a peer stopped reading; closing its connection");
      close();
      return;
    }
    if (!writing) writeNext();
  }

  // Writes what is queued, then closes.
  void closeAfterFlush() {
    closing = true;
    if (!writing) close();
  }

  void close() {
    closing = true;
    closed = true;
    stream.close();
    if (!writing) pending.clear();
  }

  void writeNext() {
    writing = true;
    sending.swap(pending);
    pending.clear();
    asio::async_write(stream, asio::buffer(sending),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->writing = false;
                        self->sending.clear();
                        if (self->closed) {
                          self->pending.clear();
                          return;
                        }
                        if (ec) {
                          self->close();
                        } else if (!self->pending.empty()) {
                          self->writeNext();
                        } else if (self->closing) {
                          self->close();
                        }
                      });
  }

  tls::Transport stream;
  std::string pending;  // lines not yet handed to a write
  std::string sending;  // the write in flight
  bool writing = false;
  bool closing = false;  // no more requests are read
  bool closed = false;
  bool greeted = false;  // a Hello with this node's id was answered
};

SimNode::SimNode(asio::io_context& io, RegistryOptions options, std::chrono::milliseconds run_delay,
                 std::shared_ptr<asio::ssl::context> tls)
    : io_(io),
      registry_(std::move(options)),
      run_delay_(run_delay),
      tls_(std::move(tls)),
      acceptor_(io),
      run_timer_(io) {}

SimNode::~SimNode() = default;

Result<tcp::endpoint> SimNode::listen(const std::string& host) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return fail(Code::kInvalidArgument, "invalid listen address \"" + host + "\"", "host");
  const tcp::endpoint endpoint(address, 0);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(Code::kUnavailable,
                "node " + id() + ": cannot listen on " + host + ": " + ec.message(), "host");
  }
  auto bound = acceptor_.local_endpoint(ec);
  if (ec) return fail(Code::kUnavailable, "node " + id() + ": " + ec.message());
  return bound;
}

void SimNode::start() { asio::co_spawn(io_, acceptLoop(), asio::detached); }

void SimNode::stop() {
  stopping_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  run_timer_.cancel();
  for (const auto& conn : connections_) conn->close();
  connections_.clear();
  subscribers_.clear();
}

asio::awaitable<void> SimNode::acceptLoop() {
  while (!stopping_) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      // E.g. out of file descriptors: pause instead of spinning.
      spdlog::warn("node {}: accept failed: {}", id(), ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(std::move(socket), tls_.get());
    connections_.insert(conn);
    asio::co_spawn(io_, serve(conn), asio::detached);
  }
}

asio::awaitable<bool> SimNode::secure(std::shared_ptr<Connection> conn) {
  if (!conn->stream.secure()) co_return true;
  conn->stream.tcp().expires_after(std::chrono::seconds(10));
  auto shaken = co_await conn->stream.handshake(tls::Transport::Role::kServer);
  conn->stream.tcp().expires_never();
  Status peer = shaken;
  if (peer) peer = tls::requirePeer(conn->stream.ssl(), tls::Identity::server());
  if (!peer) spdlog::warn("node {}: TLS: {}", id(), peer.error().message);
  co_return static_cast<bool>(peer);
}

asio::awaitable<void> SimNode::serve(std::shared_ptr<Connection> conn) {
  if (!co_await secure(conn)) {
    conn->close();
    connections_.erase(conn);
    co_return;
  }
  protocol::LineReader<tls::Transport> reader(conn->stream);
  while (!conn->closing && !stopping_) {
    auto line = co_await reader.next();
    if (!line) {
      if (line.error().code == Code::kResourceExhausted) {
        conn->send({std::nullopt, errorBody(line.error(), "")});
        conn->closeAfterFlush();
      } else {
        conn->close();
      }
      break;
    }
    if (line->empty()) continue;  // blank lines are keep-alives
    auto request = protocol::decodeRequest(*line);
    if (!request) {
      auto& e = request.error();
      conn->send({e.req, errorBody(e.error, e.id)});
      continue;
    }
    handle(conn, std::move(*request));
  }
  subscribers_.erase(conn);
  connections_.erase(conn);
}

void SimNode::handle(const std::shared_ptr<Connection>& conn, protocol::Request request) {
  const auto& req = request.req;
  auto& body = request.body;
  const TimePoint now = std::chrono::system_clock::now();
  if (auto* hello = std::get_if<protocol::Hello>(&body)) {
    if (hello->node_id != id()) {
      conn->send({req, errorBody({Code::kFailedPrecondition,
                                  "this is node \"" + id() + "\", not \"" + hello->node_id + "\"",
                                  "node_id"},
                                 "")});
      conn->closeAfterFlush();
      return;
    }
    conn->greeted = true;
    if (hello->subscribe) subscribers_.insert(conn);
    conn->send({req, registry_.nodeInfo()});
    return;
  }
  if (!conn->greeted) {
    conn->send({req, errorBody({Code::kFailedPrecondition,
                                "the first request on a connection must be Hello", ""},
                               "")});
    return;
  }
  if (auto* m = std::get_if<protocol::StartWorkload>(&body)) {
    auto started = registry_.start(m->workload, m->uid, now);
    if (!started) {
      conn->send({req, errorBody(started.error(), m->workload.id)});
      return;
    }
    conn->send({req, started->status});
    if (started->changed) scheduleRun(started->status);
  } else if (auto* m = std::get_if<protocol::GetStatus>(&body)) {
    auto status = registry_.status(m->id);
    conn->send({req, status ? protocol::ReplyBody{*status} : errorBody(status.error(), m->id)});
  } else if (auto* m = std::get_if<protocol::StopWorkload>(&body)) {
    auto stopped = registry_.stop(m->id, now);
    if (!stopped) {
      conn->send({req, errorBody(stopped.error(), m->id)});
      return;
    }
    conn->send({req, stopped->status});
    if (stopped->changed) push(stopped->status);
  } else if (auto* m = std::get_if<protocol::RemoveWorkload>(&body)) {
    auto removed = registry_.remove(m->id, m->uid);
    conn->send({req, removed ? protocol::ReplyBody{protocol::Removed{m->id}}
                             : errorBody(removed.error(), m->id)});
  } else if (auto* m = std::get_if<protocol::ListWorkloads>(&body)) {
    conn->send({req, registry_.list(m->limit, m->after)});
  } else if (auto* m = std::get_if<protocol::NodeInfo>(&body)) {
    conn->send({req, registry_.nodeInfo(m->isolation_revision)});
  } else if (auto* m = std::get_if<protocol::ProbeIsolation>(&body)) {
    auto probed = registry_.probe(m->runtime_class);
    conn->send({req, probed ? protocol::ReplyBody{*probed} : errorBody(probed.error(), "")});
  } else if (auto* m = std::get_if<protocol::Logs>(&body)) {
    handleLogs(*conn, req, *m);
  } else if (auto* m = std::get_if<protocol::ExecSync>(&body)) {
    conn->send({req, errorBody(Error{Code::kUnimplemented, "a simulated node runs no commands", ""},
                               m->workload_id)});
  }
}

void SimNode::handleLogs(Connection& conn, const std::optional<std::string>& req,
                         const protocol::Logs& logs) {
  if (!registry_.contains(logs.id)) {
    conn.send({req, protocol::LogEnd{"NotFound"}});
    return;
  }
  // Three lines: the second on stderr, the others on stdout; `stream` keeps
  // one stream's, and `tail` counts the lines kept.
  constexpr int kLines = 3;
  const TimePoint now = std::chrono::system_clock::now();
  std::vector<protocol::LogLine> lines;
  for (int i = 0; i < kLines; ++i) {
    std::string stream = i == 1 ? "stderr" : "stdout";
    if (logs.stream && stream != *logs.stream) continue;
    lines.push_back({logTime(now), std::move(stream),
                     "simulated line " + std::to_string(i + 1) + " of " + logs.id + " on " + id()});
  }
  const std::size_t first =
      logs.tail ? lines.size() - std::min(lines.size(), static_cast<std::size_t>(*logs.tail)) : 0;
  for (std::size_t i = first; i < lines.size(); ++i) conn.send({req, std::move(lines[i])});
  conn.send({req, protocol::LogEnd{"Completed"}});
}

void SimNode::push(const api::WorkloadStatus& status) {
  if (subscribers_.empty()) return;
  const std::string line = protocol::encodeReply({std::nullopt, protocol::WorkloadEvent{status}});
  for (const auto& conn : subscribers_) conn->sendLine(line);
}

void SimNode::scheduleRun(const api::WorkloadStatus& status) {
  due_.push_back({std::chrono::steady_clock::now() + run_delay_, status.id, status.uid});
  if (!run_timer_armed_) armRunTimer();
}

void SimNode::armRunTimer() {
  run_timer_armed_ = true;
  run_timer_.expires_at(due_.front().due);
  run_timer_.async_wait([this](boost::system::error_code ec) {
    run_timer_armed_ = false;
    if (ec || stopping_) return;
    runDue();
  });
}

void SimNode::runDue() {
  const auto now = std::chrono::steady_clock::now();
  const TimePoint wall = std::chrono::system_clock::now();
  while (!due_.empty() && due_.front().due <= now) {
    const DueRun run = std::move(due_.front());
    due_.pop_front();
    if (auto running = registry_.markRunning(run.id, run.uid, wall)) push(*running);
  }
  if (!due_.empty()) armRunTimer();
}

}  // namespace zp::sim
