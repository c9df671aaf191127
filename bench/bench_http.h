#pragma once
// A small keep-alive HTTP/1.1 client for benchmarks: one connection, one
// request at a time, coroutines on the caller's executor. Not for production:
// no TLS, no redirects, no streaming.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <optional>
#include <string>

namespace zp::bench {

struct HttpAnswer {
  unsigned status = 0;  // 0: the request failed (connection error)
  std::string body;
};

class BenchHttpClient {
 public:
  BenchHttpClient(boost::asio::any_io_executor executor, boost::asio::ip::tcp::endpoint server);

  // Sends one request (reconnecting once if the kept-alive connection was
  // closed) and reads the whole answer.
  boost::asio::awaitable<HttpAnswer> request(boost::beast::http::verb method, std::string target,
                                             std::string body);

 private:
  boost::asio::awaitable<bool> ensureConnected();

  boost::asio::ip::tcp::endpoint server_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

}  // namespace zp::bench
