#pragma once
// ContainerEventFeed: follows the container event streams
// (GetContainerEvents) of some CRI runtimes, one thread per runtime, and
// calls `changed(FeedReport::kEvent)` for every event. A stream that ends (the runtime
// restarted, or went away) is opened again after a back-off that starts at
// `initial`, doubles up to `max` (with an ExitRelist, up to its `max` if
// that is shorter), and starts over once a stream has delivered an event.
// A runtime that serves no events (kUnimplemented, as containerd 1.6) is
// not asked again; with an ExitRelist it is relisted instead: its exited
// containers, at a short interval, and `changed(FeedReport::kExitRelist)`
// is called once per relist that lists one the previous relist did not. An event says only that
// something changed: the caller's own listing stays the source of truth,
// and changes missed between two streams are its to find.
//
// Destruction cancels the streams and joins the threads: `changed` is never
// called once the destructor has returned. A relist in flight is not
// cancelled: with a runtime that hangs, the destructor waits for its 1 s
// deadline. `changed` runs on the feed's threads, must be quick and must
// not destroy the feed. The clients must outlive the feed.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cri/client.h"

namespace zp::cri {

// ContainerEventFeed's back-off between streams of one runtime.
struct ContainerEventBackoff {
  std::chrono::milliseconds initial{std::chrono::seconds(1)};
  std::chrono::milliseconds max{std::chrono::seconds(30)};
};

// For a runtime without container events: how often its exited containers
// are listed. The wait grows by one `interval` per kExitRelistBatch
// containers the last relist returned (a node that keeps many ended
// containers is relisted less often), up to `max`; after failed relists it
// starts at `interval` and doubles up to `max`. `interval` zero: no relist.
struct ExitRelist {
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds max{std::chrono::seconds(1)};

  bool on() const { return interval.count() > 0; }
  // The longest wait between relists (`max`, but never below `interval`).
  std::chrono::milliseconds longest() const { return std::max(max, interval); }
};
inline constexpr std::size_t kExitRelistBatch = 64;

// What made a ContainerEventFeed call: one event of a stream (others may
// follow within moments), or one relist's findings, all of them at once.
enum class FeedReport { kEvent, kExitRelist };

class ContainerEventFeed {
 public:
  struct Source {
    std::string name;  // for the log, e.g. `runtime class "native" (unix:///...)`
    const Client* client;
    // The caller's containers (a label selector, say); the exit relist adds
    // the state EXITED to it.
    v1::ContainerFilter containers;
  };
  ContainerEventFeed(std::vector<Source> sources, std::function<void(FeedReport)> changed,
                     ContainerEventBackoff backoff = {}, ExitRelist relist = {});
  ~ContainerEventFeed();
  ContainerEventFeed(const ContainerEventFeed&) = delete;
  ContainerEventFeed& operator=(const ContainerEventFeed&) = delete;

 private:
  // The thread of sources_[index].
  void follow(std::size_t index);
  // The same thread once the runtime turned out to serve no events; until
  // the destructor. `lock` holds mu_ on entry and on return.
  void relistExited(std::size_t index, std::unique_lock<std::mutex>& lock);

  const std::vector<Source> sources_;
  const std::function<void(FeedReport)> changed_;
  const ContainerEventBackoff backoff_;
  const ExitRelist relist_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<ContainerEventStream*> open_;  // by source; null between streams
  std::vector<std::thread> threads_;
};

}  // namespace zp::cri
