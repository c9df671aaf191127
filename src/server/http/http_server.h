#pragma once
// The HTTP/1.1 front end of the API (Boost.Beast, coroutines).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

#include "common/status.h"
#include "server/http/router.h"
#include "tls/transport.h"

namespace zp::server {

struct HttpServerOptions {
  // HTTPS (tls::serverContext), shared by every connection; read-only once
  // built. Null: plain HTTP (--insecure-http).
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::size_t body_limit = 1 << 20;  // larger bodies get 413
  std::size_t header_limit = 16 * 1024;
  // Deadline for the TLS handshake, for reading one whole request (also the
  // keep-alive idle timeout) and for writing one response (for a streamed response: its headers,
  // and each chunk).
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
};

// Accepts connections and serves requests through a Router, over HTTPS
// (TLS 1.2 or 1.3; a connection that fails its handshake, e.g. plain HTTP,
// is closed) or plain HTTP when options.tls is null: keep-alive,
// "Expect: 100-continue", a body limit (413), header/parse errors (400), a
// read deadline per request, HEAD (the response's headers, Content-Length
// included, without its body), and streamed responses (HttpResponse::stream,
// see streamed_response.h: chunked, a deadline per chunk, ended when the
// client leaves or on stop(), connection closed afterwards). Owns the acceptor
// and tracks open connections so stop() can close them. Everything runs on the
// executor given at construction (the server's single io_context); not
// thread-safe.
class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor executor, const Router& router,
             HttpServerOptions options = {});

  // Binds and listens on `endpoint` (port 0 picks a free port) and starts
  // accepting. Returns the bound endpoint.
  Result<boost::asio::ip::tcp::endpoint> listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // Stops accepting and closes every open connection; streamed responses see
  // their ResponseStream close (their producers must then return). Idempotent.
  void stop();

 private:
  boost::asio::awaitable<void> acceptLoop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<void> serveRequests(tls::Transport& stream);

  boost::asio::any_io_executor executor_;
  const Router& router_;
  HttpServerOptions options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  bool stopped_ = false;
  std::uint64_t next_connection_ = 1;
  std::map<std::uint64_t, tls::Transport*> connections_;  // open, not owned
};

}  // namespace zp::server
