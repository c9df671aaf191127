#pragma once
// NodeRegistry: the nodes the server manages (docs/architecture.md §8.1,
// §8.2, §8.5, §8.6) — the Fleet the workload service uses.
//
// Owns node membership (the config file's nodes, the stored ones, API
// additions; every change is durable through the CommitQueue before it is
// answered), each node's NodeLifecycle and AgentLink, and the running count
// of the resources allocated on each node. A timer loop calls tick(now)
// every tick_interval with the MonotonicClock's time: it drives the
// lifecycles (NotReady, Lost) and the heartbeats, so a step of the wall clock
// changes no node's state. The wall Clock only stamps what is shown
// (last_heartbeat) and stored (added_at).
//
// Log streams: at most `link.max_log_streams` per node at once (openLogs
// beyond it is kResourceExhausted), so log followers never use up the
// agent's connections.
//
// FleetListener calls: onResync when a node (re)connected and listed its
// workloads (the node becomes Ready when it returns); onStatus for pushes
// from Ready nodes; onNodeChanged when a node's state changes (Ready,
// NotReady, Lost), when it is added, cordoned or uncordoned, and when its
// capacity, classes or isolation list change; onNodeRemoved after a node
// was removed.
//
// Isolation (docs/architecture.md §10.3): each node's list of class
// verifications comes with its Hello answer and with every heartbeat or
// probe answer that carries one (an answer without `isolation` keeps the
// list; on one connection a list of a lower isolation_revision than the one
// held is stale and ignored). It is kept in memory only (a restarted server
// learns it at the next Hello) and survives reconnections. Whenever a
// *verified* entry's quarantined() differs from the class's last verified
// state (a class first seen quarantined counts; an entry that turned
// unverified, e.g. expired, changes nothing) the registry logs it and
// appends an audit entry through the CommitQueue:
// principal "node:<id>", action "isolation.quarantined" or
// "isolation.released", target "<class> (<level>, claim <claim>)", result
// 200, source the node's address.
//
// Threading: everything runs on the executor given at construction (the
// server's io_context); nothing is thread-safe. shutdown() ends the tick
// loop and every link; destroy the registry only after the io_context has
// run out of the work that ends (its coroutines refer to it until then).

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "server/config.h"
#include "server/nodes/agent_link.h"
#include "server/nodes/fleet.h"
#include "server/nodes/node_lifecycle.h"
#include "store/commit_queue.h"
#include "store/store.h"

namespace zp::server {

struct NodeRegistryOptions {
  LifecycleOptions lifecycle;
  // heartbeat_interval and heartbeat_timeout are set from `lifecycle`
  // (heartbeat_interval, not_ready_after).
  AgentLinkOptions link;
  std::chrono::milliseconds tick_interval{200};
  // How long POST /nodes/{id}/probe waits for the agent's ProbeIsolation.
  std::chrono::milliseconds probe_timeout{std::chrono::minutes(5)};
};

// The lifecycle and link options of a server configuration.
NodeRegistryOptions nodeRegistryOptions(const ServerConfig& config);

class NodeRegistry final : public Fleet {
 public:
  // Borrows `commits`, `clock` and `monotonic`, which must outlive it.
  NodeRegistry(boost::asio::any_io_executor executor, store::CommitQueue& commits,
               const Clock& clock, NodeRegistryOptions options = {},
               const MonotonicClock& monotonic = SteadyMonotonicClock::instance());
  ~NodeRegistry() override;
  NodeRegistry(const NodeRegistry&) = delete;
  NodeRegistry& operator=(const NodeRegistry&) = delete;

  // Set before start(); may be null (nobody listens).
  void setListener(FleetListener* listener) { listener_ = listener; }

  // Membership at start: the stored nodes (Store::loadNodes) plus the
  // configured ones; for a node in both the file's address wins. Writes
  // nothing. Call once, before start(); kInvalidArgument for a configured
  // node that fails validation (validateConfig catches these first).
  Status load(std::vector<store::NodeRecord> stored, const std::vector<NodeConfig>& configured);
  // Starts every link and the tick loop.
  void start();
  // Ends the tick loop and every link (their calls fail kCancelled). Idempotent.
  void shutdown();

  // Adds a node: id a DNS-1123 label, address HOST:PORT with a port > 0, and
  // a loopback IP when the links have no TLS (kInvalidArgument naming
  // "id"/"address"), kAlreadyExists for a known id,
  // the store's error when the commit fails. The view of the new node.
  boost::asio::awaitable<Result<NodeView>> add(std::string id, std::string address);
  // Removes a node: kNotFound if unknown; kFailedPrecondition while
  // workloads are counted on it, unless `force`. The view it had.
  boost::asio::awaitable<Result<NodeView>> remove(std::string id, bool force);
  // Cordons / uncordons (persisted): a cordoned node is not schedulable.
  boost::asio::awaitable<Result<NodeView>> cordon(std::string id);
  boost::asio::awaitable<Result<NodeView>> uncordon(std::string id);

  // Asks the node to probe `runtime_class` ("" = every class) now
  // (ProbeIsolation, docs/architecture.md §10.2), applies the isolation list
  // of its answer, and returns the node's view. kNotFound for an unknown
  // node (or an unknown class: the agent's NotFound), kUnavailable when the
  // node is not connected, kDeadlineExceeded after options.probe_timeout.
  boost::asio::awaitable<Result<NodeView>> probe(std::string id, std::string runtime_class);

  // One round of the timer loop at `now` of the MonotonicClock (public so
  // tests can drive it).
  void tick(MonotonicTime now);

  // Fleet
  std::vector<NodeView> nodes() const override;
  const std::vector<NodeView>& schedulingNodes() const override;
  std::optional<NodeView> node(std::string_view id) const override;
  std::optional<NodeState> state(std::string_view id) const override;
  std::optional<api::ClassIsolation> classIsolation(std::string_view id,
                                                    std::string_view runtime_class) const override;
  void allocate(std::string_view node, const api::Resources& resources) override;
  void release(std::string_view node, const api::Resources& resources) override;
  boost::asio::awaitable<Result<protocol::ReplyBody>> call(
      std::string_view node, protocol::RequestBody request,
      std::chrono::milliseconds timeout) override;
  boost::asio::awaitable<Result<std::unique_ptr<LogStream>>> openLogs(
      std::string_view node, protocol::Logs request) override;

 private:
  struct Node {
    Node(store::NodeRecord record, LifecycleOptions options, MonotonicTime now)
        : record(std::move(record)), lifecycle(options, now) {}
    store::NodeRecord record;                     // id, address, cordoned, added_at
    std::vector<std::string> configured_classes;  // from the config, until NodeInfo
    NodeLifecycle lifecycle;                      // on the monotonic clock
    std::optional<TimePoint> last_heartbeat;      // wall time, for the view
    std::optional<api::NodeInfo> info;  // the agent's last Node answer, without `isolation`
    // The agent's class verifications, sorted by class, and the revision
    // they came with (nullopt before the first list).
    std::vector<api::ClassIsolation> isolation;
    std::optional<std::int64_t> isolation_revision;
    // The classes whose last verified entry was quarantined (what the audit
    // of quarantine changes compares with).
    std::set<std::string, std::less<>> quarantined;
    api::Resources allocated;
    int workloads = 0;
    bool removing = false;  // a removal is being committed: not schedulable
    std::shared_ptr<AgentLink> link;
  };

  Node* find(std::string_view id);
  const Node* find(std::string_view id) const;
  // `findings` false leaves the isolation items' findings out (the
  // scheduling snapshot).
  NodeView view(const Node& node, bool findings = true) const;
  // Whether `cached` still shows `node`'s scheduling inputs.
  static bool schedulingCurrent(const NodeView& cached, const Node& node);
  // The cached view of `id` in scheduling_, or null.
  NodeView* cachedView(std::string_view id);
  // Creates the node's link (started if the registry is).
  void attachLink(Node& node);
  void notifyChanged(const Node& node);
  // Link events, by node id (the node may be gone by then).
  void onConnected(const std::string& id, const AgentLink* link, const api::NodeInfo& info);
  boost::asio::awaitable<void> onResynced(std::string id, const AgentLink* link,
                                          std::vector<api::WorkloadStatus> items);
  void onPushed(const std::string& id, const AgentLink* link, const api::WorkloadStatus& status);
  void onHeartbeat(const std::string& id, const AgentLink* link, const api::NodeInfo& info);
  void onDisconnected(const std::string& id, const AgentLink* link, std::string_view reason,
                      const std::string& message);
  // Records `info` (from a Hello answer when `hello`); true when capacity,
  // classes or the isolation list changed.
  bool updateInfo(Node& node, api::NodeInfo info, bool hello);
  // Replaces the node's isolation list with `classes` of `revision` unless
  // it is stale (see above); audits quarantine changes. True when it changed.
  bool updateIsolation(Node& node, std::vector<api::ClassIsolation> classes, std::int64_t revision,
                       bool hello);
  // Logs and audits each class whose quarantined() differs between the lists.
  void auditQuarantine(Node& node, const std::vector<api::ClassIsolation>& before,
                       const std::vector<api::ClassIsolation>& after);
  // A heartbeat, Hello or resync answered now: the wall time for the view.
  void stampHeartbeat(Node& node);
  boost::asio::awaitable<Result<NodeView>> setCordoned(std::string id, bool cordoned);
  boost::asio::awaitable<void> tickLoop();

  boost::asio::any_io_executor executor_;
  store::CommitQueue& commits_;
  const Clock& clock_;
  const MonotonicClock& monotonic_;
  NodeRegistryOptions options_;
  FleetListener* listener_ = nullptr;
  std::map<std::string, std::unique_ptr<Node>, std::less<>> nodes_;
  std::set<std::string, std::less<>> adding_;  // ids whose addition is being committed
  // schedulingNodes(): views in id order, checked against the nodes on every
  // use (no allocation) and rebuilt only when something but the allocation
  // changed; allocate()/release() update their entry in place.
  mutable std::vector<NodeView> scheduling_;
  // Bumped whenever a node's isolation list changes; scheduling_ was built
  // at scheduling_epoch_ (the lists are not compared on every use).
  std::uint64_t isolation_epoch_ = 0;
  mutable std::uint64_t scheduling_epoch_ = 0;
  boost::asio::steady_timer tick_timer_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace zp::server
