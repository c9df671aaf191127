#pragma once
// A Fleet for tests: nodes whose views the test sets directly, capacity
// accounting as the registry keeps it, and a tiny model of each node's agent
// (the copies it runs, by id and uid) answering StartWorkload and
// RemoveWorkload as the real agent does (idempotent on (id, uid); a uid'd
// remove leaves another uid's copy alone). Every call is recorded; failures
// are injected per node. Single-threaded, like the real registry: use it on
// the test's io_context.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/messages.h"
#include "server/nodes/fleet.h"

namespace zp::server::testing {

class FakeFleet final : public Fleet {
 public:
  struct Call {
    std::string node;
    protocol::RequestBody request;
  };
  struct Copy {
    std::string uid;
    api::WorkloadSpec spec;
  };

  // Adds a node (Ready, schedulable, connected) or replaces its classes and
  // capacity. Every class is verified application-kernel with score 70 (so
  // untrusted workloads may use it); tests change view(id).isolation for
  // other verifications.
  NodeView& addNode(const std::string& id, std::vector<std::string> classes,
                    api::Resources capacity) {
    NodeView& view = nodes_[id];
    view.id = id;
    view.address = "127.0.0.1:1";
    view.state = NodeState::kReady;
    view.runtime_classes = std::move(classes);
    view.capacity = capacity;
    view.isolation.clear();
    for (const auto& cls : view.runtime_classes) {
      api::ClassIsolation verified;
      verified.runtime_class = cls;
      verified.level = api::IsolationLevel::kApplicationKernel;
      verified.score = 70;
      view.isolation.push_back(std::move(verified));
    }
    std::sort(view.isolation.begin(), view.isolation.end(),
              [](const auto& a, const auto& b) { return a.runtime_class < b.runtime_class; });
    connected_[id] = true;
    return view;
  }
  void removeNode(const std::string& id) {
    nodes_.erase(id);
    connected_.erase(id);
  }
  // The node's view, to change its state or cordon it. The node must exist.
  NodeView& view(const std::string& id) { return nodes_.at(id); }
  void setState(const std::string& id, NodeState state, std::string reason = {}) {
    NodeView& node = nodes_.at(id);
    node.state = state;
    node.reason = std::move(reason);
  }
  // A disconnected node answers every call kUnavailable.
  void setConnected(const std::string& id, bool connected) { connected_[id] = connected; }

  // Every StartWorkload / RemoveWorkload on `node` answers `error` (nullopt: normal).
  void failStarts(const std::string& node, std::optional<Error> error) {
    fail_starts_[node] = std::move(error);
  }
  // Every StartWorkload of workload `id`, on any node, answers `error` (nullopt: normal).
  void failStartsOf(const std::string& id, std::optional<Error> error) {
    fail_start_ids_[id] = std::move(error);
  }
  void failRemoves(const std::string& node, std::optional<Error> error) {
    fail_removes_[node] = std::move(error);
  }

  // The agent model: what runs on `node`, by id.
  std::map<std::string, Copy>& copies(const std::string& node) { return copies_[node]; }
  int copiesOf(const std::string& id) const {
    int n = 0;
    for (const auto& [node, copies] : copies_) n += static_cast<int>(copies.count(id));
    return n;
  }

  // Called at the start of every call, before it is answered.
  std::function<void(const Call&)> on_call;

  const std::vector<Call>& calls() const { return calls_; }
  void clearCalls() { calls_.clear(); }
  // Calls of one type ("StartWorkload", "RemoveWorkload"), on one node or all.
  int count(std::string_view type, std::string_view node = {}) const {
    int n = 0;
    for (const auto& call : calls_) {
      if (protocol::typeName(call.request) == type && (node.empty() || call.node == node)) ++n;
    }
    return n;
  }
  template <typename T>
  std::vector<T> requests(std::string_view node = {}) const {
    std::vector<T> out;
    for (const auto& call : calls_) {
      if (const auto* r = std::get_if<T>(&call.request)) {
        if (node.empty() || call.node == node) out.push_back(*r);
      }
    }
    return out;
  }

  // How many node views nodes() and node() copied.
  int viewsCopied() const { return views_copied_; }

  // Fleet
  std::vector<NodeView> nodes() const override {
    std::vector<NodeView> out;
    for (const auto& [id, view] : nodes_) out.push_back(view);
    views_copied_ += static_cast<int>(out.size());
    return out;
  }
  std::optional<NodeView> node(std::string_view id) const override {
    auto it = nodes_.find(std::string(id));
    if (it == nodes_.end()) return std::nullopt;
    ++views_copied_;
    return it->second;
  }
  std::optional<NodeState> state(std::string_view id) const override {
    auto it = nodes_.find(std::string(id));
    if (it == nodes_.end()) return std::nullopt;
    return it->second.state;
  }
  std::optional<NodeStatus> nodeStatus(std::string_view id) const override {
    auto it = nodes_.find(std::string(id));
    if (it == nodes_.end()) return std::nullopt;
    return NodeStatus{it->second.state, it->second.reason, it->second.message};
  }
  void allocate(std::string_view node, const api::Resources& r) override {
    auto it = nodes_.find(std::string(node));
    if (it == nodes_.end()) return;
    it->second.allocated.memory_mb += r.memory_mb;
    it->second.allocated.cpu_millicores += r.cpu_millicores;
    ++it->second.workloads;
  }
  void release(std::string_view node, const api::Resources& r) override {
    auto it = nodes_.find(std::string(node));
    if (it == nodes_.end()) return;
    it->second.allocated.memory_mb -= r.memory_mb;
    it->second.allocated.cpu_millicores -= r.cpu_millicores;
    --it->second.workloads;
  }

  boost::asio::awaitable<Result<protocol::ReplyBody>> call(
      std::string_view node_id, protocol::RequestBody request,
      std::chrono::milliseconds /*timeout*/) override {
    const std::string node(node_id);
    calls_.push_back(Call{node, request});
    if (on_call) on_call(calls_.back());
    if (!nodes_.contains(node) || !connected_[node]) {
      co_return fail(Code::kUnavailable, "node \"" + node + "\" is not connected");
    }
    // The agent's reader refuses a line over the protocol's limit.
    const std::size_t line = protocol::encodeRequest(protocol::Request{"r-1", request}).size();
    if (line > protocol::kMaxLineBytes) {
      co_return fail(Code::kResourceExhausted,
                     "line of " + std::to_string(line) + " bytes exceeds the limit of " +
                         std::to_string(protocol::kMaxLineBytes) + " bytes");
    }
    auto& copies = copies_[node];
    if (auto* start = std::get_if<protocol::StartWorkload>(&request)) {
      const std::string& id = start->workload.id;
      if (auto& error = fail_starts_[node]) co_return fail(*error);
      if (auto& error = fail_start_ids_[id]) co_return fail(*error);
      auto it = copies.find(id);
      if (it != copies.end() && it->second.uid != start->uid) {
        co_return fail(Code::kAlreadyExists,
                       "workload \"" + id + "\" exists with another uid or spec");
      }
      copies[id] = Copy{start->uid, start->workload};
      api::WorkloadStatus status;
      status.id = id;
      status.uid = start->uid;
      status.node = node;
      status.state = api::WorkloadState::kPending;
      status.reason = std::string(api::reason::kCreating);
      co_return protocol::ReplyBody{status};
    }
    if (auto* remove = std::get_if<protocol::RemoveWorkload>(&request)) {
      if (auto& error = fail_removes_[node]) co_return fail(*error);
      auto it = copies.find(remove->id);
      if (it != copies.end() && (remove->uid.empty() || it->second.uid == remove->uid)) {
        copies.erase(it);
      }
      co_return protocol::ReplyBody{protocol::Removed{remove->id}};
    }
    co_return fail(Code::kUnimplemented, "the fake fleet does not answer this request");
  }

  boost::asio::awaitable<Result<std::unique_ptr<LogStream>>> openLogs(
      std::string_view /*node*/, protocol::Logs /*request*/) override {
    co_return fail(Code::kUnimplemented, "the fake fleet has no logs");
  }

  // Forgets every node, copy, failure and call: a fresh fleet (Fleet is
  // not assignable).
  void reset() {
    nodes_.clear();
    connected_.clear();
    fail_starts_.clear();
    fail_start_ids_.clear();
    fail_removes_.clear();
    copies_.clear();
    calls_.clear();
    views_copied_ = 0;
    on_call = nullptr;
  }

 private:
  std::map<std::string, NodeView> nodes_;
  std::map<std::string, bool> connected_;
  std::map<std::string, std::optional<Error>> fail_starts_;
  std::map<std::string, std::optional<Error>> fail_start_ids_;
  std::map<std::string, std::optional<Error>> fail_removes_;
  std::map<std::string, std::map<std::string, Copy>> copies_;
  std::vector<Call> calls_;
  mutable int views_copied_ = 0;
};

}  // namespace zp::server::testing
