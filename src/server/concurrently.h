#pragma once
// Fan-out helper for coroutines (Boost 1.74 has no parallel_group).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <vector>

namespace zp::server {

using Task = std::function<boost::asio::awaitable<void>()>;

// Starts every task on the calling coroutine's executor, all at once, and
// resumes when the last one has finished. Tasks must not throw (errors are
// values); they may capture references to the caller's locals, which outlive
// them because the caller waits.
boost::asio::awaitable<void> runConcurrently(std::vector<Task> tasks);

}  // namespace zp::server
