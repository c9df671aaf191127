#pragma once
// HttpClient over HTTP/1.1 with Boost.Beast, on plain TCP (http://) or TLS
// 1.2+ (https://, through tls::Transport): one connection per request, closed
// afterwards. Synchronous for the caller; each send() or stream() runs its
// own private io_context on the calling thread. Not shared between threads.
//
// https: the server's chain must verify against ClientCredentials::ca_file
// (or the system's trust store when it is empty) and its certificate must name
// the URL's host (a DNS name, or an IP address). With a CA file (the cluster
// CA) its certificate must also carry the identity `server`
// (docs/architecture.md §9.3): a node's certificate of the same CA is refused
// before anything is sent. The TLS context is built at the first request and
// kept.

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>

#include "cli/http_client.h"
#include "cli/server_url.h"

namespace zp::cli {

// Replies larger than this are refused rather than buffered.
inline constexpr std::size_t kMaxResponseBytes = 64 * 1024 * 1024;
// A streamed line longer than this is refused (a log line is at most 16 KiB
// plus its time, a watch event about 1 MiB).
inline constexpr std::size_t kMaxStreamLineBytes = 4 * 1024 * 1024;

class BeastHttpClient final : public HttpClient {
 public:
  // `timeout` bounds each whole request: resolve, connect, TLS handshake,
  // send and receive; for stream(), up to the response's headers (and a whole
  // error reply). `credentials.token`, when set, goes with every request.
  BeastHttpClient(ServerUrl server, std::chrono::milliseconds timeout,
                  ClientCredentials credentials = {});

  // Errors: kUnavailable "cannot reach zoneplane server at URL: <reason>" when
  // the host cannot be resolved or connected to, kDeadlineExceeded on timeout,
  // kUnavailable for a connection lost mid-request or a malformed reply.
  // https: kUnauthenticated "TLS: certificate verify failed ..." when the
  // server's certificate does not verify against the CA or does not name the
  // host, "TLS: refusing ..." when (with a CA file) it is not the server's
  // identity; kUnavailable for other handshake failures (e.g. a plain HTTP
  // server), kInvalidArgument (field "ca_cert") when the CA file cannot be
  // used. kInvalidArgument (field "token") for a token that cannot be sent.
  Result<HttpResponse> send(const HttpRequest& request) override;
  // Also: kUnavailable when the body breaks off, kDeadlineExceeded at
  // `options.deadline`, kResourceExhausted for a line over kMaxStreamLineBytes.
  Result<HttpResponse> stream(const HttpRequest& request, const LineHandler& on_line,
                              const StreamOptions& options) override;

 private:
  struct Exchange;
  // Resolves, connects, shakes hands (https) and sends `request` on
  // `exchange`, by `deadline`.
  Status open(Exchange& exchange, const HttpRequest& request,
              std::chrono::steady_clock::time_point deadline);
  // The https context, made at the first call.
  Result<boost::asio::ssl::context*> tlsContext();
  // Maps a failed handshake to the message the user sees.
  Error handshakeError(Exchange& exchange, const Error& failure) const;
  // A hint for an http:// URL whose server closed without replying.
  std::string plainToTlsHint(boost::system::error_code ec) const;

  ServerUrl server_;
  std::chrono::milliseconds timeout_;
  ClientCredentials credentials_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
};

}  // namespace zp::cli
