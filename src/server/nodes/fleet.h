#pragma once
// The seam between the workload service and the node registry
// (docs/architecture.md §8.1, §8.2, §8.5, §8.6). The WorkloadService sees the
// nodes only through `Fleet` and hears from them only through `FleetListener`;
// NodeRegistry implements Fleet, tests use a fake. Everything here runs on the
// server's single executor; nothing is thread-safe.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/node.h"
#include "api/workload.h"
#include "common/status.h"
#include "common/time.h"
#include "protocol/messages.h"

namespace zp::server {

enum class NodeState { kReady, kNotReady, kLost };
std::string_view nodeStateName(NodeState state);  // "Ready", "NotReady", "Lost"

// What the scheduler and the API see of one node.
struct NodeView {
  std::string id;
  std::string address;  // HOST:PORT of its agent
  NodeState state = NodeState::kNotReady;
  std::string reason;    // why NotReady/Lost ("NoHeartbeat", "ConnectionRefused", ...); "" when Ready
  std::string message;   // human detail for `reason`
  bool schedulable = true;  // false while cordoned
  std::optional<TimePoint> last_heartbeat;
  api::Resources capacity;   // from the agent's last Node answer; zeros before
  api::Resources allocated;  // running count of what placed, non-final workloads request
  std::vector<std::string> runtime_classes;  // offered classes, sorted
  // The agent's verification of its classes (docs/architecture.md §10),
  // sorted by class, from its Hello and heartbeats; empty before the first.
  std::vector<api::ClassIsolation> isolation;
  std::string version;       // the agent's
  int workloads = 0;         // workloads placed on it and not final
  api::Resources allocatable() const {
    return {capacity.memory_mb - allocated.memory_mb,
            capacity.cpu_millicores - allocated.cpu_millicores};
  }
  // Whether the node offers `runtime_class`.
  bool offers(std::string_view runtime_class) const;
  // Whether it offers `runtime_class` and its verification of the class
  // satisfies `requirement` (docs/architecture.md §8.3, §10.3; a class
  // without an entry is unverified, which only "any" takes).
  bool admits(std::string_view runtime_class, const api::IsolationRequirement& requirement) const;
};

// What a workload's status needs of its node (docs/architecture.md §8.5).
struct NodeStatus {
  NodeState state = NodeState::kNotReady;
  std::string reason;   // "" when Ready
  std::string message;  // "" when Ready
};

// `entry` without its findings (every other field as it is).
api::ClassIsolation withoutFindings(const api::ClassIsolation& entry);
// `runtime_class`'s entry in `classes` without its findings, or an
// unverified entry for it when there is none.
api::ClassIsolation isolationSummary(const std::vector<api::ClassIsolation>& classes,
                                     std::string_view runtime_class);

// The classes some node offers, sorted, each once.
std::vector<std::string> offeredClasses(const std::vector<NodeView>& nodes);

// A log stream opened on a node (its own connection): LogLine items until a
// LogEnd. Destroying it closes the connection; not while a next() is
// suspended (cancel() first).
class LogStream {
 public:
  virtual ~LogStream() = default;
  using Item = std::variant<protocol::LogLine, protocol::LogEnd, protocol::LogMark>;
  // The next item; an Error when the connection fails (kUnavailable) or the
  // agent answers Error (its code and message).
  virtual boost::asio::awaitable<Result<Item>> next() = 0;
  // Ends the stream from this side (the HTTP client left, the server stops):
  // closes the connection, and a next() suspended now or called later
  // returns kCancelled. Idempotent; never blocks.
  virtual void cancel() = 0;
};

class SchedulingIndex;  // scheduling_index.h

// The nodes, as the workload service uses them.
class Fleet {
 public:
  Fleet();
  virtual ~Fleet();

  // Every node, ordered by id.
  virtual std::vector<NodeView> nodes() const = 0;
  // The same, for scheduling: state, schedulability, capacity, allocation,
  // classes and the isolation items' class, claim, level and score are
  // current; last_heartbeat, reason, message and the items' other fields
  // (verified_at, attempted_at, ...) may lag, and the items may leave out
  // their findings. No
  // copy: valid until the fleet next changes (use it without suspending). The
  // default builds it from nodes().
  virtual const std::vector<NodeView>& schedulingNodes() const {
    scheduling_scratch_ = nodes();
    return scheduling_scratch_;
  }
  // The same views indexed by free capacity per class (what the scheduler
  // places with), under the same contract: valid until the fleet next
  // changes. The default builds it from nodes() on every call.
  virtual const SchedulingIndex& schedulingIndex() const;
  virtual std::optional<NodeView> node(std::string_view id) const = 0;
  // The node's state without copying its view; nullopt when unknown.
  virtual std::optional<NodeState> state(std::string_view id) const {
    auto view = node(id);
    return view ? std::optional<NodeState>(view->state) : std::nullopt;
  }
  // The node's state, reason and message without copying its view; nullopt
  // when unknown.
  virtual std::optional<NodeStatus> nodeStatus(std::string_view id) const {
    auto view = node(id);
    if (!view) return std::nullopt;
    return NodeStatus{view->state, std::move(view->reason), std::move(view->message)};
  }
  // The node's verification of `runtime_class` without its findings (for
  // display); a class it has no entry for is kUnverified. nullopt when the
  // node is unknown.
  virtual std::optional<api::ClassIsolation> classIsolation(std::string_view id,
                                                            std::string_view runtime_class) const;

  // Capacity accounting: the service counts a workload on its node when it is
  // placed (or loaded at start) and releases it when it ends or goes away.
  virtual void allocate(std::string_view node, const api::Resources& resources) = 0;
  virtual void release(std::string_view node, const api::Resources& resources) = 0;

  // One request on the node's persistent connection. kUnavailable when the
  // node is unknown or not connected, kDeadlineExceeded after `timeout`, an
  // agent Error as its code and message. Never throws.
  virtual boost::asio::awaitable<Result<protocol::ReplyBody>> call(
      std::string_view node, protocol::RequestBody request, std::chrono::milliseconds timeout) = 0;

  // Opens a log stream on its own connection to the node.
  virtual boost::asio::awaitable<Result<std::unique_ptr<LogStream>>> openLogs(
      std::string_view node, protocol::Logs request) = 0;
 private:
  mutable std::vector<NodeView> scheduling_scratch_;
  mutable std::unique_ptr<SchedulingIndex> index_scratch_;
};

// What the node registry tells the workload service. Called on the executor.
class FleetListener {
 public:
  virtual ~FleetListener() = default;

  // A node (re)connected and listed everything it runs (`items`, all pages).
  // The service fences copies it should not run (RemoveWorkload {id, uid}),
  // re-delivers what it should run but does not, and applies the statuses.
  // The node is marked Ready when this returns.
  virtual boost::asio::awaitable<void> onResync(std::string node,
                                                std::vector<api::WorkloadStatus> items) = 0;
  // A pushed status change (WorkloadEvent) from a Ready node.
  virtual void onStatus(const std::string& node, const api::WorkloadStatus& status) = 0;
  // The node's state changed (Ready -> NotReady -> Lost, or back), or it was
  // cordoned/uncordoned/added, or its classes, capacity or the scheduling
  // inputs of its isolation list (class, claim, level, score) changed.
  // Capacity may have appeared: the service retries its Unschedulable
  // queue; on Lost it reschedules (§8.6). `node` carries its isolation
  // items without their findings.
  virtual void onNodeChanged(const NodeView& node) = 0;
  // What a workload's status shows of these classes on the node (level,
  // score, quarantined: docs/architecture.md §10.3) changed; `classes` is
  // sorted. The service publishes its records of these classes there.
  virtual void onIsolationChanged(const std::string& node,
                                  const std::vector<std::string>& classes) = 0;
  // The node was removed (DELETE /nodes/{id}; while workloads are counted on
  // it only with force=true): its workloads are treated as on a lost node.
  virtual void onNodeRemoved(const std::string& node) = 0;
};

}  // namespace zp::server
