#include "test_server.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <stdexcept>

namespace zp::server::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

HttpResult httpRequest(unsigned short port, http::verb method, const std::string& target,
                       const std::string& body) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "close");
  if (!body.empty() || method == http::verb::post) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  parser.skip(method == http::verb::head);  // no body follows, whatever Content-Length says
  http::read(socket, buffer, parser);
  auto res = parser.release();
  HttpResult out;
  out.status = res.result_int();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = res.body();
  out.json = nlohmann::json::parse(out.body, nullptr, false);
  return out;
}

std::string rawExchange(unsigned short port, const std::string& bytes) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  asio::write(socket, asio::buffer(bytes));
  socket.shutdown(tcp::socket::shutdown_send);  // nothing more will come
  std::string out;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(out), ec);  // until the server closes
  return out;
}

ServerOptions testOptions(std::vector<NodeConfig> nodes) {
  ServerOptions options;
  options.nodes = std::move(nodes);
  // The fake nodes offer "native"; tests of the untrusted default set it back.
  options.trust.default_trust = api::TrustLevel::kInternal;
  options.timeouts.status = std::chrono::milliseconds(1'000);
  options.timeouts.node_info = std::chrono::milliseconds(1'000);
  options.timeouts.start = std::chrono::milliseconds(2'000);
  options.timeouts.remove = std::chrono::milliseconds(2'000);
  options.node_refresh_interval = std::chrono::hours(1);
  options.reconcile_interval = std::chrono::hours(1);
  options.http.read_timeout = std::chrono::milliseconds(1'000);
  return options;
}

TestServer::TestServer(ServerOptions options, store::Store& store, const Clock& clock)
    : server_(std::make_unique<Server>(io_, std::move(options), store, nullptr, nullptr, clock)) {
  auto bound = server_->start(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  if (!bound) throw std::runtime_error(bound.error().toString());
  port_ = bound->port();
  thread_ = std::thread([this] { io_.run(); });
  // The first NodeInfo round, so tests start from known node state.
  run<int>([this]() -> asio::awaitable<int> {
    co_await server_->nodePool().refresh();
    co_return 0;
  });
}

TestServer::~TestServer() {
  asio::post(io_, [this] { server_->stop(); });
  thread_.join();  // run() returns once everything has unwound
  server_.reset();
}

}  // namespace zp::server::testing
