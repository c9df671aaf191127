#pragma once
// The server's core thread and its urgent queue (docs/architecture.md §8.1.1).
//
// Every component of the server lives on one io_context and its one thread,
// the core. The API's requests must not wait behind a whole cycle of that
// io_context's ready handlers (agent links, deliveries, commit completions):
// CoreLoop runs a second queue, the urgent one, between any two of the
// io_context's handlers. What the API thread hands over (a request's
// handler) runs there, and so does every continuation of that handler's
// coroutine, because its executor is UrgentExecutor.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/execution.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/require.hpp>

namespace zp::server {

class CoreLoop;

// An executor whose handlers run on the core thread ahead of the core
// io_context's queue. I/O objects made with it (timers, sockets) belong to
// the core io_context, and its outstanding work (outstanding_work.tracked)
// is counted there. May be used from any thread: a handler submitted from a
// thread other than the core's also wakes the core thread. Small enough for
// any_io_executor to hold without an allocation.
class UrgentExecutor {
 public:
  explicit UrgentExecutor(CoreLoop& loop, bool tracked = false) noexcept;
  UrgentExecutor(const UrgentExecutor& other) noexcept;
  UrgentExecutor& operator=(const UrgentExecutor& other) noexcept;
  ~UrgentExecutor();

  template <typename Function>
  void execute(Function&& f) const {
    boost::asio::execution::execute(
        boost::asio::require(urgentQueue(), boost::asio::execution::blocking.never),
        std::forward<Function>(f));
    wakeCore();
  }

  boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept;
  static constexpr boost::asio::execution::blocking_t query(
      boost::asio::execution::blocking_t) noexcept {
    return boost::asio::execution::blocking.never;
  }
  UrgentExecutor require(boost::asio::execution::blocking_t::never_t) const { return *this; }
  UrgentExecutor require(boost::asio::execution::outstanding_work_t::tracked_t) const {
    return UrgentExecutor(*loop_, true);
  }
  UrgentExecutor require(boost::asio::execution::outstanding_work_t::untracked_t) const {
    return UrgentExecutor(*loop_, false);
  }

  friend bool operator==(const UrgentExecutor& a, const UrgentExecutor& b) noexcept {
    return a.loop_ == b.loop_ && a.tracked_ == b.tracked_;
  }
  friend bool operator!=(const UrgentExecutor& a, const UrgentExecutor& b) noexcept {
    return !(a == b);
  }

 private:
  boost::asio::io_context::executor_type urgentQueue() const;
  // Off the core thread: posts a no-op to the core io_context, so a core
  // thread waiting in it returns to the urgent queue.
  void wakeCore() const;

  CoreLoop* loop_;
  bool tracked_;
};

// Runs the core io_context and the urgent queue on the calling thread.
class CoreLoop {
 public:
  explicit CoreLoop(boost::asio::io_context& io);
  CoreLoop(const CoreLoop&) = delete;
  CoreLoop& operator=(const CoreLoop&) = delete;

  // For the API's request handlers; valid while this CoreLoop exists.
  UrgentExecutor urgentExecutor() { return UrgentExecutor(*this); }

  // Runs the urgent queue whenever it has something, and otherwise the core
  // io_context one handler at a time, until the io_context has no work left
  // (or is stopped) and the urgent queue is empty. Call from one thread. An
  // exception from a handler leaves run() as it leaves io_context::run().
  void run();
  // Runs `api` on a thread of its own and run() on the calling thread; the
  // core keeps running until `api` has run out of work (its last
  // connections end on the core). Returns once both have. An exception
  // from a handler on the core ends the process (std::terminate): the API
  // thread cannot be joined while its connections wait for the core.
  void runWith(boost::asio::io_context& api);

 private:
  friend class UrgentExecutor;

  boost::asio::io_context& io_;
  boost::asio::io_context urgent_;
  // The urgent queue never runs out of work on its own: it is only polled.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> urgent_work_;
};

}  // namespace zp::server
