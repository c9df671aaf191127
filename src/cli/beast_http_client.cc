#include "cli/beast_http_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <limits>
#include <utility>

#include "common/version.h"

namespace zp::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyTime = std::chrono::steady_clock::time_point;

// Error replies to a streamed request are read whole, up to this size.
constexpr std::size_t kMaxErrorReplyBytes = 1024 * 1024;

// Starts one asynchronous operation with a completion handler that records its
// error code, runs the io_context until everything started is done, and
// returns that code. Lets the request read as sequential code while the
// stream's expiry (and the resolve timer) enforce the deadline.
template <typename Start>
error_code runOp(asio::io_context& ioc, Start&& start) {
  error_code result = asio::error::would_block;
  std::forward<Start>(start)([&result](error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

http::verb toVerb(HttpMethod method) {
  switch (method) {
    case HttpMethod::kGet:
      return http::verb::get;
    case HttpMethod::kPost:
      return http::verb::post;
    case HttpMethod::kDelete:
      return http::verb::delete_;
  }
  return http::verb::get;
}

std::string seconds(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

// One request on its own connection and io_context.
struct BeastHttpClient::Exchange {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

BeastHttpClient::BeastHttpClient(ServerUrl server, std::chrono::milliseconds timeout)
    : server_(std::move(server)), timeout_(timeout) {}

Status BeastHttpClient::open(Exchange& exchange, const HttpRequest& request, SteadyTime deadline) {
  const std::string url = server_.toString();
  auto unreachable = [&](std::string_view why) {
    return fail(Code::kUnavailable,
                "cannot reach zoneplane server at " + url + ": " + std::string(why));
  };
  auto timed_out = [&] {
    return fail(Code::kDeadlineExceeded,
                "request to zoneplane server at " + url + " timed out after " + seconds(timeout_));
  };
  asio::io_context& ioc = exchange.ioc;
  tcp::resolver resolver(ioc);
  asio::steady_timer resolve_timer(ioc);
  tcp::resolver::results_type endpoints;
  bool resolve_timed_out = false;
  resolve_timer.expires_at(deadline);
  resolve_timer.async_wait([&](error_code ec) {
    if (!ec) {
      resolve_timed_out = true;
      resolver.cancel();
    }
  });
  error_code ec = runOp(ioc, [&](auto handler) {
    resolver.async_resolve(server_.host, std::to_string(server_.port),
                           [&, handler](error_code e, tcp::resolver::results_type results) {
                             resolve_timer.cancel();
                             endpoints = std::move(results);
                             handler(e);
                           });
  });
  if (resolve_timed_out) return timed_out();
  if (ec) return unreachable("cannot resolve host \"" + server_.host + "\": " + ec.message());

  beast::tcp_stream& stream = exchange.stream;
  stream.expires_at(deadline);
  ec = runOp(ioc, [&](auto handler) { stream.async_connect(endpoints, handler); });
  if (ec == beast::error::timeout) return timed_out();
  if (ec) return unreachable(ec.message());

  http::request<http::string_body> req{toVerb(request.method), request.target, 11};
  req.set(http::field::host, server_.hostHeader());
  req.set(http::field::user_agent, std::string("zoneplane-cli/") + kVersion);
  req.set(http::field::accept, "application/json");
  req.keep_alive(false);
  if (request.method == HttpMethod::kPost || !request.body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = request.body;
  }
  req.prepare_payload();
  stream.expires_at(deadline);
  ec = runOp(ioc, [&](auto handler) { http::async_write(stream, req, handler); });
  if (ec == beast::error::timeout) return timed_out();
  if (ec) {
    return fail(Code::kUnavailable,
                "lost the connection to zoneplane server at " + url + ": " + ec.message());
  }
  return ok();
}

Result<HttpResponse> BeastHttpClient::send(const HttpRequest& request) {
  const std::string url = server_.toString();
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  Exchange exchange;
  if (auto opened = open(exchange, request, deadline); !opened) return fail(opened.error());

  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  exchange.stream.expires_at(deadline);
  error_code ec = runOp(exchange.ioc, [&](auto handler) {
    http::async_read(exchange.stream, exchange.buffer, parser, handler);
  });
  if (ec == beast::error::timeout) {
    return fail(Code::kDeadlineExceeded,
                "request to zoneplane server at " + url + " timed out after " + seconds(timeout_));
  }
  if (ec == http::error::body_limit) {
    return fail(Code::kResourceExhausted, "reply from zoneplane server at " + url +
                                              " is larger than " +
                                              std::to_string(kMaxResponseBytes >> 20) + " MiB");
  }
  if (ec) {
    return fail(Code::kUnavailable,
                "bad or incomplete reply from zoneplane server at " + url + ": " + ec.message());
  }
  error_code ignored;
  exchange.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  auto& res = parser.get();
  HttpResponse response;
  response.status = static_cast<int>(res.result_int());
  response.reason = std::string(res.reason());
  response.body = std::move(res.body());
  return response;
}

Result<HttpResponse> BeastHttpClient::stream(const HttpRequest& request, const LineHandler& on_line,
                                             const StreamOptions& options) {
  const std::string url = server_.toString();
  auto header_deadline = std::chrono::steady_clock::now() + timeout_;
  const bool deadline_first = options.deadline && *options.deadline < header_deadline;
  if (deadline_first) header_deadline = *options.deadline;
  Exchange exchange;
  if (auto opened = open(exchange, request, header_deadline); !opened) return fail(opened.error());
  beast::tcp_stream& stream = exchange.stream;
  auto timed_out = [&](bool by_options) {
    if (by_options)
      return fail(Code::kDeadlineExceeded, "gave up waiting for zoneplane server at " + url);
    return fail(Code::kDeadlineExceeded,
                "request to zoneplane server at " + url + " timed out after " + seconds(timeout_));
  };

  http::response_parser<http::buffer_body> parser;
  // Lines are bounded instead. (Not boost::none: Boost 1.74 then refuses
  // every body that has a Content-Length.)
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  stream.expires_at(header_deadline);
  error_code ec = runOp(exchange.ioc, [&](auto handler) {
    http::async_read_header(stream, exchange.buffer, parser, handler);
  });
  if (ec == beast::error::timeout) return timed_out(deadline_first);
  if (ec) {
    return fail(Code::kUnavailable,
                "bad or incomplete reply from zoneplane server at " + url + ": " + ec.message());
  }
  HttpResponse response;
  response.status = static_cast<int>(parser.get().result_int());
  response.reason = std::string(parser.get().reason());
  const bool success = response.status >= 200 && response.status <= 299;

  // An error reply is read whole (bounded, by the request's deadline); a
  // success body line by line, without a deadline unless one was given.
  std::string pending;
  char chunk[16 * 1024];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    if (!success) {
      stream.expires_at(header_deadline);
    } else if (options.deadline) {
      stream.expires_at(*options.deadline);
    } else {
      stream.expires_never();
    }
    ec = runOp(exchange.ioc, [&](auto handler) {
      http::async_read_some(stream, exchange.buffer, parser, handler);
    });
    if (ec == http::error::need_buffer) ec = {};
    pending.append(chunk, sizeof chunk - parser.get().body().size);
    if (!success) {
      if (pending.size() > kMaxErrorReplyBytes) {
        return fail(Code::kResourceExhausted,
                    "error reply from zoneplane server at " + url + " is larger than 1 MiB");
      }
    } else {
      std::size_t start = 0;
      for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
        if (!on_line(std::string_view(pending).substr(start, nl - start))) return response;
        start = nl + 1;
      }
      pending.erase(0, start);
      if (pending.size() > kMaxStreamLineBytes) {
        return fail(Code::kResourceExhausted,
                    "a line from zoneplane server at " + url + " is longer than " +
                        std::to_string(kMaxStreamLineBytes >> 20) + " MiB");
      }
    }
    if (ec == beast::error::timeout)
      return timed_out(success ? options.deadline.has_value() : deadline_first);
    if (ec) {
      return fail(Code::kUnavailable,
                  "the reply from zoneplane server at " + url + " broke off: " + ec.message());
    }
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (!success) {
    response.body = std::move(pending);
  } else if (!pending.empty()) {
    on_line(pending);
  }
  return response;
}

}  // namespace zp::cli
