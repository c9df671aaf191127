#pragma once
// Validation of CRI endpoint strings.

#include <string>
#include <string_view>

#include "common/status.h"

namespace zp::cri {

// Longest socket path a unix socket address can hold (sun_path minus the NUL).
inline constexpr std::size_t kMaxSocketPathLength = 107;

// Checks that `endpoint` names a unix socket as "unix:///absolute/path" and
// returns the socket path ("/absolute/path"). Anything else (tcp://, a bare
// path, "unix:relative", an empty or over-long path, a NUL byte) is
// kInvalidArgument with field "endpoint". Does not touch the file system.
Result<std::string> socketPathFromEndpoint(std::string_view endpoint);

}  // namespace zp::cri
