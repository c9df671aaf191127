#pragma once
// What a failed CRI ExecSync means (docs/architecture.md §3). The CRI has
// no codes for it: containerd answers a command that outlived its timeout
// with DEADLINE_EXCEEDED ("failed to exec in container: timeout 1s exceeded:
// context deadline exceeded"), and one runc could not start with UNKNOWN and
// runc's words ("OCI runtime exec failed: exec failed: unable to start
// container process: exec: \"x\": executable file not found in $PATH");
// other runtimes may say either in words only. Pure functions; thread-safe.

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
