#pragma once
// Process metrics from /proc/self, collected at scrape time (Linux only):
//
//   process_resident_memory_bytes  gauge    resident set size
//   process_virtual_memory_bytes   gauge    virtual memory size
//   process_open_fds               gauge    entries of /proc/self/fd
//   process_max_fds                gauge    RLIMIT_NOFILE's soft limit
//   process_cpu_seconds_total      counter  user + system CPU time
//   process_start_time_seconds     gauge    start, seconds since the Unix epoch
//   zoneplane_process_threads      gauge    threads of the process
//
// A value that cannot be read (no /proc) is left out of the scrape. Reading
// takes a few small file reads and one directory listing: cheap on any thread.

#include <cstdint>
#include <optional>
#include <string_view>

#include "metrics/registry.h"

namespace zp::metrics {

// What /proc/self/stat says (fields 14, 15, 20, 22, 23, 24 of proc(5)).
struct ProcStat {
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::int64_t threads = 0;
  std::uint64_t start_ticks = 0;  // after boot
  std::uint64_t vsize_bytes = 0;
  std::int64_t rss_pages = 0;
};
// Parses the text of /proc/<pid>/stat (the command name may hold spaces and
// parentheses: fields are counted after its last ')'). nullopt when malformed.
std::optional<ProcStat> parseProcStat(std::string_view text);
// The "btime" line of /proc/stat: boot time, seconds since the epoch.
std::optional<std::int64_t> parseBootTime(std::string_view text);

// Registers the families above in `registry`.
void addProcessMetrics(Registry& registry);

}  // namespace zp::metrics
