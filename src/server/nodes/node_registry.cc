#include "server/nodes/node_registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "api/validate.h"
#include "common/address.h"
#include "server/commit.h"
#include "server/nodes/scheduling_index.h"

namespace zp::server {

namespace asio = boost::asio;

namespace {

Status validateNode(std::string_view id, std::string_view address) {
  if (id.empty()) return fail(Code::kInvalidArgument, "id is required", "id");
  if (!api::isDns1123Label(id)) {
    return fail(Code::kInvalidArgument,
                "id \"" + std::string(id.substr(0, 80)) +
                    "\" must be a DNS-1123 label (lowercase letters, digits and '-', at most 63)",
                "id");
  }
  if (address.empty()) return fail(Code::kInvalidArgument, "address is required", "address");
  auto hp = parseHostPort(address, "address");
  if (!hp) return fail(hp.error());
  if (hp->port == 0) {
    return fail(Code::kInvalidArgument,
                "address \"" + std::string(address.substr(0, 200)) + "\" needs a non-zero port",
                "address");
  }
  return ok();
}

api::Resources minus(api::Resources a, const api::Resources& b) {
  a.memory_mb = std::max<std::int64_t>(0, a.memory_mb - b.memory_mb);
  a.cpu_millicores = std::max<std::int64_t>(0, a.cpu_millicores - b.cpu_millicores);
  return a;
}

}  // namespace

std::chrono::milliseconds heartbeatPhase(std::string_view id, std::chrono::milliseconds interval) {
  if (interval.count() <= 0) return std::chrono::milliseconds(0);
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : id) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(hash % static_cast<std::uint64_t>(interval.count())));
}

NodeRegistryOptions nodeRegistryOptions(const ServerConfig& config) {
  NodeRegistryOptions options;
  options.lifecycle.heartbeat_interval =
      std::chrono::milliseconds(config.node_heartbeat_interval_ms);
  options.lifecycle.not_ready_after = std::chrono::milliseconds(config.node_not_ready_after_ms);
  options.lifecycle.lost_after = std::chrono::seconds(config.node_lost_after_seconds);
  options.probe_timeout = std::chrono::seconds(config.probe_request_timeout_seconds);
  return options;
}

NodeRegistry::NodeRegistry(asio::any_io_executor executor, store::CommitQueue& commits,
                           const Clock& clock, NodeRegistryOptions options,
                           const MonotonicClock& monotonic)
    : executor_(std::move(executor)),
      commits_(commits),
      clock_(clock),
      monotonic_(monotonic),
      options_(options),
      index_(std::make_unique<SchedulingIndex>()),
      tick_timer_(executor_) {
  // One heartbeat cadence: the lifecycle's. A heartbeat unanswered for as
  // long as makes the node NotReady also ends its connection.
  options_.link.heartbeat_interval = options_.lifecycle.heartbeat_interval;
  options_.link.heartbeat_timeout = options_.lifecycle.not_ready_after;
}

NodeRegistry::~NodeRegistry() { shutdown(); }

NodeRegistry::Node* NodeRegistry::find(std::string_view id) {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second.get();
}

const NodeRegistry::Node* NodeRegistry::find(std::string_view id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second.get();
}

std::unique_ptr<NodeRegistry::Node> NodeRegistry::makeNode(store::NodeRecord record,
                                                           MonotonicTime now) const {
  return std::make_unique<Node>(std::move(record), options_.lifecycle, now, executor_,
                                options_.max_probe_calls, options_.quarantine_audit_interval);
}

NodeView NodeRegistry::view(const Node& node, bool findings) const {
  NodeView v;
  v.id = node.record.id;
  v.address = node.record.address;
  v.state = node.lifecycle.state();
  if (v.state != NodeState::kReady) {
    v.reason = node.lifecycle.reason();
    v.message = node.lifecycle.message();
  }
  v.schedulable = !node.record.cordoned && !node.removing;
  v.last_heartbeat = node.last_heartbeat;
  v.allocated = node.allocated;
  v.workloads = node.workloads;
  if (node.info) {
    v.capacity = node.info->capacity;
    v.runtime_classes = node.info->runtime_classes;
    v.version = node.info->version;
  } else {
    v.runtime_classes = node.configured_classes;
  }
  v.isolation = findings ? node.isolation : node.summaries;
  return v;
}

void NodeRegistry::notifyChanged(const Node& node) {
  if (listener_ != nullptr && !stopped_) listener_->onNodeChanged(view(node, /*findings=*/false));
}

Status NodeRegistry::load(std::vector<store::NodeRecord> stored,
                          const std::vector<NodeConfig>& configured) {
  const TimePoint now = clock_.now();
  const MonotonicTime since = monotonic_.now();
  for (auto& record : stored) {
    const std::string id = record.id;
    nodes_[id] = makeNode(std::move(record), since);
  }
  for (const auto& config : configured) {
    if (auto s = validateNode(config.id, config.address); !s) return s;
    Node* node = find(config.id);
    if (node == nullptr) {
      store::NodeRecord record{config.id, config.address, false, now};
      node = (nodes_[config.id] = makeNode(std::move(record), since)).get();
    }
    node->record.address = config.address;  // the file wins
    node->configured_classes = config.runtime_classes;
    std::sort(node->configured_classes.begin(), node->configured_classes.end());
  }
  for (auto& [id, node] : nodes_) {
    if (!node->link) attachLink(*node);
  }
  rebuildIndex();
  return ok();
}

void NodeRegistry::attachLink(Node& node) {
  const std::string id = node.record.id;
  // The events name the node by id and link: a node removed (or removed
  // and added again) meanwhile is left alone.
  auto link_ptr = std::make_shared<const AgentLink*>(nullptr);
  AgentLinkEvents events;
  events.connected = [this, id, link_ptr](const api::NodeInfo& info) {
    onConnected(id, *link_ptr, info);
  };
  events.resynced = [this, id, link_ptr](std::vector<api::WorkloadStatus> items) {
    return onResynced(id, *link_ptr, std::move(items));
  };
  events.pushed = [this, id, link_ptr](const api::WorkloadStatus& status) {
    onPushed(id, *link_ptr, status);
  };
  events.heartbeat = [this, id, link_ptr](const api::NodeInfo& info) {
    onHeartbeat(id, *link_ptr, info);
  };
  events.disconnected = [this, id, link_ptr](std::string_view reason, const std::string& message) {
    onDisconnected(id, *link_ptr, reason, message);
  };
  AgentLinkOptions link = options_.link;
  if (options_.spread_heartbeats) {
    link.heartbeat_phase = heartbeatPhase(id, link.heartbeat_interval);
  }
  node.link = AgentLink::create(executor_, id, node.record.address, link, std::move(events));
  *link_ptr = node.link.get();
  if (started_ && !stopped_) node.link->start();
}

void NodeRegistry::start() {
  if (started_ || stopped_) return;
  started_ = true;
  for (auto& [id, node] : nodes_) node->link->start();
  asio::co_spawn(executor_, tickLoop(), asio::detached);
}

void NodeRegistry::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  tick_timer_.cancel();
  for (auto& [id, node] : nodes_) {
    node->probe_slots->close();
    node->link->shutdown();
  }
}

asio::awaitable<void> NodeRegistry::tickLoop() {
  while (!stopped_) {
    tick(monotonic_.now());
    tick_timer_.expires_after(options_.tick_interval);
    boost::system::error_code ec;
    co_await tick_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void NodeRegistry::tick(MonotonicTime now) {
  if (stopped_) return;
  std::vector<std::string> changed;
  for (auto& [id, node] : nodes_) {
    if (node->lifecycle.tick(now)) {
      touched(*node);
      changed.push_back(id);
      const NodeState state = node->lifecycle.state();
      spdlog::warn("node \"{}\" is {}: {}", id, nodeStateName(state), node->lifecycle.message());
      if (state == NodeState::kNotReady && node->lifecycle.reason() == node_reason::kNoHeartbeat) {
        // Ready again only through a new Hello and resync.
        node->link->reconnect(node_reason::kNoHeartbeat, node->lifecycle.message());
      }
    }
    node->link->tick(now);
    if (node->audits.holding()) {
      for (const auto& entry : node->audits.due(now)) writeQuarantineEntry(*node, entry);
    }
  }
  for (const auto& id : changed) {
    if (const Node* node = find(id)) notifyChanged(*node);
  }
}

bool NodeRegistry::updateInfo(Node& node, api::NodeInfo info, bool hello) {
  std::sort(info.runtime_classes.begin(), info.runtime_classes.end());
  const bool changed = !node.info || node.info->capacity != info.capacity ||
                       node.info->runtime_classes != info.runtime_classes;
  std::optional<std::vector<api::ClassIsolation>> isolation = std::move(info.isolation);
  info.isolation.reset();
  const std::int64_t revision = info.isolation_revision;
  // The classes first: the list is checked against them.
  node.info = std::move(info);
  const bool isolation_changed =
      (isolation || hello) && updateIsolation(node, std::move(isolation), revision, hello);
  touched(node);
  return changed || isolation_changed;
}

void NodeRegistry::stampHeartbeat(Node& node) { node.last_heartbeat = clock_.now(); }

void NodeRegistry::onConnected(const std::string& id, const AgentLink* link,
                               const api::NodeInfo& info) {
  Node* node = find(id);
  if (node == nullptr || node->link.get() != link) return;
  updateInfo(*node, info, /*hello=*/true);
  // NotReady/Resyncing until onResync returns; never Lost meanwhile while
  // its heartbeats are answered (§8.2).
  node->lifecycle.greeted(monotonic_.now());
  touched(*node);
  stampHeartbeat(*node);
}

asio::awaitable<void> NodeRegistry::onResynced(std::string id, const AgentLink* link,
                                               std::vector<api::WorkloadStatus> items) {
  if (listener_ != nullptr && !stopped_) {
    std::string node_id = id;
    co_await listener_->onResync(std::move(node_id), std::move(items));
  }
  Node* node = find(id);
  if (stopped_ || node == nullptr || node->link.get() != link || !link->connected()) co_return;
  stampHeartbeat(*node);
  if (node->lifecycle.resynced(monotonic_.now())) {
    touched(*node);
    spdlog::info("node \"{}\" is Ready", id);
    notifyChanged(*node);
  }
}

void NodeRegistry::onPushed(const std::string& id, const AgentLink* link,
                            const api::WorkloadStatus& status) {
  const Node* node = find(id);
  if (node == nullptr || node->link.get() != link) return;
  // A node that is not Ready resyncs before it is again; its pushes until
  // then are covered by that listing.
  if (node->lifecycle.state() != NodeState::kReady) return;
  if (listener_ != nullptr && !stopped_) listener_->onStatus(id, status);
}

void NodeRegistry::onHeartbeat(const std::string& id, const AgentLink* link,
                               const api::NodeInfo& info) {
  Node* node = find(id);
  if (node == nullptr || node->link.get() != link) return;
  if (node->lifecycle.heartbeatOk(monotonic_.now())) touched(*node);
  stampHeartbeat(*node);
  if (updateInfo(*node, info, /*hello=*/false) && node->lifecycle.state() == NodeState::kReady) {
    notifyChanged(*node);
  }
}

void NodeRegistry::onDisconnected(const std::string& id, const AgentLink* link,
                                  std::string_view reason, const std::string& message) {
  Node* node = find(id);
  if (node == nullptr || node->link.get() != link) return;
  if (node->lifecycle.connectionLost(monotonic_.now(), reason, message)) {
    touched(*node);
    notifyChanged(*node);
  }
}

std::vector<NodeView> NodeRegistry::nodes() const {
  std::vector<NodeView> out;
  out.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) out.push_back(view(*node));
  return out;
}

std::vector<NodeRegistry::LinkLoad> NodeRegistry::linkLoads() {
  std::vector<LinkLoad> out;
  out.reserve(nodes_.size());
  for (auto& [id, node] : nodes_) {
    LinkLoad load{.node = id, .workloads_placed = node->workloads};
    if (node->info) load.agent_workloads = node->info->workloads;
    if (node->link) {
      load.calls_in_flight = node->link->inFlight();
      load.calls_waiting = node->link->waitingForSlot();
      load.log_streams = node->link->openLogStreams();
    }
    out.push_back(std::move(load));
  }
  return out;
}

bool NodeRegistry::schedulingCurrent(const NodeView& cached, const Node& node) {
  const api::Resources capacity = node.info ? node.info->capacity : api::Resources{};
  const auto& classes = node.info ? node.info->runtime_classes : node.configured_classes;
  return cached.id == node.record.id && cached.state == node.lifecycle.state() &&
         cached.schedulable == (!node.record.cordoned && !node.removing) &&
         cached.allocated == node.allocated && cached.workloads == node.workloads &&
         cached.capacity == capacity && cached.runtime_classes == classes &&
         cached.isolation == node.summaries;
}

void NodeRegistry::rebuildIndex() {
  std::vector<NodeView> views;
  views.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) views.push_back(view(*node, /*findings=*/false));
  index_->assign(std::move(views));
}

void NodeRegistry::touched(const Node& node) {
  const NodeView* held = index_->find(node.record.id);
  if (held == nullptr) {
    rebuildIndex();
  } else if (!schedulingCurrent(*held, node)) {
    index_->update(view(node, /*findings=*/false));
  }
}

const SchedulingIndex& NodeRegistry::schedulingIndex() const {
#ifndef NDEBUG
  // Kept current by touched() at every change of a node's scheduling
  // inputs; debug builds check that none was missed.
  assert(index_->views().size() == nodes_.size());
  std::size_t i = 0;
  for (const auto& [id, node] : nodes_) {
    assert(schedulingCurrent(index_->views()[i++], *node));
  }
#endif
  return *index_;
}

const std::vector<NodeView>& NodeRegistry::schedulingNodes() const {
  return schedulingIndex().views();
}

std::optional<NodeView> NodeRegistry::node(std::string_view id) const {
  const Node* node = find(id);
  if (node == nullptr) return std::nullopt;
  return view(*node);
}

std::optional<NodeState> NodeRegistry::state(std::string_view id) const {
  const Node* node = find(id);
  if (node == nullptr) return std::nullopt;
  return node->lifecycle.state();
}

std::optional<NodeStatus> NodeRegistry::nodeStatus(std::string_view id) const {
  const Node* node = find(id);
  if (node == nullptr) return std::nullopt;
  NodeStatus status{node->lifecycle.state(), {}, {}};
  if (status.state != NodeState::kReady) {
    status.reason = node->lifecycle.reason();
    status.message = node->lifecycle.message();
  }
  return status;
}

void NodeRegistry::allocate(std::string_view id, const api::Resources& resources) {
  Node* node = find(id);
  if (node == nullptr) return;  // removed meanwhile: nothing to account
  node->allocated.memory_mb += resources.memory_mb;
  node->allocated.cpu_millicores += resources.cpu_millicores;
  ++node->workloads;
  index_->setAllocated(id, node->allocated, node->workloads);
}

void NodeRegistry::release(std::string_view id, const api::Resources& resources) {
  Node* node = find(id);
  if (node == nullptr) return;
  node->allocated = minus(node->allocated, resources);
  node->workloads = std::max(0, node->workloads - 1);
  index_->setAllocated(id, node->allocated, node->workloads);
}

asio::awaitable<Result<protocol::ReplyBody>> NodeRegistry::call(std::string_view id,
                                                                protocol::RequestBody request,
                                                                std::chrono::milliseconds timeout) {
  const Node* node = find(id);
  if (node == nullptr) {
    co_return fail(Code::kUnavailable, std::string(protocol::typeName(request)) + " to node \"" +
                                           std::string(id.substr(0, 80)) + "\": no such node");
  }
  auto link = node->link;  // the node may be removed while the call waits
  co_return co_await link->call(std::move(request), timeout);
}

asio::awaitable<Result<std::unique_ptr<LogStream>>> NodeRegistry::openLogs(std::string_view id,
                                                                           protocol::Logs request) {
  const Node* node = find(id);
  if (node == nullptr) {
    co_return fail(Code::kUnavailable,
                   "Logs to node \"" + std::string(id.substr(0, 80)) + "\": no such node");
  }
  auto link = node->link;
  co_return co_await link->openLogs(std::move(request));
}

asio::awaitable<Result<NodeView>> NodeRegistry::add(std::string id, std::string address) {
  if (auto s = validateNode(id, address); !s) co_return fail(s.error());
  if (!options_.link.tls && !isLoopbackAddress(address)) {
    co_return fail(Code::kInvalidArgument,
                   "address \"" + address.substr(0, 200) +
                       "\" is not a loopback IP address: this server talks to agents without "
                       "TLS (--insecure-plaintext), so only on loopback",
                   "address");
  }
  if (find(id) != nullptr || adding_.contains(id)) {
    co_return fail(Code::kAlreadyExists, "node \"" + id + "\" already exists", "id");
  }
  store::NodeRecord record{id, address, false, clock_.now()};
  adding_.insert(id);
  std::vector<store::Write> batch{store::PutNode{record}};
  auto committed = co_await commit(commits_, std::move(batch));
  adding_.erase(id);
  if (!committed) co_return fail(committed.error());
  if (stopped_) co_return fail(Code::kCancelled, "the server is shutting down");
  auto& node = nodes_[id] = makeNode(std::move(record), monotonic_.now());
  rebuildIndex();
  attachLink(*node);
  spdlog::info("node \"{}\" at {} added", id, address);
  notifyChanged(*node);
  co_return view(*node);
}

asio::awaitable<Result<NodeView>> NodeRegistry::remove(std::string id, bool force) {
  Node* node = find(id);
  if (node == nullptr || node->removing) {
    co_return fail(Code::kNotFound, "no node \"" + id.substr(0, 80) + "\"");
  }
  if (node->workloads > 0 && !force) {
    co_return fail(Code::kFailedPrecondition,
                   "node \"" + id + "\" has " + std::to_string(node->workloads) +
                       " workload(s); drain it first or remove it with force=true");
  }
  node->removing = true;  // not schedulable while the removal commits
  touched(*node);
  std::vector<store::Write> batch{store::DeleteNode{id}};
  auto committed = co_await commit(commits_, std::move(batch));
  node = find(id);
  if (node == nullptr) co_return fail(Code::kNotFound, "no node \"" + id + "\"");
  if (!committed) {
    node->removing = false;
    touched(*node);
    co_return fail(committed.error());
  }
  NodeView last = view(*node);
  last.schedulable = !node->record.cordoned;
  // Quarantine changes held by the rate limit are written now.
  for (const auto& entry : node->audits.takeAll()) writeQuarantineEntry(*node, entry);
  // Probes waiting for a slot end now, those in flight with the link
  // (kCancelled): both answer that the node is gone.
  node->probe_slots->close();
  node->link->shutdown();
  nodes_.erase(id);
  rebuildIndex();
  spdlog::info("node \"{}\" removed{}", id,
               last.workloads > 0 ? " with " + std::to_string(last.workloads) + " workload(s)"
                                  : std::string());
  if (listener_ != nullptr && !stopped_) listener_->onNodeRemoved(id);
  co_return last;
}

asio::awaitable<Result<NodeView>> NodeRegistry::cordon(std::string id) {
  return setCordoned(std::move(id), true);
}

asio::awaitable<Result<NodeView>> NodeRegistry::uncordon(std::string id) {
  return setCordoned(std::move(id), false);
}

asio::awaitable<Result<NodeView>> NodeRegistry::setCordoned(std::string id, bool cordoned) {
  Node* node = find(id);
  if (node == nullptr || node->removing) {
    co_return fail(Code::kNotFound, "no node \"" + id.substr(0, 80) + "\"");
  }
  if (node->record.cordoned == cordoned) co_return view(*node);
  store::NodeRecord record = node->record;
  record.cordoned = cordoned;
  std::vector<store::Write> batch{store::PutNode{record}};
  auto committed = co_await commit(commits_, std::move(batch));
  if (!committed) co_return fail(committed.error());
  node = find(id);
  if (node == nullptr) co_return fail(Code::kNotFound, "no node \"" + id + "\"");
  if (node->record.cordoned != cordoned) {
    node->record.cordoned = cordoned;
    touched(*node);
    spdlog::info("node \"{}\" {}", id, cordoned ? "cordoned" : "uncordoned");
    notifyChanged(*node);
  }
  co_return view(*node);
}

}  // namespace zp::server
