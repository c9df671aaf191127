// server::commit(): a coroutine on the server's io_context awaits a
// CommitQueue without blocking its thread, and resumes on that thread.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <optional>
#include <thread>

#include "server/commit.h"
#include "store/gated_store.h"

namespace zp::server {
namespace {

namespace asio = boost::asio;
using store::testing::GatedStore;

std::vector<store::Write> oneWrite(const std::string& id) {
  store::WorkloadRecord r;
  r.spec.id = id;
  r.status.id = id;
  return {store::PutWorkload{r}};
}

// Runs one commit() on `io` from a coroutine; records its outcome and thread.
struct Awaiter {
  std::optional<Status> result;
  std::thread::id resumed_on;

  void spawn(asio::io_context& io, store::CommitQueue& queue, std::string id) {
    auto work = asio::make_work_guard(io);  // the commit is not io_context work by itself
    auto run = [](Awaiter* self, store::CommitQueue* queue, std::string id,
                  decltype(work) guard) -> asio::awaitable<void> {
      auto batch = oneWrite(id);
      auto op = commit(*queue, std::move(batch));
      Status status = co_await std::move(op);
      self->resumed_on = std::this_thread::get_id();
      self->result = std::move(status);
      guard.reset();
    };
    auto coroutine = run(this, &queue, std::move(id), std::move(work));
    asio::co_spawn(io, std::move(coroutine), asio::detached);
  }
};

TEST(CommitAwaitableTest, ResumesOnTheIoContextThreadOnceDurable) {
  GatedStore store;
  store::CommitQueue queue(store);
  asio::io_context io;
  Awaiter awaiter;

  store.close();
  awaiter.spawn(io, queue, "wl-1");
  io.poll();  // runs the coroutine up to its wait; returns: the thread is not blocked
  store.waitForApplies(1);
  EXPECT_FALSE(awaiter.result);  // held inside the transaction: not told yet
  store.open();
  io.run();

  ASSERT_TRUE(awaiter.result);
  EXPECT_TRUE(*awaiter.result);
  EXPECT_EQ(awaiter.resumed_on, std::this_thread::get_id());
  ASSERT_EQ(store.applyThreads().size(), 1u);
  EXPECT_NE(store.applyThreads()[0], std::this_thread::get_id());  // the commit thread
  EXPECT_EQ(store.inner.workloadCount(), 1u);
}

TEST(CommitAwaitableTest, FailuresAndRefusalsAlsoResumeOnTheIoContextThread) {
  GatedStore store;
  store::CommitQueue queue(store);
  asio::io_context io;

  store.inner.failNextApplies(1);
  Awaiter failed;
  failed.spawn(io, queue, "wl-fails");
  io.run();
  ASSERT_TRUE(failed.result);
  ASSERT_FALSE(*failed.result);
  EXPECT_EQ(failed.result->error().code, Code::kUnavailable);
  EXPECT_EQ(failed.resumed_on, std::this_thread::get_id());

  queue.stop();
  io.restart();
  Awaiter refused;
  refused.spawn(io, queue, "wl-late");
  io.run();
  ASSERT_TRUE(refused.result);
  ASSERT_FALSE(*refused.result);
  EXPECT_EQ(refused.result->error().code, Code::kCancelled);
  EXPECT_EQ(refused.resumed_on, std::this_thread::get_id());
  EXPECT_EQ(store.inner.workloadCount(), 0u);
}

TEST(CommitAwaitableTest, ReadStoreRunsOnTheCommitThreadAndResumesOnTheIoContextThread) {
  GatedStore store;
  store::CommitQueue queue(store);
  asio::io_context io;
  std::optional<Result<std::size_t>> result;
  std::thread::id read_on;
  std::thread::id resumed_on;
  auto run = [&]() -> asio::awaitable<void> {
    auto write = commit(queue, oneWrite("wl-1"));
    EXPECT_TRUE(co_await std::move(write));
    std::function<Result<std::size_t>(store::Store&)> count =
        [&](store::Store& s) -> Result<std::size_t> {
      read_on = std::this_thread::get_id();
      auto all = s.loadWorkloads();
      if (!all) return fail(all.error());
      return all->size();
    };
    auto read = readStore<std::size_t>(queue, std::move(count));
    result = co_await std::move(read);
    resumed_on = std::this_thread::get_id();
  };
  asio::co_spawn(io, run(), asio::detached);
  io.run();

  ASSERT_TRUE(result);
  ASSERT_TRUE(*result) << result->error().toString();
  EXPECT_EQ(**result, 1u);  // ordered after the commit before it
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
  ASSERT_EQ(store.applyThreads().size(), 1u);
  EXPECT_EQ(read_on, store.applyThreads()[0]);

  queue.stop();
  io.restart();
  result.reset();
  auto late = [&]() -> asio::awaitable<void> {
    std::function<Result<std::size_t>(store::Store&)> never = [](store::Store&) {
      return Result<std::size_t>(0);
    };
    auto read = readStore<std::size_t>(queue, std::move(never));
    result = co_await std::move(read);
  };
  asio::co_spawn(io, late(), asio::detached);
  io.run();
  ASSERT_TRUE(result);
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().code, Code::kCancelled);
}

}  // namespace
}  // namespace zp::server
