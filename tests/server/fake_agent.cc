#include "fake_agent.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <future>

#include "protocol/line_io.h"
#include "tls/tls_context.h"
#include "tls/transport.h"

namespace zp::server::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};

bool isFinal(api::WorkloadState state) {
  return state == api::WorkloadState::kSucceeded || state == api::WorkloadState::kFailed;
}
}  // namespace

static bool isSlow(const protocol::RequestBody& body) {
  return std::holds_alternative<protocol::StopWorkload>(body) ||
         std::holds_alternative<protocol::RemoveWorkload>(body) ||
         std::holds_alternative<protocol::ProbeIsolation>(body);
}

namespace {
tls::Transport transportFor(tcp::socket socket, asio::ssl::context* tls) {
  return tls ? tls::Transport(std::move(socket), *tls) : tls::Transport(std::move(socket));
}
}  // namespace

struct FakeAgent::Conn {
  Conn(tcp::socket s, asio::ssl::context* tls)
      : stream(transportFor(std::move(s), tls)),
        wake(stream.get_executor()),
        slot(stream.get_executor()) {}
  void enqueue(std::optional<std::string> line) {
    out.push_back(std::move(line));
    wake.cancel();
  }
  void close() {
    open = false;
    stream.close();
    wake.cancel();
    slot.cancel();
  }
  tls::Transport stream;
  asio::steady_timer wake;
  asio::steady_timer slot;  // cancelled when held slow calls are answered
  std::vector<protocol::Request> held_slow;  // slow calls not answered yet
  std::deque<std::optional<std::string>> out;  // nullopt: end the connection there
  bool open = true;                            // requests are still served
  bool hello = false;                          // a Hello with this node's id was answered
  bool subscribed = false;
  std::multimap<std::string, std::string> follows;  // workload id -> req of a Logs follow
};

FakeAgent::FakeAgent(std::string node_id, std::vector<std::string> runtime_classes,
                     api::Resources capacity, std::shared_ptr<asio::ssl::context> tls)
    : node_id_(std::move(node_id)),
      runtime_classes_(std::move(runtime_classes)),
      capacity_(capacity),
      tls_(std::move(tls)),
      work_(io_.get_executor()),
      acceptor_(io_) {
  listen();
  acceptLoop();
  thread_ = std::thread([this] { io_.run(); });
}

FakeAgent::~FakeAgent() {
  onIo([this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (const auto& conn : conns_) conn->close();
  });
  work_.reset();
  io_.stop();
  thread_.join();
  conns_.clear();
  held_.clear();
}

void FakeAgent::onIo(const std::function<void()>& f) const {
  std::promise<void> done;
  asio::post(io_, [&] {
    f();
    done.set_value();
  });
  done.get_future().wait();
}

void FakeAgent::listen() {
  const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port_);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
}

std::string FakeAgent::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::optional<api::WorkloadStatus> FakeAgent::workload(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = workloads_.find(id);
  if (it == workloads_.end()) return std::nullopt;
  return it->second;
}

void FakeAgent::setState(const std::string& id, api::WorkloadState state, std::string reason,
                         std::optional<int> exit_code) {
  api::WorkloadStatus copy;
  {
    std::lock_guard lock(mu_);
    auto& status = workloads_[id];
    status.id = id;
    status.node = node_id_;
    status.state = state;
    status.reason = std::move(reason);
    status.exit_code = exit_code;
    copy = status;
  }
  if (auto_push_) push(copy);
}

void FakeAgent::put(api::WorkloadStatus status) {
  std::lock_guard lock(mu_);
  const std::string id = status.id;
  workloads_[id] = std::move(status);
}

void FakeAgent::forget(const std::string& id) {
  std::lock_guard lock(mu_);
  workloads_.erase(id);
}

void FakeAgent::failStarts(std::optional<Error> error) {
  std::lock_guard lock(mu_);
  start_error_ = std::move(error);
}

void FakeAgent::push(const api::WorkloadStatus& status) {
  onIo([&] { pushLocked(status); });
}

void FakeAgent::pushLocked(const api::WorkloadStatus& status) {
  const std::string line =
      protocol::encodeReply(protocol::Reply{std::nullopt, protocol::WorkloadEvent{status}});
  for (const auto& conn : conns_) {
    if (conn->open && conn->subscribed) conn->enqueue(line);
  }
}

void FakeAgent::pushAfterNextList(const api::WorkloadStatus& status) {
  onIo([&] { push_after_list_.push_back(status); });
}

void FakeAgent::sendRaw(const std::string& line) {
  onIo([&] {
    for (const auto& conn : conns_) {
      if (conn->open && conn->hello) conn->enqueue(line);
    }
  });
}

void FakeAgent::holdReplies(int n) {
  onIo([&] { hold_ = n; });
}

void FakeAgent::holdSlowCalls(bool on) {
  onIo([&] { hold_slow_ = on; });
}

void FakeAgent::releaseSlowCalls() {
  onIo([this] {
    hold_slow_ = false;
    for (const auto& conn : conns_) {
      auto held = std::move(conn->held_slow);
      conn->held_slow.clear();
      for (const auto& request : held) {
        if (conn->open) send(conn, protocol::Reply{request.req, handle(request.body)});
      }
      conn->slot.cancel();
    }
  });
}

int FakeAgent::heldSlowCalls() const {
  int n = 0;
  onIo([&] {
    for (const auto& conn : conns_) n += static_cast<int>(conn->held_slow.size());
  });
  return n;
}

void FakeAgent::setMaxSlowCalls(int n) {
  onIo([&] { max_slow_ = n; });
}

void FakeAgent::setLog(const std::string& id, std::vector<protocol::LogLine> lines) {
  onIo([&] { logs_[id] = std::move(lines); });
}

void FakeAgent::appendLog(const std::string& id, const protocol::LogLine& line) {
  onIo([&] {
    logs_[id].push_back(line);
    for (const auto& conn : conns_) {
      auto [begin, end] = conn->follows.equal_range(id);
      for (auto it = begin; it != end; ++it) {
        conn->enqueue(protocol::encodeReply(protocol::Reply{it->second, line}));
      }
    }
  });
}

void FakeAgent::endLogs(const std::string& id) {
  onIo([&] {
    for (const auto& conn : conns_) {
      auto [begin, end] = conn->follows.equal_range(id);
      for (auto it = begin; it != end; ++it) {
        conn->enqueue(
            protocol::encodeReply(protocol::Reply{it->second, protocol::LogEnd{"Completed"}}));
      }
      conn->follows.erase(id);
    }
  });
}

void FakeAgent::dropConnections() {
  onIo([this] {
    for (const auto& conn : conns_) conn->close();
    conns_.clear();
  });
}

void FakeAgent::stop() {
  onIo([this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (const auto& conn : conns_) conn->close();
    conns_.clear();
  });
}

void FakeAgent::restart() {
  onIo([this] {
    if (acceptor_.is_open()) return;
    listen();
    acceptLoop();
  });
}

int FakeAgent::count(const std::string& type) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(type);
  return it == counts_.end() ? 0 : it->second;
}

void FakeAgent::resetCounts() {
  std::lock_guard lock(mu_);
  counts_.clear();
}

int FakeAgent::connections() const {
  int n = 0;
  onIo([&] { n = static_cast<int>(conns_.size()); });
  return n;
}

int FakeAgent::tlsFailures() const {
  std::lock_guard lock(mu_);
  return tls_failures_;
}

std::string FakeAgent::lastTlsFailure() const {
  std::lock_guard lock(mu_);
  return last_tls_failure_;
}

int FakeAgent::subscribers() const {
  int n = 0;
  onIo([&] {
    for (const auto& conn : conns_) n += conn->open && conn->subscribed ? 1 : 0;
  });
  return n;
}

protocol::ReplyBody FakeAgent::handle(const protocol::RequestBody& request) {
  std::vector<api::WorkloadStatus> pushes;
  protocol::ReplyBody reply;
  {
    std::lock_guard lock(mu_);
    const auto notFound = [&](const std::string& id) {
      return protocol::ErrorReply{
          Error{Code::kNotFound, "no workload \"" + id + "\" on node \"" + node_id_ + "\"", ""},
          id};
    };
    reply = std::visit(
        Overloaded{
            [&](const protocol::StartWorkload& m) -> protocol::ReplyBody {
              starts_.emplace_back(m.workload.id, m.uid);
              if (start_error_) return protocol::ErrorReply{*start_error_, m.workload.id};
              auto it = workloads_.find(m.workload.id);
              if (it != workloads_.end()) {
                if (!m.uid.empty() && it->second.uid != m.uid) {
                  return protocol::ErrorReply{
                      Error{Code::kAlreadyExists,
                            "workload \"" + m.workload.id + "\" exists with another uid", "id"},
                      m.workload.id};
                }
                return it->second;
              }
              api::WorkloadStatus status;
              status.id = m.workload.id;
              status.uid = m.uid.empty() ? "u-" + std::to_string(next_uid_++) : m.uid;
              status.node = node_id_;
              status.state = api::WorkloadState::kPending;
              status.reason = std::string(api::reason::kCreating);
              workloads_[status.id] = status;
              pushes.push_back(status);
              return status;
            },
            [&](const protocol::GetStatus& m) -> protocol::ReplyBody {
              auto it = workloads_.find(m.id);
              if (it == workloads_.end()) return notFound(m.id);
              return it->second;
            },
            [&](const protocol::StopWorkload& m) -> protocol::ReplyBody {
              auto it = workloads_.find(m.id);
              if (it == workloads_.end()) return notFound(m.id);
              if (!isFinal(it->second.state)) {
                it->second.state = api::WorkloadState::kFailed;
                pushes.push_back(it->second);
              }
              return it->second;
            },
            [&](const protocol::RemoveWorkload& m) -> protocol::ReplyBody {
              last_grace_seconds_ = m.timeout_seconds;
              removals_.emplace_back(m.id, m.uid);
              auto it = workloads_.find(m.id);
              if (it == workloads_.end()) return notFound(m.id);
              if (m.uid.empty() || it->second.uid == m.uid) workloads_.erase(it);
              return protocol::Removed{m.id};
            },
            [&](const protocol::ListWorkloads& m) -> protocol::ReplyBody {
              protocol::WorkloadList list;
              auto it = m.after.empty() ? workloads_.begin() : workloads_.upper_bound(m.after);
              for (;
                   it != workloads_.end() && static_cast<std::int64_t>(list.items.size()) < m.limit;
                   ++it) {
                list.items.push_back(it->second);
              }
              if (it != workloads_.end() && !list.items.empty()) list.next = list.items.back().id;
              return list;
            },
            [&](const protocol::NodeInfo& m) -> protocol::ReplyBody {
              info_revisions_.push_back(m.isolation_revision);
              return nodeInfoLocked(m.isolation_revision != isolation_revision_);
            },
            [&](const protocol::ProbeIsolation& m) -> protocol::ReplyBody {
              probes_.push_back(m.runtime_class);
              if (!verifies_) {
                return protocol::ErrorReply{
                    Error{Code::kUnimplemented, "this agent does not probe isolation", ""}, ""};
              }
              if (!m.runtime_class.empty() &&
                  std::find(runtime_classes_.begin(), runtime_classes_.end(), m.runtime_class) ==
                      runtime_classes_.end()) {
                return protocol::ErrorReply{
                    Error{Code::kNotFound,
                          "node \"" + node_id_ + "\" has no runtime class \"" + m.runtime_class +
                              "\"",
                          "runtime_class"},
                    ""};
              }
              if (probe_result_) {
                isolation_ = std::move(*probe_result_);
                probe_result_.reset();
                ++isolation_revision_;
              }
              return nodeInfoLocked(true);
            },
            [&](const protocol::ExecSync& m) -> protocol::ReplyBody {
              execs_.push_back(m);
              if (exec_answer_) return exec_answer_(m);
              if (!workloads_.contains(m.workload_id)) return notFound(m.workload_id);
              protocol::ExecResult result;
              for (const auto& word : m.command) result.stdout_text += word + "\n";
              return result;
            },
            [&](const auto&) -> protocol::ReplyBody {  // Hello, Logs: handled by onLine
              return protocol::ErrorReply{Error{Code::kInternal, "unexpected", ""}, ""};
            },
        },
        request);
  }
  if (auto_push_) {
    for (const auto& status : pushes) pushLocked(status);
  }
  return reply;
}

api::NodeInfo FakeAgent::nodeInfoLocked(bool with_isolation) {
  api::NodeInfo info;
  info.node_id = node_id_;
  info.capacity = capacity_;
  info.allocatable = capacity_;
  info.runtime_classes = runtime_classes_;
  info.version = "fake";
  info.workloads = static_cast<int>(workloads_.size());
  info.isolation_revision = isolation_revision_;
  if (with_isolation && verifies_) {
    info.isolation = isolation_;
    ++isolation_lists_;
  }
  return info;
}

void FakeAgent::setIsolation(std::vector<api::ClassIsolation> classes) {
  std::lock_guard lock(mu_);
  isolation_ = std::move(classes);
  ++isolation_revision_;
}

void FakeAgent::setVerifies(bool on) {
  std::lock_guard lock(mu_);
  verifies_ = on;
}

std::int64_t FakeAgent::isolationRevision() const {
  std::lock_guard lock(mu_);
  return isolation_revision_;
}

void FakeAgent::setProbeResult(std::vector<api::ClassIsolation> classes) {
  std::lock_guard lock(mu_);
  probe_result_ = std::move(classes);
}

std::vector<std::optional<std::int64_t>> FakeAgent::nodeInfoRevisions() const {
  std::lock_guard lock(mu_);
  return info_revisions_;
}

void FakeAgent::setExecAnswer(std::function<protocol::ReplyBody(const protocol::ExecSync&)> answer) {
  std::lock_guard lock(mu_);
  exec_answer_ = std::move(answer);
}

std::vector<protocol::ExecSync> FakeAgent::execs() const {
  std::lock_guard lock(mu_);
  return execs_;
}

std::vector<std::string> FakeAgent::probes() const {
  std::lock_guard lock(mu_);
  return probes_;
}

int FakeAgent::isolationLists() const {
  std::lock_guard lock(mu_);
  return isolation_lists_;
}

void FakeAgent::send(const std::shared_ptr<Conn>& conn, protocol::Reply reply) {
  if (mode_ == Mode::kWrongReq && reply.req) reply.req = "not-" + *reply.req;
  if (hold_ > 0) {
    held_.emplace_back(conn, std::move(reply));
    if (--hold_ == 0) {
      auto held = std::move(held_);
      held_.clear();
      for (auto it = held.rbegin(); it != held.rend(); ++it) {
        it->first->enqueue(protocol::encodeReply(it->second));
      }
    }
    return;
  }
  conn->enqueue(protocol::encodeReply(reply));
}

void FakeAgent::onLine(const std::shared_ptr<Conn>& conn, const std::string& line) {
  auto request = protocol::decodeRequest(line);
  if (!request) {
    send(conn, protocol::Reply{request.error().req,
                               protocol::ErrorReply{request.error().error, request.error().id}});
    return;
  }
  {
    std::lock_guard lock(mu_);
    ++counts_[std::string(protocol::typeName(request->body))];
  }
  const auto refuse = [&](std::string message) {
    send(conn, protocol::Reply{request->req,
                               protocol::ErrorReply{
                                   Error{Code::kFailedPrecondition, std::move(message), ""}, ""}});
  };
  if (auto* hello = std::get_if<protocol::Hello>(&request->body)) {
    if (conn->hello) return refuse("Hello was already answered on this connection");
    if (hello->node_id != node_id_) {
      refuse("this agent is node \"" + node_id_ + "\", not \"" + hello->node_id + "\"");
      conn->open = false;
      conn->enqueue(std::nullopt);  // close once the refusal is written
      return;
    }
    conn->hello = true;
    conn->subscribed = hello->subscribe;
    api::NodeInfo info;
    {
      std::lock_guard lock(mu_);
      info = nodeInfoLocked(true);
    }
    send(conn, protocol::Reply{request->req, std::move(info)});
    return;
  }
  if (!conn->hello) return refuse("the first request on a connection must be Hello");
  if (auto* logs = std::get_if<protocol::Logs>(&request->body)) {
    auto it = logs_.find(logs->id);
    if (it == logs_.end()) {
      send(conn, protocol::Reply{request->req, protocol::LogEnd{"NotFound"}});
      return;
    }
    // Like the agent: only the asked stream, and the tail counts its lines.
    std::vector<protocol::LogLine> lines;
    for (const auto& line : it->second) {
      if (!logs->stream || line.stream == *logs->stream) lines.push_back(line);
    }
    std::size_t first = 0;
    if (logs->tail && static_cast<std::size_t>(*logs->tail) < lines.size()) {
      first = lines.size() - static_cast<std::size_t>(*logs->tail);
    }
    for (std::size_t i = first; i < lines.size(); ++i) {
      send(conn, protocol::Reply{request->req, lines[i]});
    }
    if (logs->follow) {
      conn->follows.emplace(logs->id, request->req.value_or(""));
    } else {
      send(conn, protocol::Reply{request->req, protocol::LogEnd{"Completed"}});
    }
    return;
  }
  if (hold_slow_ && isSlow(request->body)) {
    conn->held_slow.push_back(std::move(*request));
    return;
  }
  protocol::ReplyBody body = handle(request->body);
  send(conn, protocol::Reply{request->req, std::move(body)});
  if (std::holds_alternative<protocol::ListWorkloads>(request->body)) {
    auto pushes = std::move(push_after_list_);
    push_after_list_.clear();
    for (const auto& status : pushes) pushLocked(status);
  }
}

void FakeAgent::serve(std::shared_ptr<Conn> conn) {
  conns_.insert(conn);
  if (!conn->stream.secure()) {
    startConversation(conn);
    return;
  }
  // Like the agent: the handshake, then the peer must be the server.
  asio::co_spawn(
      io_,
      [this, conn]() -> asio::awaitable<void> {
        conn->stream.tcp().expires_after(std::chrono::seconds(10));
        auto shaken = co_await conn->stream.handshake(tls::Transport::Role::kServer);
        conn->stream.tcp().expires_never();
        Status peer = shaken ? tls::requirePeer(conn->stream.ssl(), tls::Identity::server())
                             : Status(fail(shaken.error()));
        if (!peer) {
          {
            std::lock_guard lock(mu_);
            ++tls_failures_;
            last_tls_failure_ = peer.error().message;
          }
          conn->close();
          conns_.erase(conn);
          co_return;
        }
        if (conn->open) startConversation(conn);
      },
      asio::detached);
}

void FakeAgent::startConversation(const std::shared_ptr<Conn>& conn) {
  // Reader: one request per line, answered in order.
  asio::co_spawn(
      io_,
      [this, conn]() -> asio::awaitable<void> {
        protocol::LineReader<tls::Transport> reader(conn->stream);
        while (true) {
          // The agent's limit: nothing more is read while the connection
          // holds max_slow_ slow calls.
          while (conn->open && max_slow_ > 0 &&
                 static_cast<int>(conn->held_slow.size()) >= max_slow_) {
            conn->slot.expires_at(asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await conn->slot.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          }
          auto line = co_await reader.next();
          if (!line) break;
          if (!conn->open) continue;     // refused: drain until the peer closes
          if (mode_ == Mode::kSilent) {  // counted, never answered
            if (auto request = protocol::decodeRequest(*line)) {
              std::lock_guard lock(mu_);
              ++counts_[std::string(protocol::typeName(request->body))];
            }
            continue;
          }
          onLine(conn, *line);
        }
        conn->close();
        conns_.erase(conn);
      },
      asio::detached);
  // Writer: replies and pushes, in order.
  asio::co_spawn(
      io_,
      [this, conn]() -> asio::awaitable<void> {
        while (conn->stream.socket().is_open()) {
          if (conn->out.empty()) {
            conn->wake.expires_at(asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await conn->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
          }
          auto next = std::move(conn->out.front());
          conn->out.pop_front();
          if (!next) {
            boost::system::error_code ignored;
            conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
            co_return;
          }
          auto written = co_await protocol::writeLine(conn->stream, std::move(*next));
          if (!written) break;
        }
        conn->close();
        conns_.erase(conn);
      },
      asio::detached);
}

void FakeAgent::acceptLoop() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) return;  // closed
    if (mode_ == Mode::kDown) {
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      serve(std::make_shared<Conn>(std::move(socket), tls_.get()));
    }
    acceptLoop();
  });
}

}  // namespace zp::server::testing
