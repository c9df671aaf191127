// The agent's metrics (docs/architecture.md §7 "Metrics"): the CRI client's
// calls counted through its observer, the protocol requests through the
// request handler's, served by the metrics listener, and the served text
// checked with a real Prometheus parser (tests/metrics/scrape_check.py).

#include "agent/agent_metrics.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <string>
#include <thread>

#include "cri/client.h"
#include "metrics/metrics_listener.h"

namespace zp::agent {
namespace {

using boost::asio::ip::tcp;

// One raw HTTP/1.1 exchange (Connection: close); the whole answer.
std::string exchange(unsigned short port, const std::string& request) {
  boost::asio::io_context io;
  tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  boost::asio::write(socket, boost::asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  boost::asio::read(socket, boost::asio::dynamic_buffer(out), ec);
  return out;
}

class AgentMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bound = listener_.listen({boost::asio::ip::make_address("127.0.0.1"), 0});
    ASSERT_TRUE(bound) << bound.error().toString();
    port_ = bound->port();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    boost::asio::post(io_, [this] { listener_.stop(); });
    work_.reset();
    thread_.join();
  }

  AgentMetrics metrics_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  metrics::MetricsListener listener_{io_.get_executor(), metrics_.registry()};
  unsigned short port_ = 0;
  std::thread thread_;
};

TEST_F(AgentMetricsTest, CountsCriCallsAndRequestsAndServesThem) {
  // A runtime that is not there: every call fails at once, Unavailable.
  cri::ClientOptions options;
  options.observer = metrics_.criObserver();
  auto client = cri::Client::create("unix:///nonexistent/zp-metrics-test.sock", options);
  ASSERT_TRUE(client) << client.error().toString();
  EXPECT_FALSE((*client)->ping());
  EXPECT_FALSE((*client)->ping());
  cri::v1::ImageSpec image;
  image.set_image("busybox:1.36");
  EXPECT_FALSE((*client)->pullImage(image));
  const auto observe = metrics_.requestObserver();
  observe("StartWorkload", std::chrono::milliseconds(3), false);
  observe("StopWorkload", std::chrono::milliseconds(1), true);

  const std::string text = metrics_.registry().render();
  EXPECT_NE(
      text.find("zoneplane_agent_cri_errors_total{method=\"Version\",code=\"Unavailable\"} 2\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("zoneplane_agent_cri_call_duration_seconds_count{method=\"Version\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("zoneplane_agent_image_pull_duration_seconds_count{result=\"error\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("zoneplane_agent_requests_total{method=\"StartWorkload\",result=\"ok\"} 1\n"),
            std::string::npos);
  EXPECT_NE(
      text.find("zoneplane_agent_requests_total{method=\"StopWorkload\",result=\"error\"} 1\n"),
      std::string::npos);

  const std::string got =
      exchange(port_, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got.substr(0, 200);
  EXPECT_NE(got.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(got.find("\r\n\r\n# HELP "), std::string::npos);

  // The real parser, from outside the process.
  const std::string command =
      ZP_PYTHON3 " " ZP_SOURCE_DIR "/tests/metrics/scrape_check.py url http://127.0.0.1:" +
      std::to_string(port_) +
      "/metrics 'zoneplane_agent_cri_errors_total{method=\"Version\",code=\"Unavailable\"}>=2' "
      "'zoneplane_agent_image_pull_duration_seconds_count{result=\"error\"}>=1' "
      "'zoneplane_agent_requests_total{method=\"StartWorkload\",result=\"ok\"}>=1' "
      "'process_resident_memory_bytes>=1' 'zoneplane_process_threads>=1'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST_F(AgentMetricsTest, ListenerServesOnlyGetMetrics) {
  EXPECT_TRUE(exchange(port_, "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                  .starts_with("HTTP/1.1 404 "));
  const std::string post =
      exchange(port_, "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(post.starts_with("HTTP/1.1 405 ")) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_TRUE(exchange(port_, "BAD\r\n\r\n").starts_with("HTTP/1.1 400 "));
  const std::string head =
      exchange(port_, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_EQ(head.find("# HELP"), std::string::npos);
}

}  // namespace
}  // namespace zp::agent
