#include "server/core_loop.h"

#include <boost/asio/post.hpp>
#include <memory>
#include <thread>

namespace zp::server {

namespace asio = boost::asio;

// any_io_executor keeps an executor this small in itself; a larger one it
// would allocate and share between copies.
static_assert(sizeof(UrgentExecutor) <= sizeof(std::shared_ptr<void>));

namespace {
// The urgent queue the calling thread runs, if it runs one (CoreLoop::run).
thread_local const asio::io_context* running_urgent = nullptr;
}  // namespace

UrgentExecutor::UrgentExecutor(CoreLoop& loop, bool tracked) noexcept
    : loop_(&loop), tracked_(tracked) {
  if (tracked_) loop_->io_.get_executor().on_work_started();
}

UrgentExecutor::UrgentExecutor(const UrgentExecutor& other) noexcept
    : UrgentExecutor(*other.loop_, other.tracked_) {}

UrgentExecutor& UrgentExecutor::operator=(const UrgentExecutor& other) noexcept {
  if (this != &other) {
    if (other.tracked_) other.loop_->io_.get_executor().on_work_started();
    if (tracked_) loop_->io_.get_executor().on_work_finished();
    loop_ = other.loop_;
    tracked_ = other.tracked_;
  }
  return *this;
}

UrgentExecutor::~UrgentExecutor() {
  if (tracked_) loop_->io_.get_executor().on_work_finished();
}

asio::execution_context& UrgentExecutor::query(asio::execution::context_t) const noexcept {
  return loop_->io_;
}

asio::io_context::executor_type UrgentExecutor::urgentQueue() const {
  return loop_->urgent_.get_executor();
}

void UrgentExecutor::wakeCore() const {
  // On the core thread the loop looks at the urgent queue next anyway.
  if (running_urgent == &loop_->urgent_) return;
  asio::post(loop_->io_, [] {});
}

CoreLoop::CoreLoop(asio::io_context& io) : io_(io), urgent_work_(asio::make_work_guard(urgent_)) {}

void CoreLoop::run() {
  // Set while this thread runs the loop, restored however run() ends (a
  // handler's exception passes through).
  struct Running {
    const asio::io_context* outer;
    explicit Running(const asio::io_context& urgent) : outer(running_urgent) {
      running_urgent = &urgent;
    }
    ~Running() { running_urgent = outer; }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;
  } running(urgent_);
  for (;;) {
    const std::size_t urgent = urgent_.poll();
    if (io_.stopped()) {
      if (urgent == 0) break;
      io_.restart();  // an urgent handler may have given it work again
    }
    io_.run_one();
  }
}

void CoreLoop::runWith(asio::io_context& api) {
  auto api_running = asio::make_work_guard(io_);
  std::thread api_thread([&] {
    api.run();
    asio::post(io_, [&api_running] { api_running.reset(); });
  });
  run();
  api_thread.join();
}

}  // namespace zp::server
