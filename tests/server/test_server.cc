#include "test_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <stdexcept>

#include "server/auth/token.h"

namespace zp::server::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

ServerOptions testOptions(std::vector<NodeConfig> nodes) {
  ServerOptions options;
  options.nodes = std::move(nodes);
  options.trust.default_trust = api::TrustLevel::kInternal;
  options.registry.lifecycle.heartbeat_interval = std::chrono::milliseconds(100);
  options.registry.lifecycle.not_ready_after = std::chrono::seconds(60);
  options.registry.lifecycle.lost_after = std::chrono::minutes(10);
  options.registry.tick_interval = std::chrono::milliseconds(20);
  options.registry.link.connect_timeout = std::chrono::seconds(1);
  options.registry.link.hello_timeout = std::chrono::seconds(1);
  options.registry.link.resync_timeout = std::chrono::seconds(2);
  options.registry.link.backoff_initial = std::chrono::milliseconds(20);
  options.registry.link.backoff_max = std::chrono::milliseconds(200);
  options.workloads.start_timeout = std::chrono::seconds(2);
  options.workloads.remove_timeout = std::chrono::seconds(2);
  options.http.read_timeout = std::chrono::seconds(2);
  options.tick_interval = std::chrono::milliseconds(20);
  return options;
}

ServerOptions withFastLifecycle(ServerOptions options) {
  options.registry.lifecycle.heartbeat_interval = std::chrono::milliseconds(100);
  options.registry.lifecycle.not_ready_after = std::chrono::milliseconds(300);
  options.registry.lifecycle.lost_after = std::chrono::seconds(1);
  return options;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds guard) {
  const auto deadline = std::chrono::steady_clock::now() + guard;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::string createToken(store::Store& store, const std::string& name, auth::Role role,
                        TimePoint now, std::optional<std::chrono::seconds> lifetime,
                        const std::string& ca_sha256) {
  auth::TokenSpec spec{name, role, lifetime, ca_sha256};
  auto issued = auth::issueToken(spec, now);
  if (!issued) throw std::runtime_error("issue token: " + issued.error().toString());
  if (auto s = store.apply({store::PutToken{issued->record}}); !s) {
    throw std::runtime_error("store token: " + s.error().toString());
  }
  return issued->text;
}

TestServer::TestServer(ServerOptions options, store::Store& store, const Clock& clock)
    : server_(std::make_unique<Server>(io_, std::move(options), store, clock)) {
  // A server restarted on the same database gets a token of its own.
  static std::atomic<int> servers{0};
  admin_token_ = createToken(store, "test-admin-" + std::to_string(servers++), auth::Role::kAdmin,
                             clock.now());
  // Before run(): start() is called off the executor while nothing runs on it.
  auto bound = server_->start(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  if (!bound) throw std::runtime_error("server start: " + bound.error().toString());
  port_ = bound->port();
  thread_ = std::thread([this] { io_.run(); });
}

TestServer::~TestServer() {
  asio::post(io_, [this] { server_->stop(); });
  thread_.join();
  server_.reset();
}

std::optional<NodeView> TestServer::node(const std::string& id) {
  return onServer([&](Server& server) { return server.nodes().node(id); });
}

}  // namespace zp::server::testing
