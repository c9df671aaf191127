#include "server/nodes/agent_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/backoff.h"
#include "protocol/line_io.h"
#include "server/nodes/agent_link_connection.h"
#include "server/nodes/node_lifecycle.h"
#include "tls/transport.h"

namespace zp::server {

namespace asio = boost::asio;
using std::chrono::milliseconds;

using agent_link_detail::millis;

namespace {

// A TLS record (alert or handshake, version 3.x) where a JSON line was expected.
bool looksLikeTls(std::string_view line) {
  return line.size() >= 3 && (line[0] == '\x15' || line[0] == '\x16') && line[1] == '\x03';
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

struct AgentLink::Pending {
  explicit Pending(const asio::any_io_executor& ex, std::string what)
      : timer(ex), what(std::move(what)) {}
  asio::steady_timer timer;  // the call's timeout; cancelled when the reply comes
  std::string what;          // "NodeInfo to node ..." for errors
  bool done = false;
  Result<protocol::ReplyBody> reply = fail(Code::kInternal, "no reply");
  std::uint64_t seq = 0;
};

std::shared_ptr<AgentLink> AgentLink::create(asio::any_io_executor executor, std::string node_id,
                                             std::string address, AgentLinkOptions options,
                                             AgentLinkEvents events) {
  return std::shared_ptr<AgentLink>(new AgentLink(std::move(executor), std::move(node_id),
                                                  std::move(address), options, std::move(events)));
}

AgentLink::AgentLink(asio::any_io_executor executor, std::string node_id, std::string address,
                     AgentLinkOptions options, AgentLinkEvents events)
    : executor_(std::move(executor)),
      node_id_(std::move(node_id)),
      address_(std::move(address)),
      options_(options),
      events_(std::move(events)),
      retry_timer_(executor_) {}

AgentLink::~AgentLink() = default;

std::string AgentLink::describe(std::string_view what) const {
  return std::string(what) + " to node \"" + node_id_ + "\" at " + address_;
}

void AgentLink::start() {
  if (started_ || stopped_) return;
  started_ = true;
  asio::co_spawn(executor_, run(shared_from_this()), asio::detached);
}

void AgentLink::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  retry_timer_.cancel();
  if (current_) close(*current_, {}, "the link is shut down");
  for (auto& weak : log_connections_) {
    if (auto conn = weak.lock()) conn->shut();
  }
  log_connections_.clear();
  for (auto& waiter : slot_waiters_) waiter->cancel();
}

void AgentLink::reconnect(std::string_view reason, std::string message) {
  if (current_ && current_->open && current_->established) close(*current_, reason, message);
}

void AgentLink::tick(MonotonicTime now) {
  if (stopped_ || !connected_ || !current_) return;
  Connection& conn = *current_;
  if (conn.heartbeat_in_flight) return;
  // The connection's first tick: its first heartbeat is due a phase later.
  if (!conn.heartbeat_due) conn.heartbeat_due = now + options_.heartbeat_phase;
  if (now < *conn.heartbeat_due) return;
  // The next one stays on this link's grid (first due + k intervals) however
  // late this tick is. Counted from `now`, every link a busy server was late
  // for would gather on this one tick and stay together from then on, and a
  // thousand nodes' answers would come in a few bursts.
  const auto interval = std::max(options_.heartbeat_interval, std::chrono::milliseconds(1));
  conn.heartbeat_due =
      *conn.heartbeat_due + ((now - *conn.heartbeat_due) / interval + 1) * interval;
  conn.heartbeat_in_flight = true;
  asio::co_spawn(executor_, heartbeat(shared_from_this(), current_), asio::detached);
}

void AgentLink::report(std::string_view reason, const std::string& message) {
  last_error_ = message;
  if (stopped_) return;
  if (message != last_logged_) {
    spdlog::warn("node \"{}\" at {}: {} ({})", node_id_, address_, message, reason);
    last_logged_ = message;
  }
  if (events_.disconnected) events_.disconnected(reason, message);
}

void AgentLink::close(Connection& conn, std::string_view reason, const std::string& message) {
  if (!conn.open) return;
  conn.shut();
  if (&conn != current_.get()) return;
  const bool established = conn.established;
  connected_ = false;
  if (!message.empty()) last_error_ = message;
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [req, call] : pending) {
    call->done = true;
    call->reply = stopped_ ? fail(Code::kCancelled, call->what + ": the link is shut down")
                           : fail(Code::kUnavailable, call->what + ": connection lost: " + message);
    call->timer.cancel();
  }
  if (established && !stopped_) report(reason, message);
}

void AgentLink::releaseSlot() {
  if (!slot_waiters_.empty()) {
    // The slot passes to the first waiter: in_flight_ stays as it is.
    auto waiter = std::move(slot_waiters_.front());
    slot_waiters_.pop_front();
    waiter->cancel();
  } else if (in_flight_ > 0) {
    --in_flight_;
  }
}

asio::awaitable<void> AgentLink::run(Self self) {
  // 250 ms doubling to 5 s (the options'), reset after a resynced session.
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  while (!stopped_) {
    auto conn = std::make_shared<Connection>(executor_, options_.tls.get());
    current_ = conn;
    auto refused = co_await connectSocket(conn);
    if (stopped_) break;
    if (refused) {
      conn->shut();
      report(refused->reason, refused->message);
    } else {
      asio::co_spawn(executor_, readLoop(self, conn), asio::detached);
      asio::co_spawn(executor_, writeLoop(self, conn), asio::detached);
      co_await handshake(conn);
      // Only a connection that got through its resync resets the back-off: a
      // node that greets but cannot list is retried ever more slowly.
      if (conn->resynced) backoff.reset();
      if (conn->open && !stopped_) {
        boost::system::error_code ec;
        co_await conn->closed_signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    if (stopped_) break;
    retry_timer_.expires_after(backoff.next());
    boost::system::error_code ec;
    co_await retry_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> AgentLink::handshake(std::shared_ptr<Connection> conn) {
  protocol::RequestBody hello = protocol::Hello{node_id_, true};
  auto answer = co_await exchange(conn, std::move(hello), options_.hello_timeout);
  if (stopped_) co_return;
  std::string_view reason = node_reason::kHandshakeFailed;
  std::string failure;
  if (!answer.reply) {
    if (answer.reply.error().code == Code::kFailedPrecondition) {
      reason = node_reason::kNodeIdMismatch;
      failure = "the agent refused Hello: " + answer.reply.error().message;
    } else {
      failure = answer.reply.error().message;
      if (!conn->stream.secure() && answer.reply.error().code == Code::kUnavailable &&
          failure.find("answered with TLS") == std::string::npos) {
        failure += " (if the agent expects TLS: this server runs with --insecure-plaintext)";
      }
    }
  } else if (auto* info = std::get_if<api::NodeInfo>(&*answer.reply); info == nullptr) {
    failure = "the agent answered Hello with " + std::string(protocol::typeName(*answer.reply));
  } else if (info->node_id != node_id_) {
    reason = node_reason::kNodeIdMismatch;
    failure = "the agent at " + address_ + " is node \"" + info->node_id.substr(0, 80) +
              "\", not \"" + node_id_ + "\"";
  } else if (!conn->open) {
    failure = "the connection closed right after Hello (" + last_error_ + ")";
  } else {
    conn->established = true;
    connected_ = true;
    last_logged_.clear();
    isolation_revision_ =
        info->isolation ? std::optional<std::int64_t>(info->isolation_revision) : std::nullopt;
    spdlog::info("node \"{}\" at {}: connected ({} MB, {} millicores, classes [{}], version {})",
                 node_id_, address_, info->capacity.memory_mb, info->capacity.cpu_millicores,
                 joined(info->runtime_classes), info->version);
    if (events_.connected) events_.connected(*info);
  }
  if (!conn->established) {
    close(*conn, reason, failure);
    report(reason, failure);
    co_return;
  }

  // The resync: every page, merged with the pushes that arrive meanwhile.
  conn->phase = Connection::Phase::kResyncing;
  std::string after;
  while (true) {
    protocol::RequestBody list = protocol::ListWorkloads{options_.resync_page, after};
    auto page = co_await exchange(conn, std::move(list), options_.resync_timeout);
    if (stopped_ || !conn->open) co_return;  // lost: close() reported it
    std::string error;
    if (!page.reply) {
      error = page.reply.error().message;
    } else if (auto* l = std::get_if<protocol::WorkloadList>(&*page.reply)) {
      for (auto& item : l->items) {
        auto it = conn->listing.find(item.id);
        if (it == conn->listing.end()) {
          const std::string id = item.id;
          conn->listing.emplace(id, std::make_pair(std::move(item), page.seq));
        } else if (it->second.second < page.seq) {
          it->second = {std::move(item), page.seq};
        }
      }
      if (l->next.empty()) break;
      if (l->next <= after) {
        error = "the listing does not advance (continue \"" + l->next.substr(0, 80) + "\")";
      } else {
        after = l->next;
      }
    } else {
      error =
          "the agent answered ListWorkloads with " + std::string(protocol::typeName(*page.reply));
    }
    if (!error.empty()) {
      close(*conn, node_reason::kHandshakeFailed, "resync failed: " + error);
      co_return;
    }
  }

  conn->resynced = true;
  conn->phase = Connection::Phase::kHandingUp;
  std::vector<api::WorkloadStatus> items;
  items.reserve(conn->listing.size());
  for (auto& [id, entry] : conn->listing) items.push_back(std::move(entry.first));
  conn->listing.clear();
  if (events_.resynced) {
    auto handUp = events_.resynced;
    co_await handUp(std::move(items));
  }
  if (stopped_ || !conn->open) co_return;
  conn->phase = Connection::Phase::kLive;
  auto held = std::move(conn->held);
  conn->held.clear();
  for (const auto& status : held) {
    if (stopped_ || !conn->open) break;
    if (events_.pushed) events_.pushed(status);
  }
}

void AgentLink::onPush(Connection& conn, api::WorkloadStatus status, std::uint64_t seq) {
  switch (conn.phase) {
    case Connection::Phase::kHandshake:
    case Connection::Phase::kResyncing: {
      auto& entry = conn.listing[status.id];
      if (entry.second < seq) entry = {std::move(status), seq};
      return;
    }
    case Connection::Phase::kHandingUp:
      if (conn.held.size() >= options_.max_held_pushes) {
        // Bounded memory: the next connection's resync lists them all.
        close(conn, node_reason::kConnectionLost,
              "more than " + std::to_string(options_.max_held_pushes) +
                  " status changes arrived while the resync was handed up; reconnecting to "
                  "resync");
        std::vector<api::WorkloadStatus>().swap(conn.held);
        return;
      }
      conn.held.push_back(std::move(status));
      return;
    case Connection::Phase::kLive:
      if (events_.pushed) events_.pushed(status);
      return;
  }
}

asio::awaitable<void> AgentLink::readLoop(Self /*self*/, std::shared_ptr<Connection> conn) {
  protocol::LineReader<tls::Transport> reader(conn->stream, protocol::kMaxLineBytes);
  while (conn->open) {
    auto line = co_await reader.next();
    if (!conn->open || stopped_) co_return;
    if (!line) {
      std::string message = line.error().code == Code::kResourceExhausted
                                ? "the agent sent a " + line.error().message
                            : line.error().message == "connection closed"
                                ? "the agent closed the connection"
                                : "connection closed: " + line.error().message;
      if (conn->stream.secure() && line.error().message.find("alert") != std::string::npos) {
        // TLS 1.3: the agent checks our certificate after our handshake ended.
        message = "the agent refused the TLS connection (" + line.error().message +
                  "): does it trust this server's CA and certificate?";
      }
      close(*conn, node_reason::kConnectionLost, message);
      co_return;
    }
    const std::uint64_t seq = ++seq_;
    auto reply = protocol::decodeReply(*line);
    if (!reply) {
      std::string message = "undecodable line from the agent: " + reply.error().message;
      if (!conn->stream.secure() && looksLikeTls(*line)) {
        message =
            "the agent answered with TLS: it expects a TLS connection, and this server "
            "runs with --insecure-plaintext";
      }
      close(*conn, node_reason::kConnectionLost, message);
      co_return;
    }
    if (!reply->req) {
      if (auto* event = std::get_if<protocol::WorkloadEvent>(&reply->body)) {
        onPush(*conn, std::move(event->workload), seq);
        continue;
      }
      std::string message =
          "the agent sent " + std::string(protocol::typeName(reply->body)) + " without req";
      if (auto* error = std::get_if<protocol::ErrorReply>(&reply->body)) {
        message += ": " + error->error.message;
      }
      close(*conn, node_reason::kConnectionLost, message);
      co_return;
    }
    auto it = pending_.find(*reply->req);
    if (it == pending_.end()) continue;  // its call gave up (timeout): the late reply is dropped
    auto call = std::move(it->second);
    pending_.erase(it);
    call->done = true;
    call->seq = seq;
    if (auto* error = std::get_if<protocol::ErrorReply>(&reply->body)) {
      call->reply = fail(std::move(error->error));
    } else {
      call->reply = std::move(reply->body);
    }
    call->timer.cancel();
  }
}

asio::awaitable<void> AgentLink::writeLoop(Self /*self*/, std::shared_ptr<Connection> conn) {
  while (conn->open) {
    if (conn->out.empty()) {
      conn->wake.expires_at(asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await conn->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    std::string line = std::move(conn->out.front());
    conn->out.pop_front();
    auto written = co_await protocol::writeLine(conn->stream, std::move(line));
    if (!conn->open || stopped_) co_return;
    if (!written) {
      close(*conn, node_reason::kConnectionLost, "cannot send: " + written.error().message);
      co_return;
    }
  }
}

asio::awaitable<void> AgentLink::heartbeat(Self /*self*/, std::shared_ptr<Connection> conn) {
  protocol::RequestBody info = protocol::NodeInfo{isolation_revision_};
  auto answer = co_await exchange(conn, std::move(info), options_.heartbeat_timeout);
  conn->heartbeat_in_flight = false;
  if (stopped_ || !conn->open) co_return;
  if (answer.reply) {
    if (auto* node = std::get_if<api::NodeInfo>(&*answer.reply)) {
      if (node->isolation && conn == current_) isolation_revision_ = node->isolation_revision;
      if (events_.heartbeat) events_.heartbeat(*node);
    }
    co_return;
  }
  if (answer.reply.error().code == Code::kDeadlineExceeded) {
    close(*conn, node_reason::kNoHeartbeat, answer.reply.error().message);
  } else {
    spdlog::warn("node \"{}\": heartbeat failed: {}", node_id_, answer.reply.error().message);
  }
}

asio::awaitable<AgentLink::Outcome> AgentLink::exchange(std::shared_ptr<Connection> conn,
                                                        protocol::RequestBody request,
                                                        milliseconds timeout) {
  const std::string_view method = protocol::typeName(request);
  const auto started = std::chrono::steady_clock::now();
  std::string what = describe(method);
  if (!conn->open) {
    co_return counted(
        method, started, false,
        Outcome{fail(Code::kUnavailable, what + ": not connected (" + last_error_ + ")"), 0});
  }
  const std::string req = "zp-" + std::to_string(next_req_++);
  auto call = std::make_shared<Pending>(executor_, std::move(what));
  call->timer.expires_after(timeout);
  pending_.emplace(req, call);
  conn->out.push_back(protocol::encodeRequest(protocol::Request{req, std::move(request)}));
  conn->wake.cancel();
  if (!call->done) {
    boost::system::error_code ec;
    co_await call->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!call->done) {
    pending_.erase(req);
    co_return counted(
        method, started, true,
        Outcome{fail(Code::kDeadlineExceeded, call->what + ": no answer within " + millis(timeout)),
                0});
  }
  co_return counted(method, started, true, Outcome{std::move(call->reply), call->seq});
}

AgentLink::Outcome AgentLink::counted(std::string_view method,
                                      std::chrono::steady_clock::time_point started, bool sent,
                                      Outcome outcome) const {
  if (options_.metrics == nullptr) return outcome;
  if (sent) {
    options_.metrics->observe(
        method, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  if (!outcome.reply) options_.metrics->failed(method, outcome.reply.error().code);
  return outcome;
}

namespace {
// Gives the call's slot back when the call ends, however it ends.
struct SlotGuard {
  std::function<void()> release;
  ~SlotGuard() { release(); }
};
}  // namespace

asio::awaitable<Result<protocol::ReplyBody>> AgentLink::call(protocol::RequestBody request,
                                                             milliseconds timeout) {
  auto self = shared_from_this();
  const std::string what = describe(protocol::typeName(request));
  if (std::holds_alternative<protocol::Hello>(request) ||
      std::holds_alternative<protocol::Logs>(request)) {
    co_return fail(Code::kInvalidArgument,
                   what + ": the link sends Hello itself; Logs need openLogs()");
  }
  if (stopped_) co_return fail(Code::kCancelled, what + ": the link is shut down");
  if (!connected_)
    co_return fail(Code::kUnavailable, what + ": not connected (" + last_error_ + ")");
  const auto deadline = asio::steady_timer::clock_type::now() + timeout;
  if (in_flight_ >= options_.max_in_flight || !slot_waiters_.empty()) {
    auto waiter = std::make_shared<asio::steady_timer>(executor_, deadline);
    slot_waiters_.push_back(waiter);
    boost::system::error_code ec;
    co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (auto it = std::find(slot_waiters_.begin(), slot_waiters_.end(), waiter);
        it != slot_waiters_.end()) {
      slot_waiters_.erase(it);
      if (stopped_) co_return fail(Code::kCancelled, what + ": the link is shut down");
      co_return fail(Code::kDeadlineExceeded, what + ": no answer within " + millis(timeout) +
                                                  " (" + std::to_string(in_flight_) +
                                                  " calls in flight)");
    }
    // releaseSlot() handed its slot to this call.
  } else {
    ++in_flight_;
  }
  SlotGuard guard{[this] { releaseSlot(); }};
  if (stopped_) co_return fail(Code::kCancelled, what + ": the link is shut down");
  if (!connected_)
    co_return fail(Code::kUnavailable, what + ": not connected (" + last_error_ + ")");
  const auto left =
      std::chrono::ceil<milliseconds>(deadline - asio::steady_timer::clock_type::now());
  if (left <= milliseconds::zero()) {
    co_return fail(Code::kDeadlineExceeded, what + ": no answer within " + millis(timeout));
  }
  auto answer = co_await exchange(current_, std::move(request), left);
  co_return std::move(answer.reply);
}

}  // namespace zp::server
