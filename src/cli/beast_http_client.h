#pragma once
// HttpClient over plain HTTP/1.1 with Boost.Beast: one TCP connection per
// request, closed afterwards. Synchronous for the caller; each send() or
// stream() runs its own private io_context on the calling thread. Not shared
// between threads.

#include <chrono>
#include <cstddef>

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
  // `timeout` bounds each whole request: resolve, connect, send and receive;
  // for stream(), up to the response's headers (and a whole error reply).
  BeastHttpClient(ServerUrl server, std::chrono::milliseconds timeout);

  // Errors: kUnavailable "cannot reach zoneplane server at URL: <reason>" when
  // the host cannot be resolved or connected to, kDeadlineExceeded on timeout,
  // kUnavailable for a connection lost mid-request or a malformed reply.
  Result<HttpResponse> send(const HttpRequest& request) override;
  // Also: kUnavailable when the body breaks off, kDeadlineExceeded at
  // `options.deadline`, kResourceExhausted for a line over kMaxStreamLineBytes.
  Result<HttpResponse> stream(const HttpRequest& request, const LineHandler& on_line,
                              const StreamOptions& options) override;

 private:
  struct Exchange;
  // Resolves, connects and sends `request` on `exchange`, by `deadline`.
  Status open(Exchange& exchange, const HttpRequest& request,
              std::chrono::steady_clock::time_point deadline);

  ServerUrl server_;
  std::chrono::milliseconds timeout_;
};

}  // namespace zp::cli
