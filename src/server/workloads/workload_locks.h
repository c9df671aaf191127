#pragma once
// Per-workload mutual exclusion for operations that change a workload on its
// agent (StartWorkload, RemoveWorkload), so a re-send from the reconciler can
// never race a delete into an orphaned sandbox.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <string>

namespace zp::server {

// An async mutex per workload id. Owns the map of held ids; lives on the
// server's single executor and is not thread-safe.
class WorkloadLocks {
 public:
  // Holds the lock of one id until destroyed. Movable.
  class Guard {
   public:
    Guard(WorkloadLocks* owner, std::string id) : owner_(owner), id_(std::move(id)) {}
    Guard(Guard&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), id_(std::move(other.id_)) {}
    Guard& operator=(Guard&&) = delete;
    Guard(const Guard&) = delete;
    ~Guard() {
      if (owner_ != nullptr) owner_->release(id_);
    }

   private:
    WorkloadLocks* owner_;
    std::string id_;
  };

  // Waits until no one holds `id`, then holds it.
  boost::asio::awaitable<Guard> acquire(std::string id);
  bool held(const std::string& id) const { return held_.contains(id); }

 private:
  void release(const std::string& id);

  // Held ids; each timer never expires and is cancelled on release to wake waiters.
  std::map<std::string, std::shared_ptr<boost::asio::steady_timer>> held_;
};

}  // namespace zp::server
