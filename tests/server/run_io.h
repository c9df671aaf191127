#pragma once
// Driving an io_context from a test: run it until a condition holds, or
// until a coroutine finishes. The time limits are safety nets that make a
// broken test fail instead of hanging; no test depends on them otherwise.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>

namespace zp::server::testing {

inline constexpr std::chrono::seconds kRunLimit{20};

// Runs `io` until `done()` (checked between handlers); false if the limit passed first.
inline bool runUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::milliseconds limit = kRunLimit) {
  auto guard = boost::asio::make_work_guard(io);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  if (io.stopped()) io.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return done();
}

// Runs `task` on `io` to completion and returns its value.
template <typename T>
T runTask(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> out;
  std::exception_ptr error;
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    out.emplace(std::move(value));
  });
  if (!runUntil(io, [&] { return out.has_value(); })) throw std::runtime_error("task did not end");
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

}  // namespace zp::server::testing
