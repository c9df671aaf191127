#include "server/agent_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/line_io.h"
#include "common/address.h"

namespace zp::server {

namespace asio = boost::asio;
using asio::ip::tcp;

bool isUnreachable(const Error& error) {
  return error.code == Code::kUnavailable || error.code == Code::kDeadlineExceeded;
}

// Everything one call touches, shared with the timer that may abort it.
struct TcpAgentClient::Exchange {
  explicit Exchange(const asio::any_io_executor& ex) : resolver(ex), socket(ex), timer(ex) {}
  void abort() {
    resolver.cancel();
    boost::system::error_code ignored;
    socket.close(ignored);
  }
  tcp::resolver resolver;
  tcp::socket socket;
  asio::steady_timer timer;
  bool timed_out = false;
  bool cancelled = false;
};

namespace {

// Resolve, connect, write one line, read one line. The caller's timer may
// close the socket underneath; errors then surface here as I/O errors.
asio::awaitable<Result<std::string>> exchange(TcpAgentClient::Exchange& x, const HostPort& hp,
                                              std::string line) {
  boost::system::error_code ec;
  // Arguments of co_await expressions are kept to plain names: g++ 12
  // mishandles some temporaries that live across a suspension point.
  const std::string port = std::to_string(hp.port);
  auto endpoints = co_await x.resolver.async_resolve(hp.host, port,
                                                     asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(Code::kUnavailable, "cannot resolve \"" + hp.host + "\": " + ec.message());
  co_await asio::async_connect(x.socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(Code::kUnavailable, "cannot connect: " + ec.message());
  if (auto s = co_await protocol::writeLine(x.socket, std::move(line)); !s) {
    co_return fail(Code::kUnavailable, "cannot send: " + s.error().message);
  }
  protocol::LineReader<tcp::socket> reader(x.socket);
  auto reply = co_await reader.next();
  if (!reply) {
    if (reply.error().code == Code::kResourceExhausted)
      co_return fail(Code::kInternal, reply.error().message);
    co_return fail(Code::kUnavailable, "no reply: " + reply.error().message);
  }
  co_return std::move(*reply);
}

}  // namespace

asio::awaitable<Result<protocol::ReplyBody>> TcpAgentClient::call(
    const std::string& address, protocol::RequestBody request, std::chrono::milliseconds timeout) {
  const std::string type(protocol::typeName(request));
  const std::string where = type + " to agent at " + address;
  if (shut_down_) co_return fail(Code::kCancelled, where + ": the server is shutting down");
  auto hp = parseHostPort(address, "address");
  if (!hp) co_return fail(Code::kUnavailable, where + ": " + hp.error().message);

  const std::string req = "zp-" + std::to_string(next_req_++);
  auto executor = co_await asio::this_coro::executor;
  auto x = std::make_shared<Exchange>(executor);
  const std::uint64_t call_id = next_call_++;
  in_flight_[call_id] = x;
  x->timer.expires_after(timeout);
  x->timer.async_wait([x](const boost::system::error_code& ec) {
    if (ec || x->cancelled) return;
    x->timed_out = true;
    x->abort();
  });

  protocol::Request envelope{req, std::move(request)};
  std::string request_line = protocol::encodeRequest(envelope);
  auto line = co_await exchange(*x, *hp, std::move(request_line));
  x->timer.cancel();
  x->abort();
  in_flight_.erase(call_id);

  if (x->cancelled) co_return fail(Code::kCancelled, where + ": the server is shutting down");
  if (x->timed_out) {
    co_return fail(Code::kDeadlineExceeded,
                   where + ": no answer within " + std::to_string(timeout.count()) + " ms");
  }
  if (!line) co_return fail(line.error().code, where + ": " + line.error().message);
  auto reply = protocol::decodeReply(*line);
  if (!reply) co_return fail(Code::kInternal, where + ": " + reply.error().message);
  auto* error = std::get_if<protocol::ErrorReply>(&reply->body);
  // An agent that could not read our request may not know its req.
  if (reply->req != req && !(error != nullptr && !reply->req)) {
    co_return fail(Code::kInternal, where + ": reply carries req \"" + reply->req.value_or("") +
                                        "\", expected \"" + req + "\"");
  }
  if (error != nullptr) co_return fail(std::move(error->error));
  co_return std::move(reply->body);
}

void TcpAgentClient::shutdown() {
  shut_down_ = true;
  for (auto& [id, weak] : in_flight_) {
    if (auto x = weak.lock()) {
      x->cancelled = true;
      x->timer.cancel();
      x->abort();
    }
  }
}

}  // namespace zp::server
