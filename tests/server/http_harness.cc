#include "http_harness.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace zp::server::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// Runs `task` on `io` until it ends and returns its value (its exception is rethrown).
template <typename T>
T runToEnd(asio::io_context& io, asio::awaitable<T> task) {
  std::future<T> result = asio::co_spawn(io, std::move(task), asio::use_future);
  io.restart();
  io.run();
  return result.get();
}

// A connected transport to `to`, its TLS handshake done.
tls::Transport connectTo(asio::io_context& io, const HttpTarget& to) {
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), to.port));
  tls::Transport stream =
      to.tls ? tls::Transport(std::move(socket), *to.tls) : tls::Transport(std::move(socket));
  if (auto named = stream.expectServerName("127.0.0.1", true); !named) {
    throw std::runtime_error("test HTTP client: " + named.error().message);
  }
  auto shaken = runToEnd(io, stream.handshake(tls::Transport::Role::kClient));
  if (!shaken) throw std::runtime_error("test HTTP client: " + shaken.error().message);
  return stream;
}

asio::awaitable<HttpResult> exchange(tls::Transport& stream, http::verb method,
                                     const std::string& target, const std::string& body,
                                     unsigned version, const std::string& authorization) {
  http::request<http::string_body> req{method, target, version};
  req.set(http::field::host, "127.0.0.1");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  req.keep_alive(false);
  if (!body.empty() || method == http::verb::post) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  parser.skip(method == http::verb::head);  // no body follows, whatever the headers say
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  auto res = parser.release();
  HttpResult out;
  out.status = res.result_int();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = res.body();
  out.json = nlohmann::json::parse(out.body, nullptr, false);
  co_return out;
}

asio::awaitable<std::string> rawBytes(tls::Transport& stream, const std::string& bytes,
                                      bool keep_sending) {
  co_await asio::async_write(stream, asio::buffer(bytes), asio::use_awaitable);
  boost::system::error_code ec;
  if (!keep_sending) stream.socket().shutdown(tcp::socket::shutdown_send, ec);  // nothing more
  std::string out;
  co_await asio::async_read(stream, asio::dynamic_buffer(out),
                            asio::redirect_error(asio::use_awaitable, ec));  // until closed
  co_return out;
}

}  // namespace

HttpResult httpRequest(const HttpTarget& to, http::verb method, const std::string& target,
                       const std::string& body, unsigned version,
                       const std::string& authorization) {
  asio::io_context io;
  auto stream = connectTo(io, to);
  return runToEnd(io, exchange(stream, method, target, body, version, authorization));
}

std::string rawExchange(const HttpTarget& to, const std::string& bytes, bool keep_sending) {
  asio::io_context io;
  auto stream = connectTo(io, to);
  return runToEnd(io, rawBytes(stream, bytes, keep_sending));
}

BlockingConnection::BlockingConnection(const HttpTarget& to, const std::string& from)
    : context_(to.tls), socket_(io_) {
  const tcp::endpoint server(asio::ip::address_v4::loopback(), to.port);
  if (context_) tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(io_, *context_);
  tcp::socket& socket = tls_ ? tls_->next_layer() : socket_;
  if (!from.empty()) {
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(asio::ip::make_address(from), 0));
  }
  socket.connect(server);
  if (tls_) tls_->handshake(asio::ssl::stream_base::client);
}

bool isEndOfStream(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

namespace {

// Runs one asynchronous operation on `io` with a hang guard.
template <typename Start>
boost::system::error_code runGuarded(asio::io_context& io, tls::Transport& stream,
                                     std::chrono::milliseconds guard, Start start) {
  boost::system::error_code result = asio::error::would_block;
  bool done = false;
  start([&](boost::system::error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  io.restart();
  io.run_for(guard);
  if (!done) {
    stream.close();
    io.restart();
    io.run();
    throw std::runtime_error("test HTTP client: no progress within the guard time");
  }
  return result;
}

}  // namespace

StreamingRequest::StreamingRequest(const HttpTarget& to, const std::string& target,
                                   http::verb method, std::chrono::milliseconds guard,
                                   const std::string& authorization)
    : tls_(to.tls), guard_(guard) {
  stream_.emplace(connectTo(io_, to));
  http::request<http::empty_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  auto sent = runGuarded(io_, *stream_, guard_,
                         [&](auto handler) { http::async_write(*stream_, req, handler); });
  if (sent) throw std::runtime_error("test HTTP client: sending the request: " + sent.message());
  parser_.body_limit(std::numeric_limits<std::uint64_t>::max());  // boost::none misbehaves in 1.74
  parser_.skip(method == http::verb::head);
  auto ec = runGuarded(io_, *stream_, guard_, [&](auto handler) {
    http::async_read_header(*stream_, buffer_, parser_, handler);
  });
  if (ec) throw std::runtime_error("test HTTP client: reading the headers: " + ec.message());
  if (parser_.is_done()) {
    ended_ = true;
    complete_ = true;
  }
}

std::string StreamingRequest::header(const std::string& name) const {
  return std::string(parser_.get()[name]);
}

bool StreamingRequest::fill() {
  if (ended_) return false;
  char chunk[4096];
  parser_.get().body().data = chunk;
  parser_.get().body().size = sizeof chunk;
  auto ec = runGuarded(io_, *stream_, guard_, [&](auto handler) {
    http::async_read_some(*stream_, buffer_, parser_, handler);
  });
  if (ec == http::error::need_buffer) ec = {};
  pending_.append(chunk, sizeof chunk - parser_.get().body().size);
  if (ec) {
    ended_ = true;
    return false;
  }
  if (parser_.is_done()) {
    ended_ = true;
    complete_ = true;
  }
  return true;
}

std::optional<std::string> StreamingRequest::readLine() {
  while (true) {
    if (auto nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    if (!fill() && ended_) {
      if (pending_.empty()) return std::nullopt;
      std::string rest = std::move(pending_);
      pending_.clear();
      return rest;
    }
  }
}

std::string StreamingRequest::readRest() {
  std::string out;
  while (auto line = readLine()) out += *line + "\n";
  return out;
}

void StreamingRequest::close() {
  stream_->close();
  ended_ = true;
}

HttpHarness::HttpHarness(asio::io_context& io, const Router& router, HttpServerOptions options,
                         bool api_thread)
    : io_(io),
      api_thread_(api_thread),
      core_(io),
      server_(api_thread ? api_io_.get_executor() : io.get_executor(),
              api_thread ? asio::any_io_executor(core_.urgentExecutor()) : io.get_executor(),
              router, options) {}

HttpHarness::~HttpHarness() { stopAndJoin(); }

void HttpHarness::start() {
  auto bound = server_.listen(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  if (!bound) throw std::runtime_error(bound.error().toString());
  port_ = bound->port();
  if (!api_thread_) {
    thread_ = std::thread([this] { io_.run(); });
    return;
  }
  thread_ = std::thread([this] { core_.runWith(api_io_); });  // as zoneplane-server does
}

void HttpHarness::stopAndJoin() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] { server_.stop(); });
  thread_.join();
}

}  // namespace zp::server::testing
