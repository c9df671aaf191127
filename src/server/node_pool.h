#pragma once
// The configured node agents and what the server last heard from each.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/node.h"
#include "server/agent_client.h"
#include "server/config.h"
#include "server/scheduler.h"

namespace zp::server {

// Owns the node list (fixed at startup) and each node's last NodeInfo answer,
// refreshed by run() in the background so validation and scheduling read a
// cache instead of waiting on the network. Lives on the server's single
// executor; not thread-safe.
class NodePool {
 public:
  struct Node {
    NodeConfig config;
    std::optional<api::NodeInfo> info;  // last NodeInfo answer, kept when unreachable
    bool reachable = false;             // did the last NodeInfo succeed?
    std::string error;                  // why it failed; empty when reachable
  };

  NodePool(boost::asio::any_io_executor executor, std::vector<NodeConfig> nodes,
           AgentClient& agents, std::chrono::milliseconds timeout,
           std::chrono::milliseconds interval);

  const std::vector<Node>& nodes() const { return nodes_; }
  const Node* find(std::string_view id) const;

  // The classes a node offers: from its NodeInfo once it answered, from the
  // config before.
  static const std::vector<std::string>& classesOf(const Node& node);
  // Every class some node offers, sorted, without duplicates.
  std::vector<std::string> offeredClasses() const;
  // Capacity known from NodeInfo, nullopt if the node never answered.
  static std::optional<api::Resources> capacityOf(const Node& node);
  // Scheduler input: allocatable = capacity - `requested[node id]`.
  std::vector<NodeView> views(const std::map<std::string, api::Resources>& requested) const;

  // Asks every node NodeInfo, all at once, and records the answers.
  boost::asio::awaitable<void> refresh();
  // refresh() now and then every interval until stop().
  boost::asio::awaitable<void> run();
  void stop();

 private:
  boost::asio::awaitable<void> refreshOne(Node& node);

  std::vector<Node> nodes_;
  AgentClient& agents_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds interval_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace zp::server
