#pragma once
// A small keep-alive HTTP/1.1 client for benchmarks: one connection, one
// request at a time, coroutines on the caller's executor, plain HTTP or
// HTTPS. Not for production: no redirects, no streaming, no server name check.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/verb.hpp>
#include <memory>
#include <optional>
#include <string>

#include "tls/transport.h"

namespace zp::bench {

struct HttpAnswer {
  unsigned status = 0;  // 0: the request failed (connection error)
  std::string body;
};

class BenchHttpClient {
 public:
  // With `tls`, HTTPS (the context verifies the server's chain); it must
  // outlive the client. `token`, when set, goes with every request as
  // "Authorization: Bearer <token>".
  BenchHttpClient(boost::asio::any_io_executor executor, boost::asio::ip::tcp::endpoint server,
                  std::shared_ptr<boost::asio::ssl::context> tls = nullptr, std::string token = {});

  // Sends one request (reconnecting once if the kept-alive connection was
  // closed) and reads the whole answer.
  boost::asio::awaitable<HttpAnswer> request(boost::beast::http::verb method, std::string target,
                                             std::string body);

 private:
  boost::asio::awaitable<bool> ensureConnected();

  boost::asio::any_io_executor executor_;
  boost::asio::ip::tcp::endpoint server_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::string authorization_;  // "" or "Bearer <token>"
  std::optional<tls::Transport> stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

}  // namespace zp::bench
