#pragma once
// Sending a response whose body is produced as it goes (HttpResponse::stream):
// the HTTP layer behind watch and follow streams (docs/architecture.md §7).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>

#include "server/http/http_message.h"
#include "tls/transport.h"

namespace zp::server {

// Writes the headers of `response` (Transfer-Encoding: chunked for HTTP/1.1,
// a body delimited by the connection's end for HTTP/1.0; Connection: close),
// then, unless `head_only`, runs `response.stream` with a ResponseStream on
// `stream`, and ends the body with the last chunk if the client is still
// there. Every write has `write_timeout` (a timer that closes the connection
// when the write has not finished by then; the stream's own deadline,
// tcp().expires_after, is cleared and left unset); the body as a whole has
// none.
// While the producer runs, the connection is read in the background (through
// TLS when the connection has it, with no deadline): end of
// stream, a reset or a closed socket (HttpServer::stop) closes the
// ResponseStream and runs its onClose callbacks, so a producer waiting for
// data wakes up. Returns once the producer has returned and the background
// read has finished; the caller then closes the connection.
// Runs on the stream's executor (the API's I/O). The producer runs on
// `core`, and so do the ResponseStream's methods and callbacks: each write
// hands its chunk to the stream's executor and resumes on `core` once it is
// written. `response.stream` is destroyed on `core` too (also when it never
// runs). The two executors may be the same.
boost::asio::awaitable<void> sendStreamedResponse(tls::Transport& stream, HttpResponse response,
                                                  unsigned version, bool head_only,
                                                  std::chrono::milliseconds write_timeout,
                                                  boost::asio::any_io_executor core);

}  // namespace zp::server
