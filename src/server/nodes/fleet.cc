#include "server/nodes/fleet.h"

namespace zp::server {

std::string_view nodeStateName(NodeState state) {
  switch (state) {
    case NodeState::kReady: return "Ready";
    case NodeState::kNotReady: return "NotReady";
    case NodeState::kLost: return "Lost";
  }
  return "NotReady";
}

}  // namespace zp::server
