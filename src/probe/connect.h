#pragma once
// Bounded TCP connects to numeric addresses (docs/architecture.md §10.1):
// whether the workload can reach the agent or the server. No name
// resolution (a static binary must not load NSS modules).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probe/report.h"

namespace zp::probe {

// "HOST:PORT" with a numeric IPv4 host ("10.0.0.1:7700") or a bracketed
// numeric IPv6 host ("[fd00::1]:7700"); port 1-65535.
struct ConnectTarget {
  std::string text;  // as given
  int family = 0;    // AF_INET or AF_INET6
  std::string host;  // without brackets
  std::uint16_t port = 0;
};
// nullopt with a reason in *why for anything else (names included).
std::optional<ConnectTarget> parseConnectTarget(std::string_view text, std::string* why = nullptr);

// Connects to every target at once, each bounded by `timeout`, and closes the
// connections without sending anything. One result per target, in order:
// "connected", "refused", "timeout", "unreachable" or "error: <strerror>".
std::vector<ConnectResult> connectAll(const std::vector<ConnectTarget>& targets,
                                      std::chrono::milliseconds timeout);

}  // namespace zp::probe
