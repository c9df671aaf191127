#include "server/http/streamed_response.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "server/async_event.h"

namespace zp::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// The deadline of one write: a timer of its own that closes the transport
// when it fires first, so the pending write (and the background read) end
// with an error. The stream's own deadline (tcp().expires_after) is never
// used here: Beast's tcp_stream arms it for the next read as well as the next
// write, so a background read started after a write had set it would inherit
// it and close a healthy stream once it passed.
// Lives in the writing coroutine's frame for the duration of one write; the
// timer's handler may run after it is gone and then does nothing.
class WriteDeadline {
 public:
  WriteDeadline(tls::Transport& stream, std::chrono::milliseconds timeout)
      : timer_(stream.get_executor()), done_(std::make_shared<bool>(false)) {
    timer_.expires_after(timeout);
    timer_.async_wait([done = done_, &stream](const boost::system::error_code& ec) {
      if (ec || *done) return;  // the write finished first
      spdlog::debug("a streamed response missed its write deadline; closing the connection");
      stream.close();
    });
  }
  ~WriteDeadline() {
    *done_ = true;
    timer_.cancel();
  }
  WriteDeadline(const WriteDeadline&) = delete;
  WriteDeadline& operator=(const WriteDeadline&) = delete;

 private:
  asio::steady_timer timer_;
  std::shared_ptr<bool> done_;  // shared with the handler, which may outlive this
};

// The ResponseStream over one connection. Lives in sendStreamedResponse's
// frame, which outlives the producer and the background read.
class SocketResponseStream final : public ResponseStream {
 public:
  SocketResponseStream(tls::Transport& stream, bool chunked,
                       std::chrono::milliseconds write_timeout)
      : stream_(stream), chunked_(chunked), write_timeout_(write_timeout) {}

  asio::awaitable<bool> write(std::string chunk) override {
    if (closed_) co_return false;
    if (chunk.empty()) co_return true;
    boost::system::error_code ec;
    WriteDeadline deadline(stream_, write_timeout_);
    if (chunked_) {
      co_await asio::async_write(stream_, http::make_chunk(asio::buffer(chunk)),
                                 asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(stream_, asio::buffer(chunk),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) close();
    co_return !closed_;
  }

  bool open() const override { return !closed_; }

  void abort() override {
    aborted_ = true;
    close();
  }
  bool aborted() const { return aborted_; }

  void onClose(std::function<void()> callback) override {
    if (closed_) {
      if (!detached_) callback();
      return;
    }
    callbacks_.push_back(std::move(callback));
  }

  // Marks the stream closed and runs the callbacks (once).
  void close() {
    if (closed_) return;
    closed_ = true;
    auto callbacks = std::move(callbacks_);
    callbacks_.clear();
    if (detached_) return;
    for (auto& callback : callbacks) callback();
  }

  // The producer returned: its callbacks may refer to what it owned.
  void detach() {
    detached_ = true;
    callbacks_.clear();
  }

  // The last chunk, when the body is chunked and the client still there.
  asio::awaitable<void> finish() {
    if (closed_ || !chunked_) co_return;
    boost::system::error_code ec;
    WriteDeadline deadline(stream_, write_timeout_);
    co_await asio::async_write(stream_, http::make_chunk_last(),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) close();
  }

 private:
  tls::Transport& stream_;
  bool chunked_;
  std::chrono::milliseconds write_timeout_;
  bool closed_ = false;
  bool aborted_ = false;
  bool detached_ = false;
  std::vector<std::function<void()>> callbacks_;
};

// Reads (and discards) whatever the client sends until the connection ends
// or `stop` is set, then closes `out`. The request was answered with
// "Connection: close", so nothing read here is served.
struct ClientWatch {
  bool stop = false;
  bool finished = false;
};

asio::awaitable<void> watchClient(tls::Transport& stream, SocketResponseStream& out,
                                  ClientWatch& state, AsyncEvent& finished) {
  std::array<char, 4096> sink;
  boost::system::error_code ec;
  while (!ec && !state.stop) {
    co_await stream.async_read_some(asio::buffer(sink),
                                    asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!state.stop) out.close();
  state.finished = true;
  finished.notify();
}

}  // namespace

asio::awaitable<void> sendStreamedResponse(tls::Transport& stream, HttpResponse response,
                                           unsigned version, bool head_only,
                                           std::chrono::milliseconds write_timeout) {
  const bool chunked = version >= 11;
  http::response<http::empty_body> head;
  head.version(version);
  head.result(response.status);
  head.set(http::field::server, "zoneplane-server");
  head.set(http::field::content_type, response.content_type);
  head.set(http::field::cache_control, "no-cache");
  for (auto& [name, value] : response.headers) head.set(name, value);
  head.keep_alive(false);
  if (chunked) head.chunked(true);
  http::response_serializer<http::empty_body> serializer(head);
  boost::system::error_code ec;
  // No deadline of the stream's own from here on (see WriteDeadline): the
  // background read below must have none.
  stream.tcp().expires_never();
  {
    WriteDeadline deadline(stream, write_timeout);
    co_await http::async_write_header(stream, serializer,
                                      asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec || head_only || !response.stream) co_return;

  SocketResponseStream out(stream, chunked, write_timeout);
  ClientWatch watch;
  AsyncEvent watch_finished(stream.get_executor());
  // The background read has no deadline: the stream's own is never set
  // again, and each write's deadline is a timer of its own (WriteDeadline),
  // whichever of the producer's first write and this read starts first.
  asio::co_spawn(stream.get_executor(), watchClient(stream, out, watch, watch_finished),
                 asio::detached);
  bool failed = true;
  try {
    co_await response.stream(out);
    failed = false;
  } catch (const std::exception& e) {
    spdlog::error("streamed response failed: {}", e.what());
  } catch (...) {
    spdlog::error("streamed response failed with an unknown exception");
  }
  out.detach();
  // Without the last chunk the client sees an incomplete body, not a complete one.
  if (failed || out.aborted()) {
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } else {
    co_await out.finish();
  }
  // End the background read, and wait for it: it uses this frame.
  watch.stop = true;
  stream.socket().cancel(ec);
  while (!watch.finished) co_await watch_finished.wait();
}

}  // namespace zp::server
