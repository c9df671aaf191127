#pragma once
// What the soak reads of a process from /proc/<pid>: resident memory
// (VmRSS), open file descriptors (entries of fd/) and threads. Linux only;
// the caller must be allowed to read the process's fd/ (same user or root).

#include <sys/types.h>

#include <optional>
#include <string_view>

#include "common/status.h"

namespace zp::soak {

struct ProcSample {
  double rss_mib = 0;
  int fds = 0;
  int threads = 0;
};

// kNotFound once the process is gone; kInternal when /proc is unreadable.
Result<ProcSample> sampleProc(pid_t pid);

// The value of `key` ("VmRSS", "Threads") in a /proc/<pid>/status text, as
// the number before any unit; nullopt when absent or not a number.
std::optional<long long> statusField(std::string_view status, std::string_view key);

}  // namespace zp::soak
