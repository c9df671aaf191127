#pragma once
// AgentLink: the server's one persistent connection to one agent
// (docs/architecture.md §3, §8.1, §8.5).
//
// A connection loop connects (with a timeout), with TLS completes the
// handshake (within connect_timeout) and requires the agent's certificate to
// name node/<node_id> (docs/architecture.md §9.2; another identity fails the
// attempt with reason TlsIdentity before anything is sent), sends Hello {node_id,
// subscribe: true} and checks that the Node answer names this node, then
// pages through ListWorkloads and hands everything the node runs to
// `resynced` before the node may become Ready. It reconnects with backoff
// (250 ms doubling to 5 s, reset after a successful Hello) whenever the
// connection fails, is refused or breaks.
//
// On an established connection many calls are in flight at once, each with
// a unique `req`; replies are matched by `req` in whatever order they come.
// A call that gets no answer within its timeout fails kDeadlineExceeded and
// its late reply is dropped. A line longer than protocol::kMaxLineBytes, an
// undecodable line or a non-push without `req` drops the connection (every
// call in flight fails kUnavailable). Pushes (WorkloadEvent) during the
// resync are merged into the listing in arrival order; pushes that arrive
// while `resynced` runs are held and delivered after it, in order (at most
// max_held_pushes: one more drops the connection, and the next resync
// covers them).
//
// call() keeps at most max_in_flight calls on the connection, below the
// agent's limit of slow requests per connection (64, docs/architecture.md
// §3), so the agent always has a slot for what the link sends itself.
//
// Heartbeats: tick(now) sends NodeInfo every heartbeat_interval of the
// caller's monotonic clock while connected, on a fixed grid: the first
// heartbeat_phase after the connection's first tick, then whole intervals
// on, however late a tick comes (never two at once: one due while the last
// is unanswered goes at the first tick after the answer). They go outside
// the max_in_flight cap, so a heartbeat never waits behind calls; the answer
// goes to `heartbeat`, and a heartbeat unanswered for heartbeat_timeout
// drops the connection (reason NoHeartbeat). Heartbeats run during the
// resync too. Each heartbeat names the isolation_revision of the last
// isolation list this connection delivered (the Hello answer's, then each
// heartbeat answer that carried one, and probe answers the owner noted with
// noteIsolationRevision()), so the agent sends the list again only
// when it changed (docs/architecture.md §3, §10.2); an answer without
// `isolation` means "unchanged".
//
// Logs use a dedicated connection each (openLogs), so a slow reader never
// delays status traffic; at most max_log_streams are open at once.
//
// Threading and ownership: everything runs on the one executor given at
// creation (the server's io_context); nothing is thread-safe. Always held by
// shared_ptr (create()): its coroutines keep it alive until they end, so the
// owner may drop its pointer after shutdown() at any time. Events are never
// called after shutdown().

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/node.h"
#include "api/workload.h"
#include "common/address.h"
#include "common/status.h"
#include "common/time.h"
#include "protocol/messages.h"
#include "server/nodes/agent_link_metrics.h"
#include "server/nodes/fleet.h"

namespace zp::server {

struct AgentLinkOptions {
  // Mutual TLS to the agents (tls::clientContext: presents the server's
  // certificate, verifies the agent's chain), shared by every link and log
  // stream; read-only once built. Null: plain TCP (--insecure-plaintext),
  // and then only to loopback addresses.
  std::shared_ptr<boost::asio::ssl::context> tls;
  // Resolve + TCP connect; then, with TLS, the handshake within as long again.
  std::chrono::milliseconds connect_timeout{3'000};
  std::chrono::milliseconds hello_timeout{5'000};    // the answer to Hello
  std::chrono::milliseconds resync_timeout{30'000};  // each ListWorkloads page
  std::chrono::milliseconds heartbeat_interval{1'000};
  // The first heartbeat on a connection goes this long after the
  // connection's first tick (0: at that tick). Links connected together (a
  // server start) would otherwise all send in the same tick, every interval,
  // and the answers would arrive in one burst that delays everything else
  // the server does; the registry gives each node its own phase.
  std::chrono::milliseconds heartbeat_phase{0};
  // A heartbeat unanswered this long drops the connection.
  std::chrono::milliseconds heartbeat_timeout{4'000};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{5'000};
  // Calls in flight at once; further calls wait for a slot (within their
  // timeout). Keep it below the agent's slow requests per connection (64).
  std::size_t max_in_flight = 32;
  std::int64_t resync_page = protocol::kDefaultListLimit;
  // Pushes held while `resynced` runs; one more drops the connection.
  std::size_t max_held_pushes = 10'000;
  // Log streams (connections) open at once; openLogs beyond it is
  // kResourceExhausted.
  std::size_t max_log_streams = 32;
  // Where every request's latency and failure is counted (shared by the
  // links); null: nowhere. Must outlive the links.
  AgentLinkMetrics* metrics = nullptr;
};

// What the link reports to its owner, on the executor. Any may be empty.
struct AgentLinkEvents {
  // Hello was answered: the node's info. Calls are accepted from now on.
  std::function<void(const api::NodeInfo&)> connected;
  // Everything the node runs (all pages, ordered by id), after every
  // (re)connect. Awaited; the node may become Ready when it returns.
  std::function<boost::asio::awaitable<void>(std::vector<api::WorkloadStatus>)> resynced;
  // A pushed status change, after the resync.
  std::function<void(const api::WorkloadStatus&)> pushed;
  // A heartbeat was answered.
  std::function<void(const api::NodeInfo&)> heartbeat;
  // A connection attempt failed or an open connection ended; `reason` is one
  // of node_reason (node_lifecycle.h).
  std::function<void(std::string_view reason, const std::string& message)> disconnected;
};

class AgentLink : public std::enable_shared_from_this<AgentLink> {
 public:
  // `address` is HOST:PORT (a malformed one makes every attempt fail).
  static std::shared_ptr<AgentLink> create(boost::asio::any_io_executor executor,
                                           std::string node_id, std::string address,
                                           AgentLinkOptions options, AgentLinkEvents events);
  ~AgentLink();
  AgentLink(const AgentLink&) = delete;
  AgentLink& operator=(const AgentLink&) = delete;

  // Starts the connection loop. Once.
  void start();
  // Ends the connection loop, the connection, the calls in flight (they fail
  // kCancelled) and the log streams, so the executor runs out of work.
  // Idempotent; no event is called afterwards.
  void shutdown();

  // One request on the connection. kUnavailable when not connected or when
  // the connection is lost before the answer, kDeadlineExceeded after
  // `timeout`, an agent Error as its code, message and field, kCancelled
  // after shutdown(), kInvalidArgument for Hello and Logs (openLogs).
  boost::asio::awaitable<Result<protocol::ReplyBody>> call(protocol::RequestBody request,
                                                           std::chrono::milliseconds timeout);

  // Opens a log stream on a new connection: Hello {node_id} then `request`.
  // Errors: kResourceExhausted when max_log_streams are open, kUnavailable
  // (cannot connect, connection lost, no Hello answer within hello_timeout),
  // the agent's Error (e.g. FailedPrecondition for a node id mismatch),
  // kCancelled after shutdown().
  boost::asio::awaitable<Result<std::unique_ptr<LogStream>>> openLogs(protocol::Logs request);

  // Sends a heartbeat if one is due at `now` (the owner's monotonic clock).
  void tick(MonotonicTime now);
  // Drops the current connection (if any) with this reason; the loop
  // reconnects after its backoff.
  void reconnect(std::string_view reason, std::string message);

  // Hello answered on the current connection (calls are accepted).
  bool connected() const { return connected_; }
  // What the next heartbeat names as the isolation revision it holds.
  std::optional<std::int64_t> isolationRevision() const { return isolation_revision_; }
  // The owner applied an isolation list of `revision` from a reply on this
  // link (a ProbeIsolation answer): while connected, the next heartbeat
  // names it, unless it already names a newer one.
  void noteIsolationRevision(std::int64_t revision) {
    if (connected_ && (!isolation_revision_ || revision > *isolation_revision_)) {
      isolation_revision_ = revision;
    }
  }
  // Calls in flight (for tests).
  std::size_t inFlight() const { return in_flight_; }
  // Calls waiting for one of the max_in_flight slots.
  std::size_t waitingForSlot() const { return slot_waiters_.size(); }
  // Log streams open or being opened.
  std::size_t openLogStreams();
  const std::string& nodeId() const { return node_id_; }
  const std::string& address() const { return address_; }

  struct Connection;  // one TCP connection and its queues (agent_link_connection.h)
  struct Pending;     // one call waiting for its reply

 private:
  AgentLink(boost::asio::any_io_executor executor, std::string node_id, std::string address,
            AgentLinkOptions options, AgentLinkEvents events);

  // A reply and the arrival number of its line (orders replies and pushes).
  struct Outcome {
    Result<protocol::ReplyBody> reply;
    std::uint64_t seq = 0;
  };

  // The coroutines the link spawns hold `self` from their creation on.
  using Self = std::shared_ptr<AgentLink>;
  boost::asio::awaitable<void> run(Self self);
  // Why a connection attempt failed: a node_reason and a message.
  struct Refusal {
    std::string_view reason;
    std::string message;
  };
  // TCP connect, then with TLS the handshake and the identity check.
  boost::asio::awaitable<std::optional<Refusal>> connectSocket(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<std::optional<Refusal>> secure(std::shared_ptr<Connection> conn);
  // Hello then the resync; a failure closes `conn` and reports it.
  boost::asio::awaitable<void> handshake(std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> readLoop(Self self, std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> writeLoop(Self self, std::shared_ptr<Connection> conn);
  boost::asio::awaitable<void> heartbeat(Self self, std::shared_ptr<Connection> conn);
  // Sends `request` on `conn` and waits for the reply matched by req.
  boost::asio::awaitable<Outcome> exchange(std::shared_ptr<Connection> conn,
                                           protocol::RequestBody request,
                                           std::chrono::milliseconds timeout);
  // Counts an exchange of `method` begun at `started` (AgentLinkOptions::metrics).
  Outcome counted(std::string_view method, std::chrono::steady_clock::time_point started, bool sent,
                  Outcome outcome) const;
  void onPush(Connection& conn, api::WorkloadStatus status, std::uint64_t seq);
  // Closes `conn`, fails its calls in flight, and reports `reason` if the
  // connection was established (a failed handshake is reported by run()).
  void close(Connection& conn, std::string_view reason, const std::string& message);
  void report(std::string_view reason, const std::string& message);
  void releaseSlot();
  std::string describe(std::string_view what) const;

  boost::asio::any_io_executor executor_;
  const std::string node_id_;
  const std::string address_;
  const AgentLinkOptions options_;
  AgentLinkEvents events_;

  bool started_ = false;
  bool stopped_ = false;
  bool connected_ = false;
  std::shared_ptr<Connection> current_;
  boost::asio::steady_timer retry_timer_;
  std::string last_error_ = "not connected yet";  // why not connected, for call errors
  // The revision of the isolation list last delivered on the current
  // connection (Hello, heartbeats); nullopt before one.
  std::optional<std::int64_t> isolation_revision_;
  std::string last_logged_;  // the last failure logged (no repeats)

  std::uint64_t next_req_ = 1;
  std::uint64_t seq_ = 0;                                    // lines read on any connection
  std::map<std::string, std::shared_ptr<Pending>> pending_;  // by req, current connection
  std::size_t in_flight_ = 0;
  std::deque<std::shared_ptr<boost::asio::steady_timer>> slot_waiters_;

  // Log connections, so shutdown() can close them.
  std::vector<std::weak_ptr<Connection>> log_connections_;
};

}  // namespace zp::server
