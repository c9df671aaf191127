#pragma once
// Test harness: a real zp::server::Server on 127.0.0.1:<port 0> with its own
// io_context thread, plus a small blocking HTTP client.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/verb.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "server/server.h"
#include "store/store.h"

namespace zp::server::testing {

struct HttpResult {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json json;  // parsed body (discarded when not JSON)
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// One request on a new connection ("Connection: close").
HttpResult httpRequest(unsigned short port, boost::beast::http::verb method,
                       const std::string& target, const std::string& body = {});
// Raw bytes in (then end of stream), raw bytes out until the server closes.
std::string rawExchange(unsigned short port, const std::string& bytes);

// Short timeouts (HTTP read timeout 1 s); background loops effectively off
// (tests drive them); default trust "internal" (any class, own-kernel ones
// first), the default image policy.
ServerOptions testOptions(std::vector<NodeConfig> nodes);

class TestServer {
 public:
  // `clock` (default: the system clock) must outlive the server.
  TestServer(ServerOptions options, store::Store& store,
             const Clock& clock = SystemClock::instance());
  ~TestServer();  // stops the server and joins its thread

  unsigned short port() const { return port_; }
  Server& server() { return *server_; }

  HttpResult get(const std::string& target) {
    return httpRequest(port_, boost::beast::http::verb::get, target);
  }
  HttpResult post(const std::string& target, const std::string& body) {
    return httpRequest(port_, boost::beast::http::verb::post, target, body);
  }
  HttpResult del(const std::string& target) {
    return httpRequest(port_, boost::beast::http::verb::delete_, target);
  }

  // Runs a coroutine on the server's io_context and waits for its result.
  template <typename T, typename F>
  T run(F make_awaitable) {
    return boost::asio::co_spawn(io_, make_awaitable(), boost::asio::use_future).get();
  }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<Server> server_;
  unsigned short port_ = 0;
  std::thread thread_;
};

}  // namespace zp::server::testing
