#pragma once
// PullLimiter: at most N image pulls in flight per registry, so one slow or
// hung registry cannot take every pull the node makes. Waiting is a queued
// callback, never a blocked thread. Pure bookkeeping: no I/O, no executor.
//
// Thread-safe. Callbacks run outside the internal lock, on the thread that
// made the slot available (acquire, release or cancel): keep them short
// (post to an executor) and do not call back into the limiter from them.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace zp::agent {

class PullLimiter {
 public:
  using Ticket = std::uint64_t;
  // Called exactly once: true once the caller holds a slot (it must call
  // release() later), false when the wait was cancelled.
  using Granted = std::function<void(bool)>;

  explicit PullLimiter(std::size_t per_registry);

  struct Request {
    Ticket ticket;  // identifies the request for cancel()
    bool queued;    // false: granted(true) ran before acquire() returned
  };
  // Asks for a slot of `registry`. If one is free, `granted(true)` runs before
  // acquire() returns; otherwise the request waits its turn (first come,
  // first served).
  Request acquire(const std::string& registry, Granted granted);
  // Gives a held slot back; the next waiter of that registry gets it.
  void release(const std::string& registry);
  // Ends a waiting request with `granted(false)`. No effect once granted.
  void cancel(Ticket ticket);
  // Ends every waiting request (granted(false)); for shutdown.
  void cancelAll();

  std::size_t active(const std::string& registry) const;
  std::size_t waiting(const std::string& registry) const;
  std::size_t perRegistry() const { return per_registry_; }

 private:
  struct Waiter {
    Ticket ticket;
    Granted granted;
  };
  struct Registry {
    std::size_t active = 0;
    std::deque<Waiter> waiting;
  };

  const std::size_t per_registry_;
  mutable std::mutex mutex_;
  std::map<std::string, Registry> registries_;
  Ticket next_ticket_ = 1;
};

}  // namespace zp::agent
