#pragma once
// "HOST:PORT" addresses as they appear in configs and flags (server, agent).
// Pure functions; no I/O (no DNS: listen hosts are IP literals or "localhost").

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace zp {

struct HostPort {
  std::string host;  // without IPv6 brackets
  std::uint16_t port = 0;
};

// Accepts "host:port" and "[v6]:port"; the port is 0..65535. `field` names the
// setting in errors.
Result<HostPort> parseHostPort(std::string_view text, std::string_view field);

// The endpoint to listen on: the host must be an IP literal or "localhost"
// (which means 127.0.0.1).
Result<boost::asio::ip::tcp::endpoint> listenEndpoint(const HostPort& address,
                                                      std::string_view field);

// "127.0.0.1:7700" / "[::1]:7700".
std::string formatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace zp
