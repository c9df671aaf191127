#pragma once
// The zoneplane version (CMake's project version), reported by every binary
// and by the agent's NodeInfo.

#ifndef ZP_VERSION
#error "ZP_VERSION must be defined by the build (src/common/CMakeLists.txt)"
#endif

namespace zp {
inline constexpr const char* kVersion = ZP_VERSION;
}  // namespace zp
