#include "server/workloads/workload_locks.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace zp::server {

namespace asio = boost::asio;

asio::awaitable<WorkloadLocks::Guard> WorkloadLocks::acquire(std::string id) {
  while (true) {
    auto it = held_.find(id);
    if (it == held_.end()) {
      auto released = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
      released->expires_at(asio::steady_timer::time_point::max());
      held_.emplace(id, std::move(released));
      co_return Guard(this, std::move(id));
    }
    auto released = it->second;  // keeps the timer alive while we wait on it
    boost::system::error_code ec;
    co_await released->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void WorkloadLocks::release(const std::string& id) {
  auto it = held_.find(id);
  if (it == held_.end()) return;
  it->second->cancel();
  held_.erase(it);
}

}  // namespace zp::server
