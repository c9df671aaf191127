#pragma once
// NodeLifecycle: the state of one node as a pure state machine of time
// (docs/architecture.md §8.2). Inputs are events with the time they happened
// (from the registry's Clock); no timers, no I/O, so tests drive it with a
// fake clock. Plain value, not thread-safe (the registry uses it on the
// server's executor).
//
//   NotReady ── resynced ──▶ Ready
//   Ready ── connectionLost, or no heartbeat for not_ready_after ──▶ NotReady
//   NotReady ── lost_after without resynced ──▶ Lost
//   Lost ── resynced ──▶ Ready
//
// A node becomes Ready only through resynced() (a Hello and a complete
// resync on a fresh connection); heartbeats alone never make it Ready.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.h"
#include "server/nodes/fleet.h"

namespace zp::server {

// The `reason` values of a node that is not Ready.
namespace node_reason {
inline constexpr std::string_view kConnecting = "Connecting";  // not connected since it was added
inline constexpr std::string_view kConnectionRefused = "ConnectionRefused";  // connect failed
inline constexpr std::string_view kConnectionLost = "ConnectionLost";    // an open connection broke
inline constexpr std::string_view kHandshakeFailed = "HandshakeFailed";  // Hello or resync failed
inline constexpr std::string_view kNodeIdMismatch = "NodeIdMismatch";    // the agent refused Hello
inline constexpr std::string_view kNoHeartbeat = "NoHeartbeat";          // heartbeats unanswered
}  // namespace node_reason

struct LifecycleOptions {
  std::chrono::milliseconds heartbeat_interval{1'000};
  // Ready -> NotReady when no heartbeat was answered for this long.
  std::chrono::milliseconds not_ready_after{4'000};
  // NotReady -> Lost after this long NotReady (measured from becoming NotReady).
  std::chrono::milliseconds lost_after{30'000};
};

class NodeLifecycle {
 public:
  // Starts NotReady/Connecting at `now`.
  NodeLifecycle(LifecycleOptions options, TimePoint now);

  // Each input returns true when the state (Ready/NotReady/Lost) changed.

  // A heartbeat (NodeInfo) was answered at `now`. Never makes the node Ready.
  bool heartbeatOk(TimePoint now);
  // The connection failed, broke or was refused: NotReady (Lost stays Lost)
  // with this reason and message.
  bool connectionLost(TimePoint now, std::string_view reason, std::string message);
  // Hello and a full resync completed on the current connection: Ready.
  bool resynced(TimePoint now);
  // Time passed: Ready -> NotReady/NoHeartbeat, NotReady -> Lost.
  bool tick(TimePoint now);

  NodeState state() const { return state_; }
  const std::string& reason() const { return reason_; }
  const std::string& message() const { return message_; }
  // When a heartbeat (or the Hello of a resynced connection) was last answered.
  std::optional<TimePoint> lastHeartbeat() const { return last_heartbeat_; }
  // When the node last left Ready (or was created); meaningless while Ready.
  TimePoint notReadySince() const { return not_ready_since_; }
  const LifecycleOptions& options() const { return options_; }

 private:
  bool setNotReady(TimePoint now, std::string_view reason, std::string message);

  LifecycleOptions options_;
  NodeState state_ = NodeState::kNotReady;
  std::string reason_;
  std::string message_;
  std::optional<TimePoint> last_heartbeat_;
  TimePoint not_ready_since_;
};

}  // namespace zp::server
