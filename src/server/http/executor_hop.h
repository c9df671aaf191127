#pragma once
// Running a coroutine on another executor and coming back with its result
// (the API thread handing a request to the core, docs/architecture.md
// §8.1.1).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace zp::server {

// Runs `work` on `target` and resumes the caller, which runs on `here`, with
// its result there. When `target` is `here` the caller simply awaits `work`:
// no hop, so a server on one executor does not queue each request twice.
// Everything is taken by value: the coroutine starts after the call.
template <typename T>
boost::asio::awaitable<T> runOn(boost::asio::any_io_executor target,
                                boost::asio::any_io_executor here, boost::asio::awaitable<T> work) {
  if (target == here) {
    T result = co_await std::move(work);
    co_return result;
  }
  auto hop = boost::asio::co_spawn(target, std::move(work), boost::asio::use_awaitable);
  T result = co_await std::move(hop);
  co_return result;
}

inline boost::asio::awaitable<void> runOn(boost::asio::any_io_executor target,
                                          boost::asio::any_io_executor here,
                                          boost::asio::awaitable<void> work) {
  if (target == here) {
    co_await std::move(work);
    co_return;
  }
  auto hop = boost::asio::co_spawn(target, std::move(work), boost::asio::use_awaitable);
  co_await std::move(hop);
}

}  // namespace zp::server
