#pragma once
// Internal to zp_server_nodes: one connection of an AgentLink (its own or a
// log stream's), shared by agent_link.cc, agent_link_connect.cc and
// agent_log_stream.cc. Not a public interface.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/workload.h"
#include "common/time.h"
#include "server/nodes/agent_link.h"
#include "tls/transport.h"

namespace zp::server {

namespace agent_link_detail {

// "250 ms", for messages.
inline std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// A connection's stream: TLS with `tls`, plain TCP without.
inline tls::Transport makeTransport(const boost::asio::any_io_executor& ex,
                                    boost::asio::ssl::context* tls) {
  using boost::asio::ip::tcp;
  return tls ? tls::Transport(tcp::socket(ex), *tls) : tls::Transport(tcp::socket(ex));
}

}  // namespace agent_link_detail

// One connection (TCP, or TLS over TCP): the main one of the link, or a log
// stream's.
struct AgentLink::Connection {
  // `tls` (may be null: plain TCP) must outlive the connection.
  Connection(const boost::asio::any_io_executor& ex, boost::asio::ssl::context* tls)
      : stream(agent_link_detail::makeTransport(ex, tls)),
        resolver(ex),
        deadline(ex),
        wake(ex),
        closed_signal(ex) {
    closed_signal.expires_at(boost::asio::steady_timer::time_point::max());
  }

  // Closes the socket and wakes everything that waits on this connection.
  void shut() {
    open = false;
    resolver.cancel();
    stream.close();
    deadline.cancel();
    wake.cancel();
    closed_signal.cancel();
  }

  // Closes the socket if `d` passes first (connect, TLS handshake, log Hello).
  void armDeadline(std::chrono::milliseconds d) {
    timed_out = false;
    deadline.expires_after(d);
    deadline.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the guarded step finished in time
      timed_out = true;
      resolver.cancel();
      stream.close();
    });
  }

  enum class Phase { kHandshake, kResyncing, kHandingUp, kLive };

  tls::Transport stream;
  boost::asio::ip::tcp::resolver resolver;
  boost::asio::steady_timer deadline;       // see armDeadline
  boost::asio::steady_timer wake;           // wakes the writer when `out` gets a line
  boost::asio::steady_timer closed_signal;  // its wait ends when the connection closes
  std::deque<std::string> out;              // lines to send, in order
  bool open = true;
  bool timed_out = false;
  bool established = false;  // Hello answered with this node's id
  bool resynced = false;     // ... and the whole listing read
  Phase phase = Phase::kHandshake;
  // During the handshake and resync: what the node lists, by id, with the
  // arrival number of the line that said it (a later line wins).
  std::map<std::string, std::pair<api::WorkloadStatus, std::uint64_t>> listing;
  std::vector<api::WorkloadStatus> held;  // pushes that arrived during the hand-up
  bool heartbeat_in_flight = false;
  // When the next heartbeat is due: set at the connection's first tick, then
  // moved on by whole heartbeat intervals (AgentLink::tick).
  std::optional<MonotonicTime> heartbeat_due;
};

}  // namespace zp::server
