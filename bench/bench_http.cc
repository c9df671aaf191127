#include "bench_http.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

namespace zp::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

BenchHttpClient::BenchHttpClient(asio::any_io_executor executor, asio::ip::tcp::endpoint server,
                                 std::shared_ptr<asio::ssl::context> tls, std::string token)
    : executor_(std::move(executor)),
      server_(server),
      tls_(std::move(tls)),
      authorization_(token.empty() ? std::string() : "Bearer " + token) {}

asio::awaitable<bool> BenchHttpClient::ensureConnected() {
  if (connected_) co_return true;
  if (stream_) stream_->close();
  asio::ip::tcp::socket socket(executor_);
  stream_.emplace(tls_ ? tls::Transport(std::move(socket), *tls_)
                       : tls::Transport(std::move(socket)));
  boost::system::error_code ec;
  co_await stream_->socket().async_connect(server_, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  stream_->socket().set_option(asio::ip::tcp::no_delay(true), ec);
  auto shaken = co_await stream_->handshake(tls::Transport::Role::kClient);
  if (!shaken) co_return false;
  buffer_.clear();
  connected_ = true;
  co_return true;
}

asio::awaitable<HttpAnswer> BenchHttpClient::request(http::verb method, std::string target,
                                                     std::string body) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!co_await ensureConnected()) co_return HttpAnswer{};
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "bench");
    if (!authorization_.empty()) req.set(http::field::authorization, authorization_);
    req.keep_alive(true);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    boost::system::error_code ec;
    co_await http::async_write(*stream_, req, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      http::response<http::string_body> res;
      co_await http::async_read(*stream_, buffer_, res,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {
        if (!res.keep_alive()) connected_ = false;
        co_return HttpAnswer{res.result_int(), std::move(res.body())};
      }
    }
    connected_ = false;  // a kept-alive connection the server closed: try once more
  }
  co_return HttpAnswer{};
}

}  // namespace zp::bench
