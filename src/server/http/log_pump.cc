#include "server/http/log_pump.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>

#include "server/async_event.h"

namespace zp::server {

namespace asio = boost::asio;

struct LogPump::State {
  State(asio::any_io_executor executor, std::unique_ptr<LogStream> s, std::size_t limit)
      : stream(std::move(s)), buffer(limit), changed(std::move(executor)) {}
  std::unique_ptr<LogStream> stream;
  std::size_t buffer;
  std::deque<Item> items;
  bool finished = false;  // the reader returned: nothing more will be queued
  bool cancelled = false;
  AsyncEvent changed;  // an item queued or taken, finished, cancelled, a deadline
};

LogPump::LogPump(asio::any_io_executor executor, std::unique_ptr<LogStream> stream,
                 std::size_t buffer)
    : state_(
          std::make_shared<State>(executor, std::move(stream), std::max<std::size_t>(buffer, 1))) {
  asio::co_spawn(executor, run(state_), asio::detached);
}

LogPump::~LogPump() { cancel(); }

asio::awaitable<void> LogPump::run(std::shared_ptr<State> state) {
  while (!state->cancelled) {
    Item item = co_await state->stream->next();
    if (state->cancelled) break;
    const bool last = !item || std::holds_alternative<protocol::LogEnd>(*item);
    state->items.push_back(std::move(item));
    state->changed.notify();
    if (last) break;
    while (state->items.size() >= state->buffer && !state->cancelled) {
      co_await state->changed.wait();
    }
  }
  state->finished = true;
  state->changed.notify();
}

const LogPump::Item* LogPump::peek() const {
  return state_->items.empty() ? nullptr : &state_->items.front();
}

asio::awaitable<void> LogPump::waitReady(std::chrono::milliseconds timeout) {
  auto state = state_;
  // Shared with the timer's handler, which may run after this frame is gone.
  auto expired = std::make_shared<bool>(false);
  asio::steady_timer deadline(co_await asio::this_coro::executor, timeout);
  deadline.async_wait([state, expired](boost::system::error_code ec) {
    if (ec) return;
    *expired = true;
    state->changed.notify();
  });
  while (state->items.empty() && !state->finished && !*expired) co_await state->changed.wait();
  deadline.cancel();
}

asio::awaitable<std::optional<LogPump::Item>> LogPump::take() {
  auto state = state_;
  while (state->items.empty() && !state->finished) co_await state->changed.wait();
  co_return tryTake();
}

std::optional<LogPump::Item> LogPump::tryTake() {
  if (state_->items.empty()) return std::nullopt;
  Item item = std::move(state_->items.front());
  state_->items.pop_front();
  state_->changed.notify();  // room for the reader
  return item;
}

void LogPump::cancel() {
  if (state_->cancelled) return;
  state_->cancelled = true;
  if (!state_->finished) state_->stream->cancel();
  state_->changed.notify();
}

}  // namespace zp::server
