#pragma once
// Reads a node's LogStream ahead of the HTTP writer, into a small queue, so
// the reader can be waited on with a deadline and woken when the client
// leaves (Boost 1.74 has no per-operation cancellation).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include "common/status.h"
#include "server/nodes/fleet.h"

namespace zp::server {

// Owns the read-ahead of one LogStream. A coroutine on `executor` reads items
// until a LogEnd, an error or cancel(), holding at most `buffer` items not
// yet taken. Destroying the pump cancels it; the stream itself is destroyed
// (its connection closed) once the reading coroutine has returned. Runs on
// `executor`; not thread-safe; one consumer.
class LogPump {
 public:
  using Item = Result<LogStream::Item>;

  LogPump(boost::asio::any_io_executor executor, std::unique_ptr<LogStream> stream,
          std::size_t buffer = 256);
  ~LogPump();
  LogPump(const LogPump&) = delete;
  LogPump& operator=(const LogPump&) = delete;

  // The item take() would return now, or null when none is ready.
  const Item* peek() const;
  // Waits until an item is ready, the pump has finished, or `timeout` passes.
  boost::asio::awaitable<void> waitReady(std::chrono::milliseconds timeout);
  // The next item; nullopt when the pump finished without one (cancelled).
  // A LogEnd or an error is the last item.
  boost::asio::awaitable<std::optional<Item>> take();
  // The next item if one is ready, without waiting.
  std::optional<Item> tryTake();
  // Stops reading: cancels the stream; take() then drains what is queued
  // and returns nullopt. Idempotent.
  void cancel();

 private:
  struct State;
  static boost::asio::awaitable<void> run(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace zp::server
