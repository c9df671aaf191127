#pragma once
// A counting semaphore for coroutines on one executor (Boost 1.74 has none):
// at most `count` holders at once; further acquire() calls wait in arrival
// order until a slot is released, their deadline passes or close() is
// called.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <deque>
#include <memory>

namespace zp::server {

// Not thread-safe: everything runs on the executor given at construction.
// Must outlive every acquire() in progress (hold it by shared_ptr when its
// owner may go away meanwhile).
class AsyncSlots {
 public:
  using Deadline = boost::asio::steady_timer::time_point;
  enum class Wait { kAcquired, kTimedOut, kClosed };

  AsyncSlots(boost::asio::any_io_executor executor, std::size_t count)
      : executor_(std::move(executor)), count_(std::max<std::size_t>(count, 1)) {}
  AsyncSlots(const AsyncSlots&) = delete;
  AsyncSlots& operator=(const AsyncSlots&) = delete;

  // A slot, or kTimedOut at `deadline`, or kClosed once close() was called.
  // Only kAcquired holds a slot, which release() gives back.
  boost::asio::awaitable<Wait> acquire(Deadline deadline) {
    if (closed_) co_return Wait::kClosed;
    if (in_use_ < count_ && waiters_.empty()) {
      ++in_use_;
      co_return Wait::kAcquired;
    }
    auto waiter = std::make_shared<boost::asio::steady_timer>(executor_, deadline);
    waiters_.push_back(waiter);
    boost::system::error_code ignored;
    co_await waiter->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
    if (auto it = std::find(waiters_.begin(), waiters_.end(), waiter); it != waiters_.end()) {
      waiters_.erase(it);
      co_return closed_ ? Wait::kClosed : Wait::kTimedOut;
    }
    co_return Wait::kAcquired;  // release() handed its slot to this waiter
  }

  // Gives a slot back: to the first waiter if there is one.
  void release() {
    if (!waiters_.empty()) {
      auto waiter = std::move(waiters_.front());
      waiters_.pop_front();
      waiter->cancel();  // in_use_ stays: the slot changes hands
    } else if (in_use_ > 0) {
      --in_use_;
    }
  }

  // Ends every wait in progress (kClosed) and refuses later ones. Holders
  // keep their slots until they release them. Idempotent.
  void close() {
    closed_ = true;
    for (auto& waiter : waiters_) waiter->cancel();
  }

  std::size_t inUse() const { return in_use_; }
  std::size_t waiting() const { return waiters_.size(); }

 private:
  boost::asio::any_io_executor executor_;
  const std::size_t count_;
  std::size_t in_use_ = 0;
  bool closed_ = false;
  std::deque<std::shared_ptr<boost::asio::steady_timer>> waiters_;
};

}  // namespace zp::server
