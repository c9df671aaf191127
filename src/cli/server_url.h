#pragma once
// The address of the zoneplane server as the CLI is told it (`--server`,
// `ZONEPLANE_SERVER`): parsing and validation. Pure functions, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace zp::cli {

inline constexpr std::string_view kDefaultServerUrl = "https://127.0.0.1:7700";
inline constexpr std::string_view kServerEnvVar = "ZONEPLANE_SERVER";

struct ServerUrl {
  std::string host;         // "127.0.0.1", "example.com" or "::1" (no brackets)
  std::uint16_t port = 80;  // when the URL has none: 80 for http, 443 for https
  std::string path_prefix;  // "" or "/api/v1" (no trailing slash)
  bool tls = false;         // https://

  // "host:port", with brackets around IPv6 literals: the HTTP Host header.
  std::string hostHeader() const;
  // Canonical "http[s]://host:port/prefix", for messages.
  std::string toString() const;
  bool operator==(const ServerUrl&) const = default;
};

// Parses "http[s]://host[:port][/path/prefix]" (scheme case-insensitive).
// Anything malformed (other schemes, user info, query, fragment, bad host or
// port) is kInvalidArgument with field "server".
Result<ServerUrl> parseServerUrl(std::string_view url);

}  // namespace zp::cli
