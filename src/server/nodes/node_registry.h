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
// capacity, classes or the scheduling inputs of its isolation list (class,
// claim, level, score) change; onIsolationChanged when what a workload's
// status shows of a class (level, score, quarantined) changed; onNodeRemoved
// after a node was removed.
//
// Isolation (docs/architecture.md §10.3): each node's list of class
// verifications comes with its Hello answer and with every heartbeat or
// probe answer that carries one. A Hello without one (an agent that does not
// verify) empties the list: every class is unverified. A heartbeat answer
// without one keeps the list; on one connection a list of a lower
// isolation_revision than the one held is stale and ignored. Items whose
// runtime_class is no DNS-1123 label, is not one the node offers, or is
// named more than once are dropped (one warning per distinct problem, with
// the names quoted and made printable). The list is kept in memory only (a
// restarted server learns it at the next Hello) and survives reconnections.
// Whenever a *verified* entry's quarantined() differs from the class's last
// verified state (a class first seen quarantined counts; an entry that
// turned unverified, e.g. expired, changes nothing) the registry logs it and
// appends an audit entry through the CommitQueue: principal "node:<id>",
// action "isolation.quarantined" or "isolation.released", target "<class>
// (<level>, claim <claim>)", result 200, source the node's address; at most
// one per (node, class) per options.quarantine_audit_interval of the
// monotonic clock (QuarantineAudit: a change within it is held and written
// when the interval is over, noting "; N changes suppressed").
//
// Probes on demand (probe()): one ProbeIsolation in flight per (node,
// class), "" = every class; a request for a class joins the node's probe of
// that class or (if the node offers it) of every class, and gets the same
// answer. At most
// options.max_probe_calls of a node's call slots go to probes, so probes
// never starve its workload calls.
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
#include <cstddef>
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
#include "server/async_slots.h"
#include "server/config.h"
#include "server/nodes/agent_link.h"
#include "server/nodes/fleet.h"
#include "server/nodes/node_lifecycle.h"
#include "server/nodes/quarantine_audit.h"
#include "store/commit_queue.h"
#include "store/store.h"

namespace zp::server {

// A node's heartbeat phase: a fixed point in [0, interval) from its id
// (FNV-1a), so a fleet's heartbeats are spread over the interval and a node
// keeps its phase across reconnects and server restarts.
std::chrono::milliseconds heartbeatPhase(std::string_view node_id,
                                         std::chrono::milliseconds interval);

struct NodeRegistryOptions {
  LifecycleOptions lifecycle;
  // heartbeat_interval and heartbeat_timeout are set from `lifecycle`
  // (heartbeat_interval, not_ready_after).
  // heartbeat_phase is set per node (see spread_heartbeats).
  AgentLinkOptions link;
  // Heartbeats go out on these ticks, each node at its phase: short enough
  // that a thousand nodes' heartbeats (1 s apart) go about ten at a time.
  std::chrono::milliseconds tick_interval{10};
  // Each node's heartbeats at its own phase (link.heartbeat_phase); false:
  // every first heartbeat at its connection's first tick (tests that tick by
  // hand).
  bool spread_heartbeats = true;
  // How long POST /nodes/{id}/probe waits for the agent's ProbeIsolation
  // (server config probe_request_timeout_seconds), a wait for a probe slot
  // included.
  std::chrono::milliseconds probe_timeout{std::chrono::minutes(10)};
  // ProbeIsolation calls in flight per node at once (of link.max_in_flight).
  std::size_t max_probe_calls = 2;
  // At most one quarantine audit entry per (node, class) this often.
  std::chrono::milliseconds quarantine_audit_interval{std::chrono::minutes(1)};
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
  // of its answer, and returns the node's view; joins a probe of the class
  // (or of every class) already in flight on the node. kNotFound for an
  // unknown node, one removed before the answer, or an unknown class (the
  // agent's NotFound); kUnavailable when the node is not connected;
  // kDeadlineExceeded after options.probe_timeout; kCancelled when the
  // server stops first; kUnimplemented from an agent that does not probe.
  boost::asio::awaitable<Result<NodeView>> probe(std::string id, std::string runtime_class);

  // One round of the timer loop at `now` of the MonotonicClock (public so
  // tests can drive it).
  void tick(MonotonicTime now);

  // Fleet
  std::vector<NodeView> nodes() const override;
  const std::vector<NodeView>& schedulingNodes() const override;
  const SchedulingIndex& schedulingIndex() const override;
  std::optional<NodeView> node(std::string_view id) const override;

  // The backlog of one node's link, for GET /stats: calls in flight and
  // waiting for a slot, log streams open, workloads placed here and the
  // workloads the agent reported knowing in its last NodeInfo.
  struct LinkLoad {
    std::string node;
    std::size_t calls_in_flight = 0;
    std::size_t calls_waiting = 0;
    std::size_t log_streams = 0;
    int workloads_placed = 0;
    int agent_workloads = 0;
  };
  // One entry per node, ordered by id.
  std::vector<LinkLoad> linkLoads();
  std::optional<NodeState> state(std::string_view id) const override;
  std::optional<NodeStatus> nodeStatus(std::string_view id) const override;
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
  struct ProbeJob;  // one ProbeIsolation in flight (node_registry_probe.cc)

  struct Node {
    Node(store::NodeRecord record, LifecycleOptions options, MonotonicTime now,
         const boost::asio::any_io_executor& executor, std::size_t probe_calls,
         std::chrono::milliseconds audit_interval)
        : record(std::move(record)),
          lifecycle(options, now),
          probe_slots(std::make_shared<AsyncSlots>(executor, probe_calls)),
          audits(audit_interval) {}
    store::NodeRecord record;                     // id, address, cordoned, added_at
    std::vector<std::string> configured_classes;  // from the config, until NodeInfo
    NodeLifecycle lifecycle;                      // on the monotonic clock
    std::optional<TimePoint> last_heartbeat;      // wall time, for the view
    std::optional<api::NodeInfo> info;  // the agent's last Node answer, without `isolation`
    // The agent's class verifications (checked, sorted by class), the same
    // without their findings (scheduling, status lookups), and the revision
    // they came with (nullopt before the first list, or after a Hello
    // without one).
    std::vector<api::ClassIsolation> isolation;
    std::vector<api::ClassIsolation> summaries;
    std::optional<std::int64_t> isolation_revision;
    // The classes whose last verified entry was quarantined (what the audit
    // of quarantine changes compares with).
    std::set<std::string, std::less<>> quarantined;
    // The last warning about dropped isolation items (not repeated).
    std::string dropped_warning;
    // Probes in flight by class ("" = every class), and the node's probe
    // slots (shared: a probe waiting for one outlives a removed node).
    std::map<std::string, std::shared_ptr<ProbeJob>, std::less<>> probes;
    std::shared_ptr<AsyncSlots> probe_slots;
    QuarantineAudit audits;
    api::Resources allocated;
    int workloads = 0;
    bool removing = false;  // a removal is being committed: not schedulable
    std::shared_ptr<AgentLink> link;
  };

  std::unique_ptr<Node> makeNode(store::NodeRecord record, MonotonicTime now) const;
  Node* find(std::string_view id);
  const Node* find(std::string_view id) const;
  // `findings` false leaves the isolation items' findings out (the
  // scheduling snapshot).
  NodeView view(const Node& node, bool findings = true) const;
  // Whether `cached` still shows `node`'s scheduling inputs.
  static bool schedulingCurrent(const NodeView& cached, const Node& node);
  // The index's views again from every node (membership changed).
  void rebuildIndex();
  // The node's scheduling inputs may have changed: its entry in the index
  // follows. Called at every change of them (lifecycle state, cordon,
  // removal, capacity, classes, isolation); allocate()/release() update the
  // index themselves.
  void touched(const Node& node);
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
  // classes or the scheduling inputs of the isolation list changed.
  bool updateInfo(Node& node, api::NodeInfo info, bool hello);
  // Applies an isolation list of `revision` (nullopt `classes`: a Hello
  // without one, i.e. an empty list and no revision), unless it is stale
  // (see above): checks its items, audits quarantine changes, tells the
  // listener what workloads show differently. True when the scheduling
  // inputs (class, claim, level, score) changed.
  bool updateIsolation(Node& node, std::optional<std::vector<api::ClassIsolation>> classes,
                       std::int64_t revision, bool hello);
  // `items` without those the node must not report (above), sorted by class.
  std::vector<api::ClassIsolation> checkedIsolation(Node& node,
                                                    std::vector<api::ClassIsolation> items);
  // Logs and audits (rate-limited) each class whose quarantined() differs
  // between the lists.
  void auditQuarantine(Node& node, const std::vector<api::ClassIsolation>& before,
                       const std::vector<api::ClassIsolation>& after);
  // Logs and appends one quarantine audit entry of the node.
  void writeQuarantineEntry(const Node& node, const QuarantineAudit::Entry& entry);
  // The probe of a ProbeJob: waits for a probe slot, calls, applies.
  boost::asio::awaitable<Result<NodeView>> runProbe(std::string id, std::string runtime_class,
                                                    std::shared_ptr<AgentLink> link,
                                                    std::shared_ptr<AsyncSlots> slots);
  // Why a probe on `link` that ended in `error` failed: kNotFound when the
  // node is gone (or was removed and added again), kCancelled when the
  // server stops, else `error`.
  Error probeFailure(const std::string& id, const AgentLink* link, Error error) const;
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
  // schedulingNodes() and schedulingIndex(): the nodes' scheduling views,
  // kept current by touched() and allocate()/release() (no walk over the
  // nodes per use).
  std::unique_ptr<SchedulingIndex> index_;
  boost::asio::steady_timer tick_timer_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace zp::server
