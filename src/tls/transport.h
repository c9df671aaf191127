#pragma once
// Transport: one connection's byte stream, either plain TCP or TLS over TCP,
// behind one type, so the line protocol (protocol/line_io.h), the HTTP server
// and the clients are written once for both (docs/architecture.md §9).
//
// It is an Asio AsyncReadStream and AsyncWriteStream (async_read_some,
// async_write_some, get_executor), so asio::async_read_until,
// asio::async_write and Beast's http::async_read/async_write work on it.
// The lowest layer is a beast::tcp_stream: tcp().expires_after(...) bounds
// the next operations of either kind (handshake included), and
// socket() gives the TCP socket for options, endpoints and close.
//
// Ownership: owns the socket (and the TLS state). Not thread-safe: use it from
// its executor only, one read and one write at a time, as with any Asio stream.
// The TLS context given must outlive the Transport.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <openssl/ssl.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <string>

#include "common/status.h"

namespace zp::tls {

class Transport {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;
  using TlsStream = boost::asio::ssl::stream<boost::beast::tcp_stream>;
  enum class Role { kClient, kServer };

  // A plain TCP transport.
  explicit Transport(boost::asio::ip::tcp::socket socket)
      : plain_(std::make_unique<boost::beast::tcp_stream>(std::move(socket))) {}
  // A TLS transport over `socket`; nothing is sent before handshake().
  Transport(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context)
      : tls_(std::make_unique<TlsStream>(boost::beast::tcp_stream(std::move(socket)), context)) {}

  Transport(Transport&&) noexcept = default;
  Transport& operator=(Transport&&) noexcept = default;

  executor_type get_executor() noexcept { return tcp().get_executor(); }
  boost::beast::tcp_stream& tcp() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
  boost::asio::ip::tcp::socket& socket() noexcept { return tcp().socket(); }
  bool secure() const noexcept { return tls_ != nullptr; }
  // The OpenSSL handle (nullptr for plain TCP), e.g. for the peer's certificate.
  SSL* ssl() noexcept { return tls_ ? tls_->native_handle() : nullptr; }

  // Client side, before handshake(): sends `host` as SNI and, when
  // `verify_name` holds, requires the server certificate to name it (a DNS
  // name, or an IP address given as one). No-op for plain TCP.
  Status expectServerName(const std::string& host, bool verify_name) {
    if (!tls_) return ok();
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(host, ec);
    if (ec && ::SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str()) != 1) {
      return fail(Code::kInvalidArgument, "cannot use \"" + host + "\" as a TLS server name");
    }
    if (!verify_name) return ok();
    X509_VERIFY_PARAM* param = ::SSL_get0_param(tls_->native_handle());
    const int set = ec ? ::X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size())
                       : ::X509_VERIFY_PARAM_set1_ip_asc(param, address.to_string().c_str());
    if (set != 1) return fail(Code::kInvalidArgument, "cannot verify the TLS server name \"" + host + "\"");
    return ok();
  }

  // The TLS handshake in `role` (no-op for plain TCP). Bound it with
  // tcp().expires_after(). kUnauthenticated when the peer's certificate is
  // refused or the peer does not speak TLS, kUnavailable on I/O errors.
  boost::asio::awaitable<Status> handshake(Role role) {
    if (!tls_) co_return ok();
    boost::system::error_code ec;
    co_await tls_->async_handshake(role == Role::kClient ? TlsStream::client : TlsStream::server,
                                   boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (!ec) co_return ok();
    if (ec.category() == boost::asio::error::get_ssl_category() ||
        ec == boost::asio::ssl::error::stream_truncated) {
      co_return fail(Code::kUnauthenticated, "TLS handshake failed: " + ec.message());
    }
    co_return fail(Code::kUnavailable, "TLS handshake failed: " + ec.message());
  }

  // Closes the socket at once (no TLS close_notify); pending operations end
  // with operation_aborted. Idempotent.
  void close() noexcept {
    boost::system::error_code ignored;
    socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  template <typename MutableBufferSequence, typename ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          if (tls_) {
            tls_->async_read_some(b, std::move(handler));
          } else {
            plain_->async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  template <typename ConstBufferSequence, typename WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            plain_->async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  std::unique_ptr<boost::beast::tcp_stream> plain_;  // exactly one of these two is set
  std::unique_ptr<TlsStream> tls_;
};

}  // namespace zp::tls
