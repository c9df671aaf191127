#pragma once
// Process exit codes of the `zoneplane` CLI (documented in `zoneplane --help`).

namespace zp::cli {

inline constexpr int kExitOk = 0;
// The request failed: server unreachable, timed out, or answered with an error.
inline constexpr int kExitRequestError = 1;
// Bad command line or local input (flags, config file, server URL, token, CA file,
// workload file); nothing was sent.
inline constexpr int kExitUsage = 2;
// `get --wait`: timed out, or the workload reached a different terminal state.
inline constexpr int kExitWaitFailed = 3;

}  // namespace zp::cli
