#pragma once
// Identifiers the server makes up: workload ids for submissions without one,
// and placement uids (docs/architecture.md §2, §8.6). Thread-safe.

#include <string>

namespace zp::server {

// "wl-" followed by 10 random characters from [a-z0-9].
std::string generateWorkloadId();
// 32 random lowercase hex digits (128 bits): one per placement of a workload.
std::string generateUid();

}  // namespace zp::server
