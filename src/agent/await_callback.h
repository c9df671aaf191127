#pragma once
// awaitCallback: suspends a coroutine (Boost.Asio awaitable) until a
// callback-style operation reports its outcome, without holding a thread.
//
//   Status s = co_await awaitCallback<Status>([entry](auto done) {
//     runtime.stopContainer(..., std::move(done));   // calls done(Status) once, anywhere
//   });
//
// `start` runs once the coroutine is suspended and receives `done`, a
// copyable std::function<void(T)>-compatible callable that may be called from
// any thread (even before `start` returns); the coroutine then resumes on its
// own executor, never inside `done`. As the coroutine may already be running
// again when `start` continues, `start` must capture by value and must not
// touch the coroutine's locals after handing `done` over (`start` itself is
// moved onto the initiating thread's stack first, so its captures stay valid). The executor is
// kept busy (outstanding work) until `done` is called, so a thread pool does
// not finish while an operation is pending.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

namespace zp::agent {

template <typename T, typename Start>
boost::asio::awaitable<T> awaitCallback(Start start) {
  namespace asio = boost::asio;
  auto initiation = [start = std::move(start)](auto handler) mutable {
    // Once `done` is handed over the coroutine may resume on another thread
    // and destroy this initiation object: from here on use locals only.
    auto run = std::move(start);
    auto work = asio::prefer(asio::get_associated_executor(handler),
                             asio::execution::outstanding_work.tracked);
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    run([work, shared](T value) {
      asio::post(work,
                 [shared, value = std::move(value)]() mutable { (*shared)(std::move(value)); });
    });
  };
  // (GCC 12: awaited operations are built in a named variable first.)
  auto operation = asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
      std::move(initiation), asio::use_awaitable);
  co_return co_await std::move(operation);
}

}  // namespace zp::agent
