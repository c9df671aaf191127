#include "server/concurrently.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

namespace zp::server {

namespace asio = boost::asio;

asio::awaitable<void> runConcurrently(std::vector<Task> tasks) {
  if (tasks.empty()) co_return;
  struct Join {
    explicit Join(const asio::any_io_executor& ex, std::size_t n) : done(ex), remaining(n) {}
    asio::steady_timer done;  // never expires; cancelled by the last task
    std::size_t remaining;
  };
  auto ex = co_await asio::this_coro::executor;
  auto join = std::make_shared<Join>(ex, tasks.size());
  join->done.expires_at(asio::steady_timer::time_point::max());
  for (auto& task : tasks) {
    asio::co_spawn(
        ex,
        [join, task = std::move(task)]() -> asio::awaitable<void> {
          try {
            co_await task();
          } catch (...) {
            // A broken task must not leave the caller waiting forever.
          }
          if (--join->remaining == 0) join->done.cancel();
        },
        asio::detached);
  }
  while (join->remaining > 0) {
    boost::system::error_code ec;
    co_await join->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace zp::server
