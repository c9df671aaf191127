#pragma once
// Awaiting a CommitQueue from the server's executor: the coroutine resumes on
// its own executor once the batch is durable (or failed), or once a read ran
// on the queue's thread. The executor counts as busy meanwhile, so
// io_context::run() does not return under a commit or a read.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "common/status.h"
#include "store/commit_queue.h"

namespace zp::server {

// Submits `batch` and waits for its transaction without blocking the executor.
inline boost::asio::awaitable<Status> commit(store::CommitQueue& queue,
                                             std::vector<store::Write> batch) {
  auto executor = co_await boost::asio::this_coro::executor;
  co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                                 void(Status)>(
      [&queue, executor](auto handler, std::vector<store::Write> writes) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto work = std::make_shared<boost::asio::executor_work_guard<decltype(executor)>>(
            boost::asio::make_work_guard(executor));
        queue.submit(std::move(writes), [executor, shared, work](Status status) {
          boost::asio::post(executor, [shared, status = std::move(status)]() mutable {
            (*shared)(std::move(status));
          });
        });
      },
      boost::asio::use_awaitable, std::move(batch));
}

// Runs `read` on the commit queue's thread (a blocking store read kept off
// the executor, ordered after every batch submitted before it) and resumes
// with its result; kCancelled when the queue has stopped. Bind the call to a
// named local before co_await (GCC 12 and by-value arguments).
template <typename T>
boost::asio::awaitable<Result<T>> readStore(store::CommitQueue& queue,
                                            std::function<Result<T>(store::Store&)> read) {
  auto executor = co_await boost::asio::this_coro::executor;
  co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                                 void(Result<T>)>(
      [&queue, executor](auto handler, std::function<Result<T>(store::Store&)> job) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto work = std::make_shared<boost::asio::executor_work_guard<decltype(executor)>>(
            boost::asio::make_work_guard(executor));
        queue.read([executor, shared, work, job = std::move(job)](store::Store* store) {
          Result<T> result = store != nullptr
                                 ? job(*store)
                                 : Result<T>(fail(Code::kCancelled, "the store is shutting down"));
          boost::asio::post(executor, [shared, result = std::move(result)]() mutable {
            (*shared)(std::move(result));
          });
        });
      },
      boost::asio::use_awaitable, std::move(read));
}

}  // namespace zp::server
