#include "cli/beast_http_client.h"

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>

#include "common/version.h"
#include "tls/tls_context.h"
#include "tls/transport.h"

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
  std::optional<tls::Transport> transport;  // set by open(): plain or TLS
  beast::flat_buffer buffer;
};

BeastHttpClient::BeastHttpClient(ServerUrl server, std::chrono::milliseconds timeout,
                                 ClientCredentials credentials)
    : server_(std::move(server)), timeout_(timeout), credentials_(std::move(credentials)) {}

// An http:// request to a TLS server ends without a reply: say so.
std::string BeastHttpClient::plainToTlsHint(boost::system::error_code ec) const {
  if (server_.tls || ec != http::error::end_of_stream) return {};
  return " (is it an HTTPS server? zoneplane-server serves https:// unless started with "
         "--insecure-http)";
}

Result<asio::ssl::context*> BeastHttpClient::tlsContext() {
  if (tls_context_) return tls_context_.get();
  auto made = tls::clientContext({"", "", credentials_.ca_file}, tls::MinVersion::kTls12);
  if (!made) {
    // "cannot read the CA certificate \"PATH\": ..." / "... does not load: ..."
    return fail(Code::kInvalidArgument, made.error().message, "ca_cert");
  }
  tls_context_ = std::move(*made);
  return tls_context_.get();
}

Error BeastHttpClient::handshakeError(Exchange& exchange, const Error& failure) const {
  const std::string url = server_.toString();
  SSL* ssl = exchange.transport->ssl();
  const long verify = ssl != nullptr ? ::SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    return {Code::kUnauthenticated,
            "TLS: certificate verify failed: the certificate of zoneplane server at " + url +
                " does not name \"" + server_.host +
                "\" (use a host name or address it names, or reissue it with "
                "`zoneplane-server certs issue --server --dns NAME --ip ADDR`)",
            {}};
  }
  if (verify != X509_V_OK) {
    const std::string hint =
        credentials_.ca_file.empty()
            ? "the system's trust store was used: give the cluster's CA with --ca-cert, "
              "ZONEPLANE_CA_CERT or ca_cert in the config file"
            : "is --ca-cert right? it is \"" + credentials_.ca_file + "\"";
    return {Code::kUnauthenticated,
            "TLS: certificate verify failed for zoneplane server at " + url + ": " +
                ::X509_verify_cert_error_string(verify) + " (" + hint + ")",
            {}};
  }
  std::string reason = failure.message;
  if (constexpr std::string_view prefix = "TLS handshake failed: "; reason.starts_with(prefix)) {
    reason.erase(0, prefix.size());
  }
  return {Code::kUnavailable,
          "TLS handshake with zoneplane server at " + url + " failed: " + reason +
              " (is it serving HTTPS? a server started with --insecure-http needs an http:// URL)",
          {}};
}

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
  if (!credentials_.token.empty() && !isValidBearerToken(credentials_.token)) {
    return fail(Code::kInvalidArgument, "the token contains characters a bearer token cannot have",
                "token");
  }
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

  if (server_.tls) {
    auto context = tlsContext();
    if (!context) return fail(context.error());
    exchange.transport.emplace(tcp::socket(ioc), **context);
    if (auto named = exchange.transport->expectServerName(server_.host, true); !named) {
      return named;
    }
  } else {
    exchange.transport.emplace(tcp::socket(ioc));
  }
  tls::Transport& transport = *exchange.transport;
  transport.tcp().expires_at(deadline);
  ec = runOp(ioc, [&](auto handler) { transport.tcp().async_connect(endpoints, handler); });
  if (ec == beast::error::timeout) return timed_out();
  if (ec) return unreachable(ec.message());

  if (server_.tls) {
    transport.tcp().expires_at(deadline);
    Status shaken = fail(Code::kInternal, "the TLS handshake did not finish");
    asio::co_spawn(ioc, transport.handshake(tls::Transport::Role::kClient),
                   [&shaken](std::exception_ptr thrown, Status result) {
                     if (!thrown) shaken = std::move(result);
                   });
    ioc.restart();
    ioc.run();
    if (!shaken) {
      if (std::chrono::steady_clock::now() >= deadline) return timed_out();
      return fail(handshakeError(exchange, shaken.error()));
    }
    // With the cluster's CA, a node's certificate also verifies (and may
    // name the host): only the identity `server` is the API server. Nothing,
    // the token least of all, is sent to anything else.
    if (!credentials_.ca_file.empty()) {
      if (auto server = tls::requirePeer(transport.ssl(), tls::Identity::server()); !server) {
        transport.close();
        return fail(Code::kUnauthenticated, "TLS: refusing zoneplane server at " + url +
                                                ": its certificate chains to the CA \"" +
                                                credentials_.ca_file +
                                                "\" but is not the API server's (" +
                                                server.error().message + "); nothing was sent");
      }
    }
  }

  http::request<http::string_body> req{toVerb(request.method), request.target, 11};
  req.set(http::field::host, server_.hostHeader());
  req.set(http::field::user_agent, std::string("zoneplane-cli/") + kVersion);
  req.set(http::field::accept, "application/json");
  if (!credentials_.token.empty()) {
    req.set(http::field::authorization, "Bearer " + credentials_.token);
  }
  req.keep_alive(false);
  if (request.method == HttpMethod::kPost || !request.body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = request.body;
  }
  req.prepare_payload();
  transport.tcp().expires_at(deadline);
  ec = runOp(ioc, [&](auto handler) { http::async_write(transport, req, handler); });
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
  tls::Transport& transport = *exchange.transport;
  transport.tcp().expires_at(deadline);
  error_code ec = runOp(exchange.ioc, [&](auto handler) {
    http::async_read(transport, exchange.buffer, parser, handler);
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
    return fail(Code::kUnavailable, "bad or incomplete reply from zoneplane server at " + url +
                                        ": " + ec.message() + plainToTlsHint(ec));
  }
  transport.close();

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
  tls::Transport& stream = *exchange.transport;
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
  stream.tcp().expires_at(header_deadline);
  error_code ec = runOp(exchange.ioc, [&](auto handler) {
    http::async_read_header(stream, exchange.buffer, parser, handler);
  });
  if (ec == beast::error::timeout) return timed_out(deadline_first);
  if (ec) {
    return fail(Code::kUnavailable, "bad or incomplete reply from zoneplane server at " + url +
                                        ": " + ec.message() + plainToTlsHint(ec));
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
      stream.tcp().expires_at(header_deadline);
    } else if (options.deadline) {
      stream.tcp().expires_at(*options.deadline);
    } else {
      stream.tcp().expires_never();
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
  stream.close();
  if (!success) {
    response.body = std::move(pending);
  } else if (!pending.empty()) {
    on_line(pending);
  }
  return response;
}

}  // namespace zp::cli
