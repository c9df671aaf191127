#pragma once
// Child processes for benchmarks: spawn with stdout on a pipe (read line by
// line), stderr to a file; SIGKILLed when the benchmark dies (PDEATHSIG).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace zp::bench {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // Starts argv; false (with errno) when fork/exec fails.
  bool start(const std::vector<std::string>& argv, const std::string& stderr_file);
  // The next stdout line (without '\n'); nullopt at EOF or after `timeout`.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout);
  // SIGTERM then wait (SIGKILL after `timeout`); returns once reaped.
  void stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void kill9();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string pending_;
};

// Resident set size of a process in KiB (VmRSS), 0 if unreadable.
long residentKiB(pid_t pid);

// CPU time (user + system) a process has used so far, in seconds; a
// negative value if unreadable.
double cpuSeconds(pid_t pid);

// An admin API token made offline in the server's `database` with
// `server_bin tokens create` (docs/architecture.md §9.3); "" when that
// fails (its stderr goes to `stderr_file`).
std::string createAdminToken(const std::string& server_bin, const std::string& database,
                             const std::string& stderr_file);

}  // namespace zp::bench
