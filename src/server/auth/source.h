#pragma once
// The unit the API counts a client by (docs/architecture.md §9.3): its IPv4
// address, or the /64 network of its IPv6 address (one host usually holds a
// whole /64, so counting single IPv6 addresses would count nothing). Pure;
// thread-safe.

#include <string>
#include <string_view>

namespace zp::server::auth {

// "192.0.2.7" for "192.0.2.7" and "::ffff:192.0.2.7"; "2001:db8:1:2::/64"
// for any address in that /64; anything that is not an IP address as it is.
std::string sourceGroup(std::string_view address);

}  // namespace zp::server::auth
