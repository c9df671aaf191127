#include "server/nodes/node_lifecycle.h"

namespace zp::server {

namespace {
std::string seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}
}  // namespace

NodeLifecycle::NodeLifecycle(LifecycleOptions options, MonotonicTime now)
    : options_(options),
      reason_(node_reason::kConnecting),
      message_("not connected yet"),
      not_ready_since_(now) {}

bool NodeLifecycle::heartbeatOk(MonotonicTime now) {
  if (!last_heartbeat_ || *last_heartbeat_ < now) last_heartbeat_ = now;
  // Alive while it resyncs: the NotReady time starts again.
  if (resyncing_ && state_ == NodeState::kNotReady && not_ready_since_ < now) {
    not_ready_since_ = now;
  }
  return false;
}

bool NodeLifecycle::greeted(MonotonicTime now) {
  resyncing_ = true;
  reason_ = std::string(node_reason::kResyncing);
  message_ = "connected; listing and reconciling its workloads";
  return heartbeatOk(now);
}

bool NodeLifecycle::setNotReady(MonotonicTime now, std::string_view reason, std::string message) {
  resyncing_ = false;
  reason_ = std::string(reason);
  message_ = std::move(message);
  if (state_ != NodeState::kReady) return false;  // NotReady keeps its start; Lost stays Lost
  state_ = NodeState::kNotReady;
  not_ready_since_ = now;
  return true;
}

bool NodeLifecycle::connectionLost(MonotonicTime now, std::string_view reason,
                                   std::string message) {
  return setNotReady(now, reason, std::move(message));
}

bool NodeLifecycle::resynced(MonotonicTime now) {
  heartbeatOk(now);
  resyncing_ = false;
  reason_.clear();
  message_.clear();
  if (state_ == NodeState::kReady) return false;
  state_ = NodeState::kReady;
  return true;
}

bool NodeLifecycle::tick(MonotonicTime now) {
  switch (state_) {
    case NodeState::kReady: {
      const MonotonicTime last = last_heartbeat_.value_or(not_ready_since_);
      if (now - last < options_.not_ready_after) return false;
      return setNotReady(now, node_reason::kNoHeartbeat,
                         "no heartbeat answered for " + seconds(options_.not_ready_after));
    }
    case NodeState::kNotReady:
      if (now - not_ready_since_ < options_.lost_after) return false;
      state_ = NodeState::kLost;
      return true;
    case NodeState::kLost:
      return false;
  }
  return false;
}

}  // namespace zp::server
