#pragma once
// A tiny HTTP/1.1 server for CLI tests: listens on 127.0.0.1 with an ephemeral
// port, answers each request with the next canned response (the last one
// repeats), closes each connection after one exchange, and records requests.
// A canned response may be streamed: chunked, one chunk per entry, then the
// body's end, an abrupt close, or the connection held open until the client
// leaves. Owns one thread that serves connections one at a time.
// With a TLS context it serves HTTPS (a failed handshake is counted, and no
// request is recorded for it).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace zp::cli::testing {

// How a streamed (chunked) response ends after its chunks.
enum class StreamEnd {
  kComplete,  // the last chunk: a complete body
  kAbort,     // the connection closes without it: an incomplete body
  kHoldOpen,  // nothing more until the client closes (or the server stops)
};

struct CannedResponse {
  int status = 200;
  std::string body;
  // Wait this long before answering (cut short when the server stops).
  std::chrono::milliseconds delay{0};
  // When non-empty, sent instead of `body` with Transfer-Encoding: chunked,
  // one chunk per entry, ended as `end` says.
  std::vector<std::string> chunks = {};
  StreamEnd end = StreamEnd::kComplete;
  std::chrono::milliseconds chunk_delay{0};  // a pause before each chunk after the first
  std::string content_type = "application/json";
};

// A reply of `status` with `body` as its JSON text.
inline CannedResponse reply(int status, const nlohmann::json& body) {
  return {status, body.dump()};
}

// A streamed reply: the lines as chunks ('\n' added to each).
CannedResponse streamed(std::vector<std::string> lines, StreamEnd end = StreamEnd::kComplete,
                        std::string content_type = "application/x-ndjson");

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string body;
  std::string content_type;
  std::string host;
  std::string authorization;  // the Authorization header, "" when absent
};

class TestHttpServer {
 public:
  explicit TestHttpServer(std::vector<CannedResponse> responses,
                          std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT", or https:// with a TLS context.
  std::string url() const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
  }
  std::vector<RecordedRequest> requests() const;
  // How many TLS handshakes failed (the client refused the server, or spoke no TLS).
  int failedHandshakes() const;
  // How many held-open streams ended because the client closed its side.
  int clientClosedStreams() const;

 private:
  void serve();
  void handle(boost::asio::ip::tcp::socket& socket);
  // One exchange on `stream` (the socket itself, or TLS over it).
  template <typename Stream>
  void exchange(Stream& stream, boost::asio::ip::tcp::socket& socket);
  void holdOpen(boost::asio::ip::tcp::socket& socket);

  std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::vector<CannedResponse> responses_;
  std::size_t next_ = 0;
  std::vector<RecordedRequest> requests_;
  int client_closed_streams_ = 0;
  int failed_handshakes_ = 0;
  std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on (bound, then released).
std::uint16_t unusedPort();

}  // namespace zp::cli::testing
