#pragma once
// A tiny HTTP/1.1 server for CLI tests: listens on 127.0.0.1 with an ephemeral
// port, answers each request with the next canned response (the last one
// repeats), closes each connection after one exchange, and records requests.
// Owns one thread that serves connections one at a time.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace zp::cli::testing {

struct CannedResponse {
  int status = 200;
  std::string body;
  // Wait this long before answering (cut short when the server stops).
  std::chrono::milliseconds delay{0};
};

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string body;
  std::string content_type;
  std::string host;
};

class TestHttpServer {
 public:
  explicit TestHttpServer(std::vector<CannedResponse> responses);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<RecordedRequest> requests() const;

 private:
  void serve();
  void handle(boost::asio::ip::tcp::socket& socket);

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::vector<CannedResponse> responses_;
  std::size_t next_ = 0;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on (bound, then released).
std::uint16_t unusedPort();

}  // namespace zp::cli::testing
