#include "agent/join.h"

#include <spdlog/spdlog.h>

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "agent/node_tls.h"
#include "api/validate.h"
#include "common/address.h"
#include "common/version.h"
#include "tls/join_token.h"
#include "tls/pki.h"
#include "tls/transport.h"

namespace zp::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using asio::ip::tcp;
using Json = nlohmann::json;

constexpr std::size_t kMaxResponseBytes = 1 << 20;

// What the server answered.
struct Exchange {
  unsigned status = 0;
  std::string body;
  std::string ca_pem;  // the pinned CA, as the server's chain holds it
};

Error networkError(const JoinUrl& url, std::string_view step, const boost::system::error_code& ec) {
  const std::string where = "https://" + url.host + ":" + std::to_string(url.port);
  if (ec == beast::error::timeout) {
    return Error{Code::kDeadlineExceeded, "join: " + std::string(step) + " " + where + " timed out", ""};
  }
  return Error{Code::kUnavailable, "join: cannot " + std::string(step) + " " + where + ": " + ec.message(), ""};
}

// One TLS connection: the pinned handshake, then POST /join on it.
asio::awaitable<Result<Exchange>> exchange(asio::ssl::context& context, JoinUrl url,
                                           tls::JoinToken token, std::string body,
                                           std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  tcp::resolver resolver(executor);
  const auto endpoints = co_await resolver.async_resolve(
      url.host, std::to_string(url.port), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(networkError(url, "resolve", ec));

  tls::Transport transport(tcp::socket(executor), context);
  transport.tcp().expires_after(timeout);  // for everything from here on
  co_await transport.tcp().async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(networkError(url, "connect to", ec));
  // SNI only: verifyPinnedServer() checks the name once the CA is known.
  if (auto s = transport.expectServerName(url.host, /*verify_name=*/false); !s) co_return fail(s.error());
  auto handshake = transport.handshake(tls::Transport::Role::kClient);
  if (auto s = co_await std::move(handshake); !s) {
    co_return fail(s.error().code, "join: https://" + url.host + ":" + std::to_string(url.port) +
                                       ": " + s.error().message);
  }
  auto ca_pem = tls::verifyPinnedServer(transport.ssl(), token.ca_fingerprint, url.host);
  if (!ca_pem) {
    transport.close();
    co_return fail(Code::kUnauthenticated,
                   "join: refusing the server at https://" + url.host + ":" +
                       std::to_string(url.port) + ": " + ca_pem.error().message);
  }

  http::request<http::string_body> request{http::verb::post, "/join", 11};
  const bool v6 = url.host.find(':') != std::string::npos;
  request.set(http::field::host, (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port));
  request.set(http::field::authorization, "Bearer " + token.text());
  request.set(http::field::content_type, "application/json");
  request.set(http::field::user_agent, std::string("zoneplane-agent/") + kVersion);
  request.body() = std::move(body);
  request.prepare_payload();
  co_await http::async_write(transport, request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(networkError(url, "send the join request to", ec));

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  co_await http::async_read(transport, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(networkError(url, "read the join response from", ec));
  transport.close();
  auto response = parser.release();
  co_return Exchange{response.result_int(), std::move(response.body()), std::move(*ca_pem)};
}

// The error of a refused join: the status and the server's message.
Error refusal(const Exchange& answer) {
  std::string message;
  const auto body = Json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    message = body["error"].value("message", "");
  }
  if (message.size() > 300) message = message.substr(0, 300) + "...";
  Code code = Code::kUnavailable;
  switch (answer.status) {
    case 400: code = Code::kInvalidArgument; break;
    case 401: code = Code::kUnauthenticated; break;
    case 403: code = Code::kPermissionDenied; break;
    case 404: code = Code::kNotFound; break;
    case 409: code = Code::kAlreadyExists; break;
    case 422: code = Code::kInvalidArgument; break;
    case 429: code = Code::kResourceExhausted; break;
    default: break;
  }
  return Error{code,
               "join: the server refused (HTTP " + std::to_string(answer.status) + ")" +
                   (message.empty() ? std::string() : ": " + message),
               ""};
}

// The certificate and CA of a successful answer, after checking them.
Result<std::pair<std::string, std::string>> acceptAnswer(const Exchange& answer,
                                                         const tls::JoinToken& token,
                                                         const std::string& node_id,
                                                         const tls::PrivateKey& key) {
  const auto body = Json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("certificate") || !body["certificate"].is_string() ||
      !body.contains("ca") || !body["ca"].is_string()) {
    return fail(Code::kInternal,
                "join: the server's answer is not {\"certificate\", \"ca\"} (HTTP " +
                    std::to_string(answer.status) + ")");
  }
  std::string cert = body["certificate"].get<std::string>();
  std::string ca = body["ca"].get<std::string>();
  auto ca_fingerprint = tls::fingerprint(ca);
  if (!ca_fingerprint || *ca_fingerprint != token.ca_fingerprint) {
    return fail(Code::kUnauthenticated,
                "join: the CA certificate in the server's answer is not the join token's");
  }
  auto info = tls::inspectCertificate(cert);
  if (!info) return fail(Code::kInternal, "join: the certificate in the answer does not load: " + info.error().message);
  const auto expected = tls::Identity::node(node_id);
  if (info->identity != expected) {
    return fail(Code::kInternal, "join: the server issued a certificate for " +
                                     (info->identity ? info->identity->describe() : "no identity") +
                                     ", not " + expected.describe());
  }
  if (!tls::checkCertificateKey(cert, key)) {
    return fail(Code::kInternal, "join: the certificate in the answer is not for this node's key");
  }
  if (auto chained = tls::verifyChain(cert, ca); !chained) {
    return fail(Code::kUnauthenticated,
                "join: the certificate in the answer does not verify against the CA: " +
                    chained.error().message);
  }
  return std::pair{std::move(cert), std::move(ca)};
}

// Creates the directory of `path` (0700) when it does not exist.
Status ensureParent(const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? ok() : tls::makePrivateDirectory(dir.string());
}

Status writeFiles(const tls::TlsFiles& files, const tls::PrivateKey& key, const std::string& cert,
                  const std::string& ca) {
  for (const auto* path : {&files.key, &files.cert, &files.ca}) {
    if (auto s = ensureParent(*path); !s) return s;
  }
  // The certificate last: until it is written, the files are not a valid identity.
  if (auto s = tls::writeFileAtomically(files.key, key.pem(), 0600); !s) return s;
  if (auto s = tls::writeFileAtomically(files.ca, ca, 0644); !s) return s;
  return tls::writeFileAtomically(files.cert, cert, 0644);
}

}  // namespace

Status checkJoinTokenSources(const JoinTokenSources& sources) {
  if (!sources.flag.empty() && !sources.file.empty()) {
    return fail(Code::kInvalidArgument,
                "give the join token once: --join-token or --join-token-file", "join-token");
  }
  return ok();
}

Result<std::string> resolveJoinToken(const JoinTokenSources& sources) {
  if (auto s = checkJoinTokenSources(sources); !s) return fail(s.error());
  if (!sources.flag.empty()) return sources.flag;
  if (sources.file.empty()) {
    if (!sources.env.empty()) return sources.env;
    return fail(Code::kNotFound,
                std::string("--join needs a join token: --join-token-file PATH, ") + kJoinTokenEnv +
                    " or --join-token",
                "join-token");
  }
  const std::string& path = sources.file;
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (error) {
    return fail(Code::kInvalidArgument,
                "cannot read the join token file \"" + path + "\": " + error.message(),
                "join-token-file");
  }
  const auto mode = static_cast<unsigned>(status.permissions()) & 0777u;
  if ((mode & 077u) != 0) {
    char octal[8];
    std::snprintf(octal, sizeof octal, "0%03o", mode);
    return fail(Code::kInvalidArgument,
                "the join token file \"" + path + "\" has permissions " + octal +
                    ": other users may read it; chmod 600 it (or 400)",
                "join-token-file");
  }
  auto text = tls::readFile(path);
  if (!text) {
    return fail(Code::kInvalidArgument,
                "cannot read the join token file \"" + path + "\": " + text.error().message,
                "join-token-file");
  }
  constexpr std::string_view kSpace = " \t\r\n";
  std::string_view token = *text;
  token.remove_prefix(std::min(token.find_first_not_of(kSpace), token.size()));
  token.remove_suffix(token.size() - std::min(token.find_last_not_of(kSpace) + 1, token.size()));
  if (token.empty()) {
    return fail(Code::kInvalidArgument, "the join token file \"" + path + "\" is empty",
                "join-token-file");
  }
  return std::string(token);
}

Result<JoinUrl> parseJoinUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  const std::string shown(url.substr(0, 200));
  if (!url.starts_with(kScheme)) {
    return fail(Code::kInvalidArgument, "--join must be https://HOST:PORT, got \"" + shown + "\"", "join");
  }
  auto rest = url.substr(kScheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  auto address = parseHostPort(rest, "join");
  if (!address || address->host.empty() || address->port == 0) {
    return fail(Code::kInvalidArgument, "--join must be https://HOST:PORT, got \"" + shown + "\"", "join");
  }
  return JoinUrl{address->host, address->port};
}

Result<JoinOutcome> joinCluster(const JoinOptions& options) {
  if (!api::isDns1123Label(options.node_id)) {
    return fail(Code::kInvalidArgument, "--join needs --node-id, a DNS-1123 label", "node_id");
  }
  auto url = parseJoinUrl(options.url);
  if (!url) return fail(url.error());
  if (auto s = checkJoinTokenSources(options.token); !s) return fail(s.error());
  if (options.advertise) {
    if (auto a = parseHostPort(*options.advertise, "advertise"); !a || a->port == 0) {
      return fail(Code::kInvalidArgument,
                  "--advertise must be HOST:PORT, got \"" + *options.advertise + "\"", "advertise");
    }
  }

  // A restart with the same flags: the node already has its identity.
  auto existing = loadNodeTls(options.files, options.node_id);
  if (existing) {
    spdlog::info("join: {} already holds this node's certificate; not joining again",
                 options.files.cert);
    return JoinOutcome::kAlreadyJoined;
  }
  if (existing.error().code != Code::kNotFound) {
    spdlog::warn("join: replacing the node's TLS files: {}", existing.error().message);
  }

  auto text = resolveJoinToken(options.token);
  if (!text) return fail(text.error());
  auto token = tls::parseJoinToken(*text);
  if (!token) return fail(token.error());

  auto key = tls::PrivateKey::generate(tls::KeyType::kEcP256);
  if (!key) return fail(key.error());
  auto csr = tls::createCsr(*key, tls::Identity::node(options.node_id));
  if (!csr) return fail(csr.error());
  Json body{{"node_id", options.node_id}, {"csr", *csr}};
  if (options.advertise) body["address"] = *options.advertise;

  auto context = tls::pinningClientContext();
  if (!context) return fail(context.error());
  spdlog::info("join: asking https://{}:{} for the certificate of node/{} (token {})", url->host,
               url->port, options.node_id, token->id);
  asio::io_context io;
  std::optional<Result<Exchange>> outcome;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto op = exchange(**context, *url, *token, body.dump(), options.timeout);
        outcome = co_await std::move(op);
      },
      asio::detached);
  io.run();
  if (!outcome) return fail(Code::kInternal, "join: the exchange did not finish");
  if (!*outcome) return fail(outcome->error());
  const Exchange& answer = **outcome;
  if (answer.status != 200 && answer.status != 201) return fail(refusal(answer));
  auto accepted = acceptAnswer(answer, *token, options.node_id, *key);
  if (!accepted) return fail(accepted.error());
  if (auto s = writeFiles(options.files, *key, accepted->first, accepted->second); !s) {
    return fail(s.error().code, "join: " + s.error().message);
  }
  spdlog::info("join: node/{} joined; wrote {}, {} and {}", options.node_id, options.files.key,
               options.files.cert, options.files.ca);
  return JoinOutcome::kJoined;
}

}  // namespace zp::agent
