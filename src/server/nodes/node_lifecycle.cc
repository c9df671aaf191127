#include "server/nodes/node_lifecycle.h"

namespace zp::server {

namespace {
std::string seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}
}  // namespace

NodeLifecycle::NodeLifecycle(LifecycleOptions options, TimePoint now)
    : options_(options),
      reason_(node_reason::kConnecting),
      message_("not connected yet"),
      not_ready_since_(now) {}

bool NodeLifecycle::heartbeatOk(TimePoint now) {
  if (!last_heartbeat_ || *last_heartbeat_ < now) last_heartbeat_ = now;
  return false;
}

bool NodeLifecycle::setNotReady(TimePoint now, std::string_view reason, std::string message) {
  reason_ = std::string(reason);
  message_ = std::move(message);
  if (state_ != NodeState::kReady) return false;  // NotReady keeps its start; Lost stays Lost
  state_ = NodeState::kNotReady;
  not_ready_since_ = now;
  return true;
}

bool NodeLifecycle::connectionLost(TimePoint now, std::string_view reason, std::string message) {
  return setNotReady(now, reason, std::move(message));
}

bool NodeLifecycle::resynced(TimePoint now) {
  heartbeatOk(now);
  reason_.clear();
  message_.clear();
  if (state_ == NodeState::kReady) return false;
  state_ = NodeState::kReady;
  return true;
}

bool NodeLifecycle::tick(TimePoint now) {
  switch (state_) {
    case NodeState::kReady: {
      const TimePoint last = last_heartbeat_.value_or(not_ready_since_);
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
