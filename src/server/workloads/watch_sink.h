#pragma once
// Where the workload service reports every change to a workload record, for
// the watch API (docs/architecture.md §7). WatchHub implements it.

#include <string_view>

#include "store/store.h"

namespace zp::server {

enum class WatchEventType { kAdded, kModified, kDeleted };
std::string_view watchEventTypeName(WatchEventType type);  // "ADDED", "MODIFIED", "DELETED"

struct WatchEvent {
  WatchEventType type = WatchEventType::kModified;
  store::WorkloadRecord record;  // after the change (the last state for kDeleted)
};

// Called on the server's executor, after the change is durable. Must not block.
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  virtual void publish(const WatchEvent& event) = 0;
  // False when publish() would drop every event now (nobody watches): the
  // service then builds none.
  virtual bool listening() const { return true; }
};

}  // namespace zp::server
