#include "server/node_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

#include "server/concurrently.h"

namespace zp::server {

namespace asio = boost::asio;

namespace {
constexpr std::string_view kNotContacted = "not contacted yet";

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}
}  // namespace

NodePool::NodePool(asio::any_io_executor executor, std::vector<NodeConfig> nodes,
                   AgentClient& agents, std::chrono::milliseconds timeout,
                   std::chrono::milliseconds interval)
    : agents_(agents), timeout_(timeout), interval_(interval), timer_(std::move(executor)) {
  for (auto& config : nodes) {
    nodes_.push_back(Node{std::move(config), std::nullopt, false, std::string(kNotContacted)});
  }
}

const NodePool::Node* NodePool::find(std::string_view id) const {
  for (const auto& node : nodes_) {
    if (node.config.id == id) return &node;
  }
  return nullptr;
}

const std::vector<std::string>& NodePool::classesOf(const Node& node) {
  return node.info ? node.info->runtime_classes : node.config.runtime_classes;
}

std::vector<std::string> NodePool::offeredClasses() const {
  std::set<std::string> all;
  for (const auto& node : nodes_) all.insert(classesOf(node).begin(), classesOf(node).end());
  return {all.begin(), all.end()};
}

std::optional<api::Resources> NodePool::capacityOf(const Node& node) {
  if (!node.info) return std::nullopt;
  return node.info->capacity;
}

std::vector<NodeView> NodePool::views(
    const std::map<std::string, api::Resources>& requested) const {
  std::vector<NodeView> out;
  for (const auto& node : nodes_) {
    NodeView view{node.config.id, classesOf(node), capacityOf(node), node.reachable};
    if (view.allocatable) {
      if (auto it = requested.find(node.config.id); it != requested.end()) {
        view.allocatable->memory_mb -= it->second.memory_mb;
        view.allocatable->cpu_millicores -= it->second.cpu_millicores;
      }
    }
    out.push_back(std::move(view));
  }
  return out;
}

asio::awaitable<void> NodePool::refreshOne(Node& node) {
  protocol::RequestBody request = protocol::NodeInfo{};
  auto reply = co_await agents_.call(node.config.address, std::move(request), timeout_);
  auto info = expectReply<api::NodeInfo>(std::move(reply), "NodeInfo");
  if (!info) {
    if (node.reachable || node.error == kNotContacted) {  // log changes, not every failure
      spdlog::warn("node \"{}\" at {} is unreachable: {}", node.config.id, node.config.address,
                   info.error().message);
    }
    node.reachable = false;
    node.error = info.error().message;
    co_return;
  }
  if (!node.reachable) {
    spdlog::info("node \"{}\" at {} is reachable: {} MB, {} millicores, classes [{}]",
                 node.config.id, node.config.address, info->capacity.memory_mb,
                 info->capacity.cpu_millicores, joined(info->runtime_classes));
  }
  if (!info->node_id.empty() && info->node_id != node.config.id) {
    spdlog::warn("node \"{}\" at {} calls itself \"{}\"", node.config.id, node.config.address,
                 info->node_id);
  }
  std::sort(info->runtime_classes.begin(), info->runtime_classes.end());
  node.info = std::move(*info);
  node.reachable = true;
  node.error.clear();
}

asio::awaitable<void> NodePool::refresh() {
  std::vector<Task> tasks;
  for (auto& node : nodes_) {
    Node* target = &node;
    tasks.push_back([this, target]() { return refreshOne(*target); });
  }
  co_await runConcurrently(std::move(tasks));
}

asio::awaitable<void> NodePool::run() {
  while (!stopped_) {
    co_await refresh();
    if (stopped_) break;
    timer_.expires_after(interval_);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void NodePool::stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace zp::server
