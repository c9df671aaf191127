#include "server/http/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <limits>

#include "server/auth/source.h"
#include "server/auth/token.h"
#include "server/http/executor_hop.h"
#include "server/http/streamed_response.h"

namespace zp::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::size_t kLingerMaxBytes = 16 << 20;
// Connections refused at the caps are logged at most this often.
constexpr std::chrono::seconds kRefusalLogInterval{10};

// A request target as debug logs show it: the path without the query, cut
// to 200 characters, anything shaped like a token reduced to its public id.
std::string loggedPath(std::string_view target) {
  const auto path = target.substr(0, std::min(target.find('?'), std::size_t{200}));
  return auth::redactTokens(path);
}

bool isParseError(const boost::system::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// After an error answer: stop sending, read and discard what the client is
// still sending (so closing does not reset the connection before it has read
// our answer), then let the caller close.
// Over TLS the discarded bytes are read below the TLS layer: nothing of them
// is used, and the connection is closed afterwards.
asio::awaitable<void> drain(beast::tcp_stream& stream) {
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(kLingerTimeout);
  std::array<char, 16 * 1024> sink;
  std::size_t total = 0;
  while (!ec && total < kLingerMaxBytes) {
    total += co_await stream.async_read_some(asio::buffer(sink),
                                             asio::redirect_error(asio::use_awaitable, ec));
  }
}

// Writes `res`, or for HEAD only the headers GET would send (Content-Length
// included); the write's error, if any.
asio::awaitable<boost::system::error_code> writeResponse(tls::Transport& stream,
                                                         http::response<http::string_body>& res,
                                                         bool head) {
  boost::system::error_code ec;
  if (head) {
    http::response_serializer<http::string_body> serializer(res);
    co_await http::async_write_header(stream, serializer,
                                      asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return ec;
}

http::response<http::string_body> toBeast(HttpResponse out, unsigned version, bool keep_alive) {
  http::response<http::string_body> res;
  res.version(version);
  res.result(out.status);
  res.set(http::field::server, "zoneplane-server");
  res.set(http::field::content_type, out.content_type);
  for (auto& [name, value] : out.headers) res.set(name, value);
  res.body() = std::move(out.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// A request's admission and handler in one go on the core, for a request
// whose header came without a body.
struct Answer {
  HttpResponse response;
  bool refused = false;
};

asio::awaitable<Answer> admitAndDispatch(const Router& router, http::verb method,
                                         std::string target, RequestMeta meta) {
  auto admitting = router.admit(method, target, meta);
  AccessDecision decision = co_await std::move(admitting);
  if (decision.refused()) co_return Answer{decision.refusal(), true};
  auto dispatching =
      router.dispatch(method, target, std::string(), std::move(meta), std::move(decision));
  // Named before it is returned: GCC 12 destroys a co_await's result used
  // directly in an aggregate initializer too early.
  HttpResponse response = co_await std::move(dispatching);
  co_return Answer{std::move(response), false};
}

// Admission alone, on the core, before a body is read (always set). Wrapped
// in an optional only because co_spawn (runOn's hop) needs a result type it
// can default-construct, which AccessDecision is not.
asio::awaitable<std::optional<AccessDecision>> admitOnly(const Router& router, http::verb method,
                                                         std::string target, RequestMeta meta) {
  auto admitting = router.admit(method, target, std::move(meta));
  AccessDecision decision = co_await std::move(admitting);
  co_return decision;
}

// The handler, on the core, once the body is read.
asio::awaitable<HttpResponse> dispatchOnly(const Router& router, http::verb method,
                                           std::string target, std::string body, RequestMeta meta,
                                           AccessDecision decision) {
  auto dispatching =
      router.dispatch(method, target, std::move(body), std::move(meta), std::move(decision));
  co_return co_await std::move(dispatching);
}

}  // namespace

HttpServer::HttpServer(asio::any_io_executor io, asio::any_io_executor core, const Router& router,
                       HttpServerOptions options)
    : executor_(std::move(io)),
      core_(std::move(core)),
      hops_(executor_ != core_),
      router_(router),
      options_(options),
      acceptor_(executor_) {}

Result<tcp::endpoint> HttpServer::listen(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  const auto failed = [&](const char* what) {
    return fail(Code::kUnavailable, std::string("cannot ") + what + " " +
                                        endpoint.address().to_string() + ":" +
                                        std::to_string(endpoint.port()) + ": " + ec.message());
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return failed("open a socket for");
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  acceptor_.bind(endpoint, ec);
  if (ec) return failed("bind");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return failed("listen on");
  auto bound = acceptor_.local_endpoint(ec);
  if (ec) return failed("read the address of");
  asio::co_spawn(executor_, acceptLoop(), asio::detached);
  return bound;
}

void HttpServer::stop() {
  if (stopped_.exchange(true)) return;
  if (!hops_) {
    closeAll();
  } else {
    asio::post(executor_, [this] { closeAll(); });
  }
}

void HttpServer::closeAll() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  for (auto& [id, stream] : connections_) {
    stream->socket().close(ec);
  }
}

asio::awaitable<void> HttpServer::acceptLoop() {
  while (!stopped_) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    if (ec) {
      // Out of file descriptors and the like: back off instead of spinning.
      spdlog::warn("accepting an API connection failed: {}", ec.message());
      asio::steady_timer pause(executor_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    const auto peer = socket.remote_endpoint(ec);
    std::string address = ec ? std::string() : peer.address().to_string();
    std::string source = auth::sourceGroup(address);
    if (!admitConnection(source)) {
      socket.close(ec);
      continue;
    }
    // Counted from here; serve() gives the slot back.
    ++open_;
    ++open_by_source_[source];
    asio::co_spawn(executor_, serve(std::move(socket), std::move(address), std::move(source)),
                   asio::detached);
  }
}

bool HttpServer::admitConnection(const std::string& source) {
  const auto it = open_by_source_.find(source);
  const std::size_t from_source = it == open_by_source_.end() ? 0 : it->second;
  const bool total_full = open_ >= options_.max_connections;
  if (!total_full && from_source < options_.max_connections_per_source) return true;
  ++refused_;
  const auto now = std::chrono::steady_clock::now();
  if (!refusal_logged_ || now - *refusal_logged_ >= kRefusalLogInterval) {
    spdlog::warn("API: {} connection(s) refused at the cap ({}; the last from {})", refused_,
                 total_full ? std::to_string(options_.max_connections) + " connections in all"
                            : std::to_string(options_.max_connections_per_source) +
                                  " connections from one source",
                 source.empty() ? "?" : source);
    refused_ = 0;
    refusal_logged_ = now;
  }
  return false;
}

asio::awaitable<void> HttpServer::serve(tcp::socket socket, std::string address,
                                        std::string source) {
  // Answers go out at once: a small write after another one (a TLS record
  // after the handshake, a body after its headers) is never held back by
  // Nagle against the client's delayed ACK (tens of milliseconds).
  boost::system::error_code nodelay_ec;
  socket.set_option(tcp::no_delay(true), nodelay_ec);
  tls::Transport stream = options_.tls ? tls::Transport(std::move(socket), *options_.tls)
                                       : tls::Transport(std::move(socket));
  const std::uint64_t id = next_connection_++;
  connections_[id] = &stream;
  try {
    // Accepted just before stop(), started after it closed the others: the
    // handshake (or the first read) fails at once.
    if (stopped_) stream.close();
    stream.tcp().expires_after(options_.read_timeout);
    auto handshake = stream.handshake(tls::Transport::Role::kServer);
    auto shaken = co_await std::move(handshake);
    if (shaken) {
      co_await serveRequests(stream, address);
    } else if (!stopped_) {
      // A client that does not speak TLS (plain HTTP), refuses the
      // certificate, or stays silent: nothing to answer.
      spdlog::debug("API connection from {}: {}", source.empty() ? "?" : source,
                    shaken.error().message);
    }
  } catch (const std::exception& e) {
    spdlog::error("API connection failed: {}", e.what());
  } catch (...) {
    spdlog::error("API connection failed with an unknown exception");
  }
  connections_.erase(id);
  --open_;
  if (auto it = open_by_source_.find(source); it != open_by_source_.end() && --it->second == 0) {
    open_by_source_.erase(it);
  }
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.socket().close(ec);
}

asio::awaitable<void> HttpServer::serveRequests(tls::Transport& stream, const std::string& source) {
  beast::flat_buffer buffer;
  // An error answer (400, 413, 401/403/429) on a connection that is closed
  // after it.
  const auto answerAndClose = [&](HttpResponse out, unsigned version,
                                  bool head) -> asio::awaitable<void> {
    auto res = toBeast(std::move(out), version, false);
    stream.tcp().expires_after(options_.write_timeout);
    auto writing = writeResponse(stream, res, head);
    const auto ec = co_await std::move(writing);
    if (!ec) co_await drain(stream.tcp());
  };
  const auto failedRead = [&](const boost::system::error_code& ec) {
    const bool too_large = ec == http::error::body_limit;
    // Beast's own words for an over-long URL are "header limit exceeded".
    const std::string what = ec == http::error::header_limit
                                 ? "request line and headers are larger than " +
                                       std::to_string(options_.header_limit) + " bytes"
                                 : ec.message();
    const Error error{
        too_large ? Code::kResourceExhausted : Code::kInvalidArgument,
        too_large ? "request body is larger than " + std::to_string(options_.body_limit) + " bytes"
                  : "malformed HTTP request: " + what,
        ""};
    return errorResponse(too_large ? http_status::kPayloadTooLarge : http_status::kBadRequest,
                         error);
  };

  while (!stopped_) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.header_limit));
    // No limit while the header is read: a Content-Length over it is
    // answered only once the request is admitted (an unauthenticated client
    // gets 401, not 413). (Boost 1.74 compares a Content-Length with
    // boost::none as larger, so "no limit" is the largest one.)
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    boost::system::error_code ec;
    const auto read_deadline = std::chrono::steady_clock::now() + options_.read_timeout;
    stream.tcp().expires_at(read_deadline);
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (isParseError(ec)) {
      auto answering = answerAndClose(failedRead(ec), 11, false);
      co_await std::move(answering);
      co_return;
    }
    if (ec) co_return;  // closed, reset, timed out or stopped: nothing to answer

    const auto& header = parser.get();
    const http::verb method = header.method();
    const unsigned version = header.version();
    const bool head = method == http::verb::head;
    const std::string target(header.target());
    const std::string logged = loggedPath(target);
    const auto started = std::chrono::steady_clock::now();
    RequestMeta meta;
    meta.authorization = std::string(header[http::field::authorization]);
    meta.source = source;

    const auto refusedBeforeBody = [&](HttpResponse refusal) -> asio::awaitable<void> {
      const unsigned status = refusal.status;
      auto answering = answerAndClose(std::move(refusal), version, head);
      co_await std::move(answering);
      spdlog::debug("{} {} -> {} (refused before its body)", std::string(http::to_string(method)),
                    logged, status);
    };
    HttpResponse out;
    if (parser.is_done()) {
      // No body: admission and handler in one hop to the core.
      stream.tcp().expires_never();
      auto work = admitAndDispatch(router_, method, target, std::move(meta));
      auto handling = runOn(core_, executor_, std::move(work));
      Answer answer = co_await std::move(handling);
      if (answer.refused) {
        auto refusing = refusedBeforeBody(std::move(answer.response));
        co_await std::move(refusing);
        co_return;
      }
      out = std::move(answer.response);
    } else {
      // Access first: nothing more of a refused request is read.
      const auto admission_started = std::chrono::steady_clock::now();
      auto admission = admitOnly(router_, method, target, meta);
      auto admitting = runOn(core_, executor_, std::move(admission));
      std::optional<AccessDecision> decision = co_await std::move(admitting);
      if (decision->refused()) {
        auto refusing = refusedBeforeBody(decision->refusal());
        co_await std::move(refusing);
        co_return;
      }
      // The time the admission took (a wait for the core) does not count
      // against reading the request.
      stream.tcp().expires_at(read_deadline +
                              (std::chrono::steady_clock::now() - admission_started));

      if (auto length = parser.content_length(); length && *length > options_.body_limit) {
        auto answering = answerAndClose(failedRead(http::error::body_limit), version, head);
        co_await std::move(answering);
        co_return;
      }
      parser.body_limit(options_.body_limit);  // chunked bodies: counted as they come
      if (beast::iequals(header[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, version};
        co_await http::async_write(stream, go_on, asio::redirect_error(asio::use_awaitable, ec));
      }
      if (!ec) {
        co_await http::async_read(stream, buffer, parser,
                                  asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec == http::error::body_limit || isParseError(ec)) {
        auto answering = answerAndClose(failedRead(ec), version, head);
        co_await std::move(answering);
        co_return;
      }
      if (ec) co_return;
      stream.tcp().expires_never();
      auto work = dispatchOnly(router_, method, target, std::move(parser.get().body()),
                               std::move(meta), std::move(*decision));
      auto dispatching = runOn(core_, executor_, std::move(work));
      HttpResponse dispatched = co_await std::move(dispatching);
      out = std::move(dispatched);
    }
    const bool keep_alive = parser.get().keep_alive();
    const unsigned status = out.status;
    if (out.stream) {
      // A streamed body: no keep-alive, the connection ends with the body.
      auto sending = sendStreamedResponse(stream, std::move(out), version, head,
                                          options_.write_timeout, core_);
      co_await std::move(sending);
      spdlog::debug("{} {} -> {} (streamed for {} ms)", std::string(http::to_string(method)),
                    logged, status,
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count());
      co_return;
    }
    auto res = toBeast(std::move(out), version, keep_alive && !stopped_);
    stream.tcp().expires_after(options_.write_timeout);
    auto writing = writeResponse(stream, res, head);
    ec = co_await std::move(writing);
    spdlog::debug("{} {} -> {} ({} ms)", std::string(http::to_string(method)), logged, status,
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count());
    if (ec || !res.keep_alive()) co_return;
  }
}

}  // namespace zp::server
