#include "metrics/metrics_listener.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <string>

#include "metrics/text_format.h"

namespace zp::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {
constexpr std::chrono::seconds kTimeout{10};
constexpr std::size_t kMaxConnections = 16;
constexpr std::uint32_t kHeaderLimit = 8 * 1024;
}  // namespace

struct MetricsListener::State {
  State(asio::any_io_executor executor, const Registry& registry)
      : executor(executor), registry(registry), acceptor(executor) {}
  asio::any_io_executor executor;
  const Registry& registry;
  tcp::acceptor acceptor;
  bool stopped = false;
  std::uint64_t next_id = 0;
  std::map<std::uint64_t, beast::tcp_stream*> open;  // not owned
};

MetricsListener::MetricsListener(asio::any_io_executor executor, const Registry& registry)
    : state_(std::make_shared<State>(std::move(executor), registry)) {}

MetricsListener::~MetricsListener() { stop(); }

Result<tcp::endpoint> MetricsListener::listen(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  auto& acceptor = state_->acceptor;
  const auto failed = [&](const char* what) {
    return fail(Code::kUnavailable, std::string("metrics listener: cannot ") + what + " " +
                                        endpoint.address().to_string() + ":" +
                                        std::to_string(endpoint.port()) + ": " + ec.message());
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return failed("open a socket for");
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  acceptor.bind(endpoint, ec);
  if (ec) return failed("bind");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return failed("listen on");
  auto bound = acceptor.local_endpoint(ec);
  if (ec) return failed("read the address of");
  asio::co_spawn(state_->executor, acceptLoop(state_), asio::detached);
  return bound;
}

void MetricsListener::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  boost::system::error_code ec;
  state_->acceptor.close(ec);
  for (auto& [id, stream] : state_->open) stream->socket().close(ec);
}

asio::awaitable<void> MetricsListener::acceptLoop(std::shared_ptr<State> state) {
  while (!state->stopped) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await state->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopped) break;
    if (ec) {
      // Out of file descriptors and the like: pause instead of spinning.
      asio::steady_timer pause(state->executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (state->open.size() >= kMaxConnections) {
      socket.close(ec);
      continue;
    }
    asio::co_spawn(state->executor, serve(state, std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> MetricsListener::serve(std::shared_ptr<State> state, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  const std::uint64_t id = state->next_id++;
  state->open[id] = &stream;
  beast::flat_buffer buffer;
  while (!state->stopped) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(kHeaderLimit);
    boost::system::error_code ec;
    stream.expires_after(kTimeout);
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::end_of_stream || state->stopped) break;
    http::response<http::string_body> res;
    res.version(11);
    res.set(http::field::server, "zoneplane-agent");
    bool keep_alive = false;
    if (ec) {
      // Malformed, too large, or a body (empty_body refuses one).
      if (ec == beast::error::timeout || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
        break;
      }
      res.result(http::status::bad_request);
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.body() = "bad request\n";
    } else {
      const auto& req = parser.get();
      res.version(req.version());
      keep_alive = req.keep_alive();
      const std::string_view path(req.target().data(),
                                  std::min(req.target().size(), req.target().find('?')));
      if (path != "/metrics") {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "not found: only GET /metrics\n";
      } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "method not allowed\n";
      } else {
        res.result(http::status::ok);
        res.set(http::field::content_type, std::string(kContentType));
        res.body() = state->registry.render();
      }
      res.prepare_payload();
      if (req.method() == http::verb::head) res.body().clear();
    }
    if (ec) res.prepare_payload();
    res.keep_alive(keep_alive);
    stream.expires_after(kTimeout);
    boost::system::error_code write_ec;
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, write_ec));
    if (write_ec || !keep_alive) break;
  }
  state->open.erase(id);
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
}

}  // namespace zp::metrics
