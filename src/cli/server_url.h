#pragma once
// The address of the zoneplane server as the CLI is told it (`--server`,
// `ZONEPLANE_SERVER`): parsing and validation. Pure functions, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace zp::cli {

inline constexpr std::string_view kDefaultServerUrl = "http://127.0.0.1:7700";
inline constexpr std::string_view kServerEnvVar = "ZONEPLANE_SERVER";

struct ServerUrl {
  std::string host;         // "127.0.0.1", "example.com" or "::1" (no brackets)
  std::uint16_t port = 80;  // 80 when the URL has none
  std::string path_prefix;  // "" or "/api/v1" (no trailing slash)

  // "host:port", with brackets around IPv6 literals: the HTTP Host header.
  std::string hostHeader() const;
  // Canonical "http://host:port/prefix", for messages.
  std::string toString() const;
  bool operator==(const ServerUrl&) const = default;
};

// Parses "http://host[:port][/path/prefix]". https:// is kUnimplemented ("not
// supported yet"); anything else malformed (other schemes, user info, query,
// fragment, bad host or port) is kInvalidArgument with field "server".
Result<ServerUrl> parseServerUrl(std::string_view url);

// The URL to use: `flag` when given, else `env` when set and non-empty, else
// kDefaultServerUrl.
std::string chooseServerUrl(const std::optional<std::string>& flag,
                            const std::optional<std::string>& env);

}  // namespace zp::cli
