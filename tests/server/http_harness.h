#pragma once
// HTTP-level test harness: a Router + HttpServer on 127.0.0.1:<port 0>
// served by an io_context on its own thread, and small blocking clients
// (whole responses, raw bytes, and streamed bodies read line by line), over
// plain HTTP or HTTPS.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "server/core_loop.h"
#include "server/http/http_server.h"
#include "server/http/router.h"
#include "tls/transport.h"

namespace zp::server::testing {

struct HttpResult {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json json;  // parsed body (discarded when not JSON)
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// Where a test client connects: 127.0.0.1:<port>, over TLS when `tls` is set
// (a client context trusting the server's CA; the server's certificate must
// name 127.0.0.1). A bare port means plain HTTP.
struct HttpTarget {
  HttpTarget(unsigned short p) : port(p) {}  // NOLINT: a port is a plain HTTP target
  HttpTarget(unsigned short p, std::shared_ptr<boost::asio::ssl::context> t)
      : port(p), tls(std::move(t)) {}
  unsigned short port = 0;
  std::shared_ptr<boost::asio::ssl::context> tls;
};

// One request on a new connection ("Connection: close"), read to the end;
// `authorization` is sent as the Authorization header unless empty. Throws
// when the connection, the TLS handshake or the exchange fails.
HttpResult httpRequest(const HttpTarget& to, boost::beast::http::verb method,
                       const std::string& target, const std::string& body = {},
                       unsigned version = 11, const std::string& authorization = {});
// Raw bytes in (then end of stream unless `keep_sending`), raw bytes out
// until the server closes (through TLS for a TLS target).
std::string rawExchange(const HttpTarget& to, const std::string& bytes, bool keep_sending = false);

// A blocking client connection to `to` (its TLS handshake done), for tests
// that speak HTTP by hand: a SyncReadStream and SyncWriteStream, so
// http::read/http::write and asio::read/asio::write work on it. `from`, when
// given, is the local IPv4 address to connect from (any of 127.0.0.0/8).
class BlockingConnection {
 public:
  explicit BlockingConnection(const HttpTarget& to, const std::string& from = {});

  template <typename Buffers>
  std::size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
    return tls_ ? tls_->read_some(buffers, ec) : socket_.read_some(buffers, ec);
  }
  template <typename Buffers>
  std::size_t read_some(const Buffers& buffers) {
    boost::system::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <typename Buffers>
  std::size_t write_some(const Buffers& buffers, boost::system::error_code& ec) {
    return tls_ ? tls_->write_some(buffers, ec) : socket_.write_some(buffers, ec);
  }
  template <typename Buffers>
  std::size_t write_some(const Buffers& buffers) {
    boost::system::error_code ec;
    const std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  boost::asio::ip::tcp::socket& socket() { return tls_ ? tls_->next_layer() : socket_; }

 private:
  boost::asio::io_context io_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  boost::asio::ip::tcp::socket socket_;  // plain connections
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
};

// Whether `ec` is how a read sees the server close the connection: end of
// stream, or over TLS a close without close_notify.
bool isEndOfStream(const boost::system::error_code& ec);

// A GET whose body is read as it arrives. Every blocking call gives up after
// `guard` (a hang guard for a broken test, not a timing check) by throwing.
class StreamingRequest {
 public:
  StreamingRequest(const HttpTarget& to, const std::string& target,
                   boost::beast::http::verb method = boost::beast::http::verb::get,
                   std::chrono::milliseconds guard = std::chrono::seconds(10),
                   const std::string& authorization = {});

  unsigned status() const { return parser_.get().result_int(); }
  std::string header(const std::string& name) const;
  // The next line of the body, without its '\n'; nullopt once the body has
  // ended (complete() says whether it ended properly) or the connection broke.
  std::optional<std::string> readLine();
  // Everything up to the end of the body, lines joined with '\n'.
  std::string readRest();
  bool complete() const { return complete_; }
  // The client leaves.
  void close();

 private:
  bool fill();  // reads more body bytes into pending_; false at the end

  boost::asio::io_context io_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // outlives stream_
  std::optional<tls::Transport> stream_;
  std::chrono::milliseconds guard_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::response_parser<boost::beast::http::buffer_body> parser_;
  std::string pending_;
  bool ended_ = false;
  bool complete_ = false;
};

// Serves `router` (filled before start()) on a thread of its own running `io`.
// With `api_thread`, as zoneplane-server does (docs/architecture.md §8.1.1):
// the connections' I/O on a second thread, and `io`'s thread runs a CoreLoop
// whose urgent queue takes the Router's work. The destructor stops the
// server on its executor and joins the threads.
class HttpHarness {
 public:
  HttpHarness(boost::asio::io_context& io, const Router& router, HttpServerOptions options = {},
              bool api_thread = false);
  ~HttpHarness();

  void start();
  unsigned short port() const { return port_; }

  // Runs `f` on the server's executor and waits for it.
  template <typename F>
  auto onExecutor(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }
  // Stops the server (on its executor) and waits until io.run() returned:
  // everything the server started has ended.
  void stopAndJoin();

 private:
  boost::asio::io_context& io_;
  bool api_thread_;
  boost::asio::io_context api_io_;
  CoreLoop core_;
  HttpServer server_;
  unsigned short port_ = 0;
  std::thread thread_;  // runs io_ (the core), and with api_thread api_io_ too
};

}  // namespace zp::server::testing
