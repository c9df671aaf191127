#pragma once
// Line framing over any Asio byte stream (plain TCP today, TLS later), for
// C++20 coroutines. A LineReader is owned by one connection coroutine and is
// not thread-safe; it must be used from the stream's executor only.

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "common/status.h"
#include "protocol/messages.h"

namespace zp::protocol {

template <typename Stream>
class LineReader {
 public:
  explicit LineReader(Stream& stream, std::size_t max_line = kMaxLineBytes)
      : stream_(stream), max_line_(max_line) {}

  // The next line, without its '\n' (and without a '\r' before it).
  // Errors: kResourceExhausted when a line exceeds the limit (the stream is
  // then out of sync: reply and close); kUnavailable on end of stream or an
  // I/O error (kCancelled when the operation was cancelled).
  boost::asio::awaitable<Result<std::string>> next() {
    namespace asio = boost::asio;
    if (eof_) co_return fail(Code::kUnavailable, "connection closed");
    boost::system::error_code ec;
    const std::size_t n = co_await asio::async_read_until(
        stream_, asio::dynamic_buffer(buffer_, max_line_ + 1), '\n',
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::not_found) {
        co_return fail(Code::kResourceExhausted,
                       "line longer than " + std::to_string(max_line_) + " bytes");
      }
      if (ec == asio::error::operation_aborted) co_return fail(Code::kCancelled, "cancelled");
      // Asio's reactor is edge-triggered: a read after end of stream would wait
      // forever, so end of stream is remembered.
      if (ec == asio::error::eof) eof_ = true;
      if (ec == asio::error::eof && !buffer_.empty()) {
        // A final line without '\n' is still a line.
        std::string last = std::move(buffer_);
        buffer_.clear();
        co_return last;
      }
      co_return fail(Code::kUnavailable,
                     ec == asio::error::eof ? "connection closed" : ec.message());
    }
    std::string line = buffer_.substr(0, n - 1);
    buffer_.erase(0, n);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    co_return line;
  }

 private:
  Stream& stream_;
  std::size_t max_line_;
  std::string buffer_;  // bytes read past the last returned line
  bool eof_ = false;
};

// Writes `line` plus '\n'. The caller serializes writes on one stream.
template <typename Stream>
boost::asio::awaitable<Status> writeLine(Stream& stream, std::string line) {
  namespace asio = boost::asio;
  line.push_back('\n');
  boost::system::error_code ec;
  co_await asio::async_write(stream, asio::buffer(line), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(Code::kUnavailable, ec.message());
  co_return ok();
}

}  // namespace zp::protocol
