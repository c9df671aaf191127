#pragma once
// NodeLifecycle: the state of one node as a pure state machine of time
// (docs/architecture.md §8.2). Inputs are events with the time they happened
// on the registry's monotonic clock (so a wall-clock step neither makes nodes
// Lost nor keeps them Ready); no timers, no I/O, so tests drive it with a
// fake clock. Plain value, not thread-safe (the registry uses it on the
// server's executor).
//
//   NotReady ── greeted ──▶ NotReady/Resyncing ── resynced ──▶ Ready
//   Ready ── connectionLost, or no heartbeat for not_ready_after ──▶ NotReady
//   NotReady ── lost_after without a sign of life ──▶ Lost
//   Lost ── resynced ──▶ Ready
//
// A node becomes Ready only through resynced() (a Hello and a complete
// resync on a fresh connection); heartbeats alone never make it Ready.
// While a greeted connection resyncs, its Hello and every heartbeat answered
// on it restart the NotReady time: a node that answers while the server
// reconciles its workloads (which may take long) is never Lost meanwhile.

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
inline constexpr std::string_view kConnectionLost = "ConnectionLost";  // an open connection broke
// The TLS handshake, Hello or the resync failed.
inline constexpr std::string_view kHandshakeFailed = "HandshakeFailed";
// The agent's certificate is valid but names another identity than node/<id>.
inline constexpr std::string_view kTlsIdentity = "TlsIdentity";
inline constexpr std::string_view kNodeIdMismatch = "NodeIdMismatch";  // the agent refused Hello
inline constexpr std::string_view kNoHeartbeat = "NoHeartbeat";        // heartbeats unanswered
inline constexpr std::string_view kResyncing = "Resyncing";  // Hello answered; resync under way
}  // namespace node_reason

struct LifecycleOptions {
  std::chrono::milliseconds heartbeat_interval{1'000};
  // Ready -> NotReady when no heartbeat was answered for this long.
  std::chrono::milliseconds not_ready_after{4'000};
  // NotReady -> Lost after this long NotReady (measured from becoming
  // NotReady, or from the last sign of life of a resyncing connection).
  std::chrono::milliseconds lost_after{30'000};
};

class NodeLifecycle {
 public:
  // Starts NotReady/Connecting at `now`.
  NodeLifecycle(LifecycleOptions options, MonotonicTime now);

  // Each input returns true when the state (Ready/NotReady/Lost) changed.

  // A heartbeat (NodeInfo) was answered at `now`. Never makes the node
  // Ready; during a resync it restarts the NotReady time.
  bool heartbeatOk(MonotonicTime now);
  // Hello was answered on a new connection at `now`: the resync begins
  // (reason Resyncing). Never changes the state.
  bool greeted(MonotonicTime now);
  // The connection failed, broke or was refused: NotReady (Lost stays Lost)
  // with this reason and message; a resync under way ends.
  bool connectionLost(MonotonicTime now, std::string_view reason, std::string message);
  // Hello and a full resync completed on the current connection: Ready.
  bool resynced(MonotonicTime now);
  // Time passed: Ready -> NotReady/NoHeartbeat, NotReady -> Lost.
  bool tick(MonotonicTime now);

  NodeState state() const { return state_; }
  const std::string& reason() const { return reason_; }
  const std::string& message() const { return message_; }
  // Whether a greeted connection is resyncing.
  bool resyncing() const { return resyncing_; }
  // When a heartbeat (or the Hello of a connection) was last answered.
  std::optional<MonotonicTime> lastHeartbeat() const { return last_heartbeat_; }
  // Where the NotReady time is measured from: when the node last left Ready
  // (or was created), or its last sign of life during a resync; meaningless
  // while Ready.
  MonotonicTime notReadySince() const { return not_ready_since_; }
  const LifecycleOptions& options() const { return options_; }

 private:
  bool setNotReady(MonotonicTime now, std::string_view reason, std::string message);

  LifecycleOptions options_;
  NodeState state_ = NodeState::kNotReady;
  std::string reason_;
  std::string message_;
  bool resyncing_ = false;
  std::optional<MonotonicTime> last_heartbeat_;
  MonotonicTime not_ready_since_;
};

}  // namespace zp::server
