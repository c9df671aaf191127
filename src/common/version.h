#pragma once
// The zoneplane version, reported by every binary and by the agent's NodeInfo.

namespace zp {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace zp
