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
// its result there. When `target` is `here` this is `work` itself: no hop
// and no extra coroutine frame, so a server on one executor does not queue
// each request twice. Nothing starts before the result is awaited.
template <typename T>
boost::asio::awaitable<T> runOn(const boost::asio::any_io_executor& target,
                                const boost::asio::any_io_executor& here,
                                boost::asio::awaitable<T> work) {
  if (target == here) return work;
  return boost::asio::co_spawn(target, std::move(work), boost::asio::use_awaitable);
}

}  // namespace zp::server
