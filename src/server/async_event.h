#pragma once
// A condition variable for coroutines on one executor (Boost 1.74 has no
// channels): wait() suspends until the next notify(). Callers check their
// condition before waiting and again after waking, in a loop; on a single
// executor nothing can happen between the check and the wait, so no wake-up is
// lost.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace zp::server {

// Not thread-safe: wait() and notify() run on the executor given at
// construction. Must outlive every wait() in progress.
class AsyncEvent {
 public:
  explicit AsyncEvent(boost::asio::any_io_executor executor)
      : timer_(std::move(executor), boost::asio::steady_timer::time_point::max()) {}

  // Resumes after the next notify().
  boost::asio::awaitable<void> wait() {
    boost::system::error_code ignored;
    co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
  }

  // Wakes every wait() in progress; a notify() with nobody waiting is lost.
  void notify() { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;  // never expires: only cancel() completes a wait
};

}  // namespace zp::server
