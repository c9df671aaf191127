#pragma once
// The HTTP/1.1 front end of the API (Boost.Beast, coroutines).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

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
  // Connections open at once, in all and from one source (auth::sourceGroup:
  // an IPv4 address or an IPv6 /64). A connection beyond either cap is
  // closed as soon as it is accepted, before its TLS handshake, without an
  // answer; the refusals are logged at most once every 10 s.
  std::size_t max_connections = 4096;
  std::size_t max_connections_per_source = 256;
};

// Accepts connections and serves requests through a Router, over HTTPS
// (TLS 1.2 or 1.3; a connection that fails its handshake, e.g. plain HTTP,
// is closed) or plain HTTP when options.tls is null: keep-alive,
// "Expect: 100-continue", a body limit (413), header/parse errors (400), a
// read deadline per request, HEAD (the response's headers, Content-Length
// included, without its body), and streamed responses (HttpResponse::stream,
// see streamed_response.h: chunked, a deadline per chunk, ended when the
// client leaves or on stop(), connection closed afterwards).
//
// A request is taken in this order: its header (400 when malformed), the
// Router's access decision on its method, target and Authorization header
// (Router::admit: a 401/403/429 is answered with "Connection: close" and the
// connection closed after discarding what the client still sends, so an
// unauthenticated client never gets "100 Continue" nor has its body read),
// then the body limit (413 for a Content-Length over it), "100 Continue" when
// asked, the body, and Router::dispatch.
//
// Owns the acceptor and tracks open connections so stop() can close them and
// the connection caps hold. Two executors (docs/architecture.md §8.1.1): the
// connections' I/O (accepting, TLS, parsing, writing) runs on `io`, and the
// Router (admission, handlers, the producers of streamed responses) on
// `core`: one hop there and back per request without a body, two with one.
// They may be the same executor (then nothing hops). Call listen() before
// `io` runs and stop() from `core`; openConnections() from any thread;
// nothing else is thread-safe.
class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor io, boost::asio::any_io_executor core,
             const Router& router, HttpServerOptions options = {});
  // Everything on `executor`.
  HttpServer(boost::asio::any_io_executor executor, const Router& router,
             HttpServerOptions options = {})
      : HttpServer(executor, executor, router, std::move(options)) {}

  // Binds and listens on `endpoint` (port 0 picks a free port) and starts
  // accepting. Returns the bound endpoint.
  Result<boost::asio::ip::tcp::endpoint> listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // Stops accepting and closes every open connection; streamed responses see
  // their ResponseStream close (their producers must then return). Idempotent.
  // With one executor, done at once (call it there); with two, handed to `io`.
  void stop();

  // Connections accepted and not yet closed (streams included).
  std::size_t openConnections() const { return open_.load(std::memory_order_relaxed); }

 private:
  // stop()'s work, on `io`.
  void closeAll();
  boost::asio::awaitable<void> acceptLoop();
  // Whether a connection from `source` (auth::sourceGroup) fits under the caps.
  bool admitConnection(const std::string& source);
  // `address` is the client's IP address, `source` its group for the caps
  // (auth::sourceGroup).
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket, std::string address,
                                     std::string source);
  boost::asio::awaitable<void> serveRequests(tls::Transport& stream, const std::string& source);

  boost::asio::any_io_executor executor_;  // the connections' I/O
  boost::asio::any_io_executor core_;      // the Router
  bool hops_;                              // executor_ != core_
  const Router& router_;
  HttpServerOptions options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopped_{false};
  std::uint64_t next_connection_ = 1;
  std::map<std::uint64_t, tls::Transport*> connections_;  // open, not owned
  // Connections accepted and not yet closed, in all and by source group.
  std::atomic<std::size_t> open_{0};
  std::map<std::string, std::size_t> open_by_source_;
  // Connections refused by the caps since the last warning about them.
  std::size_t refused_ = 0;
  std::optional<std::chrono::steady_clock::time_point> refusal_logged_;
};

}  // namespace zp::server
