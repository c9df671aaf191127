#include "cli/beast_http_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <utility>

#include "common/version.h"

namespace zp::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

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

BeastHttpClient::BeastHttpClient(ServerUrl server, std::chrono::milliseconds timeout)
    : server_(std::move(server)), timeout_(timeout) {}

Result<HttpResponse> BeastHttpClient::send(const HttpRequest& request) {
  const std::string url = server_.toString();
  auto unreachable = [&](std::string_view why) {
    return fail(Code::kUnavailable,
                "cannot reach zoneplane server at " + url + ": " + std::string(why));
  };
  auto timed_out = [&] {
    return fail(Code::kDeadlineExceeded,
                "request to zoneplane server at " + url + " timed out after " + seconds(timeout_));
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout_;

  asio::io_context ioc;
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

  beast::tcp_stream stream(ioc);
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

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  stream.expires_at(deadline);
  ec = runOp(ioc, [&](auto handler) { http::async_read(stream, buffer, parser, handler); });
  if (ec == beast::error::timeout) return timed_out();
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
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  auto& res = parser.get();
  HttpResponse response;
  response.status = static_cast<int>(res.result_int());
  response.reason = std::string(res.reason());
  response.body = std::move(res.body());
  return response;
}

}  // namespace zp::cli
