#include "server/http/streamed_response.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "server/async_event.h"
#include "server/http/executor_hop.h"

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

// The producer's view of the stream. Lives on the core (the producer's
// executor) and is only touched there: the API's side reports a closed
// connection by posting close().
struct StreamState {
  bool closed = false;
  bool aborted = false;
  bool detached = false;  // the producer returned: its callbacks may refer to what it owned
  std::vector<std::function<void()>> callbacks;

  // Marks the stream closed and runs the callbacks (once).
  void close() {
    if (closed) return;
    closed = true;
    auto pending = std::move(callbacks);
    callbacks.clear();
    if (detached) return;
    for (auto& callback : pending) callback();
  }
};

// Writes one chunk (or the last chunk) with its deadline, on the stream's
// executor; the write's error.
asio::awaitable<boost::system::error_code> writeChunk(tls::Transport& stream, std::string chunk,
                                                      bool chunked, bool last,
                                                      std::chrono::milliseconds write_timeout) {
  boost::system::error_code ec;
  WriteDeadline deadline(stream, write_timeout);
  if (last) {
    co_await asio::async_write(stream, http::make_chunk_last(),
                               asio::redirect_error(asio::use_awaitable, ec));
  } else if (chunked) {
    co_await asio::async_write(stream, http::make_chunk(asio::buffer(chunk)),
                               asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await asio::async_write(stream, asio::buffer(chunk),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return ec;
}

// The ResponseStream the producer writes to, on the core. Each write goes
// to the connection's executor (`io`, the stream's) and back. Lives in
// runProducer's frame; `stream` outlives it (sendStreamedResponse waits for
// the producer).
class CoreResponseStream final : public ResponseStream {
 public:
  CoreResponseStream(std::shared_ptr<StreamState> state, tls::Transport& stream,
                     asio::any_io_executor io, asio::any_io_executor core, bool chunked,
                     std::chrono::milliseconds write_timeout)
      : state_(std::move(state)),
        stream_(stream),
        io_(std::move(io)),
        core_(std::move(core)),
        chunked_(chunked),
        write_timeout_(write_timeout) {}

  asio::awaitable<bool> write(std::string chunk) override {
    if (state_->closed) co_return false;
    if (chunk.empty()) co_return true;
    auto work = writeChunk(stream_, std::move(chunk), chunked_, /*last=*/false, write_timeout_);
    auto writing = runOn(io_, core_, std::move(work));
    const boost::system::error_code ec = co_await std::move(writing);
    if (ec) state_->close();
    co_return !state_->closed;
  }

  bool open() const override { return !state_->closed; }

  void abort() override {
    state_->aborted = true;
    state_->close();
  }

  void onClose(std::function<void()> callback) override {
    if (state_->closed) {
      if (!state_->detached) callback();
      return;
    }
    state_->callbacks.push_back(std::move(callback));
  }

 private:
  std::shared_ptr<StreamState> state_;
  tls::Transport& stream_;
  asio::any_io_executor io_;    // where the stream is written
  asio::any_io_executor core_;  // where the producer runs
  bool chunked_;
  std::chrono::milliseconds write_timeout_;
};

// How the producer ended, as the core saw it then.
struct ProducerEnd {
  bool failed = true;  // it threw
  bool aborted = false;
  bool closed = false;
};

// Runs `producer` on the core; it is destroyed there too. `io` is the
// stream's executor, taken on the connection's side.
asio::awaitable<ProducerEnd> runProducer(BodyProducer producer, std::shared_ptr<StreamState> state,
                                         tls::Transport& stream, asio::any_io_executor io,
                                         asio::any_io_executor core, bool chunked,
                                         std::chrono::milliseconds write_timeout) {
  CoreResponseStream out(state, stream, std::move(io), std::move(core), chunked, write_timeout);
  ProducerEnd end;
  try {
    co_await producer(out);
    end.failed = false;
  } catch (const std::exception& e) {
    spdlog::error("streamed response failed: {}", e.what());
  } catch (...) {
    spdlog::error("streamed response failed with an unknown exception");
  }
  state->detached = true;
  state->callbacks.clear();
  end.aborted = state->aborted;
  end.closed = state->closed;
  co_return end;
}

// Destroys a producer that never runs on the core, where what it holds lives.
asio::awaitable<void> release(BodyProducer producer) {
  producer = nullptr;
  co_return;
}

// Reads (and discards) whatever the client sends until the connection ends
// or `stop` is set, then has the core close the producer's stream. The
// request was answered with "Connection: close", so nothing read here is
// served.
struct ClientWatch {
  bool stop = false;
  bool finished = false;
};

asio::awaitable<void> watchClient(tls::Transport& stream, std::shared_ptr<StreamState> state,
                                  asio::any_io_executor core, ClientWatch& watch,
                                  AsyncEvent& finished) {
  std::array<char, 4096> sink;
  boost::system::error_code ec;
  while (!ec && !watch.stop) {
    co_await stream.async_read_some(asio::buffer(sink),
                                    asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!watch.stop) asio::dispatch(core, [state = std::move(state)] { state->close(); });
  watch.finished = true;
  finished.notify();
}

}  // namespace

asio::awaitable<void> sendStreamedResponse(tls::Transport& stream, HttpResponse response,
                                           unsigned version, bool head_only,
                                           std::chrono::milliseconds write_timeout,
                                           asio::any_io_executor core) {
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
  if (ec || head_only || !response.stream) {
    auto work = release(std::move(response.stream));
    auto releasing = runOn(core, stream.get_executor(), std::move(work));
    co_await std::move(releasing);
    co_return;
  }

  auto state = std::make_shared<StreamState>();
  ClientWatch watch;
  AsyncEvent watch_finished(stream.get_executor());
  // The background read has no deadline: the stream's own is never set
  // again, and each write's deadline is a timer of its own (WriteDeadline),
  // whichever of the producer's first write and this read starts first.
  asio::co_spawn(stream.get_executor(), watchClient(stream, state, core, watch, watch_finished),
                 asio::detached);
  auto work = runProducer(std::move(response.stream), state, stream, stream.get_executor(), core,
                          chunked, write_timeout);
  auto producing = runOn(core, stream.get_executor(), std::move(work));
  const ProducerEnd end = co_await std::move(producing);
  // Without the last chunk the client sees an incomplete body, not a complete one.
  if (end.failed || end.aborted) {
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } else if (!end.closed && chunked) {
    auto finishing = writeChunk(stream, {}, chunked, /*last=*/true, write_timeout);
    co_await std::move(finishing);
  }
  // End the background read, and wait for it: it uses this frame.
  watch.stop = true;
  stream.socket().cancel(ec);
  while (!watch.finished) co_await watch_finished.wait();
}

}  // namespace zp::server
