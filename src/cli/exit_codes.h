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
// `exec` exits with the command's own exit code, except: the command did not
// finish within --timeout (the runtime killed it; as timeout(1) does) ...
inline constexpr int kExitExecTimeout = 124;
// ... or the request failed (server unreachable, refused, workload not
// running): nothing ran, or its outcome is unknown (as docker exec does).
inline constexpr int kExitExecFailed = 125;

}  // namespace zp::cli
