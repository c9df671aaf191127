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
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
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
    NodeView& view = state_.nodes[id];
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
    state_.connected[id] = true;
    return view;
  }
  void removeNode(const std::string& id) {
    state_.nodes.erase(id);
    state_.connected.erase(id);
  }
  // The node's view, to change its state or cordon it. The node must exist.
  NodeView& view(const std::string& id) { return state_.nodes.at(id); }
  void setState(const std::string& id, NodeState state, std::string reason = {}) {
    NodeView& node = state_.nodes.at(id);
    node.state = state;
    node.reason = std::move(reason);
  }
  // A disconnected node answers every call kUnavailable.
  void setConnected(const std::string& id, bool connected) { state_.connected[id] = connected; }

  // Every StartWorkload / RemoveWorkload on `node` answers `error` (nullopt: normal).
  void failStarts(const std::string& node, std::optional<Error> error) {
    state_.fail_starts[node] = std::move(error);
  }
  // Every StartWorkload of workload `id`, on any node, answers `error` (nullopt: normal).
  void failStartsOf(const std::string& id, std::optional<Error> error) {
    state_.fail_start_ids[id] = std::move(error);
  }
  void failRemoves(const std::string& node, std::optional<Error> error) {
    state_.fail_removes[node] = std::move(error);
  }

  // A slow node: every call to `node` waits, after it is recorded, until
  // release(node); then the held calls are answered in the order they came.
  void hold(const std::string& node) { held_.try_emplace(node); }
  void release(const std::string& node) {
    auto it = held_.find(node);
    if (it == held_.end()) return;
    for (const auto& timer : it->second) timer->cancel();
    held_.erase(it);
  }
  // How many calls wait on held nodes.
  int heldCalls() const {
    int n = 0;
    for (const auto& [node, timers] : held_) n += static_cast<int>(timers.size());
    return n;
  }

  // The agent model: what runs on `node`, by id.
  std::map<std::string, Copy>& copies(const std::string& node) { return state_.copies[node]; }
  int copiesOf(const std::string& id) const {
    int n = 0;
    for (const auto& [node, copies] : state_.copies) n += static_cast<int>(copies.count(id));
    return n;
  }

  // Called at the start of every call, before it is answered.
  std::function<void(const Call&)> on_call;
  // Answers ExecSync (unset: Unimplemented); `last_exec_timeout` is the
  // timeout the last one was called with.
  std::function<Result<protocol::ReplyBody>(const protocol::ExecSync&)> answer_exec;
  std::chrono::milliseconds last_exec_timeout{0};

  const std::vector<Call>& calls() const { return state_.calls; }
  void clearCalls() { state_.calls.clear(); }
  // Calls of one type ("StartWorkload", "RemoveWorkload"), on one node or all.
  int count(std::string_view type, std::string_view node = {}) const {
    int n = 0;
    for (const auto& call : state_.calls) {
      if (protocol::typeName(call.request) == type && (node.empty() || call.node == node)) ++n;
    }
    return n;
  }
  template <typename T>
  std::vector<T> requests(std::string_view node = {}) const {
    std::vector<T> out;
    for (const auto& call : state_.calls) {
      if (const auto* r = std::get_if<T>(&call.request)) {
        if (node.empty() || call.node == node) out.push_back(*r);
      }
    }
    return out;
  }

  // How many node views nodes() and node() copied.
  int viewsCopied() const { return state_.views_copied; }

  // Fleet
  std::vector<NodeView> nodes() const override {
    std::vector<NodeView> out;
    for (const auto& [id, view] : state_.nodes) out.push_back(view);
    state_.views_copied += static_cast<int>(out.size());
    return out;
  }
  std::optional<NodeView> node(std::string_view id) const override {
    auto it = state_.nodes.find(std::string(id));
    if (it == state_.nodes.end()) return std::nullopt;
    ++state_.views_copied;
    return it->second;
  }
  std::optional<NodeState> state(std::string_view id) const override {
    auto it = state_.nodes.find(std::string(id));
    if (it == state_.nodes.end()) return std::nullopt;
    return it->second.state;
  }
  std::optional<NodeStatus> nodeStatus(std::string_view id) const override {
    auto it = state_.nodes.find(std::string(id));
    if (it == state_.nodes.end()) return std::nullopt;
    return NodeStatus{it->second.state, it->second.reason, it->second.message};
  }
  void allocate(std::string_view node, const api::Resources& r) override {
    auto it = state_.nodes.find(std::string(node));
    if (it == state_.nodes.end()) return;
    it->second.allocated.memory_mb += r.memory_mb;
    it->second.allocated.cpu_millicores += r.cpu_millicores;
    ++it->second.workloads;
  }
  void release(std::string_view node, const api::Resources& r) override {
    auto it = state_.nodes.find(std::string(node));
    if (it == state_.nodes.end()) return;
    it->second.allocated.memory_mb -= r.memory_mb;
    it->second.allocated.cpu_millicores -= r.cpu_millicores;
    --it->second.workloads;
  }

  boost::asio::awaitable<Result<protocol::ReplyBody>> call(
      std::string_view node_id, protocol::RequestBody request,
      std::chrono::milliseconds timeout) override {
    const std::string node(node_id);
    state_.calls.push_back(Call{node, request});
    if (on_call) on_call(state_.calls.back());
    if (auto it = held_.find(node); it != held_.end()) {
      auto timer = std::make_shared<boost::asio::steady_timer>(
          co_await boost::asio::this_coro::executor, boost::asio::steady_timer::time_point::max());
      it->second.push_back(timer);
      boost::system::error_code ignored;
      co_await timer->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
    }
    if (!state_.nodes.contains(node) || !state_.connected[node]) {
      co_return fail(Code::kUnavailable, "node \"" + node + "\" is not connected");
    }
    // The agent's reader refuses a line over the protocol's limit.
    const std::size_t line = protocol::encodeRequest(protocol::Request{"r-1", request}).size();
    if (line > protocol::kMaxLineBytes) {
      co_return fail(Code::kResourceExhausted,
                     "line of " + std::to_string(line) + " bytes exceeds the limit of " +
                         std::to_string(protocol::kMaxLineBytes) + " bytes");
    }
    auto& copies = state_.copies[node];
    if (auto* start = std::get_if<protocol::StartWorkload>(&request)) {
      const std::string& id = start->workload.id;
      if (auto& error = state_.fail_starts[node]) co_return fail(*error);
      if (auto& error = state_.fail_start_ids[id]) co_return fail(*error);
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
    if (auto* exec = std::get_if<protocol::ExecSync>(&request); exec && answer_exec) {
      last_exec_timeout = timeout;
      co_return answer_exec(*exec);
    }
    if (auto* remove = std::get_if<protocol::RemoveWorkload>(&request)) {
      if (auto& error = state_.fail_removes[node]) co_return fail(*error);
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
  // not assignable). Held calls are released first.
  void reset() {
    while (!held_.empty()) release(held_.begin()->first);
    state_ = State{};
    on_call = nullptr;
    answer_exec = nullptr;
  }

 private:
  // Everything reset() forgets.
  struct State {
    std::map<std::string, NodeView> nodes;
    std::map<std::string, bool> connected;
    std::map<std::string, std::optional<Error>> fail_starts;
    std::map<std::string, std::optional<Error>> fail_start_ids;
    std::map<std::string, std::optional<Error>> fail_removes;
    std::map<std::string, std::map<std::string, Copy>> copies;
    std::vector<Call> calls;
    mutable int views_copied = 0;
  };
  State state_;
  std::map<std::string, std::vector<std::shared_ptr<boost::asio::steady_timer>>> held_;
};

}  // namespace zp::server::testing
