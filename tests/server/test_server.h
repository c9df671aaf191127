#pragma once
// The assembled zp::server::Server in-process for tests: on 127.0.0.1:<port 0>
// with its own io_context thread, driven through HTTP (http_harness.h's
// clients) and inspected on its executor (onServer). Requests carry an admin
// token the TestServer writes into the store before the server starts
// (requestAs() sends any Authorization header instead).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/time.h"
#include "http_harness.h"
#include "server/server.h"
#include "store/store.h"

namespace zp::server::testing {

// Writes a new token of `role` named `name` into `store` (as `zoneplane-server
// tokens create` does) and returns its text; throws std::runtime_error when
// it cannot. `lifetime` none: no expiry (join: the default).
std::string createToken(store::Store& store, const std::string& name, auth::Role role,
                        TimePoint now = std::chrono::system_clock::now(),
                        std::optional<std::chrono::seconds> lifetime = std::nullopt,
                        const std::string& ca_sha256 = {});

// Options for a server whose nodes are fake agents: default trust "internal"
// (any class: the fake nodes offer "native"), agent links that reconnect and
// time out within a second, a node lifecycle that does not expire on its own
// in a test's time (NotReady after 60 s without a heartbeat, Lost after 10 min)
// and a 2 s HTTP read timeout.
ServerOptions testOptions(std::vector<NodeConfig> nodes);
// `options` with the node lifecycle in short real time: a heartbeat every
// 100 ms, NotReady after 300 ms without an answer, Lost 1 s later.
ServerOptions withFastLifecycle(ServerOptions options);

// Polls `done` every few milliseconds until it holds. False when `guard`
// passed first: a hang guard for a broken test, never a timing check.
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds guard = std::chrono::seconds(20));

// Owns an io_context, the Server on it and the thread that runs it. The
// store and the clock are borrowed and must outlive it.
class TestServer {
 public:
  // Starts the server (throws std::runtime_error when it cannot).
  TestServer(ServerOptions options, store::Store& store,
             const Clock& clock = SystemClock::instance());
  // Stops the server on its executor, waits until io_context::run() returned
  // (every coroutine has unwound), then destroys it.
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  unsigned short port() const { return port_; }
  // The admin token's text and its Authorization header.
  const std::string& adminToken() const { return admin_token_; }
  std::string authorization() const { return "Bearer " + admin_token_; }

  HttpResult request(boost::beast::http::verb method, const std::string& target,
                     const std::string& body = {}) {
    return httpRequest(port_, method, target, body, 11, authorization());
  }
  // With `authorization` as the Authorization header ("" sends none).
  HttpResult requestAs(const std::string& authorization, boost::beast::http::verb method,
                       const std::string& target, const std::string& body = {}) {
    return httpRequest(port_, method, target, body, 11, authorization);
  }
  // A streamed GET (or HEAD) with the admin token.
  std::unique_ptr<StreamingRequest> stream(
      const std::string& target, boost::beast::http::verb method = boost::beast::http::verb::get) {
    return std::make_unique<StreamingRequest>(port_, target, method, std::chrono::seconds(10),
                                              authorization());
  }
  HttpResult get(const std::string& target) {
    return request(boost::beast::http::verb::get, target);
  }
  HttpResult head(const std::string& target) {
    return request(boost::beast::http::verb::head, target);
  }
  HttpResult post(const std::string& target, const std::string& body = {}) {
    return request(boost::beast::http::verb::post, target, body);
  }
  HttpResult del(const std::string& target) {
    return request(boost::beast::http::verb::delete_, target);
  }

  // Runs f(server) on the server's executor and returns its result.
  template <typename F>
  auto onServer(F f) -> decltype(f(std::declval<Server&>())) {
    using R = decltype(f(std::declval<Server&>()));
    std::packaged_task<R()> task([&] { return f(*server_); });
    auto result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }

  // The registry's view of a node (nullopt when it is not known).
  std::optional<NodeView> node(const std::string& id);

 private:
  boost::asio::io_context io_;
  std::unique_ptr<Server> server_;
  std::string admin_token_;
  unsigned short port_ = 0;
  std::thread thread_;
};

}  // namespace zp::server::testing
