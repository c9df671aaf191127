// AgentLink's log streams (docs/architecture.md §3, §7): each on a
// connection of its own, opened with Hello {node_id, subscribe: false} and
// then the Logs request; its lines are read as the consumer asks for them.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <string>

#include "protocol/line_io.h"
#include "protocol/messages.h"
#include "server/nodes/agent_link.h"
#include "server/nodes/agent_link_connection.h"
#include "tls/transport.h"

namespace zp::server {

namespace asio = boost::asio;
using agent_link_detail::millis;

namespace {

// A log stream on its own connection. The state is shared with a next() in
// progress, so destroying the stream (which closes the socket) is safe at
// any time: the pending read then ends kCancelled.
class AgentLogStream final : public LogStream {
 public:
  struct State {
    explicit State(std::shared_ptr<AgentLink::Connection> c, std::string what)
        : conn(std::move(c)), reader(conn->stream), what(std::move(what)) {}
    std::shared_ptr<AgentLink::Connection> conn;
    protocol::LineReader<tls::Transport> reader;
    std::string what;
    bool ended = false;
    bool cancelled = false;  // cancel() was called: every read answers kCancelled
  };

  explicit AgentLogStream(std::shared_ptr<State> state) : state_(std::move(state)) {}
  ~AgentLogStream() override;

  asio::awaitable<Result<Item>> next() override { return readNext(state_); }
  void cancel() override;

 private:
  static asio::awaitable<Result<Item>> readNext(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

AgentLogStream::~AgentLogStream() { state_->conn->shut(); }

void AgentLogStream::cancel() {
  state_->cancelled = true;
  state_->conn->shut();
}

asio::awaitable<Result<LogStream::Item>> AgentLogStream::readNext(std::shared_ptr<State> state) {
  if (state->cancelled) co_return fail(Code::kCancelled, state->what + ": the stream was closed");
  if (state->ended) co_return fail(Code::kUnavailable, state->what + ": the stream has ended");
  auto line = co_await state->reader.next();
  if (state->cancelled) {
    state->ended = true;
    co_return fail(Code::kCancelled, state->what + ": the stream was closed");
  }
  if (!line) {
    state->ended = true;
    state->conn->shut();
    if (line.error().code == Code::kCancelled) {
      co_return fail(Code::kCancelled, state->what + ": the stream was closed");
    }
    co_return fail(Code::kUnavailable, state->what + ": " + line.error().message);
  }
  auto reply = protocol::decodeReply(*line);
  if (!reply) {
    state->ended = true;
    state->conn->shut();
    co_return fail(Code::kUnavailable,
                   state->what + ": undecodable line from the agent: " + reply.error().message);
  }
  if (auto* l = std::get_if<protocol::LogLine>(&reply->body)) co_return Item{std::move(*l)};
  if (auto* m = std::get_if<protocol::LogMark>(&reply->body)) co_return Item{*m};
  state->ended = true;
  state->conn->shut();
  if (auto* end = std::get_if<protocol::LogEnd>(&reply->body)) co_return Item{std::move(*end)};
  if (auto* error = std::get_if<protocol::ErrorReply>(&reply->body)) {
    co_return fail(std::move(error->error));
  }
  co_return fail(Code::kUnavailable,
                 state->what + ": the agent sent " + std::string(protocol::typeName(reply->body)));
}

}  // namespace

std::size_t AgentLink::openLogStreams() {
  std::erase_if(log_connections_, [](const auto& weak) {
    auto conn = weak.lock();
    return !conn || !conn->open;
  });
  return log_connections_.size();
}

asio::awaitable<Result<std::unique_ptr<LogStream>>> AgentLink::openLogs(protocol::Logs request) {
  auto self = shared_from_this();
  const std::string what = describe("Logs");
  if (stopped_) co_return fail(Code::kCancelled, what + ": the link is shut down");
  if (const auto open = openLogStreams(); open >= options_.max_log_streams) {
    co_return fail(Code::kResourceExhausted, "too many log streams for node \"" + node_id_ +
                                                 "\" (" + std::to_string(open) + " open, at most " +
                                                 std::to_string(options_.max_log_streams) +
                                                 "); try again when one ends");
  }
  auto conn = std::make_shared<Connection>(executor_, options_.tls.get());
  log_connections_.push_back(conn);
  auto refused = co_await connectSocket(conn);
  if (stopped_) co_return fail(Code::kCancelled, what + ": the link is shut down");
  if (refused) {
    conn->shut();
    co_return fail(Code::kUnavailable, what + ": " + refused->message);
  }

  auto state = std::make_shared<AgentLogStream::State>(conn, what);
  conn->armDeadline(options_.hello_timeout);
  std::string hello_line =
      protocol::encodeRequest(protocol::Request{"hello", protocol::Hello{node_id_, false}});
  auto sent = co_await protocol::writeLine(conn->stream, std::move(hello_line));
  Result<std::string> line = fail(Code::kUnavailable, "not sent");
  if (sent) line = co_await state->reader.next();
  conn->deadline.cancel();
  if (stopped_) co_return fail(Code::kCancelled, what + ": the link is shut down");
  if (!line) {
    conn->shut();
    const std::string why = conn->timed_out
                                ? "no answer to Hello within " + millis(options_.hello_timeout)
                            : !sent ? sent.error().message
                                    : line.error().message;
    co_return fail(Code::kUnavailable, what + ": " + why);
  }
  auto reply = protocol::decodeReply(*line);
  if (!reply) {
    conn->shut();
    co_return fail(Code::kUnavailable,
                   what + ": undecodable line from the agent: " + reply.error().message);
  }
  if (auto* error = std::get_if<protocol::ErrorReply>(&reply->body)) {
    conn->shut();
    co_return fail(std::move(error->error));
  }
  auto* info = std::get_if<api::NodeInfo>(&reply->body);
  if (info == nullptr || info->node_id != node_id_) {
    conn->shut();
    co_return fail(Code::kFailedPrecondition,
                   what + ": the agent answered Hello " +
                       (info == nullptr ? "with " + std::string(protocol::typeName(reply->body))
                                        : "as node \"" + info->node_id.substr(0, 80) + "\""));
  }
  std::string logs_line = protocol::encodeRequest(protocol::Request{"logs", std::move(request)});
  sent = co_await protocol::writeLine(conn->stream, std::move(logs_line));
  if (stopped_) co_return fail(Code::kCancelled, what + ": the link is shut down");
  if (!sent) {
    conn->shut();
    co_return fail(Code::kUnavailable, what + ": " + sent.error().message);
  }
  co_return std::unique_ptr<LogStream>(std::make_unique<AgentLogStream>(std::move(state)));
}

}  // namespace zp::server
