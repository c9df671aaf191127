#include "http_harness.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace zp::server::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

HttpResult httpRequest(unsigned short port, http::verb method, const std::string& target,
                       const std::string& body, unsigned version,
                       const std::string& authorization) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  http::request<http::string_body> req{method, target, version};
  req.set(http::field::host, "127.0.0.1");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  req.keep_alive(false);
  if (!body.empty() || method == http::verb::post) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  parser.skip(method == http::verb::head);  // no body follows, whatever the headers say
  http::read(socket, buffer, parser);
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
  return out;
}

std::string rawExchange(unsigned short port, const std::string& bytes, bool keep_sending) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  asio::write(socket, asio::buffer(bytes));
  if (!keep_sending) socket.shutdown(tcp::socket::shutdown_send);  // nothing more will come
  std::string out;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(out), ec);  // until the server closes
  return out;
}

namespace {

// Runs one asynchronous operation on `io` with a hang guard.
template <typename Start>
boost::system::error_code runGuarded(asio::io_context& io, tcp::socket& socket,
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
    socket.close();
    io.restart();
    io.run();
    throw std::runtime_error("test HTTP client: no progress within the guard time");
  }
  return result;
}

}  // namespace

StreamingRequest::StreamingRequest(unsigned short port, const std::string& target,
                                   http::verb method, std::chrono::milliseconds guard,
                                   const std::string& authorization)
    : socket_(io_), guard_(guard) {
  socket_.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  http::request<http::empty_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  http::write(socket_, req);
  parser_.body_limit(std::numeric_limits<std::uint64_t>::max());  // boost::none misbehaves in 1.74
  parser_.skip(method == http::verb::head);
  auto ec = runGuarded(io_, socket_, guard_, [&](auto handler) {
    http::async_read_header(socket_, buffer_, parser_, handler);
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
  auto ec = runGuarded(io_, socket_, guard_, [&](auto handler) {
    http::async_read_some(socket_, buffer_, parser_, handler);
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
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  ended_ = true;
}

HttpHarness::HttpHarness(asio::io_context& io, const Router& router, HttpServerOptions options)
    : io_(io), server_(io.get_executor(), router, options) {}

HttpHarness::~HttpHarness() { stopAndJoin(); }

void HttpHarness::start() {
  auto bound = server_.listen(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  if (!bound) throw std::runtime_error(bound.error().toString());
  port_ = bound->port();
  thread_ = std::thread([this] { io_.run(); });
}

void HttpHarness::stopAndJoin() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] { server_.stop(); });
  thread_.join();
}

}  // namespace zp::server::testing
