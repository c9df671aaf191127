#include "test_http_server.h"

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <utility>

namespace zp::cli::testing {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::asio::ip::tcp;

TestHttpServer::TestHttpServer(std::vector<CannedResponse> responses,
                               std::shared_ptr<boost::asio::ssl::context> tls)
    : tls_(std::move(tls)),
      acceptor_(ioc_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
      responses_(std::move(responses)) {
  port_ = acceptor_.local_endpoint().port();
  thread_ = std::thread([this] { serve(); });
}

TestHttpServer::~TestHttpServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  // Wake the blocking accept() with a connection of our own.
  boost::system::error_code ec;
  tcp::socket waker(ioc_);
  waker.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_), ec);
  thread_.join();
}

std::vector<RecordedRequest> TestHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

int TestHttpServer::failedHandshakes() const {
  std::lock_guard lock(mutex_);
  return failed_handshakes_;
}

int TestHttpServer::clientClosedStreams() const {
  std::lock_guard lock(mutex_);
  return client_closed_streams_;
}

CannedResponse streamed(std::vector<std::string> lines, StreamEnd end, std::string content_type) {
  CannedResponse canned;
  for (auto& line : lines) canned.chunks.push_back(std::move(line) + "\n");
  canned.end = end;
  canned.content_type = std::move(content_type);
  return canned;
}

void TestHttpServer::holdOpen(tcp::socket& socket) {
  // Wait for the client to close, checking now and then whether we stop. With
  // TLS the bytes read here (a close_notify) are the record layer's, unparsed.
  socket.non_blocking(true);
  char sink[1024];
  while (true) {
    boost::system::error_code ec;
    socket.read_some(boost::asio::buffer(sink), ec);
    if (ec == boost::asio::error::would_block) {
      std::unique_lock lock(mutex_);
      if (stop_cv_.wait_for(lock, std::chrono::milliseconds(10), [this] { return stopping_; })) {
        return;
      }
      continue;
    }
    if (ec) {
      std::lock_guard lock(mutex_);
      ++client_closed_streams_;
      return;
    }
  }
}

void TestHttpServer::serve() {
  while (true) {
    tcp::socket socket(ioc_);
    boost::system::error_code ec;
    acceptor_.accept(socket, ec);
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    if (!ec) handle(socket);
  }
}

void TestHttpServer::handle(tcp::socket& socket) {
  if (!tls_) {
    exchange(socket, socket);
    return;
  }
  boost::asio::ssl::stream<tcp::socket&> stream(socket, *tls_);
  boost::system::error_code ec;
  stream.handshake(boost::asio::ssl::stream_base::server, ec);
  if (ec) {
    std::lock_guard lock(mutex_);
    ++failed_handshakes_;
    return;
  }
  exchange(stream, socket);
}

template <typename Stream>
void TestHttpServer::exchange(Stream& stream, tcp::socket& socket) {
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  boost::system::error_code ec;
  http::read(stream, buffer, req, ec);
  if (ec) return;

  CannedResponse canned;
  {
    std::unique_lock lock(mutex_);
    requests_.push_back({std::string(req.method_string()), std::string(req.target()), req.body(),
                         std::string(req[http::field::content_type]),
                         std::string(req[http::field::host]),
                         std::string(req[http::field::authorization])});
    if (!responses_.empty()) {
      canned = responses_[std::min(next_, responses_.size() - 1)];
      ++next_;
    }
    if (canned.delay.count() > 0) {
      stop_cv_.wait_for(lock, canned.delay, [this] { return stopping_; });
      if (stopping_) return;
    }
  }
  if (!canned.chunks.empty()) {
    http::response<http::empty_body> head{static_cast<http::status>(canned.status), 11};
    head.set(http::field::content_type, canned.content_type);
    head.keep_alive(false);
    head.chunked(true);
    http::response_serializer<http::empty_body> serializer(head);
    http::write_header(stream, serializer, ec);
    for (std::size_t i = 0; i < canned.chunks.size() && !ec; ++i) {
      if (i > 0 && canned.chunk_delay.count() > 0) {
        std::unique_lock lock(mutex_);
        if (stop_cv_.wait_for(lock, canned.chunk_delay, [this] { return stopping_; })) return;
      }
      boost::asio::write(stream, http::make_chunk(boost::asio::buffer(canned.chunks[i])), ec);
    }
    if (ec) return;
    if (canned.end == StreamEnd::kComplete) {
      boost::asio::write(stream, http::make_chunk_last(), ec);
    } else if (canned.end == StreamEnd::kHoldOpen) {
      holdOpen(socket);
    }
    socket.shutdown(tcp::socket::shutdown_both, ec);
    return;
  }
  http::response<http::string_body> res{static_cast<http::status>(canned.status), 11};
  res.set(http::field::content_type, canned.content_type);
  res.keep_alive(false);
  res.body() = canned.body;
  res.prepare_payload();
  http::write(stream, res, ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

std::uint16_t unusedPort() {
  boost::asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace zp::cli::testing
