#pragma once
// ProtocolServerTest: a ProtocolServer on 127.0.0.1 (port 0) over a
// WorkloadManager on FakeRuntime, its io_context on a thread of its own.
// startServer() with a TLS context serves mutual TLS (docs/architecture.md
// §9.2), without one plaintext.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <thread>

#include "agent/protocol_server.h"
#include "agent/request_handler.h"
#include "manager_fixture.h"

namespace zp::agent {

class ProtocolServerTest : public testing::WorkloadManagerTest {
 protected:
  void startServer(ServerLimits limits = {},
                   std::shared_ptr<boost::asio::ssl::context> tls = nullptr) {
    using namespace std::chrono_literals;
    handler_ = std::make_unique<RequestHandler>(*manager_, control_.get_executor(),
                                                LogOptions{.poll = 5ms, .batch = 256}, isolation_);
    server_ = std::make_unique<ProtocolServer>(io_, *handler_, limits, std::move(tls));
    manager_->setObserver([this](const api::WorkloadStatus& s) { server_->publish(s); });
    auto bound = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(bound.has_value()) << bound.error().toString();
    port_ = bound->port();
    server_->start();
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) boost::asio::post(io_, [this] { server_->stop(); });
    work_guard_.reset();
    if (io_thread_.joinable()) {
      // Once stopped, the connections end and run() returns; do not hang if not.
      EXPECT_TRUE(testing::eventually([&] { return io_.stopped(); }));
      io_.stop();
      io_thread_.join();
    }
    WorkloadManagerTest::TearDown();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_guard_ =
      boost::asio::make_work_guard(io_);
  // Set before startServer() to serve the node's isolation (not owned).
  IsolationMonitor* isolation_ = nullptr;
  std::unique_ptr<RequestHandler> handler_;
  std::unique_ptr<ProtocolServer> server_;
  std::thread io_thread_;
  unsigned short port_ = 0;
};

}  // namespace zp::agent
