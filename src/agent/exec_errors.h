#pragma once
// What a failed CRI ExecSync means (docs/architecture.md §3). Runtimes say
// it in words only: containerd answers a command that outlived its timeout,
// and one that could not be started, with gRPC UNKNOWN and a message. Pure
// functions; thread-safe.

#include <chrono>

#include "agent/runtime.h"
#include "common/status.h"

namespace zp::agent {

// The outcome of an ExecSync that failed with `error` after `elapsed`, given
// the command's `timeout`:
//  - kDeadlineExceeded ("the command did not finish within N s") when the
//    call's deadline passed, the runtime says the timeout was exceeded, or
//    any other runtime failure came once the timeout had passed;
//  - an ExecOutput with exit code 127 (not found) or 126 (not executable)
//    and the runtime's message as stderr when the runtime could not start the
//    command, as a shell reports such a command;
//  - `error` itself otherwise.
Result<ExecOutput> execFailure(Error error, std::chrono::milliseconds elapsed,
                               std::chrono::milliseconds timeout);

}  // namespace zp::agent
