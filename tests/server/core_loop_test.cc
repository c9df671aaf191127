// CoreLoop and UrgentExecutor (docs/architecture.md §8.1.1): the urgent
// queue runs between any two of the core io_context's handlers, a handler
// submitted from another thread wakes an idle core, and work counted on the
// urgent executor keeps the loop running.

#include "server/core_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace zp::server {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(CoreLoopTest, UrgentHandlersRunBetweenTheCoresHandlers) {
  asio::io_context io;
  CoreLoop loop(io);
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    asio::post(io, [&, i] {
      order.push_back("core" + std::to_string(i));
      if (i == 0) asio::post(loop.urgentExecutor(), [&] { order.push_back("urgent"); });
    });
  }
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"core0", "urgent", "core1", "core2"}));
}

TEST(CoreLoopTest, AHandlerFromAnotherThreadWakesAnIdleCore) {
  asio::io_context io;
  CoreLoop loop(io);
  // The core waits in its io_context for a timer far away; only the wake-up
  // lets the urgent handler cancel it before it expires.
  asio::steady_timer far(io, 30s);
  boost::system::error_code waited;
  far.async_wait([&](const boost::system::error_code& ec) { waited = ec; });
  std::thread other([&] {
    std::this_thread::sleep_for(20ms);
    asio::post(loop.urgentExecutor(), [&] { far.cancel(); });
  });
  loop.run();
  other.join();
  EXPECT_EQ(waited, asio::error::operation_aborted);
}

TEST(CoreLoopTest, ACoroutineOnTheUrgentExecutorRunsToItsEnd) {
  asio::io_context io;
  CoreLoop loop(io);
  std::thread::id ran_on;
  bool done = false;
  asio::co_spawn(
      loop.urgentExecutor(),
      [&]() -> asio::awaitable<void> {
        // Its timer belongs to the core io_context.
        asio::steady_timer pause(co_await asio::this_coro::executor, 5ms);
        co_await pause.async_wait(asio::use_awaitable);
        ran_on = std::this_thread::get_id();
        done = true;
      },
      asio::detached);
  loop.run();
  EXPECT_TRUE(done);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

// Runs `loop` on a thread while a tracked urgent executor exists: true when
// the loop keeps running until that executor is gone, and then returns.
bool runsWhileTracked(CoreLoop& loop) {
  std::optional<asio::any_io_executor> tracked = asio::prefer(
      asio::any_io_executor(loop.urgentExecutor()), asio::execution::outstanding_work.tracked);
  std::atomic<bool> returned{false};
  std::thread core([&] {
    loop.run();
    returned = true;
  });
  std::this_thread::sleep_for(50ms);
  const bool kept_running = !returned;  // nothing to run, but work outstanding
  asio::post(loop.urgentExecutor(), [&] { tracked.reset(); });
  core.join();
  return kept_running && returned;
}

TEST(CoreLoopTest, TrackedWorkKeepsTheLoopRunning) {
  asio::io_context io;
  CoreLoop loop(io);
  EXPECT_TRUE(runsWhileTracked(loop));
}

TEST(CoreLoopTest, CopiesCountTheirWorkOnce) {
  asio::io_context io;
  CoreLoop loop(io);
  {
    const asio::any_io_executor tracked = asio::prefer(asio::any_io_executor(loop.urgentExecutor()),
                                                       asio::execution::outstanding_work.tracked);
    asio::any_io_executor copy = tracked;
    asio::any_io_executor assigned = asio::any_io_executor(loop.urgentExecutor());
    assigned = copy;
    copy = asio::any_io_executor(loop.urgentExecutor());
  }
  // Counted once each (the loop would never return otherwise) and given
  // back once each (a count given back twice would let the loop return
  // while the next tracked executor lives). The last count given back
  // stopped the io_context, as it would have stopped io_context::run().
  io.restart();
  EXPECT_TRUE(runsWhileTracked(loop));
}

}  // namespace
}  // namespace zp::server
