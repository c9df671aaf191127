#pragma once
// The watch fan-out (docs/architecture.md §7, §8.1): every change the workload
// service publishes goes to each watcher whose filter it concerns, through a
// bounded queue per watcher.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "api/workload.h"
#include "common/status.h"
#include "server/async_event.h"
#include "server/workloads/watch_sink.h"
#include "store/store.h"

namespace zp::server {

// Which records a watch concerns; unset fields match everything.
struct WatchFilter {
  std::optional<api::WorkloadState> state;
  std::optional<std::string> node;           // status.node
  std::optional<std::string> runtime_class;  // spec.runtime_class
  std::optional<std::string> id;             // one workload

  bool empty() const { return !state && !node && !runtime_class && !id; }
  bool matches(const store::WorkloadRecord& record) const;
};

inline constexpr std::size_t kDefaultWatchQueueLimit = 10'000;

class WatchHub;

// One subscription, owned by its consumer; destroying it leaves the hub.
// Yields the initial records (as ADDED) and then the published changes, as
// the filter sees them: a record that starts to match comes as ADDED, one
// that stops matching (or is deleted) as DELETED, other changes of a matching
// record as MODIFIED. Runs on the hub's executor; one consumer at a time.
class Watcher {
 public:
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // The next event; nullopt once the watch has ended (cancel(), the hub shut
  // down, or it fell behind: then error() says so).
  boost::asio::awaitable<std::optional<WatchEvent>> next();
  // Ends the watch: a next() in progress or later returns nullopt. Idempotent.
  void cancel();
  // Why the watch ended, when it did not end by cancel() or shutdown():
  // kResourceExhausted "watch fell behind; list again" when more than the
  // hub's limit of changes were waiting.
  const std::optional<Error>& error() const { return error_; }
  bool ended() const { return ended_; }
  const WatchFilter& filter() const { return filter_; }

 private:
  friend class WatchHub;
  Watcher(WatchHub& hub, WatchFilter filter, std::vector<store::WorkloadRecord> initial);

  struct Pending {
    WatchEventType type;
    std::shared_ptr<const store::WorkloadRecord> record;  // shared by every watcher
  };
  // From the hub's publish(): queues what the filter makes of `record`.
  void offer(WatchEventType type, const std::shared_ptr<const store::WorkloadRecord>& record,
             std::size_t limit);
  void end(std::optional<Error> error);

  WatchHub* hub_;  // null once the hub shut down
  WatchFilter filter_;
  std::vector<store::WorkloadRecord> initial_;
  std::size_t initial_next_ = 0;
  std::deque<Pending> queue_;
  // Ids of the records this watcher has reported as present (filtered
  // watchers only): decides ADDED/MODIFIED/DELETED as records move in and
  // out of the filter.
  std::unordered_set<std::string> present_;
  bool ended_ = false;
  std::optional<Error> error_;
  AsyncEvent wake_;
};

// Implements WatchSink for the workload service. Owns nothing but the list
// of live watchers; the watchers belong to their consumers. Everything runs
// on the executor given at construction (the server's single io_context);
// publish() never blocks and never suspends.
class WatchHub final : public WatchSink {
 public:
  explicit WatchHub(boost::asio::any_io_executor executor,
                    std::size_t queue_limit = kDefaultWatchQueueLimit);
  ~WatchHub() override;  // shuts down
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // A new watcher that first yields `initial` (the records matching `filter`
  // now, e.g. from the service's table; those not matching are dropped) as
  // ADDED, then every change published from now on. Take the snapshot and
  // subscribe without suspending in between, so nothing is missed or
  // doubled. After shutdown() the watcher has ended at once.
  std::unique_ptr<Watcher> subscribe(WatchFilter filter,
                                     std::vector<store::WorkloadRecord> initial = {});

  void publish(const WatchEvent& event) override;

  // Ends every watcher (their next() returns nullopt) and refuses new ones.
  // Idempotent.
  void shutdown();

  std::size_t watcherCount() const { return watchers_.size(); }
  bool listening() const override { return !watchers_.empty(); }

 private:
  friend class Watcher;
  void leave(Watcher* watcher);

  boost::asio::any_io_executor executor_;
  std::size_t queue_limit_;
  bool shut_down_ = false;
  std::vector<Watcher*> watchers_;  // live, not owned
};

}  // namespace zp::server
