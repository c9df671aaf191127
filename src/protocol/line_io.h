#pragma once
// Line framing over any Asio byte stream (plain TCP or TLS: tls::Transport),
// for C++20 coroutines. A LineReader is owned by one connection coroutine and
// is not thread-safe; it must be used from the stream's executor only.

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <string>
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it

#include "common/status.h"
#include "protocol/messages.h"

namespace zp::protocol {

// A bound on the bytes many LineReaders hold together in their buffers (read
// from their streams, not yet returned as lines): docs/architecture.md §9.2.
// Shared by the readers of one server, which release their share when
// destroyed, so it must outlive them. Not thread-safe: use it from one
// executor only.
class BufferBudget {
 public:
  explicit BufferBudget(std::size_t limit) : limit_(limit) {}
  BufferBudget(const BufferBudget&) = delete;
  BufferBudget& operator=(const BufferBudget&) = delete;

  // Takes `n` bytes; false (and nothing taken) when that would pass the limit.
  bool take(std::size_t n) {
    if (n > limit_ - used_) return false;
    used_ += n;
    return true;
  }
  void give(std::size_t n) { used_ -= std::min(n, used_); }
  std::size_t used() const { return used_; }
  std::size_t limit() const { return limit_; }

 private:
  std::size_t limit_;
  std::size_t used_ = 0;
};

template <typename Stream>
class LineReader {
 public:
  // `budget` (optional, not owned) is charged with the bytes this reader
  // buffers while it buffers them.
  explicit LineReader(Stream& stream, std::size_t max_line = kMaxLineBytes,
                      BufferBudget* budget = nullptr)
      : stream_(stream), max_line_(max_line), budget_(budget) {}
  ~LineReader() {
    if (budget_ != nullptr) budget_->give(charged_);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Called with the number of bytes after every read from the stream that
  // returned some (e.g. to track when a peer was last heard from).
  void onRead(std::function<void(std::size_t)> observer) { on_read_ = std::move(observer); }

  // Bytes read from the stream and not yet returned as lines.
  std::size_t buffered() const { return buffer_.size(); }

  // The next line, without its '\n' (and without a '\r' before it).
  // Errors: kResourceExhausted when a line exceeds the limit, or when the
  // bytes just read would pass the budget (the stream is then out of sync:
  // reply and close); kUnavailable on end of stream or an I/O error
  // (kCancelled when the operation was cancelled).
  boost::asio::awaitable<Result<std::string>> next() {
    namespace asio = boost::asio;
    while (true) {
      if (const auto nl = buffer_.find('\n', scanned_); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        scanned_ = 0;
        settle();
        if (!line.empty() && line.back() == '\r') line.pop_back();
        co_return line;
      }
      scanned_ = buffer_.size();
      if (buffer_.size() > max_line_) {
        co_return fail(Code::kResourceExhausted,
                       "line longer than " + std::to_string(max_line_) + " bytes");
      }
      if (eof_) {
        // Asio's reactor is edge-triggered: a read after end of stream would
        // wait forever, so end of stream is remembered. A final line without
        // '\n' is still a line.
        if (buffer_.empty()) co_return fail(Code::kUnavailable, "connection closed");
        std::string last = std::move(buffer_);
        buffer_.clear();
        scanned_ = 0;
        settle();
        co_return last;
      }
      const std::size_t old_size = buffer_.size();
      const std::size_t room = readRoom();
      // Not zero-filled: the read overwrites what it returns and the rest
      // is cut off below (a 64 KiB fill per read was most of the cost of a
      // small line on a busy server).
      buffer_.resize_and_overwrite(old_size + room, [](char*, std::size_t n) { return n; });
      boost::system::error_code ec;
      const std::size_t n =
          co_await stream_.async_read_some(asio::buffer(buffer_.data() + old_size, room),
                                           asio::redirect_error(asio::use_awaitable, ec));
      buffer_.resize(old_size + n);
      if (n > 0) {
        if (on_read_) on_read_(n);
        if (budget_ != nullptr) {
          if (!budget_->take(n)) {
            co_return fail(Code::kResourceExhausted, "the buffers for unread lines are full (" +
                                                         std::to_string(budget_->limit()) +
                                                         " bytes in all)");
          }
          charged_ += n;
        }
      }
      if (ec) {
        if (ec == asio::error::eof) {
          eof_ = true;
          continue;
        }
        if (ec == asio::error::operation_aborted) co_return fail(Code::kCancelled, "cancelled");
        co_return fail(Code::kUnavailable, ec.message());
      }
    }
  }

 private:
  static constexpr std::size_t kMinChunk = 4 * 1024;
  static constexpr std::size_t kReadChunk = 64 * 1024;

  // How much the next read may take: the room the buffer already has, at
  // least kMinChunk and at most kReadChunk, so an idle connection holds a
  // small buffer and a long line is read in large pieces. One more byte than
  // a line may have tells an overlong line apart.
  std::size_t readRoom() const {
    const std::size_t spare = buffer_.capacity() - buffer_.size();
    const std::size_t room = std::clamp(spare, kMinChunk, kReadChunk);
    return std::min(room, max_line_ + 1 - buffer_.size());
  }

  // After lines were taken out: gives back to the budget what the buffer no
  // longer holds, and the memory of a long line once it is gone.
  void settle() {
    if (buffer_.capacity() > 2 * kReadChunk && buffer_.size() < kReadChunk) buffer_.shrink_to_fit();
    if (budget_ == nullptr || charged_ <= buffer_.size()) return;
    budget_->give(charged_ - buffer_.size());
    charged_ = buffer_.size();
  }

  Stream& stream_;
  std::size_t max_line_;
  BufferBudget* budget_;
  std::function<void(std::size_t)> on_read_;
  std::string buffer_;       // bytes read past the last returned line
  std::size_t scanned_ = 0;  // buffer_[0, scanned_) holds no '\n'
  std::size_t charged_ = 0;  // bytes taken from budget_
  bool eof_ = false;
};

// Writes `line` plus '\n'. The caller serializes writes on one stream.
template <typename Stream>
boost::asio::awaitable<Status> writeLine(Stream& stream, std::string line) {
  namespace asio = boost::asio;
  line.push_back('\n');
  boost::system::error_code ec;
  co_await asio::async_write(stream, asio::buffer(line),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(Code::kUnavailable, ec.message());
  co_return ok();
}

}  // namespace zp::protocol
