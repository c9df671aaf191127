#pragma once
// LineClient: a blocking client for the agent's line protocol
// (docs/architecture.md §3) over plain TCP or mutual TLS (§9.2), for tests
// (library zp_test_line_client). Failures come back as values; no
// GoogleTest here.
//
// Threading: a LineClient belongs to one thread at a time. The TLS context
// may be shared by clients on many threads.

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "tls/pki.h"

namespace zp::testsupport {

// How a LineClient speaks TLS.
struct LineClientTls {
  // From tls::clientContext(): the CA to verify the agent against and the
  // certificate to present.
  std::shared_ptr<boost::asio::ssl::context> context;
  // When set, the agent's certificate must name this identity (tls::requirePeer).
  std::optional<tls::Identity> expect_peer;
};

class LineClient {
 public:
  using Json = nlohmann::json;

  // Connects to 127.0.0.1:`port`; with `tls`, completes the TLS handshake
  // (and the peer check) within `timeout`. kUnavailable when the connection
  // or handshake fails, kUnauthenticated when the peer is not the expected one.
  static Result<LineClient> connect(unsigned short port, const LineClientTls* tls = nullptr,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // A client that is not connected: every operation fails with kUnavailable.
  static LineClient disconnected() { return LineClient(-1); }

  LineClient(LineClient&& other) noexcept;
  LineClient& operator=(LineClient&& other) noexcept;
  LineClient(const LineClient&) = delete;
  LineClient& operator=(const LineClient&) = delete;
  ~LineClient();

  bool secure() const { return ssl_ != nullptr; }
  // Sends bytes as they are (no newline added).
  Status sendRaw(std::string_view bytes);
  // Sends `message.dump()` plus '\n'.
  Status send(const Json& message);
  // The next line without '\n'. kDeadlineExceeded after `timeout`;
  // kUnavailable when the peer closed (EOF, reset, or a TLS alert).
  Result<std::string> readLine(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // The next line, parsed; kInternal if it is not a JSON object.
  Result<Json> readJson(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Sends Hello {node_id, subscribe} (the first request on every connection)
  // and checks the reply is Node; the error carries the reply otherwise.
  Status hello(const std::string& node_id, bool subscribe = false);
  // Sends `request` with a fresh "req" and returns the reply carrying it.
  // Replies with another req in between are an error (use call() only when
  // nothing else is in flight on this connection).
  Result<Json> call(Json request, std::chrono::milliseconds timeout = std::chrono::seconds(120));
  // Waits until the peer closes the connection (true) or `timeout` (false).
  // Lines read meanwhile are discarded.
  bool waitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void close();

 private:
  LineClient(int fd, SSL* ssl = nullptr, std::shared_ptr<boost::asio::ssl::context> context = {})
      : fd_(fd), ssl_(ssl), context_(std::move(context)) {}
  // Reads what is available into buffer_ (waiting until `deadline`).
  Status fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  SSL* ssl_ = nullptr;  // owned; null for plain TCP
  std::shared_ptr<boost::asio::ssl::context> context_;  // keeps ssl_'s SSL_CTX alive
  std::string buffer_;
  unsigned next_req_ = 0;
};

}  // namespace zp::testsupport
