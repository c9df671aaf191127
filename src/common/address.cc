#include "common/address.h"

#include <charconv>

namespace zp {

namespace asio = boost::asio;

Result<HostPort> parseHostPort(std::string_view text, std::string_view field) {
  const auto bad = [&](std::string why) {
    return fail(Code::kInvalidArgument,
                std::string(field) + " \"" + std::string(text.substr(0, 200)) +
                    "\" is not HOST:PORT: " + why,
                std::string(field));
  };
  HostPort out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [IPv6]:PORT");
    }
    out.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing \":PORT\"");
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) return bad("write IPv6 hosts as [addr]:PORT");
  }
  if (out.host.empty()) return bad("missing host");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    return bad("port must be a number between 0 and 65535");
  }
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

Result<asio::ip::tcp::endpoint> listenEndpoint(const HostPort& address, std::string_view field) {
  if (address.host == "localhost") {
    return asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), address.port);
  }
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (ec) {
    return fail(Code::kInvalidArgument,
                std::string(field) + " host \"" + address.host.substr(0, 200) +
                    "\" must be an IP address or \"localhost\"",
                std::string(field));
  }
  return asio::ip::tcp::endpoint(ip, address.port);
}

std::string formatEndpoint(const asio::ip::tcp::endpoint& endpoint) {
  const auto ip = endpoint.address();
  const std::string host = ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace zp
