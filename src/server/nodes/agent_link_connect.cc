// AgentLink's connection step (docs/architecture.md §9.2): resolve and TCP
// connect within connect_timeout (plain TCP to loopback addresses only),
// then with TLS the handshake within as long again and the agent's identity,
// which must be node/<node_id>.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/address.h"
#include "server/nodes/agent_link.h"
#include "server/nodes/agent_link_connection.h"
#include "server/nodes/node_lifecycle.h"
#include "tls/tls_context.h"
#include "tls/transport.h"

namespace zp::server {

namespace asio = boost::asio;
using agent_link_detail::millis;
using asio::ip::tcp;

asio::awaitable<std::optional<AgentLink::Refusal>> AgentLink::connectSocket(
    std::shared_ptr<Connection> conn) {
  const auto refused = [&](std::string why) {
    return Refusal{node_reason::kConnectionRefused, "cannot connect to " + address_ + ": " + why};
  };
  auto hp = parseHostPort(address_, "address");
  if (!hp) co_return refused(hp.error().message);
  conn->armDeadline(options_.connect_timeout);
  boost::system::error_code ec;
  const std::string port = std::to_string(hp->port);
  auto endpoints = co_await conn->resolver.async_resolve(
      hp->host, port, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && conn->open && !conn->timed_out && !conn->stream.secure()) {
    // Plain TCP is for loopback only (--insecure-plaintext): never send the
    // protocol unencrypted over a network, whatever a name resolves to.
    for (const auto& entry : endpoints) {
      if (!entry.endpoint().address().is_loopback()) {
        conn->deadline.cancel();
        co_return refused("it resolves to " + entry.endpoint().address().to_string() +
                          ", not a loopback address, and without TLS (--insecure-plaintext) the "
                          "server connects to loopback addresses only");
      }
    }
  }
  if (!ec && conn->open && !conn->timed_out) {
    co_await asio::async_connect(conn->stream.socket(), endpoints,
                                 asio::redirect_error(asio::use_awaitable, ec));
  }
  conn->deadline.cancel();
  if (!conn->open) co_return refused("closed");
  if (conn->timed_out) {
    co_return refused("no connection within " + millis(options_.connect_timeout));
  }
  if (ec) co_return refused(ec.message());
  conn->stream.socket().set_option(tcp::no_delay(true), ec);  // small lines, sent at once
  co_return co_await secure(conn);
}

asio::awaitable<std::optional<AgentLink::Refusal>> AgentLink::secure(
    std::shared_ptr<Connection> conn) {
  if (!conn->stream.secure()) co_return std::nullopt;
  conn->armDeadline(options_.connect_timeout);
  auto shaken = co_await conn->stream.handshake(tls::Transport::Role::kClient);
  conn->deadline.cancel();
  if (!conn->open) co_return Refusal{node_reason::kHandshakeFailed, "closed"};
  if (conn->timed_out) {
    co_return Refusal{
        node_reason::kHandshakeFailed,
        "no TLS handshake with " + address_ + " within " + millis(options_.connect_timeout)};
  }
  if (!shaken) {
    std::string message = "TLS handshake with " + address_ + " failed: " + shaken.error().message;
    if (message.find("wrong version number") != std::string::npos ||
        message.find("packet length too long") != std::string::npos) {
      message += " (the agent answered without TLS: does it run with --insecure-plaintext?)";
    } else if (message.find("stream truncated") != std::string::npos) {
      message +=
          " (the agent closed the connection: does it trust this server's CA, or does it run "
          "with --insecure-plaintext?)";
    }
    co_return Refusal{node_reason::kHandshakeFailed, std::move(message)};
  }
  if (auto peer = tls::requirePeer(conn->stream.ssl(), tls::Identity::node(node_id_)); !peer) {
    co_return Refusal{node_reason::kTlsIdentity, "the agent at " + address_ + " is not node \"" +
                                                     node_id_ + "\": " + peer.error().message};
  }
  co_return std::nullopt;
}

}  // namespace zp::server
